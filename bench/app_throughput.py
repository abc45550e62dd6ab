"""Training throughput inside the app's job runner while a live page polls it, vs headless.

    python bench/app_throughput.py [--preset sigmoid-deep] [--steps 3000] [--rounds 2] [--mode both]

Two measurements, each in interleaved rounds (headless, app, headless, app, ...; medians):

``inproc``: the job manager in this process, polled at the page's rate (POLL_SECONDS) by a
thread that does the page's server-side work (view, diagnosis, every chart spec, JSON), against
``Trainer(spec).run()``. This is the cost of the job runner and the page's Python work (they
share the GIL with training), without a browser competing for the CPU.

``browser``: for each round, side by side in one process tree:
  (a) headless: ``Trainer(spec).run()`` in this process, wall-clock steps/s (the CLI's loop);
  (b) app: ``streamlit run app.py`` with the same spec in the link, driven by headless Chromium:
      click Train, wait for the first gradient chart, watch the charts refresh until the run
      ends, then read the job's wall-clock steps/s from the page's status line.
``--cores split`` runs the same rounds with the browser on a core of its own (training, server and
headless baseline on core 0, Chromium on core 1), to separate the app's own cost from the CPU the
browser takes from training when both share two cores. Each round also reports the CPU the
browser and the server used (in cores) and the browser's redraws per chart.
It prints JSON: both throughputs and their ratio (target >= 0.9), the chart refresh rate while
training (target >= 2/s; counted in the browser as distinct steps drawn in the
gradient-vs-depth chart per second), and the time from clicking Train to the first gradient
chart (target <= 1 s for the default preset on the CPU, measured by a short run).
Needs /usr/bin/chromium and the playwright package; prints a reason and exits 2 without them.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import tempfile
import os
import re
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from labcore.spec.codec import to_url  # noqa: E402
from labcore.presets import load_preset  # noqa: E402
from labcore.train.mlp import Trainer  # noqa: E402
from labcore.train.device import use_cpu_threads  # noqa: E402
from bench import page_open  # noqa: E402  (a server for any checkout: --roots)
from tests.browser import browser_missing_reason, chromium, new_page  # noqa: E402

# Collects, in the page, every change of the newest step drawn in the gradient-vs-depth chart.
WATCH_JS = """() => {
  window.__seen = []; let last = null;
  window.__watch = setInterval(() => {
    for (const el of document.querySelectorAll('.js-plotly-plot')) {
      const tr = (el.data || []).filter(t => / · (step|pas) \\d+$/.test(t.name || ''));
      if (!tr.length) continue;
      const s = tr[tr.length - 1].name.match(/(\\d+)$/)[1];
      if (s !== last) { last = s; window.__seen.push([performance.now(), +s]); }
      return;
    }
  }, 20);
}"""
from ui.lab_live import POLL_SECONDS as POLL  # noqa: E402  (the Lab page's poll period)
READY_JS = """() => Object.keys(window.__gflStats || {}).length >= 2"""
HAS_CHART_JS = """() => [...document.querySelectorAll('.js-plotly-plot')].some(
  el => (el.data || []).some(t => / · (step|pas) \\d+$/.test(t.name || '')))"""


def _children() -> dict[int, list[int]]:
    """{pid: its child pids}, from /proc."""
    kids: dict[int, list[int]] = {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                ppid = int((d / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            kids.setdefault(ppid, []).append(int(d.name))
    return kids


def _tree(root: int) -> list[int]:
    """``root`` and all its descendants."""
    kids, out, todo = _children(), [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(kids.get(pid, []))
    return out


def _cmdline(pid: int) -> str:
    try:
        return (Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace"))
    except OSError:
        return ""


def own_browser() -> list[int]:
    """This bench's Chromium processes: descendants of this process (via Playwright's driver) that
    are Chromium, never another user's browser on the machine."""
    return [p for p in _tree(os.getpid())[1:] if "chrom" in _cmdline(p).split(" ", 1)[0].lower()]


def server_tree(port: str) -> list[int]:
    """The app server this bench started (its command line names its port) and its children."""
    mine = set(_tree(os.getpid()))
    roots = [p for p in mine if f"--server.port {port}" in _cmdline(p)]
    return sorted({q for r in roots for q in _tree(r)})


def _cpu_seconds(pids: list[int]) -> dict[int, float]:
    hz = os.sysconf("SC_CLK_TCK")
    out = {}
    for pid in pids:
        try:
            f = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            out[pid] = (int(f[11]) + int(f[12])) / hz
        except (OSError, IndexError, ValueError):
            pass
    return out


