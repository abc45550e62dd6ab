"""Imported once by the forkserver that the local pool forks its workers from.

Importing torch, the families and the data loaders costs seconds per process (much more on a
loaded machine). Done here, once per sweeping process, every pool worker is a cheap fork of a
process that already has them. Safe to fork: this process is started fresh by multiprocessing
(not forked from a threaded parent), is single-threaded, and runs no torch op, so no OpenMP or
intra-op thread pool exists when it forks; torch is set to one thread before anything else.
"""
import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

from labcore.sweep.worker import init_worker  # noqa: E402

init_worker()
