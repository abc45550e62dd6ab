"""Page-to-interactive of the Lab in a real browser: first-ever, cold and warm opening.

    python bench/page_open.py [--rounds 3] [--roots /path/to/other/checkout .]

With several ``--roots`` (checkouts of the app, e.g. the main branch and this one), the rounds
interleave them: root A's loads, then root B's, in every round; medians per root.

A real ``streamlit run app.py`` on a free port (tests/browser.py) with a temporary store, driven
by Playwright with the system Chromium. Page-to-interactive is measured in the page itself:
from the navigation's start (``performance.timeOrigin``) to the moment a MutationObserver sees
the Lab's Train button drawn and enabled. Three situations, each in several rounds (medians):

``first``: the very first load of a new install: a fresh server, a fresh store (LAB_HOME), no
    plotly.js copied into static/vendor yet, no bytecode of the app's own modules (``__pycache__``
    of app.py, pages/, ui/, labcore/ removed), a fresh browser profile (a new Chromium).
``cold``: the first page after a server restart (same store), in a new browser context.
``warm``: the server has served the Lab already; a new browser context (empty HTTP cache, so it
    downloads Streamlit's frontend again) and ``warm_cached``: a new tab in a context that has
    opened the Lab before (the browser's cache holds the frontend, as for a returning user).

For every load it also counts the script runs the server made until the page settled (full runs
and fragment runs, read from the websocket's ``script_finished`` messages) and prints JSON.
Needs /usr/bin/chromium and the playwright package; prints a reason and exits 2 without them.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.browser import CHROMIUM, CHROMIUM_ARGS, browser_missing_reason, launch_streamlit, stop_streamlit, wait_healthy  # noqa: E402
from ui.keys import Keys  # noqa: E402

TRAIN_SEL = f".st-key-{Keys.TRAIN} button"
# Runs before any of the page's own scripts: records when the Train button is first drawn enabled.
OBSERVE_JS = """(() => {
  const sel = %r;
  const check = () => {
    const b = document.querySelector(sel);
    if (b && !b.disabled && b.offsetParent !== null && window.__tti === undefined) {
      window.__tti = performance.now();
    }
  };
  new MutationObserver(check).observe(document, {subtree: true, childList: true, attributes: true});
})();""" % TRAIN_SEL

OWN_CODE = ("app.py", "pages", "ui", "labcore")


@contextlib.contextmanager
def streamlit_server(root: Path, home: str, timeout: float = 120.0):
    """``streamlit run app.py`` of the checkout ``root`` (its cwd: its .streamlit/config.toml) on a free port."""
    env = {**os.environ, "LAB_HOME": home, "PYTHONPATH": str(root)}
    log = open(Path(home) / f"streamlit-{time.monotonic_ns()}.log", "w")  # one per server start
    proc, url = launch_streamlit(root, "app.py", env, log)
    try:
        wait_healthy(proc, url, log.name, timeout)
        yield url
    finally:
        stop_streamlit(proc, log)


def _drop_own_bytecode(root: Path) -> None:
    for name in OWN_CODE:
        p = root / name
        for d in ([p.parent / "__pycache__"] if p.is_file() else p.rglob("__pycache__")):
            shutil.rmtree(d, ignore_errors=True)


def _count_runs(page) -> dict:
    """Counts script_finished messages on the page's websocket (full runs, fragment runs)."""
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    counts = {"full": 0, "fragment": 0, "early": 0, "first_full_at": None}
    frag = ForwardMsg.ScriptFinishedStatus.Value("FINISHED_FRAGMENT_RUN_SUCCESSFULLY")
    early = ForwardMsg.ScriptFinishedStatus.Value("FINISHED_EARLY_FOR_RERUN")

    def on_frame(payload) -> None:
        if isinstance(payload, str):
            return
        m = ForwardMsg()
        try:
            m.ParseFromString(payload)
        except Exception:
            return
        if m.WhichOneof("type") == "script_finished":
            s = m.script_finished
            kind = "fragment" if s == frag else "early" if s == early else "full"
            counts[kind] += 1
            if kind == "full" and counts["first_full_at"] is None:
                counts["first_full_at"] = time.perf_counter()

    page.on("websocket", lambda ws: ws.on("framereceived", on_frame))
    return counts


