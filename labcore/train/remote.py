"""Trainers in worker processes: the job manager's training off the server's GIL.

In the app, the job manager's worker threads train in the server process, where every page's
script run, the event loop and the training thread share one GIL: a page polling took throughput
from training (0.66-0.88x headless with one real browser page), and two runs on the two workers
made each other wait on the GIL (a class on six presets got ~1 core's worth of training from 2).

With :class:`TrainerHosts`, each trainer lives in one of a few worker processes (started once,
torch imported there, not in the pages' process) and the manager drives it through a
:class:`RemoteTrainer`, which has the trainer interface the manager uses (``steps``, ``stop``,
``summary``, ``apply``, ``step``, ``status``, ``layers``...). A call sends one small message
(``steps(n)``: the count) and gets back the result (a :class:`~labcore.core.metrics.MetricsChunk`,
a few KB) with the trainer's new state (step, status, summary, net state), which the proxy keeps:
``summary()`` on every page poll costs nothing. A chunk's metrics stay on the training side's
device until its flush, as before (design.md §5); the pipe carries the flushed host copy.

A trainer stays in the process that made it (its model and optimizer live there); a batch's jobs
are made in the least busy process. ``stop()`` is noted and sent with the next call (a chunk is
~0.2 s). A process that dies (out of memory) fails its runs with a message and is replaced for
the next ones. The page-side process never imports torch for this.
"""
from __future__ import annotations

import itertools
import logging
import os
import secrets
import socket
import subprocess
import sys
import threading
import time
import weakref
from multiprocessing.connection import Client, Listener
from pathlib import Path

from labcore.core.status import TERMINAL, Status

log = logging.getLogger(__name__)


# ----------------------------------------------------------------------------- worker process
def _state_of(tr) -> dict:
    return {"step": tr.step, "status": tr.status, "steps_per_second": tr.steps_per_second,
            "summary": tr.summary(), "state": getattr(tr, "state", None)}


def _serve(conn) -> None:
    """A worker process: make trainers and run the calls sent on ``conn``, one at a time."""
    import importlib

    from labcore.core.family import family_of
    from labcore.train.device import use_cpu_threads  # torch: imported once, here

    trainers: dict[int, object] = {}
    conn.send(("ready", None, None))
    while True:
        try:
            op, tid, args = conn.recv()
        except (EOFError, OSError):
            return
        if op == "drop":
            trainers.pop(tid, None)
            continue
        tr = trainers.get(tid)
        try:
            if op == "make":  # the module that registers the spec's family, then its trainer
                spec, module = args
                importlib.import_module(module)
                tr = trainers[tid] = family_of(spec).make_trainer(spec)
                res = {"layers": list(tr.layers), "can_apply": hasattr(tr, "apply")}
            elif op == "steps":
                n, stop = args
                if stop:
                    tr.stop()
                if getattr(tr, "cpu_threads", None):
                    use_cpu_threads(tr)
                res = tr.steps(n)
            elif op == "stop":
                tr.stop()
                res = None
            elif op == "apply":
                res = tr.apply(args[0])
            elif op == "call":  # a picture of the live trainer: fn(trainer, *args) by reference
                fn, fargs = args
                res = fn(tr, *fargs)
            else:
                raise ValueError(f"unknown call {op!r}")
            conn.send(("ok", res, _state_of(tr)))
        except BaseException as e:  # sent back; the caller raises it (a SurgeryError stays one)
            try:
                conn.send(("err", e, _state_of(tr) if tr is not None else None))
            except Exception:  # not picklable: its type and words
                conn.send(("err", RuntimeError(f"{type(e).__name__}: {e}"), None))


# ----------------------------------------------------------------------------- the pages' side
class HostDied(RuntimeError):
    pass


class HostStartFailed(HostDied):
    """The process never became ready: it could not start, or ended before it listened."""


class _Host:
    """One worker process and its connection (calls from any thread, one at a time).

    The process is ``python -m labcore.train.remote``, not a multiprocessing child: a spawned
    child re-imports the parent's ``__main__``, which inside Streamlit is the page script being
    run (it set ``sys.modules["__main__"]``), so each worker would have run the app. The child
    listens on a local socket, prints its address, and the parent connects with a one-time key.
    """

    def __init__(self):
        root = str(Path(__file__).resolve().parents[2])  # the folder holding labcore
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([root] + [p for p in [os.environ.get("PYTHONPATH")] if p])}
        self.key = secrets.token_bytes(16)
        try:
            self.proc = subprocess.Popen([sys.executable, "-m", "labcore.train.remote"], env=env,
                                         stdin=subprocess.PIPE, stdout=subprocess.PIPE)
            self.proc.stdin.write(self.key.hex().encode() + b"\n")
            self.proc.stdin.close()
        except OSError as e:  # no interpreter there, or it ended at once (a broken pipe)
            raise HostStartFailed(f"the training process could not start ({e})") from None
        self.conn = None
        self.lock = threading.Lock()
        self.live = 0  # trainers made here and not dropped

    def _connect(self) -> None:
        if self.conn is None:
            line = self.proc.stdout.readline().decode().strip()  # its address, once it listens
            try:
                if not line:
                    raise OSError("it said nothing")
                self.conn = Client(line, authkey=self.key)  # waits for its warm-up
            except (OSError, EOFError) as e:
                code = self.proc.poll()
                raise HostStartFailed(f"the training process could not start ({e}"
                                      + (f", exit code {code})" if code is not None else ")")) from None
            self._recv()  # "ready"

    def _died(self) -> HostDied:
        code = self.proc.poll()
        return HostDied("the training process ended" + (f" (exit code {code})" if code is not None else "")
                        + ": out of memory? Try a smaller net or batch.")

    def _recv(self):
        try:
            return self.conn.recv()
        except (EOFError, OSError):
            raise self._died() from None

    def call(self, op: str, tid: int, *args):
        with self.lock:
            self._connect()
            try:
                self.conn.send((op, tid, args))
            except (OSError, ValueError) as e:
                raise HostDied(f"the training process is gone ({e})") from None
            kind, res, state = self._recv()
        return kind, res, state

    def send_only(self, op: str, tid: int) -> None:
        with self.lock:
            if self.conn is None:
                return
            try:
                self.conn.send((op, tid, ()))
            except (OSError, ValueError):
                pass

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def close(self) -> None:
        try:
            if self.conn is not None:
                self.conn.close()
        finally:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def _exit_with_parent(parent: int) -> None:
    """End this process when the server that started it is gone (killed, crashed, or ended
    without closing it): a process still waiting for its first call would otherwise wait forever."""
    while True:
        time.sleep(0.5)
        if os.getppid() != parent:
            os._exit(0)


