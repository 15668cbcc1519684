"""The read API's answers as files: ``format=csv`` or ``format=xlsx`` on /api/events,
/api/cases and /api/warnings (docs/API.md, "Exports").

A file holds a header row, then one row per record (the same records and columns as the JSON
answer), at most :data:`data.export.MAX_ROWS` rows. It is streamed: rows are read from DuckDB in
batches and written as they come, so memory stays flat however large the export. Every export is
recorded in the audit trail (``data.export``: format, filters, rows written, complete or not)
once its last byte is handed to the server, or when the client goes away.
"""

from __future__ import annotations

import contextlib
import json

from flask import Response

from data import audit, export
from data.store import Database
from data.times import iso, utc_now
from reports.tables import csv_stream, xlsx_stream

FILE_FORMATS = ("csv", "xlsx")
FORMATS = ("json", *FILE_FORMATS)
MIMETYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def _csv_value(v):
    if isinstance(v, bool):
        return "true" if v else "false"  # as JSON says it
    if isinstance(v, dict | list):
        return json.dumps(v, ensure_ascii=False, sort_keys=True)
    return v


def _xlsx_value(v):
    if isinstance(v, dict | list):
        return json.dumps(v, ensure_ascii=False, sort_keys=True)
    return v


def file_response(
    db: Database,
    kind: str,
    columns: tuple[str, ...],
    query: tuple[str, list],
    *,
    fmt: str,
    filters: dict,
    actor: str,
    path: str,
) -> Response:
    """A streamed CSV or Excel answer of ``query``'s rows (``kind``: events, cases, warnings),
    audited as ``data.export`` by ``actor`` when the stream ends. ``filters``: the request's
    parameters, written to the Excel file's second sheet and to the audit row."""
    at = utc_now()
    address = audit.current_address()  # the stream outlives the request's context
    written = {"rows": 0, "complete": False}
    flat = _csv_value if fmt == "csv" else _xlsx_value

    def rows():
        try:
            for batch in export.stream(db, query):
                for rec in batch:
                    yield [flat(rec[c]) for c in columns]
                written["rows"] += len(batch)
            written["complete"] = True
        finally:
            # the store may be closing at shutdown: the file still goes out
            with contextlib.suppress(RuntimeError):
                audit.record(
                    db,
                    actor,
                    "data.export",
                    object_type="api",
                    object_id=path,
                    address=address,
                    detail={"format": fmt, "filters": filters, "kind": kind, **written},
                )

    def filter_rows():
        # read after the data sheet, so the row count is known
        yield ("user", actor)
        yield ("exported_at", iso(at))
        yield ("rows", written["rows"])
        yield from sorted(filters.items())

    if fmt == "csv":
        body = csv_stream(columns, rows())
    else:
        body = xlsx_stream([(kind, columns, rows()), ("filters", ("name", "value"), filter_rows())])
    resp = attachment(body, fmt, f"onegrid-{kind}-{at.strftime('%Y%m%dT%H%M%SZ')}.{fmt}")
    resp.headers["X-Accel-Buffering"] = "no"  # a proxy passes chunks on as they come
    return resp


def attachment(body, fmt: str, filename: str) -> Response:
    """A file answer: ``body`` (bytes, or an iterator of them) in format ``fmt`` (csv or xlsx)
    saved as ``filename``, which holds only [A-Za-z0-9._-] (area codes, ids, levels, stamps):
    safe in a header without quoting rules."""
    resp = Response(body, mimetype=MIMETYPES[fmt])
    resp.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return resp
