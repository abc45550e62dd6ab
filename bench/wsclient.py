"""A light Streamlit session for benches: the websocket a browser opens, and nothing drawn.

A :class:`LightSession` speaks Streamlit's own protocol (``BackMsg`` / ``ForwardMsg`` protobufs on
``/_stcore/stream``) as the browser's frontend does, so the server does exactly the work it does
for a real tab (a session, its script runs, its fragments' reruns and their messages), while this
side costs a fraction of a browser page:

* it opens the page with a query string (a full script run);
* it remembers the buttons it was sent (label -> widget id and the fragment drawing it) and presses
  one by sending a rerun of that fragment with the button's trigger, as the frontend does;
* it follows the fragments' polling like the frontend: an ``auto_rerun`` message starts a timer
  that asks for that fragment's rerun every ``interval`` seconds, ``stop_auto_rerun`` and every
  full-run ``new_session`` clear timers;
* it keeps the hashes of the cacheable messages it received and lists them in each rerun request,
  as the frontend's message cache does, so the server sends a short reference for a message the
  session already has (an unchanged chart) instead of the message;
* it answers nothing else: messages are decoded, searched for the texts the bench waits for, and
  dropped.

Widget values: the reruns carry only a pressed button's trigger; every other widget keeps the
value the server holds for it (Streamlit keeps a widget's last value when a rerun omits it), which
for a session that never touched them is the value its link set.

Used by ``bench/classroom.py``; runs in the bench's asyncio loop (``websockets`` comes with
Streamlit).
"""
from __future__ import annotations

import asyncio
import re
import time
from urllib.parse import urlparse

from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState


class LightSession:
    """One Streamlit session over its websocket (see the module doc)."""

    def __init__(self, url: str, query: str = ""):
        u = urlparse(url)
        self.http = f"{u.scheme}://{u.netloc}"
        self.ws_url = f"{'wss' if u.scheme == 'https' else 'ws'}://{u.netloc}/_stcore/stream"
        self.query = query
        self.buttons: dict[str, tuple[str, str]] = {}  # label -> (widget id, its fragment id or "")
        self.page_hash = ""
        self.texts: list[tuple[float, str]] = []  # (time, decoded delta text) of watched patterns
        self._timers: dict[str, tuple[float, asyncio.Task]] = {}
        self._ws = None
        self._reader: asyncio.Task | None = None
        self._seen: dict[str, float] = {}  # pattern -> first time a delta matched it
        self._patterns: dict[str, re.Pattern] = {}
        self._cached: dict[str, None] = {}  # hashes of cacheable messages received, oldest first
        self.messages = 0
        self.bytes = 0
        self.error = ""

    # ------------------------------------------------------------------ lifecycle
    async def open(self) -> None:
        import websockets

        self._ws = await websockets.connect(self.ws_url, subprotocols=["streamlit"], max_size=None,
                                            origin=self.http, open_timeout=60, ping_interval=None)
        self._reader = asyncio.create_task(self._read())
        await self._rerun()

    async def close(self) -> None:
        for _, task in self._timers.values():
            task.cancel()
        self._timers.clear()
        if self._reader is not None:
            self._reader.cancel()
        if self._ws is not None:
            await self._ws.close()

    # ------------------------------------------------------------------ what a page does
    def watch(self, name: str, pattern: str) -> None:
        """Note the first time a delta's text matches ``pattern`` (see :meth:`wait_for`)."""
        self._patterns[name] = re.compile(pattern.encode())

    async def wait_for(self, name: str, timeout: float) -> float:
        """perf_counter() of the first delta matching the watched pattern ``name``."""
        await self._until(lambda: name in self._seen, f"no {name!r}", timeout)
        return self._seen[name]

    async def wait_button(self, label: str, timeout: float) -> None:
        await self._until(lambda: label in self.buttons, f"no {label!r} button", timeout)

    async def _until(self, cond, what: str, timeout: float) -> None:
        deadline = time.perf_counter() + timeout
        while not cond():
            if self.error:
                raise RuntimeError(self.error)
            if time.perf_counter() > deadline:
                raise TimeoutError(f"{what} within {timeout:.0f} s")
            await asyncio.sleep(0.05)

    async def press(self, label: str) -> None:
        """Press a button by its label, as a click does: a rerun carrying its trigger, of the
        fragment the button is drawn in (the whole page for a button outside fragments)."""
        wid, fragment_id = self.buttons[label]
        await self._rerun(fragment_id, widgets=[WidgetState(id=wid, trigger_value=True)])

    # ------------------------------------------------------------------ protocol
    async def _rerun(self, fragment_id: str = "", widgets=(), auto: bool = False) -> None:
        msg = BackMsg()
        cs = msg.rerun_script
        cs.query_string = self.query
        cs.page_script_hash = self.page_hash
        cs.widget_states.widgets.extend(widgets)
        cs.cached_message_hashes.extend(self._cached)
        cs.context_info.timezone = "UTC"
        cs.context_info.locale = "en-US"
        cs.context_info.url = f"{self.http}/?{self.query}"
        if fragment_id:
            cs.fragment_id = fragment_id
            cs.is_auto_rerun = auto
        await self._ws.send(msg.SerializeToString())

    async def _poll(self, fragment_id: str, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            await self._rerun(fragment_id, auto=True)

    def _stop_timer(self, fragment_id: str) -> None:
        t = self._timers.pop(fragment_id, None)
        if t is not None:
            t[1].cancel()

    async def _read(self) -> None:
        try:
            async for raw in self._ws:
                self.messages += 1
                self.bytes += len(raw)
                self._handle(raw)
        except asyncio.CancelledError:
            raise
        except Exception as e:  # a dropped connection: the bench reports it
            self.error = f"{type(e).__name__}: {e}"

    def _handle(self, raw: bytes) -> None:
        msg = ForwardMsg()
        msg.ParseFromString(raw)
        kind = msg.WhichOneof("type")
        if msg.metadata.cacheable and msg.hash:
            self._cached[msg.hash] = None
            while len(self._cached) > 500:
                del self._cached[next(iter(self._cached))]
        if kind == "new_session":
            self.page_hash = msg.new_session.page_script_hash or self.page_hash
            if not msg.metadata.run.fragment_ids:  # a full run: the frontend drops every timer
                for fid in list(self._timers):
                    self._stop_timer(fid)
        elif kind == "auto_rerun":
            fid, every = msg.auto_rerun.fragment_id, msg.auto_rerun.interval
            if fid and self._timers.get(fid, (None,))[0] != every:
                self._stop_timer(fid)
                self._timers[fid] = (every, asyncio.create_task(self._poll(fid, every)))
        elif kind == "stop_auto_rerun":
            for fid in msg.stop_auto_rerun.fragment_ids:
                self._stop_timer(fid)
        elif kind == "delta":
            el = msg.delta.new_element
            if el.WhichOneof("type") == "button" and el.button.label:
                self.buttons[el.button.label] = (el.button.id, msg.delta.fragment_id)
            if self._patterns:
                now = time.perf_counter()
                for name, pat in self._patterns.items():
                    if name not in self._seen and pat.search(raw):
                        self._seen[name] = now


__all__ = ["LightSession"]
