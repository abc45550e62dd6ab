"""``python -m labcore lessons [list|check] [--json] [--lesson ID] [--seeds 0,1,2,3,4]``.

``list`` prints the lessons in course order; ``check`` trains every lesson's runs on seeds 0-4
and prints each claim's measured values (median, range) and PASS/FAIL; it exits 1 when a claim
fails. ``--json`` prints the same as a JSON list (one object per claim).
"""
from __future__ import annotations

import argparse
import json
import sys

from labcore.cli.common import EXIT_FAILED
from labcore.core.errors import SpecError
from labcore.lessons import SEEDS, load_lessons
from labcore.lessons.claims import check_lesson


def add_subcommand(sub) -> None:
    p = sub.add_parser("lessons", help="list the lessons, or check every lesson's claims on 5 seeds")
    p.add_argument("action", nargs="?", choices=("list", "check"), default="list")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.add_argument("--lesson", action="append", help="only this lesson (repeatable)")
    p.add_argument("--seeds", default=",".join(map(str, SEEDS)), help="comma-separated seeds (default 0-4)")
    p.add_argument("--lang", choices=("en", "fr"), default="en")
    p.set_defaults(func=cmd_lessons)


def _seeds(text: str) -> tuple[int, ...]:
    try:
        seeds = tuple(int(s) for s in text.split(",") if s.strip())
    except ValueError:
        raise SpecError("--seeds", text, "comma-separated integers, e.g. 0,1,2,3,4") from None
    if not seeds or any(s < 0 for s in seeds):
        raise SpecError("--seeds", text, "at least one seed ≥ 0")
    return seeds


def _g(v) -> str:
    return "—" if v is None else f"{v:.3g}"


def cmd_lessons(args) -> int:
    lessons = load_lessons()
    if args.lesson:
        known = {l.id for l in lessons}
        bad = [x for x in args.lesson if x not in known]
        if bad:
            raise SpecError("--lesson", bad[0], "one of " + ", ".join(l.id for l in lessons))
        lessons = [l for l in lessons if l.id in args.lesson]
    if args.action == "list":
        rows = [{"id": l.id, "title": l.title[args.lang], "page": l.page, "runs": list(l.runs),
                 "claims": [c.text[args.lang] for c in l.claims]} for l in lessons]
        if args.json:
            print(json.dumps(rows, ensure_ascii=False, indent=2))
        else:
            for r in rows:
                print(f"{r['id']:<14} {r['title']}  ({len(r['claims'])} claim(s), page {r['page']})")
        return 0
    seeds = _seeds(args.seeds)
    progress = None if args.json else (lambda msg: print("  " + msg, file=sys.stderr, flush=True))
    out = []
    for lesson in lessons:
        out += [r.as_dict() for r in check_lesson(lesson, seeds, progress)]
    if args.json:
        print(json.dumps(out, ensure_ascii=False, indent=2))
    else:
        print(table(out))
    return 0 if all(r["passed"] for r in out) else EXIT_FAILED


def table(rows: list[dict]) -> str:
    """The check's result as a Markdown table (the README carries one)."""
    lines = ["| lesson | claim | bound | median [min, max] over seeds | pass |", "| --- | --- | --- | --- | --- |"]
    for r in rows:
        lines.append(f"| `{r['lesson']}` | {r['claim']} | {r['bound']} | {_g(r['median'])} "
                     f"[{_g(r['min'])}, {_g(r['max'])}] | {'PASS' if r['passed'] else 'FAIL'} |")
    return "\n".join(lines)