def _pin_browser(cpus: set[int]) -> None:
    """Pin every thread of this bench's own Chromium processes to ``cpus`` (children inherit it)."""
    for pid in own_browser():
        try:
            for tid in os.listdir(f"/proc/{pid}/task"):
                os.sched_setaffinity(int(tid), cpus)
        except OSError:
            pass


class CpuMeter:
    """CPU time used by this bench's browser and by its app server while a round runs."""

    def __init__(self, port: str):
        self.port = port

    def start(self) -> None:
        self.t0 = time.perf_counter()
        self.b0 = _cpu_seconds(own_browser())
        self.s0 = _cpu_seconds(server_tree(self.port))

    def stop(self) -> dict:
        wall = time.perf_counter() - self.t0
        b1, s1 = _cpu_seconds(own_browser()), _cpu_seconds(server_tree(self.port))
        return {"browser_cores": round(_used(self.b0, b1) / wall, 2),
                "server_cores": round(_used(self.s0, s1) / wall, 2)}


def _used(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds used between two readings (a process that started in between counts from 0)."""
    return sum(v - before.get(k, 0.0) for k, v in after.items())


@contextlib.contextmanager
def _tempdir():
    d = tempfile.mkdtemp(prefix="lab-home-throughput-")
    try:
        yield d
    finally:
        shutil.rmtree(d, ignore_errors=True)


def headless(spec) -> float:
    t0 = time.perf_counter()
    tr = Trainer(spec)
    use_cpu_threads(tr)  # as the CLI does
    tr.run()
    return tr.step / (time.perf_counter() - t0)


def inproc_round(spec, poll_seconds: float) -> dict:
    """The job runner plus a simulated page: everything the Lab fragment computes per poll."""
    import plotly.io as pio

    from labcore.figures import plots
    from labcore.figures.diagnose import diagnose
    from labcore.train.jobs import JobManager

    from ui.resources import SNAPSHOT_SECONDS

    m = JobManager(max_workers=1, snapshot_seconds=SNAPSHOT_SECONDS)  # as the app's manager
    job = m.submit(spec)
    polls, busy = 0, 0.0
    while not job.done:
        time.sleep(poll_seconds)
        t0 = time.perf_counter()
        v = job.view()
        runs = [("A", v.metrics)]
        diagnose(v.metrics, v.status)
        specs = [plots.grad_vs_depth(runs, raw=True), plots.grad_heatmap(v.metrics, raw=True),
                 plots.loss_curves(runs, raw=True), plots.update_ratio(v.metrics, raw=True),
                 plots.activation_stats(runs, raw=True),
                 plots.decision_boundary(v.extras.get("boundary"), raw=True),
                 plots.histograms(v.extras.get("hist"), raw=True)]
        for s in specs:
            pio.to_json(s, validate=False)
        busy += time.perf_counter() - t0
        polls += 1
    v = job.view()
    m.shutdown()
    return {"app_steps_per_second": v.summary["wall_steps_per_second"], "polls": polls,
            "page_ms_per_poll": 1000 * busy / max(1, polls)}


def app_round(browser, url: str, spec, watch: bool = True, split: bool = False) -> dict:
    t_open = time.perf_counter()
    page = new_page(browser, f"{url}/?spec={to_url(spec)}", height=1600)
    if split:
        _pin_browser({1})  # the page's renderer exists now
    page.wait_for_selector("button:has-text('Train'):not([disabled])")
    # Ready: plotly.js loaded and the page's first charts (stack diagram, data preview) drawn.
    page.wait_for_function(READY_JS, polling=50, timeout=60_000)
    page_ready = time.perf_counter() - t_open
    time.sleep(0.5)
    if watch:
        page.evaluate(WATCH_JS)
        meter = CpuMeter(url.rsplit(":", 1)[1])
        meter.start()
    t0 = time.perf_counter()
    page.get_by_role("button", name="Train").click()
    page.wait_for_function(HAS_CHART_JS, polling=20, timeout=60_000)
    first_chart = time.perf_counter() - t0
    out = {"first_chart_s": first_chart, "page_ready_s": page_ready}
    if watch:
        page.wait_for_function(
            "() => /· (finished|diverged|stopped) ·/.test(document.body.innerText)", polling=200,
            timeout=600_000)
        out.update(meter.stop())
        seen = page.evaluate("window.__seen")
        text = page.inner_text("body")
        m = re.search(r"· (finished|diverged|stopped) · step (\d+)/\d+ · (\d+) steps/s", text)
        out["app_steps_per_second"] = float(m.group(3)) if m else None
        out["status"] = m.group(1) if m else None
        # Refresh rate: new steps drawn per second while training (first to last change).
        if len(seen) >= 3:
            span = (seen[-1][0] - seen[0][0]) / 1000
            out["chart_refreshes_per_second"] = (len(seen) - 1) / span if span > 0 else None
        out["chart_updates"] = len(seen)
        # Browser-side cost of the live charts: redraws and main-thread ms per chart.
        stats = page.evaluate("() => window.__gflStats || {}")
        out["browser_draws"] = {k.replace("lab_chart_", ""): [v["draws"], round(v["ms"] / max(1, v["draws"]), 1)]
                                for k, v in stats.items() if k.startswith("lab_chart_")}
    page.close()
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--preset", default="sigmoid-deep")
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--mode", choices=("both", "inproc", "browser"), default="both")
    ap.add_argument("--cores", choices=("shared", "split"), default="shared",
                    help="shared: browser, server and training on all cores (a 2-core laptop); split: "
                         "training, server and the headless run on core 0, the browser on core 1 "
                         "(a browser with a core of its own)")
    ap.add_argument("--roots", nargs="+", default=[str(ROOT)],
                    help="checkouts of the app to serve (e.g. main's and this one), interleaved in every round")
    args = ap.parse_args()
    split = args.cores == "split"
    if split:
        if len(os.sched_getaffinity(0)) < 2:
            print("--cores split needs 2 CPUs", file=sys.stderr)
            return 2
        os.sched_setaffinity(0, {0})  # this process, and the app server it starts, on core 0
    base = load_preset(args.preset).spec
    spec = replace(base, train=replace(base.train, steps=args.steps, device=args.device))
    short = replace(base, train=replace(base.train, device=args.device))
    result = {"load_before": open("/proc/loadavg").read().strip(), "preset": args.preset, "steps": args.steps, "device": args.device, "cores": args.cores,
              "cpus": os.cpu_count()}
    if args.mode in ("both", "inproc"):
        headless(short)  # warm-up
        rows = []
        for _ in range(args.rounds):
            h = headless(spec)
            rows.append({"headless_steps_per_second": h, **inproc_round(spec, POLL)})
        result["inproc"] = {
            "rounds": rows,
            "throughput_ratio": statistics.median(r["app_steps_per_second"] / r["headless_steps_per_second"]
                                                  for r in rows)}
    if args.mode == "inproc":
        print(json.dumps(result, indent=2))
        return 0
    reason = browser_missing_reason()
    if reason:
        result["browser"] = {"skipped": reason}
        print(json.dumps(result, indent=2))
        return 2
    roots = [Path(r).resolve() for r in args.roots]
    rows: dict[str, list] = {str(r): [] for r in roots}
    warm: dict[str, dict] = {}
    with contextlib.ExitStack() as stack:
        browser = stack.enter_context(chromium())
        if split:
            _pin_browser({1})
        urls = {str(r): stack.enter_context(page_open.streamlit_server(r, stack.enter_context(_tempdir())))
                for r in roots}
        for r, url in urls.items():  # the server's first run pays imports
            warm[r] = app_round(browser, url, short, watch=False, split=split)
        for _ in range(args.rounds):
            h = headless(spec)
            for r, url in urls.items():  # interleaved: every checkout against the same headless run
                a = app_round(browser, url, spec, split=split)
                ttfc = app_round(browser, url, short, watch=False, split=split)["first_chart_s"]
                rows[r].append({"headless_steps_per_second": h, **a, "first_chart_default_s": ttfc})
                print(json.dumps({"root": r, "ratio": (a.get("app_steps_per_second") or 0) / h, **rows[r][-1]}),
                      file=sys.stderr, flush=True)  # progress: a round at a time
    result["browser"] = {}
    for r, rs in rows.items():
        ratios = [x["app_steps_per_second"] / x["headless_steps_per_second"] for x in rs
                  if x.get("app_steps_per_second")]
        result["browser"][r] = {
            "rounds": rs,
            "cold_first_chart_s": warm[r]["first_chart_s"],
            "throughput_ratio": statistics.median(ratios) if ratios else None,
            "throughput_ratios": [round(x, 3) for x in ratios],
            "chart_refreshes_per_second": statistics.median(
                [x["chart_refreshes_per_second"] for x in rs if x.get("chart_refreshes_per_second")] or [0]),
            "first_chart_s": statistics.median(x["first_chart_default_s"] for x in rs),
            "browser_cores": statistics.median(x["browser_cores"] for x in rs),
            "server_cores": statistics.median(x["server_cores"] for x in rs),
        }
    result["load_after"] = open("/proc/loadavg").read().strip()
    result["targets"] = {"throughput_ratio": ">= 0.9", "chart_refreshes_per_second": ">= 2",
                         "first_chart_s": "<= 1"}
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
