"""The epoch-based trainer of the full models, with the GPU fast path. Sync-free per step.

``ImageTrainer(spec)`` has the :class:`~labcore.train.mlp.Trainer` interface (``steps(n)``, ``run``,
``stop``, ``done``, ``status``, ``step``, ``layers``, ``params``, ``summary()``), so the job
manager, the CLI and the run store drive it the same way, plus ``top1``/``top5`` (test accuracy
at the last epoch end) and ``epochs_log`` (one dict per finished epoch).

A step: gather a batch by index from the device-resident set, augment it on the device, forward
(under autocast on CUDA), backward, probe on recorded steps, SGD. The learning rate is a Python
float set from the schedule (no tensor read). Losses, the epoch's running loss/correct counts
and each epoch-end evaluation (test loss, top-1, top-5) go to device buffers; the flush copies
them out once and checks them for NaN/Inf.

GPU fast path: channels_last inputs and weights, ``torch.autocast`` in bf16 (fp16 with a
:class:`torch.amp.GradScaler` where bf16 is missing; fused SGD takes the scaler's inf flag on the
device, so no sync), optional ``torch.compile`` for unrecorded steps (recorded steps run the
eager module so the probe's hooks fire). On the CPU the same code runs without autocast.
"""
from __future__ import annotations

import math
import os

import numpy as np
import torch
from torch import nn

from labcore.data.tensors import BatchStream
from labcore.train.device import cpu_threads_for, device_label, resolve_device
from labcore.train.loop import TrainLoop
from labcore.train.rng import RunGenerators
from labcore.data.images import IMAGE_DATASETS, Augment, ImageData, input_shape, load_images
from labcore.core.metrics import LAYER_METRICS, MetricsChunk
from labcore.spec.model import ModelRunSpec
from labcore.nets.base import bind_generator
from labcore.nets.zoo import build_model, measure_model, resolve_norm
from labcore.train.probe import Probe
from labcore.nets.registry import OPTIMIZER_FNS
from labcore.core.errors import SpecError
from labcore.spec.size import RUNTIME_SLACK, SizeBudget, SizeError

_DEAD = LAYER_METRICS.index("dead")
EPOCH_COLUMNS = ("train_loss", "train_acc", "test_loss", "top1", "top5")  # the epoch buffer's columns
MODEL_MAX_PARAMS = 64_000_000  # full models: ResNet-34 (21M) must fit; LAB_MAX_PARAMS overrides
MODEL_MAX_ACT_BYTES = 4 << 30  # activations per step; LAB_MAX_ACT_MB overrides
MODEL_MAX_MEM_BYTES = 12 << 30  # the whole run (CIFAR-10 alone is 0.7 GiB as float32); LAB_MAX_MEM_MB overrides
EVAL_BATCH = 500
# Below this many multiply-adds per layer and step, one CPU thread beats two for these convs:
# plain-20/56 on 8x8 digits (19M per layer-step at batch 128) ran 3-7x faster on 1 thread than
# on 2 here (2 cores shared with other jobs); CIFAR-sized layers (270M) get every core.
CONV_ONE_THREAD_BELOW_MACS = 64_000_000


def conv_cpu_threads(macs_per_layer_step: int) -> int:
    return 1 if macs_per_layer_step < CONV_ONE_THREAD_BELOW_MACS else cpu_threads_for(macs_per_layer_step)


class ConvProbe(Probe):
    """The MLP probe, with conv-aware inputs.

    * Activations recorded under autocast (bf16/fp16) are cast to float32 before the statistics,
      so they land in the probe's float32 buffers.
    * A conv unit is *dead* when its channel is <= 0 for every example **and every position**
      (the base probe counts each (channel, position) as a unit, right for Linear outputs only).
    """

    def _activation_stats(self, where) -> None:
        # ``where`` is the row's buffer (or its index, in older probes): accept both.
        buf = self.layer_buf[where] if isinstance(where, int) else where  # (metrics, layers)
        # float32 and standard layout: channels_last tensors would not ``view`` as (G, -1) once stacked.
        self._outs = [None if o is None else o.float().contiguous() for o in self._outs]
        self._grads = [None if g is None else g.float().contiguous() for g in self._grads]
        super()._activation_stats(where)
        dead_row = buf[_DEAD]
        for (shape, (_, _, zero_below)), (idx, idx_t) in self._grouping().items():
            if not zero_below or len(shape) < 3:  # dead only where the gradient is 0 below 0 (ReLU)
                continue
            a = torch.stack([self._outs[i] for i in idx])  # (G, B, C, *spatial)
            peak = a.amax(dim=[1] + list(range(3, a.dim())))  # (G, C): best response of each channel
            dead_row.index_copy_(0, idx_t, peak.le(0).mean(dim=1, dtype=torch.float32))


