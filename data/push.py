"""Pushed records (parsed JSON) to the canonical event frame, column-wise.

The push API receives a list of records. Checking each with the pydantic model ``PushEvent`` cost
about a third of a push batch's time (issue 12), so records are now checked column-wise: one
cheap pass over the records sorts out the plain ones (the right types, no surrounding whitespace,
an ISO 8601 time with its offset, values inside their ranges), their times are parsed in one
vectorised call, and only the records that are not plain (wrong types, out of range, odd time
formats, text UTF-8 cannot hold) go through ``PushEvent`` one by one, which gives their reason
exactly as before. A plain record is one ``PushEvent`` accepts unchanged, so both paths yield the
same frame (tests/test_push_frame.py checks it on random records against
``tests/support/push_reference.py``, the former path).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
from pydantic import ValidationError

from data.catalogue import DEFAULT_CATALOGUE, Catalogue
from data.events import (
    CANONICAL_COLUMNS,
    MAX_ID_LEN,
    MAX_TEXT_LEN,
    SEVERITY_MAX,
    SEVERITY_MIN,
    STRING,
    PushEvent,
    push_model_errors,
)

PUSH_FRAME_COLUMNS = [*CANONICAL_COLUMNS, "_raw", "_reason"]
_FIELDS = frozenset(PushEvent.model_fields)
_REQUIRED = frozenset(n for n, f in PushEvent.model_fields.items() if f.is_required())
# The times the plain path takes: what pandas and pydantic read alike. Anything else (no
# seconds, a space for the T, more than 6 fraction digits, other years) goes to pydantic.
_PLAIN_TIME = re.compile(
    r"(19|20|21)\d\d-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d:[0-5]\d"
    r"(\.\d{1,6})?(Z|[+-]([01]\d|2[0-3]):[0-5]\d)\Z"
)
_NUMBER = (int, float)


def _plain_text(v, limit: int) -> bool:
    # str.strip removes every character pydantic's str_strip_whitespace removes (and more), so
    # text it leaves unchanged is text pydantic leaves unchanged
    return type(v) is str and len(v) <= limit and v == v.strip()


def _plain(rec) -> tuple | None:
    """The record's values when PushEvent would accept it unchanged, else None."""
    if type(rec) is not dict or not rec.keys() >= _REQUIRED or not rec.keys() <= _FIELDS:
        return None
    rid = rec["id"]
    if type(rid) is int:
        rid = str(rid)
        if len(rid) > MAX_ID_LEN:
            return None
    elif not _plain_text(rid, MAX_ID_LEN) or not rid:
        return None
    t = rec["time"]
    if type(t) is not str or _PLAIN_TIME.match(t) is None:
        return None
    lon, lat = rec["lon"], rec["lat"]
    if type(lon) not in _NUMBER or type(lat) not in _NUMBER:
        return None
    try:
        lon, lat = float(lon), float(lat)
    except OverflowError:
        return None
    # NaN fails both comparisons; (0, 0) is the model's "missing location"
    if not (-180 <= lon <= 180 and -90 <= lat <= 90) or (lon == 0 and lat == 0):
        return None
    cat = rec["category"]
    if type(cat) is not str or cat != cat.strip():
        return None
    sev = rec.get("severity")
    if sev is not None and (type(sev) is not int or not SEVERITY_MIN <= sev <= SEVERITY_MAX):
        return None
    val = rec.get("value")
    if val is not None:
        if type(val) not in _NUMBER:
            return None
        try:
            val = float(val)
        except OverflowError:
            return None
        if not math.isfinite(val):
            return None
    text = rec.get("text")
    if text is not None and not _plain_text(text, MAX_TEXT_LEN):
        return None
    attrs = rec.get("attributes", _ABSENT)
    if attrs is _ABSENT:
        attrs = {}
    # pydantic strips the keys too (str_strip_whitespace reaches dict[str, Any] keys)
    elif type(attrs) is not dict or not all(type(k) is str and k == k.strip() for k in attrs):
        return None
    return rid, t, lon, lat, cat, sev, val, text, attrs


_ABSENT = object()


def _storable(texts: list) -> np.ndarray | None:
    """None when Arrow (so UTF-8) holds every text; else True where a text cannot be held."""
    try:
        pa.array(texts, type=pa.string())
        return None
    except (pa.ArrowException, UnicodeEncodeError):
        pass
    bad = np.zeros(len(texts), dtype=bool)
    for i, t in enumerate(texts):
        if t is not None:
            try:
                t.encode("utf-8")
            except UnicodeEncodeError:
                bad[i] = True
    return bad


