"""A class on one machine: N sessions open the Lab and press Train at the same moment.

    python bench/classroom.py [--sessions 30] [--mix same|presets] [--app-root PATH] [--runs 1]

One ``streamlit run app.py`` on a free port with a temporary run store (LAB_HOME). ``--real K``
sessions are real Chromium pages (one headless system Chromium, a browser context each: page,
websocket, fragment polling, charts drawn); the others are light sessions (``--light ws``, the
default): ``bench/wsclient.py`` speaks Streamlit's websocket protocol as the frontend does (the
page's script run, a button press as its fragment's rerun, the fragments' polling timers, the
message cache) without drawing anything, so the bench measures the server, as in a classroom whose
browsers run on the students' machines. ``--light page`` makes them Chromium pages with plotly.js
refused instead (the old, heavier light sessions: 30 of them on 2 cores measure Chromium). Their
"first chart" is the status line's first step, which the same fragment run draws. Every session
opens the Lab with its preset in the link (``--mix same``: every session the default preset, as
a class told "press Train"; ``--mix presets``: session i gets preset i mod 6), waits until its
Train button is drawn, and then all press Train together. Per session it measures, from its click:

* time to first chart: the gradient-vs-depth chart shows a step;
* time to result: the status line says finished (or diverged / failed).

Meanwhile a thread samples ``/_stcore/health`` every 0.2 s (latency, i.e. how long the server's
event loop makes a request wait) and the server's RSS (``/proc/PID/status``). Prints a table per
session, then p50 / p99 / max of each figure, RSS before and at its peak, and ``uptime`` before
and after (the browser shares the machine's cores with the server: its rendering of N live pages
is part of the load). ``--app-root`` runs the app of another checkout (e.g. the main branch) the
same way, for a side-by-side figure. Needs /usr/bin/chromium and playwright; exits 2 without.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from urllib.parse import urlparse
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.wsclient import LightSession  # noqa: E402
from tests.browser import CHROMIUM, CHROMIUM_ARGS, browser_missing_reason, launch_streamlit, stop_streamlit, wait_healthy  # noqa: E402

DEPTH_STEP_JS = """() => {
  for (const el of document.querySelectorAll('.js-plotly-plot')) {
    const tr = (el.data || []).filter(t => / · (step|pas) \\d+$/.test(t.name || ''));
    if (tr.length) return true;
  }
  return false;
}"""
RESULT_RE = r"· (finished|diverged|failed) ·"
PROGRESS_RE = r" · step [1-9]\d*/\d+"  # the status line's first step
RESULT_JS = f"() => /{RESULT_RE}/.test(document.body.innerText)"
PROGRESS_JS = "() => /" + PROGRESS_RE.replace("/", "\\/") + "/.test(document.body.innerText)"


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def start_server(root: Path, home: str, env: dict):
    full = {**os.environ, "LAB_HOME": home, "PYTHONPATH": str(root), **env}
    log = open(Path(home) / "streamlit.log", "w")
    proc, url = launch_streamlit(root, "app.py", full, log)
    try:
        wait_healthy(proc, url, log.name, 90)
    except RuntimeError:
        proc.kill()
        raise
    return proc, url, log


class Sampler(threading.Thread):
    """Health latency and server RSS, every ``period`` seconds while ``on`` is set."""

    def __init__(self, url: str, pid: int, period: float = 0.2):
        super().__init__(daemon=True)
        self.url, self.pid, self.period = url, pid, period
        self.health: list[float] = []
        self.rss: list[float] = []
        self.on = threading.Event()
        self.stop = threading.Event()

    def run(self):
        while not self.stop.is_set():
            if self.on.is_set():
                t = time.perf_counter()
                try:
                    with urllib.request.urlopen(self.url + "/_stcore/health", timeout=30) as r:
                        r.read()
                    self.health.append(time.perf_counter() - t)
                except OSError:
                    self.health.append(float("inf"))
                self.rss.append(rss_mb(self.pid))
            time.sleep(self.period)


async def session(i, browser, link, ready, go, out, timeout_ms, light):
    ctx = await browser.new_context(viewport={"width": 1400, "height": 1000})
    page = await ctx.new_page()
    page.set_default_timeout(timeout_ms)
    if light:  # the real Streamlit page and websocket, but no chart drawing (plotly.js refused)
        await page.route("**/vendor/plotly*", lambda route: route.abort())
    rec = {"i": i, "first": float("nan"), "result": float("nan"), "error": "", "light": light}
    out.append(rec)
    try:
        await page.goto(link)
        await page.wait_for_selector("h1")
        train = page.get_by_role("button", name="Train")
        await train.wait_for()
        ready.append(i)
        await go.wait()
        t0 = time.perf_counter()
        await train.click()
        await page.wait_for_function(PROGRESS_JS if light else DEPTH_STEP_JS, polling=100)
        rec["first"] = time.perf_counter() - t0
        await page.wait_for_function(RESULT_JS, polling=200)
        rec["result"] = time.perf_counter() - t0
    except Exception as e:  # a session that never got there: reported, never hidden
        rec["error"] = f"{type(e).__name__}: {str(e).splitlines()[0][:80]}"
    return ctx


async def ws_session(i, link, ready, go, out, timeout_ms):
    """A light session: the websocket and polling of a page, no browser (bench/wsclient.py)."""
    rec = {"i": i, "first": float("nan"), "result": float("nan"), "error": "", "light": "ws"}
    out.append(rec)
    s = LightSession(link, urlparse(link).query)
    s.watch("first", PROGRESS_RE)
    s.watch("result", RESULT_RE)
    timeout = timeout_ms / 1000
    try:
        await s.open()
        await s.wait_button("Train", timeout)
        ready.append(i)
        await go.wait()
        t0 = time.perf_counter()
        await s.press("Train")
        rec["first"] = await s.wait_for("first", timeout) - t0
        rec["result"] = await s.wait_for("result", timeout) - t0
    except Exception as e:  # a session that never got there: reported, never hidden
        rec["error"] = f"{type(e).__name__}: {str(e).splitlines()[0][:80] if str(e) else ''}"
    return s


class _Closer:
    def __init__(self, s):
        self.s = s

    async def close(self):
        await self.s.close()


async def drive(url: str, links: list[str], timeout_ms: int, real: int, light: str = "ws", settle: float = 1.0):
    from playwright.async_api import async_playwright

    async def one(i, link, browser):
        if i < real or light == "page":
            return await session(i, browser, link, ready, go, out, timeout_ms, i >= real)
        return _Closer(await ws_session(i, link, ready, go, out, timeout_ms))

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        ready, out, go = [], [], asyncio.Event()
        tasks = [asyncio.create_task(one(i, link, browser)) for i, link in enumerate(links)]
        t_open = time.perf_counter()
        while len(ready) < len(links) and not all(t.done() for t in tasks):
            await asyncio.sleep(0.1)
        opened = time.perf_counter() - t_open
        await asyncio.sleep(settle)  # let the pages settle before the class presses Train
        go.set()
        ctxs = await asyncio.gather(*tasks)
        for c in ctxs:
            await c.close()
        await browser.close()
    return sorted(out, key=lambda r: r["i"]), opened


def stored_runs(home: str) -> int | str:
    try:
        from labcore.store.db import STORE_FILENAME, RunStore

        store = RunStore(Path(home) / STORE_FILENAME)
        try:
            return len(store.list_runs())
        finally:
            store.close()
    except Exception as e:
        return f"? ({type(e).__name__})"


def pct(xs, q):
    xs = [x for x in xs if np.isfinite(x)]
    return float(np.percentile(xs, q)) if xs else float("nan")


def main() -> int:
    sys.stdout.reconfigure(line_buffering=True)  # figures survive a killed run
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sessions", "-n", type=int, default=30)
    ap.add_argument("--mix", choices=["same", "presets"], default="same")
    ap.add_argument("--app-root", default=str(ROOT), help="the checkout whose app.py to run")
    ap.add_argument("--runs", type=int, default=1, help="rounds of the whole class on the same server")
    ap.add_argument("--timeout", type=float, default=240.0, help="per-session wait, seconds")
    ap.add_argument("--real", type=int, default=None,
                    help="sessions that draw their charts (default all); the others are light: the same page, "
                         "websocket and polling with plotly.js refused, first chart = the status line's first step")
    ap.add_argument("--light", choices=["ws", "page"], default="ws",
                    help="what the sessions beyond --real are: ws (default) a websocket client speaking Streamlit's "
                         "protocol (bench/wsclient.py: the server's whole work, no browser on this machine's "
                         "cores; a class's browsers run on the students' machines), page a Chromium page with "
                         "plotly.js refused")
    ap.add_argument("--settle", type=float, default=1.0,
                    help="seconds between the last page drawn and the class pressing Train (default 1: the "
                         "server still warming up; a class that listens to the teacher first: 10 or more)")
    ap.add_argument("--keep-home", action="store_true", help="keep the server's LAB_HOME (run store, log)")
    a = ap.parse_args()
    reason = browser_missing_reason()
    if reason:
        print(f"classroom bench skipped: {reason}")
        return 2
    from labcore.presets import list_presets
    from labcore.spec.codec import to_url

    presets = list_presets()
    root = Path(a.app_root).resolve()
    home = tempfile.mkdtemp(prefix="lab-home-class-")
    print(f"app: {root}  sessions: {a.sessions}  mix: {a.mix}  settle: {a.settle:g} s  "
          f"training processes: {os.environ.get('LAB_TRAIN_PROCESSES', 'auto')}  ({uptime()})")
    proc, url, log = start_server(root, home, {})
    sampler = Sampler(url, proc.pid)
    sampler.start()
    try:
        for rnd in range(a.runs):
            names = [presets[0 if a.mix == "same" else i % len(presets)].name for i in range(a.sessions)]
            codes = {p.name: to_url(p.spec) for p in presets}
            links = [f"{url}/?spec={codes[n]}" for n in names]
            rss0 = rss_mb(proc.pid)
            sampler.health.clear(), sampler.rss.clear()
            sampler.on.set()
            t = time.perf_counter()
            real = a.sessions if a.real is None else a.real
            recs, opened = asyncio.run(drive(url, links, int(a.timeout * 1000), real, a.light, a.settle))
            wall = time.perf_counter() - t
            sampler.on.clear()
            print(f"\nround {rnd + 1}: {a.sessions} pages opened in {opened:.1f} s, whole round {wall:.1f} s")
            print(f"{'session':>7}  {'kind':<5} {'preset':<28} {'first chart s':>13} {'result s':>9}  error")
            for r in recs:
                kind = r["light"] if isinstance(r["light"], str) else "page" if r["light"] else "full"
                print(f"{r['i']:>7}  {kind:<5} {names[r['i']]:<28} {r['first']:>13.2f} {r['result']:>9.2f}  {r['error']}")
            first, result = [r["first"] for r in recs], [r["result"] for r in recs]
            h = sampler.health
            print(f"time to first chart  p50 {pct(first, 50):6.2f} s  p99 {pct(first, 99):6.2f} s  "
                  f"max {pct(first, 100):6.2f} s")
            print(f"time to result       p50 {pct(result, 50):6.2f} s  p99 {pct(result, 99):6.2f} s  "
                  f"max {pct(result, 100):6.2f} s   (aim: p99 <= 10 s)")
            print(f"/_stcore/health      p50 {pct(h, 50) * 1000:6.0f} ms p99 {pct(h, 99) * 1000:6.0f} ms "
                  f"max {pct(h, 100) * 1000:6.0f} ms  ({len(h)} samples; aim: p99 < 1 s)")
            print(f"server RSS           {rss0:.0f} MB before, {max(sampler.rss or [rss0]):.0f} MB at peak")
            failed = sum(1 for r in recs if r["error"])
            print(f"sessions without a result: {failed}")
            print(f"runs in the run store so far: {stored_runs(home)} (one per distinct run when shared)")
            print(f"load: {uptime()}")
    finally:
        sampler.stop.set()
        stop_streamlit(proc, log)
        if a.keep_home:
            print(f"server home (run store, streamlit.log) kept: {home}")
        else:
            shutil.rmtree(home, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