def _budget() -> SizeBudget:
    return SizeBudget.from_env(SizeBudget(MODEL_MAX_PARAMS, MODEL_MAX_ACT_BYTES, MODEL_MAX_MEM_BYTES))


def run_memory_bytes(spec: ModelRunSpec, size) -> int:
    """An upper bound of the whole run's memory (same terms as :func:`labcore.spec.size.estimate`).

    Parameters, gradients, momentum and the probe's two weight copies; the saved activations at
    the training batch, twice (the probe's stacked copies of probed outputs and their gradients,
    and the gradients flowing back); one evaluation chunk of EVAL_BATCH without autograd (a few
    of the largest outputs at once); the data set as float32 on the device plus the loaded
    arrays and the normalisation's temporaries.
    """
    info = IMAGE_DATASETS[spec.dataset]
    shape = input_shape(spec.dataset, spec.upsample)
    per_example = math.prod(shape) * 4
    n_train, n_test = spec.examples, info.n_test
    weights = size.params * 4 * 5
    train = size.activation_bytes_per_example * spec.batch * 2
    evaluation = size.largest_output_bytes_per_example * min(EVAL_BATCH, n_test) * 4
    data = (n_train + n_test) * per_example * 4 + info.n_train * math.prod(info.shape) * 4 * 2
    return weights + train + evaluation + data + RUNTIME_SLACK


def check_model_size(spec: ModelRunSpec, budget: SizeBudget | None = None):
    """Refuse a run before allocating anything if the model, its activations or the whole run are too big.

    Also the checks across fields that depend on the model's own choices (BatchNorm needs batches of 2+).
    """
    budget = budget or _budget()
    if spec.batch < 2 and resolve_norm(spec.model, spec.norm) == "batchnorm":
        field = "n_train" if spec.batch_size >= 2 else "batch_size"
        raise SpecError(field, getattr(spec, field), "a batch of at least 2 with BatchNorm (it normalises over "
                        "the batch); or choose norm none or groupnorm")
    size = measure_model(spec.model, input_shape(spec.dataset, spec.upsample),
                         IMAGE_DATASETS[spec.dataset].n_classes, norm=spec.norm, shortcut=spec.shortcut)
    if size.params > budget.max_params:
        raise SizeError("model", f"{size.params:,} parameters",
                        f"at most {budget.max_params:,} parameters (budget, LAB_MAX_PARAMS); pick a smaller model")
    act = size.activation_bytes_per_example * spec.batch
    if act > budget.max_activation_bytes:
        raise SizeError("batch_size", f"{act / 2**20:,.0f} MiB of activations",
                        f"at most {budget.max_activation_bytes / 2**20:,.0f} MiB (budget, LAB_MAX_ACT_MB); "
                        "reduce the batch size")
    memory = run_memory_bytes(spec, size)
    if memory > budget.max_memory_bytes:
        raise SizeError("model", f"{memory / 2**20:,.0f} MiB for the whole run",
                        f"at most {budget.max_memory_bytes / 2**20:,.0f} MiB (budget, LAB_MAX_MEM_MB); "
                        "reduce the batch size, n_train or the model")
    return size