def push_frame(
    source: str, records: list, catalogue: Catalogue = DEFAULT_CATALOGUE
) -> pd.DataFrame:
    """The canonical frame of pushed ``records``: plain records checked column-wise, the rest
    one by one with ``PushEvent``; an invalid record carries its reason in ``_reason`` and the
    record itself in ``_raw`` (serialised only if it is quarantined). ``source`` must be one of
    ``catalogue``'s."""
    n = len(records)
    plain = [_plain(r) for r in records]
    fast = np.array([p is not None for p in plain], dtype=bool)
    idx = np.flatnonzero(fast)
    if len(idx):
        cols = list(zip(*[plain[i] for i in idx], strict=True))
        times = pd.to_datetime(pd.Series(cols[1]), format="ISO8601", utc=True, errors="coerce")
        slow = times.isna().to_numpy(copy=True)
        # text UTF-8 cannot hold (lone surrogates): pydantic refuses it with its own reason
        for k in (0, 4, 7):
            bad = _storable(list(cols[k]))
            if bad is not None:
                slow |= bad
        # attribute keys are text pydantic checks too
        keys = [(j, k) for j, a in enumerate(cols[8]) for k in a]
        if keys:
            bad = _storable([k for _, k in keys])
            if bad is not None:
                slow[[j for (j, _), b in zip(keys, bad, strict=True) if b]] = True
        if slow.any():
            fast[idx[slow]] = False
            keep = ~slow
            idx = idx[keep]
            cols = [[c[i] for i in np.flatnonzero(keep)] for c in cols]
            times = times[keep]
    out = {c: np.full(n, None, dtype=object) for c in PUSH_FRAME_COLUMNS}
    # times as UTC microseconds (NaT where missing), made timezone-aware at the end
    when = np.full(n, np.datetime64("NaT"), dtype="datetime64[us]")
    if len(idx):
        for k, c in enumerate(("id", None, "lon", "lat", "category", "severity", "value")):
            if c is not None:
                out[c][idx] = cols[k]
        out["text"][idx] = cols[7]
        out["attributes"][idx] = cols[8]
        when[idx] = times.dt.tz_localize(None).astype("datetime64[us]").to_numpy()
        cats = pd.Series(cols[4], dtype=object)
        reason = np.full(len(idx), None, dtype=object)
        unknown = ~cats.isin(catalogue.categories[source]).to_numpy()
        reason[unknown] = [f"unknown category {c!r} for source {source}" for c in cats[unknown]]
        if source in catalogue.value_required:
            missing = np.array([v is None for v in cols[6]], dtype=bool) & ~unknown
            reason[missing] = f"a value is required for {source} readings"
        out["_reason"][idx] = reason
    slow = np.flatnonzero(~fast)
    if len(slow):
        slow_times = []
        for i in slow:
            row = _one_record(source, records[i], catalogue)
            slow_times.append(row.pop("time", None))
            for c, v in row.items():
                out[c][i] = v
        # the former path's conversion of pydantic's datetimes
        t = pd.to_datetime(pd.Series(slow_times, dtype=object), utc=True, errors="coerce")
        when[slow] = t.dt.tz_localize(None).astype("datetime64[us]").to_numpy()
    frame = pd.DataFrame(
        {
            "id": _strings(out["id"]),
            "time": pd.Series(when).dt.tz_localize("UTC"),
            "lon": pd.to_numeric(pd.Series(out["lon"]), errors="coerce").astype("float64"),
            "lat": pd.to_numeric(pd.Series(out["lat"]), errors="coerce").astype("float64"),
            "category": _strings(out["category"]),
            "severity": pd.array(out["severity"], dtype="Int64"),
            "value": pd.to_numeric(pd.Series(out["value"]), errors="coerce").astype("float64"),
            "text": _strings(out["text"]),
            "attributes": pd.Series(out["attributes"], dtype=object),
            "_raw": pd.Series(records, dtype=object) if n else pd.Series([], dtype=object),
            "_reason": pd.Series(out["_reason"], dtype=object),
        }
    )
    return frame


def _strings(values: np.ndarray) -> pd.Series:
    """Arrow-backed text, or objects when some text cannot be held (normalise_frame then
    escapes it and quarantines its record with a reason)."""
    try:
        return pd.Series(pd.array(values, dtype=STRING))
    except Exception:  # noqa: BLE001 - lone surrogates or odd values: leave them to normalise
        return pd.Series(values, dtype=object)