def load(context, url: str, settle_s: float = 1.5) -> dict:
    """Open the Lab in a new tab of ``context``: seconds from navigation start to Train usable."""
    page = context.new_page()
    page.set_default_timeout(120_000)
    counts = _count_runs(page)
    page.add_init_script(OBSERVE_JS)
    t0 = time.perf_counter()
    page.goto(url)
    page.wait_for_function("() => window.__tti !== undefined", polling=50, timeout=120_000)
    tti = page.evaluate("window.__tti") / 1000
    deadline = time.perf_counter() + 120
    while counts["first_full_at"] is None and time.perf_counter() < deadline:
        page.wait_for_timeout(50)
    page.wait_for_timeout(settle_s * 1000)  # runs that follow the first paint (a rerun, fragments) still count
    page.close()
    done = counts.pop("first_full_at")
    # settled: the server finished the first script run (the whole page sent), from goto's call
    return {"tti_s": round(tti, 3), "settled_s": round(done - t0, 3) if done else None, "runs": counts}


def one_round(pw, root: Path, args) -> dict:
    row: dict = {}
    home = tempfile.mkdtemp(prefix="lab-home-open-")
    if not args.no_first:
        shutil.rmtree(root / "static" / "vendor", ignore_errors=True)
        _drop_own_bytecode(root)
        profile = tempfile.mkdtemp(prefix="chromium-profile-")
        with streamlit_server(root, home) as url:
            ctx = pw.chromium.launch_persistent_context(profile, executable_path=CHROMIUM,
                                                        args=CHROMIUM_ARGS, headless=True)
            row["first"] = load(ctx, url)
            ctx.close()
        shutil.rmtree(profile, ignore_errors=True)
    browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
    with streamlit_server(root, home) as url:
        ctx = browser.new_context()
        row["cold"] = load(ctx, url)
        ctx.close()
        warm, cached = [], []
        ctx_cached = browser.new_context()
        for _ in range(args.warm_loads):
            ctx = browser.new_context()
            warm.append(load(ctx, url))
            ctx.close()
            cached.append(load(ctx_cached, url))
        ctx_cached.close()
        row["warm"] = {"tti_s": statistics.median(w["tti_s"] for w in warm),
                       "settled_s": statistics.median(w["settled_s"] for w in warm), "runs": warm[-1]["runs"]}
        # The first load in ctx_cached filled its cache: the cached figure is the later ones'.
        later = cached[1:] or cached
        row["warm_cached"] = {"tti_s": statistics.median(w["tti_s"] for w in later), "runs": later[-1]["runs"]}
    browser.close()
    shutil.rmtree(home, ignore_errors=True)
    return row


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--warm-loads", type=int, default=3, help="warm loads per round (medians)")
    ap.add_argument("--no-first", action="store_true", help="skip the first-ever loads")
    ap.add_argument("--roots", nargs="+", default=[str(ROOT)], help="checkouts of the app, interleaved")
    args = ap.parse_args()
    load_before = open("/proc/loadavg").read().strip()
    reason = browser_missing_reason()
    if reason:
        print(json.dumps({"skipped": reason}))
        return 2
    from playwright.sync_api import sync_playwright

    roots = [Path(r).resolve() for r in args.roots]
    rows: dict[str, list] = {str(r): [] for r in roots}
    with sync_playwright() as pw:
        for i in range(args.rounds):
            for root in roots:
                row = one_round(pw, root, args)
                rows[str(root)].append(row)
                print(json.dumps({"round": i, "root": str(root), **row}), file=sys.stderr)
    out = {"uptime_before": load_before, "uptime_after": open("/proc/loadavg").read().strip(), "roots": {}}
    for root, rs in rows.items():
        out["roots"][root] = {"median_tti_s": {k: statistics.median(r[k]["tti_s"] for r in rs)
                                               for k in ("first", "cold", "warm", "warm_cached") if k in rs[0]},
                              "median_settled_s": {k: statistics.median(r[k]["settled_s"] for r in rs)
                                                   for k in ("first", "cold", "warm") if k in rs[0]},
                              "rounds": rs}
    out["targets"] = {"warm": "<= 1.5 s", "cold": "<= 3 s"}
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