class ImageTrainer(TrainLoop):
    """One run of a ModelRunSpec. Not thread-safe except for :meth:`stop`.

    Like the MLP trainer, its constructor leaves the process alone: random numbers from its own
    generators, the CPU thread count it would like in ``cpu_threads`` for its runner to apply.
    """

    def __init__(self, spec: ModelRunSpec, *, data: ImageData | None = None, budget: SizeBudget | None = None,
                 download: bool = False):
        size = check_model_size(spec, budget)
        self.spec = spec
        self.device = resolve_device(spec.device)
        self.data = data or load_images(spec.dataset, self.device, upsample=spec.upsample,
                                        download_missing=download, n_train=spec.n_train)
        cuda = self.device.type == "cuda"
        if cuda:
            torch.backends.cudnn.benchmark = True  # static shapes: let cuDNN pick the fastest convs
        self.channels_last = cuda and spec.channels_last and self.data.x_train.dim() == 4
        self.rng = RunGenerators.seeded(spec.seed, self.device)
        model = build_model(spec.model, self.data.shape, self.data.n_classes, norm=spec.norm,
                            shortcut=spec.shortcut, init=spec.init, gain=spec.gain,
                            zero_init_residual=spec.zero_init_residual, generator=self.rng.init)
        fmt = torch.channels_last if self.channels_last else torch.contiguous_format
        self.model = model.to(self.device, memory_format=fmt)
        bind_generator(self.model, self.rng.dropout)  # AlexNet's dropout masks
        # Recorded steps call the eager module (hooks fire); the others may call a compiled one.
        self.fast_model = torch.compile(self.model) if spec.compile else self.model
        self.params = sum(p.numel() for p in self.model.parameters())
        self.layers = [p.name for p in self.model.probe_points]
        self.cpu_threads = (conv_cpu_threads(size.macs_per_example * spec.batch // len(self.layers))
                            if self.device.type == "cpu" else None)
        self.device_label = device_label(self.device, self.cpu_threads)
        self.amp_dtype = None
        if cuda and spec.autocast:
            self.amp_dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        self.scaler = torch.amp.GradScaler("cuda") if self.amp_dtype == torch.float16 else None
        self.opt = OPTIMIZER_FNS["momentum"](self.model.parameters(), spec.lr, spec.momentum, spec.weight_decay,
                                          self.device)
        self.loss_fn = nn.CrossEntropyLoss()
        self.n_train = len(self.data.y_train)
        self.batches = BatchStream(self.n_train, spec.batch, spec.seed, self.device, self.rng.data)
        crop, flip = spec.resolved_augment()
        self.augment = Augment(self.data.pad if crop else 0, flip and self.data.flip, spec.seed, self.device,
                               self.rng.augment)
        self.total_steps = spec.total_steps
        self.steps_per_epoch = spec.steps_per_epoch
        self.probe = ConvProbe(self.model.probe_points, -(-spec.flush_every // spec.record_every) + 1, self.device)
        # Running sums of the current epoch, and one row per finished epoch (EPOCH_COLUMNS).
        self._ep_sum = torch.zeros(2, device=self.device)  # (loss sum over batches, correct count)
        self._ep_buf = torch.full((spec.epochs + 1, len(EPOCH_COLUMNS)), math.nan, device=self.device)
        self._ep_pending: list[int] = []  # epochs written to the buffer since the last flush
        self.epochs_log: list[dict] = []
        self.top1 = self.top5 = math.nan
        self.flush_every = spec.flush_every
        self._init_loop()

    @property
    def epoch(self) -> float:
        return self.step / self.steps_per_epoch

    def _autocast(self):
        if self.amp_dtype is None:
            return torch.autocast(self.device.type, enabled=False)
        return torch.autocast("cuda", dtype=self.amp_dtype)

    # ------------------------------------------------------------------ loop
    def _train_step(self) -> None:
        spec = self.spec
        self.step += 1
        record = self.step % spec.record_every == 0 or self.step == 1
        lr = spec.lr_at(self.step)  # a Python float: setting it reads nothing from the device
        for g in self.opt.param_groups:
            g["lr"] = lr
        idx = self.batches.next()
        x, y = self.augment(self.data.x_train[idx]), self.data.y_train[idx]
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        if record:
            self.probe.arm()
        with self._autocast():
            logits = (self.model if record else self.fast_model)(x)
            loss = self.loss_fn(logits.float(), y)
        self.opt.zero_grad(set_to_none=True)
        if self.scaler is not None:
            self.scaler.scale(loss).backward()
        else:
            loss.backward()
        loss = loss.detach()
        self._step_losses.append(loss)
        with torch.no_grad():
            correct = (logits.detach().argmax(1) == y).sum()
            self._ep_sum += torch.stack([loss, correct.to(loss.dtype)])
        if record:
            if self.scaler is not None:
                self.scaler.unscale_(self.opt)  # the probe reads true gradient norms
            self.probe.after_backward(self.step, loss, logits.float(), y)
        if self.scaler is not None:
            self.scaler.step(self.opt)
            self.scaler.update()
        else:
            self.opt.step()
        if record:
            self.probe.after_update()
        if self.step % self.steps_per_epoch == 0:
            self._end_epoch()

    @torch.no_grad()
    def _end_epoch(self) -> None:
        """Write this epoch's training means and a full test evaluation into the epoch buffer."""
        e = self.step // self.steps_per_epoch
        row = self._ep_buf[e]
        row[0].copy_(self._ep_sum[0] / self.steps_per_epoch)  # mean batch loss
        row[1].copy_(self._ep_sum[1] / (self.steps_per_epoch * self.spec.batch))  # accuracy
        self._ep_sum.zero_()
        self.model.eval()
        xs, ys = self.data.x_test, self.data.y_test
        k = min(5, self.data.n_classes)
        sums = torch.zeros(3, device=self.device)  # (loss sum, top-1 hits, top-k hits)
        for i in range(0, len(ys), EVAL_BATCH):
            x, y = xs[i:i + EVAL_BATCH], ys[i:i + EVAL_BATCH]
            if self.channels_last:
                x = x.contiguous(memory_format=torch.channels_last)
            with self._autocast():
                logits = self.fast_model(x).float()
            top = logits.topk(k, dim=1).indices  # (B, k)
            hit = top == y[:, None]
            sums += torch.stack([nn.functional.cross_entropy(logits, y, reduction="sum"),
                                 hit[:, 0].sum().float(), hit.any(1).sum().float()])
        row[2:5].copy_(sums / len(ys))
        self.model.train()
        self._ep_pending.append(e)

    def _flush_extras(self, chunk: MetricsChunk) -> None:
        if not self._ep_pending:
            return
        rows = self._ep_buf[self._ep_pending].cpu().numpy()  # (E, 5)
        for e, r in zip(self._ep_pending, rows):
            vals = [float(v) if np.isfinite(v) else math.nan for v in r]
            self.epochs_log.append({"epoch": e, "step": e * self.steps_per_epoch, "lr": self.spec.lr_at(
                e * self.steps_per_epoch), **dict(zip(EPOCH_COLUMNS, vals))})
        chunk.eval_steps = np.asarray([e * self.steps_per_epoch for e in self._ep_pending], np.int64)
        chunk.test_loss = rows[:, 2].astype(np.float64)
        chunk.test_acc = rows[:, 3].astype(np.float64)
        self.top1, self.top5 = self.epochs_log[-1]["top1"], self.epochs_log[-1]["top5"]
        self._ep_pending = []

    def summary(self) -> dict:
        last = self.epochs_log[-1] if self.epochs_log else {}
        return {"status": self.status, "steps": self.step, "first_bad_step": self.first_bad_step,
                "steps_per_second": self.steps_per_second, "device": self.device_label,
                "params": self.params, "layers": self.layers, "top1": self.top1, "top5": self.top5,
                "epoch": len(self.epochs_log), "epochs": self.spec.epochs, "total_steps": self.total_steps,
                "train_loss": last.get("train_loss", math.nan),
                "images_per_second": self.steps_per_second * self.spec.batch,
                "autocast": str(self.amp_dtype).replace("torch.", "") if self.amp_dtype else "off",
                "channels_last": self.channels_last, "compiled": self.spec.compile,
                "history": list(self.epochs_log)}  # one dict per finished epoch (EPOCH_COLUMNS...)


    # ------------------------------------------------------------------ reporting (CLI)
    def progress_text(self, chunk: MetricsChunk) -> str:
        ep = self.epochs_log[-1] if self.epochs_log else {}
        loss = _fmt(chunk.step_loss[-1]) if len(chunk.step_loss) else "—"
        return (f"epoch {len(self.epochs_log)}/{self.spec.epochs}  loss {loss}  top-1 "
                f"{_fmt(ep.get('top1', math.nan))}  {self.summary()['images_per_second']:.0f} img/s")

    def result_extras(self) -> dict:
        """What the ``--json`` document adds for a full model: top-1/top-5, epochs, images/s."""
        s = self.summary()
        return {"top1": _num(s["top1"]), "top5": _num(s["top5"]),
                "epochs": [{k: (_num(v) if isinstance(v, float) else v) for k, v in e.items()}
                           for e in self.epochs_log],
                "images_per_second": _num(s["images_per_second"]), "model": self.spec.model}

    def summary_line(self) -> str:
        r = self.result_extras()
        t1, t5 = r["top1"], r["top5"]
        return (f"model: {self.spec.model} on {self.spec.dataset}   epochs: {len(self.epochs_log)}/"
                f"{self.spec.epochs}   test top-1: {'—' if t1 is None else f'{t1:.1%}'}   top-5: "
                f"{'—' if t5 is None else f'{t5:.1%}'}   {r['images_per_second'] or 0:.0f} images/s")


def _num(x):
    """A JSON number, or None for NaN/Inf."""
    return float(x) if x is not None and math.isfinite(x) else None


def _fmt(x: float) -> str:
    return "—" if not math.isfinite(x) else f"{x:.3g}"


__all__ = ["ConvProbe", "EPOCH_COLUMNS", "ImageTrainer", "check_model_size"]
