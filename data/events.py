"""Canonical events: sources, categories, the pydantic push model and the vectorised validator.

Every feed (simulator, HTTP pull, folder drop, replay, push API) ends in the canonical event frame
described in docs/ARCHITECTURE.md; this module is the single definition of what a valid event is.
Coordinates are WGS84 lon/lat in degrees; times are timezone-aware and stored in UTC.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from data.catalogue import (  # noqa: F401 - re-exported: the event vocabulary
    CATEGORIES,
    DEFAULT_CATALOGUE,
    SOURCES,
    Catalogue,
)

# Sources whose events are measurements (default catalogue): a value is required.
VALUE_REQUIRED: frozenset[str] = DEFAULT_CATALOGUE.value_required

SEVERITY_MIN, SEVERITY_MAX = 1, 5
# Events claiming to happen further in the future than this are clock errors.
MAX_FUTURE = dt.timedelta(hours=1)
# Placeholder dates such as 1900-01-01 are not real event times.
MIN_TIME = pd.Timestamp("2000-01-01", tz="UTC")
MAX_ID_LEN = 200
TIME_TOO_OLD = "time before 2000-01-01 (placeholder date)"
TIME_IN_FUTURE = "time in the future"
MAX_TEXT_LEN = 4000

CANONICAL_COLUMNS: tuple[str, ...] = (
    "id",
    "time",
    "lon",
    "lat",
    "category",
    "severity",
    "value",
    "text",
    "attributes",
)


class PushEvent(BaseModel):
    """One event as sent to ``POST /api/ingest/<source>`` (see docs/API.md)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    id: str = Field(min_length=1, max_length=MAX_ID_LEN)
    time: dt.datetime
    lon: float = Field(ge=-180, le=180)
    lat: float = Field(ge=-90, le=90)
    category: str
    severity: int | None = Field(default=None, ge=SEVERITY_MIN, le=SEVERITY_MAX)
    value: float | None = None
    text: str | None = Field(default=None, max_length=MAX_TEXT_LEN)
    attributes: dict[str, Any] = Field(default_factory=dict)

    @field_validator("id", mode="before")
    @classmethod
    def _id_as_text(cls, v: Any) -> Any:
        # Department systems often send numeric ids; they are still ids.
        if isinstance(v, int) and not isinstance(v, bool):
            return str(v)
        return v

    @field_validator("time")
    @classmethod
    def _aware(cls, v: dt.datetime) -> dt.datetime:
        if v.tzinfo is None:
            raise ValueError("time needs a UTC offset, e.g. 2026-11-26T08:00:00+08:00")
        try:
            return v.astimezone(dt.UTC)
        except OverflowError:
            # 0001-01-01T00:00+01:00 or 9999-12-31T23:59-05:00 have no UTC time in range;
            # pydantic turns only ValueError into a validation error (a reason, not a 500)
            raise ValueError("time out of range (years 1-9999 in UTC)") from None

    @model_validator(mode="after")
    def _finite(self) -> PushEvent:
        if not (np.isfinite(self.lon) and np.isfinite(self.lat)):
            raise ValueError("lon/lat must be finite numbers")
        if self.lon == 0 and self.lat == 0:
            raise ValueError("coordinates (0, 0) are a missing location")
        if self.value is not None and not np.isfinite(self.value):
            raise ValueError("value must be a finite number")
        return self


def push_model_errors(
    source: str, event: PushEvent, catalogue: Catalogue = DEFAULT_CATALOGUE
) -> str | None:
    """Source-specific checks the generic model cannot know; returns a reason or None."""
    if event.category not in catalogue.categories[source]:
        return f"unknown category {event.category!r} for source {source}"
    if source in catalogue.value_required and event.value is None:
        return f"a value is required for {source} readings"
    return None


def empty_frame() -> pd.DataFrame:
    """An empty canonical event frame with the right dtypes."""
    return pd.DataFrame(
        {
            "id": pd.Series([], dtype="object"),
            "time": pd.Series([], dtype="datetime64[us, UTC]"),
            "lon": pd.Series([], dtype="float64"),
            "lat": pd.Series([], dtype="float64"),
            "category": pd.Series([], dtype="object"),
            "severity": pd.Series([], dtype="Int64"),
            "value": pd.Series([], dtype="float64"),
            "text": pd.Series([], dtype="object"),
            "attributes": pd.Series([], dtype="object"),
        }
    )


