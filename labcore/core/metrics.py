"""Host-side metric chunks: what a flush returns, concatenable, convertible to tidy pandas."""
from __future__ import annotations

from dataclasses import dataclass, field

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # pandas loads only when a frame is built
    import pandas as pd

# Per-layer metrics, in the order of the probe's buffer rows.
LAYER_METRICS = ("grad_norm", "weight_norm", "update_ratio", "out_grad_norm",
                 "act_mean", "act_std", "saturated", "dead")

# Metrics of a layer's weight, whose shape depends on what the layer reads: the first hidden
# layer reads the data, so first/last ratios of these start at the second hidden layer.
INPUT_READING_METRICS = ("grad_norm", "weight_norm", "update_ratio")


def _finite(a: np.ndarray) -> np.ndarray:
    """Non-finite values become NaN (missing), never numbers."""
    a = np.asarray(a, dtype=np.float64)
    return np.where(np.isfinite(a), a, np.nan)


@dataclass
class MetricsChunk:
    """Metrics of a span of steps. Arrays are numpy; non-finite entries are NaN."""

    layers: list[str]  # probe point names, input side first
    steps: np.ndarray  # (R,) recorded step numbers (1-based)
    loss: np.ndarray  # (R,) training-batch loss at each recorded step
    acc: np.ndarray  # (R,) training-batch accuracy
    layer: np.ndarray  # (R, len(LAYER_METRICS), L)
    eval_steps: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # (E,)
    test_loss: np.ndarray = field(default_factory=lambda: np.zeros(0))  # (E,)
    test_acc: np.ndarray = field(default_factory=lambda: np.zeros(0))  # (E,)
    all_steps: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # (S,) every step
    step_loss: np.ndarray = field(default_factory=lambda: np.zeros(0))  # (S,) loss of every step

    def __post_init__(self):
        self.loss, self.acc = _finite(self.loss), _finite(self.acc)
        self.layer = _finite(self.layer).reshape(len(self.steps), len(LAYER_METRICS), len(self.layers))
        self.test_loss, self.test_acc = _finite(self.test_loss), _finite(self.test_acc)
        self.step_loss = _finite(self.step_loss)

    @classmethod
    def empty(cls, layers: list[str]) -> "MetricsChunk":
        return cls(list(layers), np.zeros(0, np.int64), np.zeros(0), np.zeros(0),
                   np.zeros((0, len(LAYER_METRICS), len(layers))))

    @classmethod
    def concat(cls, chunks: list["MetricsChunk"], layers: list[str] | None = None) -> "MetricsChunk":
        chunks = [c for c in chunks if c is not None]
        if not chunks:
            return cls.empty(layers or [])
        return cls(chunks[0].layers,
                   np.concatenate([c.steps for c in chunks]),
                   np.concatenate([c.loss for c in chunks]),
                   np.concatenate([c.acc for c in chunks]),
                   np.concatenate([c.layer for c in chunks]),
                   np.concatenate([c.eval_steps for c in chunks]),
                   np.concatenate([c.test_loss for c in chunks]),
                   np.concatenate([c.test_acc for c in chunks]),
                   np.concatenate([c.all_steps for c in chunks]),
                   np.concatenate([c.step_loss for c in chunks]))

    def __len__(self) -> int:
        return len(self.steps)

    def metric(self, name: str) -> np.ndarray:
        """(R, L) array of one per-layer metric."""
        return self.layer[:, LAYER_METRICS.index(name), :]

    def first_last_ratio(self, metric: str = "grad_norm") -> float:
        """Median over recorded steps of ``metric`` at the first hidden layer / the last one.

        The last probe point is the classifier head, so the last hidden layer is the one before
        it. For the weight gradient ‖∇W‖ the "first" layer is the *second* hidden layer: the
        first one's weight reads the data (2 inputs on the 2-D sets, not the layer width), so its
        ‖∇W‖ = ‖δ‖·‖x‖ is not comparable, and a perfect He net would read 0.05-0.12 at init
        (issue 10). In a uniform stack the two layers compared then have equal widths. Other
        metrics (the backprop signal ‖∂L/∂h‖, activation statistics) are taken at the layers'
        outputs, which have the layer's width, so they start at the first hidden layer.
        < 1 means the input side gets less (vanishing), > 1 more (exploding). NaN when there are
        too few hidden layers or nothing finite was recorded.
        """
        m = self.metric(metric)
        first = 1 if metric in INPUT_READING_METRICS else 0
        if m.shape[1] < 3 + first or m.shape[0] == 0:
            return float("nan")
        with np.errstate(divide="ignore", invalid="ignore"):
            r = m[:, first] / m[:, -2]
        r = r[np.isfinite(r)]
        return float(np.median(r)) if len(r) else float("nan")

    def truncate(self, last_step: int) -> "MetricsChunk":
        """Keep only what was recorded at or before ``last_step``."""
        k, e, a = self.steps <= last_step, self.eval_steps <= last_step, self.all_steps <= last_step
        return MetricsChunk(self.layers, self.steps[k], self.loss[k], self.acc[k], self.layer[k],
                            self.eval_steps[e], self.test_loss[e], self.test_acc[e],
                            self.all_steps[a], self.step_loss[a])

    # ------------------------------------------------------------------ pandas
    def to_frame(self) -> pd.DataFrame:
        """Tidy per-layer frame: one row per (step, layer), one column per metric."""
        import pandas as pd

        r, l = len(self.steps), len(self.layers)
        df = pd.DataFrame({
            "step": np.repeat(self.steps, l),
            "layer": np.tile(np.asarray(self.layers, dtype=object), r),
            "depth": np.tile(np.arange(1, l + 1), r),
        })
        for j, m in enumerate(LAYER_METRICS):
            df[m] = self.layer[:, j, :].reshape(-1)
        return df

    def scalars_frame(self) -> pd.DataFrame:
        """One row per recorded step: train-batch loss and accuracy."""
        import pandas as pd

        return pd.DataFrame({"step": self.steps, "loss": self.loss, "acc": self.acc})

    def loss_frame(self) -> pd.DataFrame:
        """One row per step: the training-batch loss (finer than the recorded steps)."""
        import pandas as pd

        return pd.DataFrame({"step": self.all_steps, "loss": self.step_loss})

    def eval_frame(self) -> pd.DataFrame:
        """One row per evaluation: test loss and accuracy."""
        import pandas as pd

        return pd.DataFrame({"step": self.eval_steps, "test_loss": self.test_loss, "test_acc": self.test_acc})


