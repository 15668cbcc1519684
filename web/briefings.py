"""The archived briefings over HTTP: ``GET /briefings/file/<id>`` hands one file out.

Whoever may export the briefing's area gets it (data.policy: a county leader their own county's,
never the city's or another county's); every download, and every refusal, is recorded in the
audit trail.
"""

from __future__ import annotations

import contextlib

from flask import Response, abort, send_file

from data import audit, policy
from data.briefings import archive
from reports.schedule import folder_for
from web.signin import request_user

MIMETYPES = {
    "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "html": "text/html; charset=utf-8",
}


def register(server, runtime) -> None:
    """The download route on ``server``."""

    @server.get("/briefings/file/<int:briefing_id>")
    def briefing_file(briefing_id: int) -> Response:
        user = request_user() if runtime.settings.auth else None
        actor = user.username if user else "anonymous"
        row = archive.find(runtime.db, briefing_id)
        if row is None:
            abort(404)
        target = policy.area_target(runtime.db, code=row["area_code"])
        allowed = not runtime.settings.auth or policy.may(user, "export", target)
        with contextlib.suppress(RuntimeError):  # the store may be closing at shutdown
            audit.record(
                runtime.db,
                actor,
                "briefing.download",
                object_type="briefing",
                object_id=briefing_id,
                outcome="ok" if allowed else "denied",
                detail={"path": row["path"]},
            )
        if not allowed:
            abort(403)
        path = folder_for(runtime.settings) / row["path"]
        if not path.is_file():
            abort(410)  # listed but gone (removed by hand): say so rather than 500
        name = f"onegrid-{row['period']}-{row['day']}-{row['area_code']}-{row['lang']}"
        return send_file(
            path,
            mimetype=MIMETYPES[row["fmt"]],
            as_attachment=True,
            download_name=f"{name}.{row['fmt']}",
        )
