"""Real-browser helpers: start ``streamlit run app.py`` on a free port, drive it with Playwright.

Plain functions (no fixtures) so any test or benchmark can use them::

    from tests.browser import browser_or_skip, streamlit_server, new_page
    pw_browser = browser_or_skip()            # skips (or fails under LAB_REQUIRE_BROWSER=1)
    with streamlit_server() as url, pw_browser as browser:
        page = new_page(browser, url)

design.md §7: system Chromium at /usr/bin/chromium, never ``playwright install``.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "artifacts"
CHROMIUM = os.environ.get("LAB_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--headless"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def browser_missing_reason() -> str | None:
    """Why a browser test cannot run here, or None if it can."""
    if not Path(CHROMIUM).exists():
        return f"no Chromium at {CHROMIUM} (apt-get install -y chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright Python package is not installed"
    return None


def require_browser() -> None:
    """Skip the calling test with a visible reason; fail instead when LAB_REQUIRE_BROWSER=1."""
    import pytest

    reason = browser_missing_reason()
    if reason is None:
        return
    if os.environ.get("LAB_REQUIRE_BROWSER") == "1":
        pytest.fail(f"LAB_REQUIRE_BROWSER=1 but {reason}")
    pytest.skip(f"browser test skipped: {reason}")


def launch_streamlit(root: Path, app: str, env: dict, log) -> tuple[subprocess.Popen, str]:
    """Start ``streamlit run root/app`` headless on a free port (cwd ``root``); (process, base URL)."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(Path(root) / app), "--server.headless", "true",
         "--server.port", str(port), "--server.address", "127.0.0.1",
         "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"],
        cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT)
    return proc, f"http://127.0.0.1:{port}"


def wait_healthy(proc: subprocess.Popen, url: str, log_name: str, timeout: float) -> None:
    """Poll ``/_stcore/health`` until it answers 200; raise (with the log's tail) if the server exits or stalls."""
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited early; see {log_name}:\n" + Path(log_name).read_text()[-2000:])
        try:
            with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"streamlit did not become healthy in {timeout:.0f} s")
        time.sleep(0.3)


def stop_streamlit(proc: subprocess.Popen, log) -> None:
    """Terminate the server (kill it if it lingers past 10 s) and close its log."""
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)
    log.close()


@contextlib.contextmanager
def streamlit_server(app: str = "app.py", env: dict | None = None, timeout: float = 60.0,
                     lab_home: str | None = None):
    """Run ``streamlit run app`` headless on a free port; yields the base URL. LAB_HOME is a temp dir."""
    home = lab_home or tempfile.mkdtemp(prefix="lab-home-browser-")
    full_env = {**os.environ, "LAB_HOME": home, "PYTHONPATH": str(ROOT), **(env or {})}
    log = open(Path(home) / "streamlit.log", "w")
    proc, url = launch_streamlit(ROOT, app, full_env, log)
    try:
        wait_healthy(proc, url, log.name, timeout)
        yield url
    finally:
        stop_streamlit(proc, log)
        if lab_home is None:
            shutil.rmtree(home, ignore_errors=True)


@contextlib.contextmanager
def chromium():
    """A headless system Chromium through Playwright's sync API."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


def new_page(browser, url: str, width: int = 1500, height: int = 1100, timeout_ms: int = 60_000):
    """Open ``url`` and wait until Streamlit has drawn the app."""
    page = browser.new_page(viewport={"width": width, "height": height})
    page.set_default_timeout(timeout_ms)
    page.goto(url)
    page.wait_for_selector("[data-testid='stApp']")
    page.wait_for_selector("h1")
    return page


def wait_idle(page, timeout_ms: int = 30_000) -> None:
    """Wait until the script is not running (the status widget is gone)."""
    page.wait_for_function(
        "() => !document.querySelector(\"[data-testid='stStatusWidget']\")", timeout=timeout_ms)


def screenshot(page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    page.screenshot(path=str(path), full_page=True)
    return path


__all__ = ["ARTIFACTS", "CHROMIUM", "CHROMIUM_ARGS", "browser_missing_reason", "chromium", "free_port",
           "new_page", "require_browser", "screenshot", "streamlit_server", "wait_idle"]