def through_time_ratio(rows: np.ndarray) -> float:
    """Median over recorded steps of ‖∂L/∂h_1‖ / ‖∂L/∂h_T‖ from (R, T) rows of a recurrent run's
    per-time-step gradient norms (NaN if nothing finite): the through-time first/last ratio."""
    rows = np.asarray(rows, dtype=np.float64)
    if rows.ndim != 2 or rows.shape[0] == 0 or rows.shape[1] < 2:
        return float("nan")
    with np.errstate(divide="ignore", invalid="ignore"):
        r = rows[:, 0] / rows[:, -1]
    r = r[np.isfinite(r)]
    return float(np.median(r)) if len(r) else float("nan")


class LiveMetrics:
    """The metrics a page shows while a run trains: bounded in memory.

    Per-layer rows are kept until ``max_rows``; then every other row is dropped and later rows
    are kept at the doubled stride, so a 1000-layer x 1M-step run stays a few MB. The every-step
    loss is kept whole (one float per step). The run store gets the full-resolution chunks.
    """

    def __init__(self, layers: list[str], max_cells: int = 2_000_000):
        self.layers = list(layers)
        per_row = len(LAYER_METRICS) * max(1, len(layers))
        self.max_rows = int(min(8192, max(256, max_cells // per_row)))
        self.stride, self._seen = 1, 0  # keep recorded row k when k % stride == 0
        self.steps = np.zeros(0, np.int64)
        self.loss = np.zeros(0)
        self.acc = np.zeros(0)
        self.layer = np.zeros((0, len(LAYER_METRICS), len(layers)), np.float32)
        self.parts: dict[str, list[np.ndarray]] = {k: [] for k in
                                                   ("eval_steps", "test_loss", "test_acc", "all_steps", "step_loss")}

    def add(self, c: MetricsChunk) -> None:
        idx = np.arange(self._seen, self._seen + len(c.steps))
        self._seen += len(c.steps)
        keep = idx % self.stride == 0
        if len(c.steps) and not keep[-1]:
            keep[-1] = True  # the newest row is always shown ("current step")
        self.steps = np.concatenate([self.steps, c.steps[keep]])
        self.loss = np.concatenate([self.loss, c.loss[keep]])
        self.acc = np.concatenate([self.acc, c.acc[keep]])
        self.layer = np.concatenate([self.layer, c.layer[keep].astype(np.float32)])
        for k in self.parts:
            self.parts[k].append(getattr(c, k))
        while len(self.steps) > self.max_rows:
            self.stride *= 2
            sel = np.zeros(len(self.steps), bool)
            sel[::2] = True
            sel[-1] = True
            self.steps, self.loss, self.acc = self.steps[sel], self.loss[sel], self.acc[sel]
            self.layer = self.layer[sel]

    def chunk(self) -> MetricsChunk:
        flat = {k: (np.concatenate(v) if v else np.zeros(0)) for k, v in self.parts.items()}
        for k, v in flat.items():  # merge the per-chunk lists once, so later views stay cheap
            self.parts[k] = [v]
        return MetricsChunk(self.layers, self.steps, self.loss, self.acc, self.layer,
                            flat["eval_steps"].astype(np.int64), flat["test_loss"], flat["test_acc"],
                            flat["all_steps"].astype(np.int64), flat["step_loss"])
