"""Time conversion and frame assembly: microsecond times, text / attribute rendering, and the
canonical event frame built from a generator's columns."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from data.events import CATEGORIES, empty_frame


def _render(codes: np.ndarray, fmt: Callable[[int], str | None]) -> np.ndarray:
    """Object array of strings: ``fmt`` is called once per distinct code."""
    if len(codes) == 0:
        return np.empty(0, dtype=object)
    codes = np.asarray(codes, dtype=np.int64)
    top = int(codes.max())
    if codes.min() >= 0 and top < 4 * len(codes) + 100_000:  # dense codes: no sort needed
        uniq = np.flatnonzero(np.bincount(codes, minlength=top + 1))
        table = np.empty(top + 1, dtype=object)
        table[uniq] = [fmt(int(c)) for c in uniq]
        return table[codes]
    uniq, inv = np.unique(codes, return_inverse=True)
    table = np.empty(len(uniq), dtype=object)
    table[:] = [fmt(int(c)) for c in uniq]
    return table[inv]


def _dumps(d: dict[str, Any]) -> str:
    """Compact JSON of an event's attributes (Chinese kept as is)."""
    return json.dumps(d, ensure_ascii=False, separators=(",", ":"))


def concat(a: list, b: list) -> list:
    """Column lists joined row-wise (two generators' parts of one source)."""
    return [np.concatenate([x, y]) for x, y in zip(a, b, strict=True)]


def build_frame(source: str, parts: tuple, start_us: int, end_us: int) -> pd.DataFrame:
    """Canonical event frame of the rows with start_us <= time < end_us, ids by slot rank."""
    slot, t, lon, lat, cat, sev, value, text, attrs = parts
    n = len(t)
    if n == 0:
        return empty_frame()
    order = np.argsort(t, kind="stable")
    slot, t = slot[order], t[order]
    rank = np.arange(n) - np.searchsorted(slot, slot, side="left")
    sel = (t >= start_us) & (t < end_us)
    keep = order[sel]
    slot_k, rank_k = slot[sel], rank[sel]
    ids = np.empty(len(keep), dtype=object)
    ids[:] = [f"{source}-{s}-{r}" for s, r in zip(slot_k.tolist(), rank_k.tolist(), strict=True)]
    cats = np.asarray(CATEGORIES[source], dtype=object)
    out = pd.DataFrame(
        {
            "id": pd.Series(ids, dtype=object),
            "time": pd.Series(t[sel].astype("datetime64[us]")).dt.tz_localize("UTC"),
            "lon": pd.Series(np.asarray(lon, dtype="float64")[keep]),
            "lat": pd.Series(np.asarray(lat, dtype="float64")[keep]),
            "category": pd.Series(cats[np.asarray(cat)[keep]], dtype=object),
            "severity": pd.array(np.asarray(sev, dtype=np.int64)[keep], dtype="Int64"),
            "value": pd.Series(
                np.full(len(keep), np.nan)
                if value is None
                else np.asarray(value, dtype="float64")[keep]
            ),
            "text": pd.Series(text[keep], dtype=object),
            "attributes": pd.Series(attrs[keep], dtype=object),
        }
    )
    return out
