"""HTTP side of the audit trail: its export as CSV or Excel (administrators only, itself
audited) and an audit row for every download of data through the read API."""

from __future__ import annotations

import contextlib

from flask import Response, abort, request

from data import audit, policy
from data.times import iso, parse_bound
from reports.tables import xlsx_stream
from web.signin import request_user

# read-API routes that hand data out (a feed-health probe is not a download)
# (a file export, format=csv or xlsx, is recorded as data.export by web/export.py instead)
DOWNLOAD_PREFIXES = ("/api/events", "/api/cases", "/api/warnings", "/api/areas/")
FILE_FORMATS = ("csv", "xlsx")
XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _xlsx(frame, filters: dict, actor: str):
    """The audit rows as an Excel workbook (header row, times in ISO 8601 UTC) with the filters
    in a second sheet, as the read API's files have them."""
    rows = (
        [iso(v) if c == "occurred_at" else v for c, v in zip(audit.COLUMNS, rec, strict=True)]
        for rec in frame.astype(object).where(frame.notna(), None).itertuples(index=False)
    )
    about = [("user", actor), ("rows", len(frame)), *sorted(filters.items())]
    return xlsx_stream([("audit", audit.COLUMNS, rows), ("filters", ("name", "value"), about)])


def register(server, runtime) -> None:
    """The ``/audit/export.csv`` and ``/audit/export.xlsx`` routes and the download hook on
    ``server``. The export takes the page's filters: ``actor``, ``action``, ``object``, and
    ``period`` (a named window) or ``since``/``until`` (a bare date is local midnight in the
    region's zone, ``until`` excluded)."""

    @server.get("/audit/export.<fmt>")
    def audit_export(fmt: str) -> Response:
        if fmt not in FILE_FORMATS:
            abort(404)
        user = request_user() if runtime.settings.auth else None
        if runtime.settings.auth and not policy.may(user, "audit_view"):
            abort(403)
        args = request.args
        try:
            since, until = (
                parse_bound(args[k], runtime.timezone) if args.get(k) else None
                for k in ("since", "until")
            )
            if since is None and until is None:
                since = audit.since_for_period(args.get("period"))
        except ValueError as exc:
            return Response(str(exc), status=400, mimetype="text/plain")
        frame = audit.query(
            runtime.db,
            actor=args.get("actor") or None,
            action=args.get("action") or None,
            object_text=args.get("object") or None,
            since=since,
            until=until,
            limit=1_000_000,
        )
        actor = user.username if user else "anonymous"
        audit.record(
            runtime.db,
            actor,
            "audit.export",
            object_type="audit_log",
            detail={"filters": dict(args), "rows": len(frame), "format": fmt},
        )
        if fmt == "csv":
            resp = Response(audit.to_csv(frame), mimetype="text/csv; charset=utf-8")
        else:
            resp = Response(_xlsx(frame, dict(args), actor), mimetype=XLSX_MIMETYPE)
        resp.headers["Content-Disposition"] = f'attachment; filename="onegrid-audit.{fmt}"'
        return resp

    @server.after_request
    def audit_download(resp: Response) -> Response:
        if (
            request.method == "GET"
            and resp.status_code == 200
            and request.path.startswith(DOWNLOAD_PREFIXES)
            and request.args.get("format") not in FILE_FORMATS
        ):
            user = request_user() if runtime.settings.auth else None
            bearer = request.headers.get("Authorization", "").lower().startswith("bearer ")
            actor = user.username if user else ("read-token" if bearer else "anonymous")
            # the store may be closing at shutdown: the answer still goes out
            with contextlib.suppress(RuntimeError):
                audit.record(
                    runtime.db,
                    actor,
                    "data.download",
                    object_type="api",
                    object_id=request.full_path.rstrip("?"),
                )
        return resp
