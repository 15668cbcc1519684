"""Random streams: counter-based hashing (splitmix64) for regular readings and point retries,
the stream ids, and table lookups of uniforms (``_pick``, ``_cum_table``).

Everything here is a pure function of its arguments, so a slot's readings depend only on the
seed, the stream, the slot and the station (window consistency, see the package docstring).
"""

from __future__ import annotations

from typing import Any

import numpy as np

_G = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)


def _mix(x: np.ndarray) -> np.ndarray:
    x = x + _G
    x = (x ^ (x >> np.uint64(30))) * _M1
    x = (x ^ (x >> np.uint64(27))) * _M2
    return x ^ (x >> np.uint64(31))


def _hash64(*parts: Any) -> np.ndarray:
    with np.errstate(over="ignore"):
        arrs = np.broadcast_arrays(*[np.asarray(p, dtype=np.int64) for p in parts])
        h = np.full(arrs[0].shape, 0x5EED, dtype=np.uint64)
        for a in arrs:
            h = _mix(h ^ a.astype(np.uint64))
    return h


def _hu(*parts: Any) -> np.ndarray:
    """Uniform in (0, 1) from a hash of the parts (vectorised)."""
    return ((_hash64(*parts) >> np.uint64(11)).astype(np.float64) + 0.5) * (2.0**-53)


def _hn(*parts: Any) -> np.ndarray:
    """Standard normal from a hash of the parts (Box-Muller)."""
    u1, u2 = _hu(*parts, 1), _hu(*parts, 2)
    return np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)


# stream ids for hashing
_ST_POINT, _ST_PMDAY, _ST_AIR, _ST_WATER, _ST_TPI, _ST_TPIDAY, _ST_EPTPI, _ST_OFFSET = range(1, 9)


def _pick(cum: np.ndarray, key: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Index drawn from the cumulative distribution ``cum[key]`` with uniforms ``u``."""
    # rows shifted by their index form one increasing array: one searchsorted for all rows
    width = cum.shape[1]
    flat = (cum + np.arange(len(cum))[:, None]).ravel()
    key = np.asarray(key, dtype=np.int64)
    idx = np.searchsorted(flat, u + key, side="left") - key * width
    return np.clip(idx, 0, width - 1)


def _cum_table(rows: list[list[float]]) -> np.ndarray:
    width = max(len(r) for r in rows)
    out = np.ones((len(rows), width))
    for i, r in enumerate(rows):
        p = np.asarray(r, dtype="float64")
        out[i, : len(p)] = np.cumsum(p / p.sum())
        out[i, len(p) - 1 :] = 1.0
    return out