def _one_record(source: str, rec, catalogue: Catalogue = DEFAULT_CATALOGUE) -> dict:
    """One record checked with PushEvent (the former per-record path): its canonical values,
    or its id, raw record and reason when it is invalid."""
    try:
        ev = PushEvent.model_validate(rec)
    except ValidationError as exc:
        rid = rec.get("id") if isinstance(rec, dict) else None
        # an id that is not text or a number is no id (the raw record keeps it)
        return {
            "id": str(rid) if isinstance(rid, str | int | float) else None,
            "_reason": pydantic_reason(exc),
        }
    return {
        "id": ev.id,
        "time": ev.time,
        "lon": ev.lon,
        "lat": ev.lat,
        "category": ev.category,
        "severity": ev.severity,
        "value": ev.value,
        "text": ev.text,
        # serialised by the pipeline, which quarantines what cannot be stored
        "attributes": ev.attributes,
        "_reason": push_model_errors(source, ev, catalogue),
    }


def pydantic_reason(exc: ValidationError) -> str:
    """A quarantine reason from a pydantic error: the first five problems, where and what."""
    parts = []
    for err in exc.errors()[:5]:
        where = ".".join(str(p) for p in err["loc"]) or "record"
        parts.append(f"{where}: {err['msg']}")
    return "; ".join(parts)


@dataclass(frozen=True)
class PlainColumns:
    """A batch of plain pushed records as columns, without pandas (``plain_columns``).

    Arrow arrays for text and times (UTC microseconds), NumPy for coordinates (WGS84 degrees);
    ``reason`` holds the push rules' own reasons (unknown category, a required value missing)."""

    ids: pa.Array
    time: pa.Array
    lon: np.ndarray
    lat: np.ndarray
    category: pa.Array
    severity: list
    value: pa.Array
    text: pa.Array
    attributes: pa.Array
    reason: np.ndarray


_UTC_US = pa.timestamp("us", tz="UTC")
# normalise_frame's serialisation of attributes (json.dumps with these options), one encoder
# for every call: dumps builds a new one per call when given options
_ATTRIBUTES_JSON = json.JSONEncoder(ensure_ascii=False, default=str, allow_nan=False)


def plain_columns(
    source: str, records: list, catalogue: Catalogue = DEFAULT_CATALOGUE
) -> PlainColumns | None:
    """The columns of ``records`` when every one of them is plain (see ``_plain``) and every
    value can be held (UTF-8 text, a real date, attributes JSON can write); None otherwise, and
    the caller takes :func:`push_frame`'s path, which gives each odd record its reason.

    The common push batch is all plain: this path builds it with no pandas and no per-record
    pydantic (issue 12: pandas was most of a push batch's CPU, on the server's one GIL). It
    yields exactly what ``push_frame`` and the pipeline's normalisation yield for the same
    records (tests/test_push_columns.py)."""
    plain = [_plain(r) for r in records]
    if not plain or any(p is None for p in plain):
        return None
    rid, t, lon, lat, cat, sev, val, text, attrs = zip(*plain, strict=True)
    try:
        # Arrow reads every time the plain pattern admits (offset included); an impossible
        # date (30 February) fails the whole cast, and push_frame then finds which one
        times = pa.array(t, pa.string()).cast(_UTC_US)
        # each record's attributes as JSON text, as normalise_frame writes them; NaN is not JSON
        attr_text = [_ATTRIBUTES_JSON.encode(a) for a in attrs]
        cols = [pa.array(c, pa.string()) for c in (rid, cat, text, attr_text)]
    except (pa.ArrowException, ValueError, TypeError, RecursionError, UnicodeEncodeError):
        return None
    ids, cats, texts, attributes = cols
    reason = np.full(len(records), None, dtype=object)
    known = catalogue.categories[source]
    for i, c in enumerate(cat):
        if c not in known:
            reason[i] = f"unknown category {c!r} for source {source}"
        elif val[i] is None and source in catalogue.value_required:
            reason[i] = f"a value is required for {source} readings"
    return PlainColumns(
        ids=ids,
        time=times,
        lon=np.array(lon, dtype=np.float64),
        lat=np.array(lat, dtype=np.float64),
        category=cats,
        severity=list(sev),
        value=pa.array(val, pa.float64()),
        text=texts,
        attributes=attributes,
        reason=reason,
    )
