"""Pack a MetricsChunk's arrays into one compressed blob and back: the store's chunk format.

Format: ``GFC1`` + zlib( header length (4 bytes, little endian) + JSON header + raw arrays ).
The header lists each array's name, dtype and shape. No pickle anywhere: a blob can only ever
become numeric numpy arrays. Float arrays that are exactly representable in float32 (the
probe's buffers are float32) are stored as float32, halving the size losslessly.
"""
from __future__ import annotations

import json
import struct
import zlib

import numpy as np

from .metrics import LAYER_METRICS, MetricsChunk

MAGIC = b"GFC1"
FIELDS = ("steps", "loss", "acc", "layer", "eval_steps", "test_loss", "test_acc", "all_steps", "step_loss")
_DTYPES = {"<f4", "<f8", "<i8", "<i4"}
LEVEL = 1  # zlib level: fast; metrics compress poorly beyond this anyway


def _narrow(a: np.ndarray) -> np.ndarray:
    if a.dtype.kind == "f":
        a32 = a.astype("<f4")
        same = (a32.astype(a.dtype) == a) | (np.isnan(a) & np.isnan(a32))
        return a32 if bool(same.all()) else a.astype("<f8")
    return a.astype("<i8")


def pack_chunk(chunk: MetricsChunk) -> bytes:
    head, parts = [], []
    for name in FIELDS:
        a = _narrow(np.ascontiguousarray(getattr(chunk, name)))
        head.append([name, a.dtype.str, list(a.shape)])
        parts.append(a.tobytes())
    h = json.dumps(head, separators=(",", ":")).encode()
    return MAGIC + zlib.compress(struct.pack("<I", len(h)) + h + b"".join(parts), LEVEL)


def unpack_chunk(blob: bytes, layers: list[str]) -> MetricsChunk:
    """The chunk packed by :func:`pack_chunk`; ValueError on anything malformed."""
    blob = bytes(blob)
    if blob[:4] != MAGIC:
        raise ValueError("not a metrics chunk blob")
    raw = zlib.decompress(blob[4:])
    (n,) = struct.unpack_from("<I", raw)
    head = json.loads(raw[4:4 + n])
    off, arrays = 4 + n, {}
    for name, dtype, shape in head:
        if name not in FIELDS or dtype not in _DTYPES:
            raise ValueError(f"unexpected array {name!r} ({dtype}) in a metrics blob")
        count = int(np.prod(shape)) if shape else 1
        a = np.frombuffer(raw, dtype=dtype, count=count, offset=off).reshape(shape)
        off += a.nbytes
        arrays[name] = a
    layer = arrays["layer"]
    if layer.ndim != 3 or layer.shape[1] != len(LAYER_METRICS) or layer.shape[2] != len(layers):
        raise ValueError(f"metrics blob of shape {layer.shape} does not match {len(layers)} layers")
    return MetricsChunk(list(layers), **arrays)
