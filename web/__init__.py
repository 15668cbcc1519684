"""The HTTP layer (Flask glue kept out of ``data/``): the read/push API (:mod:`web.api`) and its
OpenAPI document (:mod:`web.openapi`), the indicator catalogue's routes (:mod:`web.indicators`),
the targeted inspection lists (:mod:`web.inspections`), the metrics page's tables as files
(:mod:`web.metrics_export`), the signed-in user of a request
(:mod:`web.session`), sign-in and sessions (:mod:`web.signin`), the audit trail's HTTP side
(:mod:`web.audit_http`), the archived briefings' downloads (:mod:`web.briefings`) and the
cases' photos (:mod:`web.attachments`)."""

from __future__ import annotations


def register(server, runtime) -> None:
    """Sessions, sign-in routes and the audit routes and hooks on ``server`` (the Flask app)."""
    from data import audit
    from web import (
        attachments,
        audit_http,
        briefings,
        indicators,
        inspections,
        metrics_export,
        signin,
    )

    server.register_blueprint(indicators.blueprint)  # the indicator catalogue's read API
    server.register_blueprint(inspections.blueprint)  # targeted inspection lists (issue 11)
    server.register_blueprint(metrics_export.blueprint)  # the metrics page's tables as files
    signin.register(server, runtime)
    audit_http.register(server, runtime)
    briefings.register(server, runtime)  # archived briefings' downloads
    attachments.register(server, runtime)  # field reports' photos, for who may view the case
    _screens_yield_to_ingest(server, runtime.settings.screen_nice)
    # which settings changed since the last start (key names only, never values)
    audit.record_settings(runtime.db, runtime.settings.model_dump(mode="json"))
    # user changes made in the users file while the server was down
    runtime.users.users()


def _screens_yield_to_ingest(server, nice: int) -> None:
    """Lower the priority of a web server's worker thread once it serves a screen (a page, a
    Dash callback, the map's geometry, an asset): see :mod:`data.priority`. The API's requests
    (pushes above all) leave their thread as it is; a thread lowered once stays so (raising it
    again needs privileges), so on a server with screens open the pushes share lowered threads,
    while the writer that commits them keeps its priority. Only a multithreaded server's own
    workers: a test client's request runs in its caller's thread, which is nobody's worker."""
    if nice <= 0:
        return
    import threading

    from flask import request

    from data import priority
    from web.paths import API_PATHS

    lowered = threading.local()  # marks the threads already lowered

    @server.before_request
    def _yield() -> None:
        if getattr(lowered, "done", False) or request.path.startswith(API_PATHS):
            return
        if not request.environ.get("wsgi.multithread"):
            return
        priority.yield_to_ingest(nice)
        lowered.done = True
