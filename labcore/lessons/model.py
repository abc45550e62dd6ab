"""A lesson as data: its text (EN/FR), its runs (full specs), what to look at, its claims.

A lesson is one TOML file in this folder (``NN-name.toml``). :func:`load_lessons` reads and
validates them all; a malformed file raises :class:`~labcore.core.errors.SpecError` naming the
file and the field, never a traceback from deep inside. The format:

* ``title``, ``question`` and each ``[[steps]]`` entry: tables with ``en`` and ``fr`` text (the
  presenter view shows one step at a time; → and ← move between them);
* ``page``: where the lesson's runs open (``lab``, ``models`` or another family's page);
* ``chart``: the lesson's main chart (:data:`CHARTS`), ``second``: the chart beside it;
* ``[runs.a]`` and ``[runs.b]`` (``b`` optional): ``label`` (en/fr) and ``spec``, the whole spec
  in its dict form (any family), so a lesson never depends on a preset that may change;
* ``[look]``: the annotation drawn on the main chart (:class:`Look`);
* ``[[claims]]``: what must hold on every seed (:class:`Claim`).
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass, replace
from importlib import resources
from typing import Any

from labcore.core.errors import SpecError
from labcore.core.family import FAMILIES
from labcore.spec.codec import from_dict, to_dict

LANGS = ("en", "fr")
CHARTS = ("grad", "grad_norm", "act_std", "saturated", "dead", "loss", "accuracy")  # grad: ‖∂L/∂h‖; grad_norm: ‖∇W‖
QUANTITIES = ("ratio", "act_std_ratio", "test_acc", "train_loss", "diverged", "dead", "saturated")
OPS = ("lt", "le", "gt", "ge", "between")
WHERE = ("min", "max", "first", "last")
SEEDS = (0, 1, 2, 3, 4)  # every claim is checked on each of these


def _text(d: Any, where: str) -> dict[str, str]:
    if not isinstance(d, dict) or any(not isinstance(d.get(l), str) or not d[l].strip() for l in LANGS):
        raise SpecError(where, d, "a table with non-empty 'en' and 'fr' texts")
    return {l: d[l].strip() for l in LANGS}


@dataclass(frozen=True)
class Claim:
    """``quantity`` of run ``run`` (minus the same of run ``minus``, if given) compared with a bound.

    ``at`` = ``init`` reads the first recorded step (step 1, before any update), ``end`` the last.
    ``metric`` (for ``ratio``) is the per-layer metric whose first/last hidden-layer ratio is
    read: ``out_grad_norm`` (the backprop signal ‖∂L/∂h‖, the default) or ``grad_norm``.
    """

    text: dict[str, str]
    quantity: str
    run: str
    op: str
    bound: tuple[float, ...]
    minus: str = ""
    at: str = "end"
    metric: str = "out_grad_norm"

    def holds(self, value: float) -> bool:
        if value != value:  # NaN never satisfies a claim
            return False
        b = self.bound
        return {"lt": value < b[0], "le": value <= b[0], "gt": value > b[0], "ge": value >= b[0],
                "between": b[0] <= value <= b[-1]}[self.op]

    def bound_text(self) -> str:
        sym = {"lt": "<", "le": "≤", "gt": ">", "ge": "≥"}
        if self.op == "between":
            return f"in [{self.bound[0]:g}, {self.bound[1]:g}]"
        return f"{sym[self.op]} {self.bound[0]:g}"


@dataclass(frozen=True)
class Look:
    """Where the annotation points: run ``run``'s ``metric`` at the layer ``where`` (min/max/...)."""

    text: dict[str, str]  # may hold {value} (the metric there), {drop} (last layer ÷ there), {gain} (there ÷ last)
    run: str = "a"
    where: str = "min"
    metric: str = "out_grad_norm"
    at: str = "init"  # the recorded step read: init (step 1) or end


@dataclass(frozen=True)
class Run:
    label: dict[str, str]
    spec: Any  # a spec of any family (RunSpec, ModelRunSpec, ...)


@dataclass(frozen=True)
class Lesson:
    id: str
    order: int
    title: dict[str, str]
    steps: tuple[dict[str, str], ...]
    question: dict[str, str]
    page: str
    chart: str
    second: str
    runs: dict[str, Run]
    look: Look
    claims: tuple[Claim, ...]
    toggles: tuple[str, ...] = ("b", "theory")  # the presenter view's few controls
    theory: bool = True  # a dashed prediction applies (MLP runs at init)

    def words(self, lang: str) -> int:
        """Words of the lesson's text (steps and question) in one language."""
        return sum(len(s[lang].split()) for s in self.steps) + len(self.question[lang].split())

    def spec(self, run: str, seed: int | None = None) -> Any:
        s = self.runs[run].spec
        return s if seed is None else with_seed(s, seed)


def with_seed(spec: Any, seed: int) -> Any:
    """The same spec with another seed (MLP specs keep it in ``train``, full models at the top)."""
    if hasattr(spec, "train"):
        return replace(spec, train=replace(spec.train, seed=seed))
    return replace(spec, seed=seed)


