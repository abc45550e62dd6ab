"""Pack a MetricsChunk's arrays into one compressed blob and back: the store's chunk format.

Format ``GFC2`` (written): magic + header length (4 bytes LE) + payload length (8 bytes LE) +
JSON header + zstd(payload), the payload being each array's bytes *byte-shuffled* (all first
bytes, then all second bytes...: float exponents line up and compress better). zstd comes
from pyarrow (already a dependency); it decompresses ~6x faster than zlib, which is what keeps
loading a 100-layer x 5,000-step run well under half a second.
Format ``GFC1`` (read only, older blobs): magic + zlib(header length + JSON header + raw arrays).

The header lists each array's name, dtype and shape. No pickle anywhere: a blob can only ever
become numeric numpy arrays. Float arrays that are exactly representable in float32 (the
probe's buffers are float32) are stored as float32, halving the size losslessly.
"""
from __future__ import annotations

import json
import struct
import zlib

import numpy as np

from labcore.core.metrics import LAYER_METRICS, MetricsChunk


def _pa():
    """pyarrow, imported on first use (listing runs never packs a blob)."""
    import pyarrow

    return pyarrow


MAGIC, MAGIC_V1 = b"GFC2", b"GFC1"
CODEC = "zstd"
FIELDS = ("steps", "loss", "acc", "layer", "eval_steps", "test_loss", "test_acc", "all_steps", "step_loss")
_DTYPES = {"<f4", "<f8", "<i8", "<i4"}


def _narrow(a: np.ndarray) -> np.ndarray:
    if a.dtype.kind == "f":
        a32 = a.astype("<f4")
        same = (a32.astype(a.dtype) == a) | (np.isnan(a) & np.isnan(a32))
        return a32 if bool(same.all()) else a.astype("<f8")
    return a.astype("<i8")


def _shuffle(a: np.ndarray) -> bytes:
    b = np.frombuffer(a.tobytes(), np.uint8)
    return b.reshape(-1, a.itemsize).T.tobytes() if a.itemsize > 1 and b.size else b.tobytes()


def _unshuffle(raw: bytes, dtype: np.dtype, count: int) -> np.ndarray:
    b = np.frombuffer(raw, np.uint8)
    if dtype.itemsize > 1 and count:
        b = np.ascontiguousarray(b.reshape(dtype.itemsize, count).T)  # (itemsize, n) -> (n, itemsize)
    return b.view(dtype)


def pack_chunk(chunk: MetricsChunk) -> bytes:
    head, parts = [], []
    for name in FIELDS:
        a = _narrow(np.ascontiguousarray(getattr(chunk, name)))
        head.append([name, a.dtype.str, list(a.shape)])
        parts.append(_shuffle(a))
    h = json.dumps(head, separators=(",", ":")).encode()
    payload = b"".join(parts)
    return MAGIC + struct.pack("<IQ", len(h), len(payload)) + h + _pa().compress(payload, codec=CODEC, asbytes=True)


def _arrays(head, raw: bytes, off: int, shuffled: bool) -> dict:
    arrays = {}
    for name, dtype, shape in head:
        if name not in FIELDS or dtype not in _DTYPES:
            raise ValueError(f"unexpected array {name!r} ({dtype}) in a metrics blob")
        dt = np.dtype(dtype)
        count = int(np.prod(shape)) if shape else 1
        n = count * dt.itemsize
        if off + n > len(raw):
            raise ValueError("truncated metrics blob")
        piece = raw[off:off + n]
        a = _unshuffle(piece, dt, count) if shuffled else np.frombuffer(piece, dtype=dt)
        arrays[name] = a.reshape(shape)
        off += n
    return arrays


MAX_PAYLOAD = 1 << 31  # a chunk is a few MB at most; refuse absurd sizes before allocating


def unpack_chunk(blob: bytes, layers: list[str]) -> MetricsChunk:
    """The chunk packed by :func:`pack_chunk`; ValueError on anything malformed."""
    return MetricsChunk(list(layers), **unpack_arrays(blob, len(layers)))


def unpack_arrays(blob: bytes, n_layers: int) -> dict[str, np.ndarray]:
    """The raw arrays of a blob (float32/float64/int64 as stored), checked against ``n_layers``."""
    blob = bytes(blob)
    pa = _pa() if blob[:4] == MAGIC else None
    damaged = (struct.error, zlib.error, json.JSONDecodeError, UnicodeDecodeError, OSError,
               *((pa.ArrowException,) if pa else ()))
    try:
        if blob[:4] == MAGIC:
            n, size = struct.unpack_from("<IQ", blob, 4)
            if size > MAX_PAYLOAD:
                raise ValueError(f"metrics blob claims {size:,} bytes")
            head = json.loads(blob[16:16 + n])
            raw = pa.decompress(blob[16 + n:], decompressed_size=size, codec=CODEC, asbytes=True)
            arrays = _arrays(head, raw, 0, shuffled=True)
        elif blob[:4] == MAGIC_V1:
            raw = zlib.decompress(blob[4:])
            (n,) = struct.unpack_from("<I", raw)
            arrays = _arrays(json.loads(raw[4:4 + n]), raw, 4 + n, shuffled=False)
        else:
            raise ValueError("not a metrics chunk blob")
    except damaged as e:
        raise ValueError(f"damaged metrics blob ({e})") from None
    if set(arrays) != set(FIELDS):
        raise ValueError("incomplete metrics blob")
    layer = arrays["layer"]
    if layer.ndim != 3 or layer.shape[1] != len(LAYER_METRICS) or layer.shape[2] != n_layers:
        raise ValueError(f"metrics blob of shape {layer.shape} does not match {n_layers} layers")
    return arrays
