"""The command line, ``python -m labcore`` (and the ``gradient-flow-lab`` console script).

Owns: argument parsing, progress bars, one-line errors and exit codes. It is the top layer: it may
import every other package of labcore, and nothing in labcore imports it. Its sub-commands are
listed here, explicitly:

* ``run``: train a spec of any family (:mod:`labcore.cli.run`, full-model flags from
  :mod:`labcore.cli.models`, recurrent flags from :mod:`labcore.cli.seq`, store options from :mod:`labcore.cli.runs`);
* ``presets``: list the presets;
* ``runs``: the run store (:mod:`labcore.cli.runs`);
* ``lessons``: list the lessons, check their claims on seeds 0-4 (:mod:`labcore.cli.lessons`).
* ``sweep``: sweeps and phase diagrams (:mod:`labcore.cli.sweep`).

Errors print one clear line on stderr and exit non-zero; set LAB_DEBUG=1 for the traceback.
"""
from __future__ import annotations

import argparse
import os
import sys

from labcore.cli import lessons, models, run, runs, seq, sweep
from labcore.cli.common import EXIT_BAD_INPUT, EXIT_FAILED
from labcore.core.errors import SpecError


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m labcore", description="Gradient Flow Lab from the command line.")
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="train a network and print its per-layer gradient summary")
    run.add_run_arguments(r)
    models.add_arguments(r)
    seq.add_arguments(r)
    runs.add_run_arguments(r)
    r.set_defaults(func=run.cmd_run)
    sub.add_parser("presets", help="list the presets").set_defaults(func=run.cmd_presets)
    runs.add_subcommands(sub)
    lessons.add_subcommand(sub)
    sweep.add_subcommands(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except SpecError as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except Exception as e:  # noqa: BLE001 - the CLI never shows a traceback
        if os.environ.get("LAB_DEBUG"):
            raise
        print(f"error: {type(e).__name__}: {e}", file=sys.stderr)
        return EXIT_FAILED


def console() -> None:
    """Entry point of the ``gradient-flow-lab`` console script."""
    sys.exit(main())


__all__ = ["build_parser", "console", "main"]