def _claim(d: Any, where: str, runs: dict) -> Claim:
    if not isinstance(d, dict):
        raise SpecError(where, d, "a claim table")
    ops = [o for o in OPS if o in d]
    if len(ops) != 1:
        raise SpecError(where, d, "exactly one bound: " + ", ".join(OPS))
    raw = d[ops[0]]
    bound = tuple(raw) if isinstance(raw, list) else (raw,)
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in bound) \
            or len(bound) != (2 if ops[0] == "between" else 1):
        raise SpecError(f"{where}.{ops[0]}", raw, "a number ([lo, hi] for between)")
    c = Claim(_text(d.get("text"), f"{where}.text"), d.get("quantity"), d.get("run", "a"), ops[0],
              tuple(float(v) for v in bound), d.get("minus", ""), d.get("at", "end"),
              d.get("metric", "out_grad_norm"))
    if c.quantity not in QUANTITIES:
        raise SpecError(f"{where}.quantity", c.quantity, "one of " + ", ".join(QUANTITIES))
    for name in ("run", "minus"):
        v = getattr(c, name)
        if (v or name == "run") and v not in runs:
            raise SpecError(f"{where}.{name}", v, "a run of this lesson: " + ", ".join(runs))
    if c.at not in ("init", "end"):
        raise SpecError(f"{where}.at", c.at, "init or end")
    if c.metric not in ("out_grad_norm", "grad_norm"):
        raise SpecError(f"{where}.metric", c.metric, "out_grad_norm or grad_norm")
    return c


def parse_lesson(d: dict, name: str) -> Lesson:
    """Build a Lesson from a TOML file's dict; SpecError names ``name`` and the field."""
    try:
        runs = {}
        for key, r in (d.get("runs") or {}).items():
            if not isinstance(r, dict) or "spec" not in r:
                raise SpecError(f"runs.{key}", r, "a table with 'label' and 'spec'")
            runs[key] = Run(_text(r.get("label"), f"runs.{key}.label"), from_dict(r["spec"]))
        if "a" not in runs:
            raise SpecError("runs", list(runs), "at least a run 'a'")
        steps = d.get("steps")
        if not isinstance(steps, list) or not steps:
            raise SpecError("steps", steps, "a list of [[steps]] with en and fr")
        page, chart, second = d.get("page", "lab"), d.get("chart", "grad"), d.get("second", "accuracy")
        pages = ["lab", "models"] + sorted({f.page for f in FAMILIES.values()} - {"lab", "models"})
        if page not in pages:
            raise SpecError("page", page, "one of " + ", ".join(pages))
        for f, v in (("chart", chart), ("second", second)):
            if v not in CHARTS:
                raise SpecError(f, v, "one of " + ", ".join(CHARTS))
        lk = d.get("look") or {}
        look = Look(_text(lk.get("text"), "look.text"), lk.get("run", "a"), lk.get("where", "min"),
                    lk.get("metric", "out_grad_norm"), lk.get("at", "init"))
        if look.run not in runs or look.where not in WHERE or look.at not in ("init", "end"):
            raise SpecError("look", lk, f"run in {list(runs)} and where in {list(WHERE)}")
        claims = tuple(_claim(c, f"claims[{i}]", runs) for i, c in enumerate(d.get("claims") or []))
        if not claims:
            raise SpecError("claims", [], "at least one [[claims]] entry (a lesson states its claim)")
        toggles = tuple(d.get("toggles", ("b", "theory")))
        return Lesson(name, int(d.get("order", 99)), _text(d.get("title"), "title"),
                      tuple(_text(s, f"steps[{i}]") for i, s in enumerate(steps)),
                      _text(d.get("question"), "question"), page, chart, second, runs, look, claims,
                      toggles, bool(d.get("theory", page == "lab")))
    except SpecError as e:
        raise SpecError(f"lesson {name}: {e.field}", e.value, e.allowed) from None


def _files():
    return [f for f in resources.files(__package__).iterdir() if f.name.endswith(".toml")]


def load_lessons() -> list[Lesson]:
    """Every shipped lesson, in course order."""
    out = []
    for f in _files():
        try:
            d = tomllib.loads(f.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as e:
            raise SpecError(f"lesson {f.name}", "...", f"valid TOML ({e})") from None
        out.append(parse_lesson(d, f.name[:-5].split("-", 1)[-1]))
    return sorted(out, key=lambda l: (l.order, l.id))


def get_lesson(lesson_id: str) -> Lesson:
    lessons = {l.id: l for l in load_lessons()}
    if lesson_id not in lessons:
        raise SpecError("lesson", lesson_id, "one of " + ", ".join(lessons))
    return lessons[lesson_id]


def spec_dict(spec: Any) -> dict:
    """The spec's full dict form (what the recorded files are keyed by)."""
    return to_dict(spec)