def main() -> None:
    """The worker process: listen on a local socket, say where, serve the one connection."""
    key = bytes.fromhex(sys.stdin.readline().strip())
    threading.Thread(target=_exit_with_parent, args=(os.getppid(),), name="lab-parent-watch", daemon=True).start()
    with Listener(family="AF_UNIX" if hasattr(socket, "AF_UNIX") else "AF_INET", authkey=key) as listener:
        out = os.fdopen(os.dup(1), "w")
        os.dup2(2, 1)  # anything printed later goes to the server's log, not into the pipe
        out.write(f"{listener.address}\n")
        out.close()
        try:  # the first trainer's imports and kernels, from the start (a first call waits on it)
            from labcore.train.warm import warm_up_training

            warm_up_training()
        except Exception as e:  # a failed warm-up costs the first run its time, nothing else
            print(f"training process warm-up failed: {e}", file=sys.stderr)
        conn = listener.accept()
    _serve(conn)


class TrainerHosts:
    """A few worker processes that hold and train the job manager's trainers."""

    def __init__(self, n: int = 2):
        self.n = max(1, int(n))
        self._lock = threading.Lock()
        self._hosts: list[_Host] = []
        self._ids = itertools.count(1)

    def start(self) -> "TrainerHosts":
        """Start the processes now (they import torch; a first Train then waits for nothing)."""
        with self._lock:
            self._hosts = [h for h in self._hosts if h.alive]
            while len(self._hosts) < self.n:
                self._hosts.append(_Host())
        return self

    def make(self, spec, host: int | None = None) -> "RemoteTrainer":
        """A trainer for ``spec`` in process ``host`` (an index; None: the one holding the fewest
        trainers). Raises what the family raises."""
        self.start()
        with self._lock:
            host = (min(self._hosts, key=lambda h: h.live) if host is None
                    else self._hosts[host % len(self._hosts)])
            host.live += 1
        tid = next(self._ids)
        try:
            return RemoteTrainer(host, tid, spec)
        except BaseException:
            host.live -= 1
            raise

    def close(self) -> None:
        with self._lock:
            hosts, self._hosts = self._hosts, []
        for h in hosts:
            h.close()


def _drop(host: _Host, tid: int) -> None:
    host.live -= 1
    if host.alive:
        host.send_only("drop", tid)


class RemoteTrainer:
    """The trainer interface the job manager uses, for a trainer in a worker process."""

    cpu_threads = None  # the worker process applies its trainer's own thread count

    def __init__(self, host: _Host, tid: int, spec):
        self._host, self._id, self.spec = host, tid, spec
        self._stop_asked = False
        self.step, self.status, self.steps_per_second = 0, Status.READY, 0.0
        self._summary: dict = {}
        self.state = None
        from labcore.core.family import family_of

        info = self._call("make", spec, family_of(spec).make_trainer.__module__)
        self.layers = info["layers"]
        if info["can_apply"]:
            self.apply = self._apply
        weakref.finalize(self, _drop, host, tid)  # the remote trainer goes with its proxy

    def _call(self, op: str, *args):
        kind, res, state = self._host.call(op, self._id, *args)
        if state is not None:
            self.step, self.status = state["step"], state["status"]
            self.steps_per_second, self._summary = state["steps_per_second"], state["summary"]
            self.state = state["state"]
        if kind == "err":
            raise res
        return res

    # ------------------------------------------------------------------ the trainer interface
    def steps(self, n: int | None = None):
        stop, self._stop_asked = self._stop_asked, False
        return self._call("steps", n, stop)

    def stop(self) -> None:
        """Noted at once, applied by the next call (thread-safe: no pipe use here)."""
        self._stop_asked = True

    @property
    def done(self) -> bool:
        return self.status in TERMINAL

    def summary(self) -> dict:
        s = dict(self._summary)
        if "status" in s:  # the manager may end a run here (Stop) before the process hears of it
            s["status"] = self.status
        return s

    def _apply(self, change):
        return self._call("apply", change)

    def run_picture(self, fn, *args):
        """``fn(trainer, *args)`` run next to the trainer (``fn`` is sent by reference)."""
        return self._call("call", fn, args)


__all__ = ["HostDied", "HostStartFailed", "RemoteTrainer", "TrainerHosts"]


if __name__ == "__main__":
    main()
