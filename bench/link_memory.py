"""The app server's memory while hostile or oversized Lab links are opened (issue 13).

``python bench/link_memory.py`` starts ``streamlit run app.py`` headless, opens the default Lab in
Chromium, then opens each link below in turn (and presses Train where it is enabled, waiting for
the run to end). After each it prints the server process's resident memory (VmRSS) and its peak
so far (VmHWM), read from /proc, next to the values before the first link. Before issue 13, the
"eval" link passed the size guard and then allocated 11.8 GB at its first evaluation; an
over-budget link must leave the server's memory flat (the guard refuses it before allocating).
"""
from __future__ import annotations

import base64
import json
import sys
import zlib
import time
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from labcore.spec import codec  # noqa: E402
from tests.browser import chromium, new_page, streamlit_server, wait_idle  # noqa: E402

MiB = 1 << 20


def code_of(raw: bytes) -> str:
    """A link code around any bytes (what a hand-made hostile link carries)."""
    return codec.URL_PREFIX + base64.urlsafe_b64encode(zlib.compress(raw, 9)).decode().rstrip("=")


LINKS = {
    "over budget (16384 x 8, 2 G params)": codec.to_url(codec.from_dict(
        {"net": {"depth": 8, "layer": {"width": 16384}}})),
    "over the memory budget only (4 x 2048, batch 8192)": codec.to_url(codec.from_dict(
        {"net": {"depth": 4, "layer": {"width": 2048}}, "train": {"batch_size": 8192, "data": {"n_samples": 200000}}})),
    "401-digit gain": code_of(json.dumps({"net": {"init": {"gain": 10**400}}}).encode()),
    "10**5 nested [": code_of(b"[" * 100_000),
    "issue 13's eval link (was 11.8 GB), trained": codec.to_url(codec.from_dict(
        {"net": {"depth": 1, "layer": {"width": 16384}}, "train": {"batch_size": 1, "steps": 2, "eval_every": 1,
                                                                   "data": {"n_samples": 200000, "test_fraction": 0.9}}})),
}


def server_pid(port: int) -> int:
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                cmd = (d / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if f"--server.port {port}" in cmd and "streamlit" in cmd and "python" in cmd.split(" ")[0]:
                return int(d.name)
    raise RuntimeError("server process not found")


def memory(pid: int) -> tuple[float, float]:
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024  # MiB


def main() -> None:
    with streamlit_server(env={"LAB_STRICT_PAGES": "0"}) as url, chromium() as browser:
        pid = server_pid(int(url.rsplit(":", 1)[1]))
        page = new_page(browser, url)
        page.get_by_role("button", name="Train").wait_for()
        wait_idle(page, 90_000)
        time.sleep(2)
        rss0, hwm0 = memory(pid)
        print(f"server pid {pid}; default Lab open: RSS {rss0:,.0f} MiB, peak {hwm0:,.0f} MiB")
        print(f"{'link':48s} {'RSS MiB':>9s} {'ΔRSS':>7s} {'peak MiB':>9s} {'Δpeak':>7s}  what the page says")
        for what, code in LINKS.items():
            page.goto(f"{url}/?spec={quote(code)}")
            page.get_by_role("button", name="Train").wait_for()
            wait_idle(page, 90_000)
            train = page.get_by_role("button", name="Train")
            if train.is_enabled():
                train.click()
                page.wait_for_selector("text=finished", timeout=600_000)
                wait_idle(page, 90_000)
            time.sleep(2)
            rss, hwm = memory(pid)
            alerts = [a.inner_text().replace("\n", " ")[:90] for a in page.locator("[data-testid='stAlert']").all()]
            print(f"{what:48s} {rss:9,.0f} {rss - rss0:+7,.0f} {hwm:9,.0f} {hwm - hwm0:+7,.0f}  "
                  f"{alerts[0] if alerts else '(no message)'}")
        page.close()


if __name__ == "__main__":
    main()