STRING = pd.StringDtype(
    "pyarrow"
)  # Arrow-backed: vectorised string checks, cheap to hand to DuckDB


def _as_str_series(s: pd.Series) -> pd.Series:
    if s.dtype == STRING:
        return s
    if pd.api.types.infer_dtype(s, skipna=True) not in ("string", "empty"):
        # numbers or mixed values: make them text, keeping missing values missing
        s = s.where(s.isna(), s.astype(str))
    return s.astype(STRING)


def _missing_str(index: pd.Index) -> pd.Series:
    return pd.Series(pd.NA, index=index, dtype=STRING)


def storable_text(text: str) -> str:
    """``text`` with anything UTF-8 cannot hold (lone surrogates such as ``\\ud800``) escaped as
    ``\\ud800``, so it can be stored and shown; valid text comes back unchanged."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")


def is_storable_text(text: Any) -> bool:
    """True when ``text`` is a str that UTF-8 (and so Arrow and DuckDB) can hold."""
    try:
        text.encode("utf-8")
        return True
    except (UnicodeEncodeError, AttributeError):
        return False


def _is_missing(v: Any) -> bool:
    if v is None or isinstance(v, dict | list | tuple | str):
        return False
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):  # arrays and other containers are values, not missing
        return False


def _safe_str(v: Any) -> str | None:
    """Text of one value, or None when even that fails (e.g. nesting too deep for ``str``)."""
    try:
        return v if isinstance(v, str) else str(v)
    except (RecursionError, ValueError):
        return None


def _text_column(s: pd.Series, name: str) -> tuple[pd.Series, np.ndarray | None]:
    """A text column as Arrow-backed strings, and the rows that cannot be stored as text.

    The vectorised conversion handles every valid input. Only when it fails (a lone surrogate,
    which UTF-8 cannot encode, or a value whose ``str`` fails) is the column converted value by
    value: bad values are escaped (so the quarantine can keep them) and their rows flagged.
    """
    try:
        return _as_str_series(s), None
    except Exception:  # noqa: BLE001 - any failure falls back to the value-by-value path
        pass
    bad = np.zeros(len(s), dtype=bool)
    vals: list[str | None] = []
    for i, v in enumerate(s.to_numpy(dtype=object)):
        if _is_missing(v):
            vals.append(None)
            continue
        text = _safe_str(v)
        if text is None:
            bad[i] = True
            vals.append(None)
            continue
        safe = storable_text(text)
        bad[i] = safe is not text
        vals.append(safe)
    return pd.Series(vals, index=s.index, dtype=STRING), bad


def _time_column(t: pd.Series) -> pd.Series:
    if not isinstance(t.dtype, pd.DatetimeTZDtype):
        try:
            t = pd.to_datetime(t, errors="coerce", utc=True, format="ISO8601")
        except Exception:  # noqa: BLE001 - odd values (objects, surrogates): one by one
            t = pd.Series([_one_time(v) for v in t.to_numpy(dtype=object)], index=t.index)
            t = pd.to_datetime(t, errors="coerce", utc=True)
    return t.dt.tz_convert("UTC").astype("datetime64[us, UTC]")


def _one_time(v: Any) -> pd.Timestamp:
    if isinstance(v, str | dt.datetime | pd.Timestamp):
        try:
            return pd.to_datetime(v, utc=True, format="ISO8601")
        except Exception:  # noqa: BLE001 - anything unparseable is a missing time
            return pd.NaT
    return pd.NaT


def _number_column(s: pd.Series) -> pd.Series:
    try:
        return pd.to_numeric(s, errors="coerce").astype("float64")
    except Exception:  # noqa: BLE001 - e.g. integers too large for any number type
        return pd.Series([_one_number(v) for v in s.to_numpy(dtype=object)], index=s.index)


def _one_number(v: Any) -> float:
    if isinstance(v, bool | str | int | float | np.number):
        try:
            return float(v)
        except (ValueError, OverflowError):
            return np.nan
    return np.nan


# A severity far outside 1..5 is kept in range of Int64 (it is still flagged as outside 1..5).
_SEVERITY_CLIP = 1000


def normalise_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Coerce a feed's frame to canonical dtypes, adding missing optional columns.

    Text columns become Arrow-backed strings. Values that cannot be coerced become missing, and
    ``validate_frame`` then gives the reason. Text that cannot be stored at all (lone surrogates,
    attributes nested too deep to serialise) is escaped and its row gets a ``_reason``.
    """
    # the columns are gathered in a dict and the frame built once: inserting ten columns one
    # by one into a DataFrame cost more than converting them (issue 12: a push batch's time)
    out: dict[str, pd.Series | np.ndarray] = {}
    unstorable: list[tuple[np.ndarray, str]] = []

    def text(col: str) -> pd.Series:
        if col not in frame:
            return _missing_str(frame.index)
        s, bad = _text_column(frame[col], col)
        if bad is not None and bad.any():
            unstorable.append((bad, f"{col} is not valid Unicode text (e.g. a lone surrogate)"))
        return s

    out["id"] = text("id")
    if "time" in frame:
        out["time"] = _time_column(frame["time"])
    else:
        out["time"] = pd.Series(pd.NaT, index=frame.index, dtype="datetime64[us, UTC]")
    for col in ("lon", "lat", "value"):
        out[col] = (
            _number_column(frame[col])
            if col in frame
            else pd.Series(np.nan, index=frame.index, dtype="float64")
        )
    for col in ("category", "text"):
        out[col] = text(col)
    sev = _number_column(frame["severity"]) if "severity" in frame else None
    out["severity"] = (
        pd.Series(pd.NA, index=frame.index, dtype="Int64")
        if sev is None
        else sev.clip(-_SEVERITY_CLIP, _SEVERITY_CLIP).round().astype("Int64")
    )
    if "attributes" in frame:
        out["attributes"], bad = _attributes(frame["attributes"])
        if bad is not None and bad.any():
            unstorable.append((bad, "attributes are not valid JSON (or not valid Unicode)"))
    else:
        out["attributes"] = _missing_str(frame.index)
    for extra in ("_raw", "_reason"):
        if extra in frame:
            out[extra] = frame[extra]
    if unstorable:
        reason = (
            out["_reason"].to_numpy(dtype=object, copy=True)
            if "_reason" in out
            else np.full(len(frame), None, dtype=object)
        )
        for bad, text_ in unstorable:
            take = bad & pd.isna(reason)
            reason[take] = text_
        out["_reason"] = pd.Series(reason, index=frame.index, dtype=object)
    return pd.DataFrame(out, index=frame.index)


