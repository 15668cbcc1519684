"""The former push path, kept as the reference the column-wise :func:`data.push.push_frame` is
tested against (tests/test_push_frame.py): every record through the pydantic ``PushEvent``."""

from __future__ import annotations

import pandas as pd

from data.push import PUSH_FRAME_COLUMNS, _one_record


def push_frame_per_record(source: str, records: list) -> pd.DataFrame:
    """The canonical frame of ``records`` of ``source``, each record checked by PushEvent."""
    rows = []
    for rec in records:
        row = _one_record(source, rec)
        row["_raw"] = rec
        rows.append(row)
    columns = PUSH_FRAME_COLUMNS
    try:
        frame = pd.DataFrame(rows, columns=columns)
    except Exception:  # noqa: BLE001 - text Arrow cannot hold (lone surrogates): keep objects
        frame = pd.DataFrame(rows, columns=columns, dtype=object)
    frame["time"] = pd.to_datetime(frame["time"], utc=True, errors="coerce")
    # the raw records as sent: a column built from rows infers a type (0 and 0.0 both became
    # 0.0), and a quarantined record must keep the form it came in
    frame["_raw"] = pd.Series(list(records), dtype=object, index=frame.index)
    return frame
