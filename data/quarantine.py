"""A feed's rejected records as the quarantine table stores them: each record's reason, id and
raw text (as it came, or its parsed form as JSON), never lost for a character the store cannot
hold (data/ingest.py builds them for every batch)."""

from __future__ import annotations

import json

import pandas as pd
import pyarrow as pa

from data.events import storable_text

# a reason is our own sentence plus at most a short quote of the value; bound it all the same
MAX_REASON_LEN = 1000

NO_QUARANTINE = pd.DataFrame(
    {
        "source": pd.Series([], dtype=object),
        "feed": pd.Series([], dtype=object),
        "received_at": pd.Series([], dtype="datetime64[us, UTC]"),
        "reason": pd.Series([], dtype=object),
        "source_event_id": pd.Series([], dtype=object),
        "raw": pd.Series([], dtype=object),
    }
)


def quarantine_rows(source, feed, now, reasons, ids: list, raw: list) -> pd.DataFrame:
    """The quarantine rows of one batch: each record's reason, id and raw text."""
    if not ids:
        # most batches quarantine nothing: an empty frame costs about 2 ms to build
        return NO_QUARANTINE
    return pd.DataFrame(
        {
            "source": source,
            "feed": feed or source,
            "received_at": pd.Series([now] * len(ids), dtype="datetime64[us, UTC]"),
            "reason": storable([str(r)[:MAX_REASON_LEN] for r in reasons]),
            "source_event_id": ids,
            "raw": storable(raw),
        }
    )


def records_as_json(rows: pd.DataFrame) -> list[str]:
    """Each row as a JSON object text, for the quarantine's raw column (vectorised): every
    column the feed gave, not the pipeline's own ``_raw`` and ``_reason``."""
    cols = [c for c in rows.columns if c not in ("_raw", "_reason")]
    if not len(rows):
        return []
    try:
        text = rows[cols].to_json(
            orient="records", lines=True, date_format="iso", force_ascii=False
        )
    except Exception:  # noqa: BLE001 - a value to_json cannot write: one record at a time
        return [raw_text(r) for r in rows[cols].astype(object).to_dict(orient="records")]
    # JSON escapes newlines inside strings, so one line is one record; split at "\n" only:
    # str.splitlines() also breaks at U+0085, U+2028 and others, which JSON leaves raw
    return text.rstrip("\n").split("\n")


def raw_text(r) -> str | None:
    """One quarantined record's raw text: text as it came, a parsed record as JSON."""
    if r is None or isinstance(r, str):
        return r
    if not isinstance(r, dict | list) and pd.isna(r):
        return None
    try:
        return json.dumps(r, ensure_ascii=False, default=str)
    except (RecursionError, ValueError, TypeError):
        # nested deeper than the JSON writer goes: keep what can be written, and say so
        return f"<record of type {type(r).__name__} too deeply nested to write out>"


def storable(texts: list) -> list:
    """``texts`` as the store can hold them: lone surrogates escaped (see storable_text).
    The whole list is checked at C speed; only a list that fails is escaped value by value."""
    try:
        pa.array(texts, type=pa.string())
        return texts
    except Exception:  # noqa: BLE001 - UnicodeEncodeError or ArrowInvalid: escape each
        return [
            t if t is None else storable_text(t if isinstance(t, str) else str(t)) for t in texts
        ]
