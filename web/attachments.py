"""Case attachments over HTTP: ``GET /cases/attachment/<id>`` hands one photo out.

Whoever may view the attachment's case (data.policy ``view`` on the case: its area or its
department) gets it; anyone else gets 403 and learns nothing about it. The type sent is the one
checked from the content at upload, never guessed again by the browser (nosniff).
"""

from __future__ import annotations

from flask import Response, abort, send_file

from data import attachments, policy
from web.signin import request_user


def register(server, runtime) -> None:
    """The attachment route on ``server``."""

    @server.get("/cases/attachment/<int:attachment_id>")
    def case_attachment(attachment_id: int) -> Response:
        found = attachments.find(runtime.db, attachment_id)
        if runtime.settings.auth:
            user = request_user()
            target = policy.case_target(runtime.db, found["case_id"]) if found else None
            if found is None or not policy.may(user, "view", target):
                abort(403)  # the same answer for a photo that does not exist: nothing learnt
        elif found is None:
            abort(404)
        path = attachments.folder_for(runtime.settings) / found["path"]
        if not path.is_file():
            abort(410)  # recorded but removed from disk by hand: say so rather than 500
        resp = send_file(path, mimetype=found["mime"], max_age=0)
        resp.headers["X-Content-Type-Options"] = "nosniff"
        resp.headers["Cache-Control"] = "private, no-store"
        return resp