def _attributes(attrs: pd.Series) -> tuple[pd.Series, np.ndarray | None]:
    """Attributes as JSON object text (dicts are serialised; text is kept as it is), and the
    rows whose attributes cannot be stored (None when all can)."""
    if attrs.dtype == STRING or pd.api.types.infer_dtype(attrs, skipna=True) in (
        "string",
        "empty",
    ):
        try:
            text = attrs.astype(STRING)
        except Exception:  # noqa: BLE001 - lone surrogates: checked value by value below
            pass
        else:
            # the column is JSON: text that is not JSON (a CSV column of words) would fail the
            # whole write; it is kept as a JSON string instead
            bad = ~_json_valid(text)
            if bad.any():
                text = text.copy()
                text[bad] = [json.dumps(t, ensure_ascii=False) for t in text[bad]]
            return text, None
    bad = np.zeros(len(attrs), dtype=bool)
    vals: list[str | None] = []
    for i, a in enumerate(attrs.to_numpy(dtype=object)):
        if _is_missing(a):
            vals.append(None)
            continue
        try:
            t = (
                a
                if isinstance(a, str)
                else json.dumps(a, ensure_ascii=False, default=str, allow_nan=False)
            )
            if isinstance(a, str):
                try:
                    json.loads(t, parse_constant=_no_constant)  # NaN is not JSON to DuckDB
                except ValueError:  # not JSON: kept as a JSON string (see above)
                    t = json.dumps(t, ensure_ascii=False)
        except (RecursionError, ValueError, TypeError):
            bad[i] = True
            vals.append(None)
            continue
        safe = storable_text(t)
        bad[i] = safe is not t
        vals.append(safe)
    return pd.Series(vals, index=attrs.index, dtype=STRING), bad


