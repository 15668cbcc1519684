"""HTTP side of the audit trail: the CSV export (administrators only, itself audited) and an
audit row for every download of data through the read API."""

from __future__ import annotations

import contextlib

from flask import Response, abort, request

from data import audit, policy
from web.signin import request_user

# read-API routes that hand data out (a feed-health probe is not a download)
# (a file export, format=csv or xlsx, is recorded as data.export by web/export.py instead)
DOWNLOAD_PREFIXES = ("/api/events", "/api/cases", "/api/warnings", "/api/areas/")
FILE_FORMATS = ("csv", "xlsx")


def register(server, runtime) -> None:
    """The ``/audit/export.csv`` route and the download hook on ``server``."""

    @server.get("/audit/export.csv")
    def audit_export() -> Response:
        user = request_user() if runtime.settings.auth else None
        if runtime.settings.auth and not policy.may(user, "audit_view"):
            abort(403)
        args = request.args
        try:
            since = audit.since_for_period(args.get("period"))
        except ValueError as exc:
            return Response(str(exc), status=400, mimetype="text/plain")
        frame = audit.query(
            runtime.db,
            actor=args.get("actor") or None,
            action=args.get("action") or None,
            object_text=args.get("object") or None,
            since=since,
            limit=1_000_000,
        )
        audit.record(
            runtime.db,
            user.username if user else "anonymous",
            "audit.export",
            object_type="audit_log",
            detail={"filters": dict(args), "rows": len(frame)},
        )
        resp = Response(audit.to_csv(frame), mimetype="text/csv; charset=utf-8")
        resp.headers["Content-Disposition"] = 'attachment; filename="onegrid-audit.csv"'
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
