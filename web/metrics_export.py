"""The metrics page's tables as files: ``GET /api/metrics/<table>?format=csv|xlsx`` with the
page's ``since``/``until`` (and ``department`` for one department's overdue cases), the rows and
headers the page's grids show (layouts/metrics_page.py), read by the same functions
(:func:`data.cases.desk.rankings_view`, :func:`data.cases.desk.overdue_view`, which
:func:`data.cases.desk.metrics_view` and :func:`data.cases.desk.department_view` use) inside the
reader's scope (data.policy). Only roles that may export figures get a file; every file is
recorded in the audit trail as ``data.export`` (docs/API.md, "Exports")."""

from __future__ import annotations

from flask import Blueprint, Response, request

from data import audit
from data.cases import desk
from data.times import iso, utc_now
from layouts import metrics_page as view_of
from layouts.i18n import normalise_language
from reports.tables import csv_bytes, xlsx_bytes
from web.api import _area_read, _error, _read_allowed, _reader, _unknown
from web.export import MIMETYPES, attachment
from web.paths import API_PREFIX
from web.session import runtime as _runtime

blueprint = Blueprint("onegrid_metrics_export", __name__, url_prefix=API_PREFIX)
TABLES = ("departments", "counties", "department")
PARAMS = {"since", "until", "department", "format", "lang"}


def _table(rt, scope, table: str, since, until, department: str | None, lang: str):
    """The grid's (columns, rows) of ``table`` as the page shows them in ``lang``."""
    if table == "department":
        detail = desk.overdue_view(rt, scope, department, since, until)
        return view_of.overdue_columns(lang), view_of.overdue_rows(detail, lang, rt.timezone)
    r = view_of.rankings(desk.rankings_view(rt, scope, since, until), lang)
    key = "dept" if table == "departments" else "county"
    return r[f"{key}_columns"], r[f"{key}_rows"]


@blueprint.get("/metrics/<table>")
def table_file(table: str) -> Response:
    """One of the metrics page's tables (``departments``, ``counties`` rankings, or
    ``department``: its overdue cases) for the period ``since``/``until`` (as the page reads
    them; default: the page's default period), as ``format`` csv or xlsx."""
    if (denied := _read_allowed()) is not None:
        return denied
    rt = _runtime()
    args = request.args
    if (bad := _unknown(PARAMS)) is not None:
        return bad
    if table not in TABLES:
        return _error(404, f"unknown table {table!r}; expected one of {', '.join(TABLES)}")
    fmt = args.get("format")
    if fmt not in MIMETYPES:
        return _error(400, f"format must be one of {', '.join(MIMETYPES)}")
    department = args.get("department")
    if table == "department" and not department:
        return _error(400, "table 'department' needs a department")
    user = _reader()
    scope, denied = _area_read(rt, user, fmt)
    if denied is not None:
        return denied
    try:
        period = desk.metrics_period(rt, args.get("since"), args.get("until"))
    except ValueError as exc:
        return _error(400, str(exc))
    lang = normalise_language(args.get("lang"))
    since, until = period["since"], period["until"]
    columns, rows = _table(rt, scope, table, since, until, department, lang)
    fields = [c["field"] for c in columns]
    header = [c["headerName"] for c in columns]
    body = [[row.get(f) for f in fields] for row in rows]
    filters = {"table": table, "since": iso(since), "until": iso(until), "lang": lang}
    if department:
        filters["department"] = department
    at = utc_now()
    if fmt == "csv":
        data = csv_bytes(header, body)
    else:
        sheet = [("user", user.username), ("exported_at", iso(at)), ("rows", len(body))]
        sheet += sorted(filters.items())
        data = xlsx_bytes(
            [(f"metrics-{table}", header, body), ("filters", ("name", "value"), sheet)]
        )
    audit.record(
        rt.db,
        user.username,
        "data.export",
        object_type="api",
        object_id=request.path,
        detail={
            "format": fmt,
            "filters": filters,
            "kind": f"metrics.{table}",
            "rows": len(body),
            "complete": True,
        },
    )
    return attachment(data, fmt, f"onegrid-metrics-{table}-{at.strftime('%Y%m%dT%H%M%SZ')}.{fmt}")