def _no_constant(name: str):
    raise ValueError(f"{name} is not JSON")


_checker = threading.local()


def _json_valid(text: pd.Series) -> np.ndarray:
    """True where ``text`` is missing or valid JSON, checked by DuckDB (the store's own JSON
    rules, vectorised) on a private in-memory connection of this thread."""
    if not len(text):
        return np.ones(0, dtype=bool)
    con = getattr(_checker, "con", None)
    if con is None:
        con = _checker.con = duckdb.connect()
    con.register("_attrs", pa.table({"a": pa.array(text, pa.string(), from_pandas=True)}))
    try:
        ok = con.execute("SELECT coalesce(json_valid(a), true) AS ok FROM _attrs").fetchnumpy()
    finally:
        con.unregister("_attrs")
    return np.asarray(ok["ok"], dtype=bool)


def validate_frame(
    source: str,
    frame: pd.DataFrame,
    now: pd.Timestamp | None = None,
    catalogue: Catalogue = DEFAULT_CATALOGUE,
) -> pd.Series:
    """Vectorised validation of a canonical frame against ``catalogue``'s sources.

    Returns a Series aligned to ``frame`` holding the first reason a row is invalid, or None for a
    valid row. The rules are those of :class:`PushEvent` plus :func:`push_model_errors`.
    """
    if source not in catalogue.categories:
        raise ValueError(catalogue.unknown(source))
    now = now if now is not None else pd.Timestamp.now(tz="UTC")
    n = len(frame)
    reason = np.full(n, None, dtype=object)
    free = np.ones(n, dtype=bool)  # rows with no reason yet: the first reason found wins

    def flag(mask: np.ndarray, text: str) -> None:
        sel = mask & free
        reason[sel] = text
        free[sel] = False

    if "_reason" in frame:
        pre = frame["_reason"].to_numpy(dtype=object)
        has = pd.notna(pre)
        reason[has] = pre[has]
        free[has] = False
    ids = frame["id"]
    flag(ids.isna().to_numpy(), "missing id")
    flag((ids.str.len() > MAX_ID_LEN).fillna(False).to_numpy(dtype=bool), "id too long")
    flag((ids.str.strip() == "").fillna(False).to_numpy(dtype=bool), "missing id")
    t = frame["time"]
    flag(t.isna().to_numpy(), "missing or unparseable time")
    flag(
        (t < MIN_TIME).fillna(False).to_numpy(dtype=bool),
        TIME_TOO_OLD,
    )
    flag((t > now + MAX_FUTURE).fillna(False).to_numpy(dtype=bool), TIME_IN_FUTURE)
    lon = frame["lon"].to_numpy(dtype="float64")
    lat = frame["lat"].to_numpy(dtype="float64")
    flag(~np.isfinite(lon) | ~np.isfinite(lat), "missing coordinates")
    flag((lon == 0) & (lat == 0), "coordinates (0, 0) are a missing location")
    flag((np.abs(lon) > 180) | (np.abs(lat) > 90), "coordinates out of range")
    cats = frame["category"]
    flag(cats.isna().to_numpy(), "missing category")
    flag(
        ~cats.isin(catalogue.categories[source]).to_numpy(),
        f"unknown category for source {source}",
    )
    sev = frame["severity"]
    bad_sev = sev.notna() & ((sev < SEVERITY_MIN) | (sev > SEVERITY_MAX))
    flag(bad_sev.fillna(False).to_numpy(dtype=bool), "severity outside 1..5")
    val = frame["value"].to_numpy(dtype="float64")
    flag(np.isinf(val), "value must be a finite number")
    if source in catalogue.value_required:
        flag(np.isnan(val), f"a value is required for {source} readings")
    text = frame["text"]
    flag((text.str.len() > MAX_TEXT_LEN).fillna(False).to_numpy(dtype=bool), "text too long")
    return pd.Series(reason, index=frame.index, dtype=object)
