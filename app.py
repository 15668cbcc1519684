"""OneGrid: a real-time city command centre.

``python app.py`` serves the default region with simulated live feeds on http://127.0.0.1:8050;
``python app.py --help`` lists every command.
"""

from __future__ import annotations

import argparse
import functools
import logging
import os
import sys
import threading
import time
import webbrowser

# keep Dash from calling plotly's version-check host: command centres are air-gapped
os.environ.setdefault("DASH_DISABLE_VERSION_CHECK", "true")

import dash  # noqa: E402
from flask import Response, abort  # noqa: E402

import web  # noqa: E402
from data.runtime import Runtime  # noqa: E402
from data.settings import Settings, load_settings  # noqa: E402
from web.api import api  # noqa: E402
from web.paths import API_PATHS  # noqa: E402

log = logging.getLogger("onegrid")
GEO_LEVELS = ("city", "county", "township", "community", "grid")


def create_app(settings: Settings | None = None, runtime: Runtime | None = None) -> dash.Dash:
    """Build the Dash app (and its Flask server) on a runtime; starts no thread.

    ``runtime`` defaults to a new one from ``settings`` (default: :func:`load_settings`). The
    runtime's feeds and schedulers start in :func:`serve` (or by ``runtime.start()``, for a test
    or a benchmark that wants them), so building an app never starts background work.
    """
    from layouts import shell

    settings = settings or (runtime.settings if runtime else load_settings())
    runtime = runtime or Runtime(settings)
    app = dash.Dash(
        __name__,
        use_pages=True,
        pages_folder="",
        title="OneGrid",
        update_title=None,
        serve_locally=True,
        assets_folder=os.path.join(os.path.dirname(os.path.abspath(__file__)), "assets"),
    )
    server = app.server
    server.extensions["onegrid"] = runtime
    server.extensions["onegrid_dash"] = app
    server.register_blueprint(api)
    if settings.briefings:  # scheduled briefings, started and stopped with the feeds
        from reports.schedule import BriefingScheduler

        runtime.workers.append(BriefingScheduler(runtime))
    _register_geometry(server, runtime)
    web.register(server, runtime)  # sessions, sign-in, the audit trail's routes
    from callbacks.wiring import register_errors

    register_errors(server)  # after sign-in, so an anonymous request still answers 401
    _register_pages(app, runtime)
    app.layout = shell.shell()
    return app


def _page_layouts() -> dict:
    """Page name -> (path, layout function taking ``chrome`` and the URL's query)."""
    from layouts import (
        audit_page,
        briefings_page,
        cases_page,
        console_page,
        feeds_new_page,
        figures_page,
        inspections_page,
        metrics_page,
        report_page,
        rules_page,
        search_page,
        wall,
        warnings_page,
    )

    return {
        "wall": ("/", wall.layout),
        "warnings": ("/warnings", warnings_page.layout),
        "cases": ("/cases", cases_page.layout),
        "report": ("/report", report_page.layout),
        "metrics": ("/metrics", metrics_page.layout),
        "inspections": ("/inspections", inspections_page.layout),
        "audit": ("/audit", audit_page.layout),
        "briefings": ("/briefings", briefings_page.layout),
        "figures": ("/figures", figures_page.layout),
        "console": ("/console", console_page.layout),
        "feeds_new": ("/feeds/new", feeds_new_page.layout),
        "rules": ("/rules", rules_page.layout),
        "search": ("/search", search_page.layout),
    }


def _register_pages(app: dash.Dash, runtime: Runtime) -> None:
    """Each page's layout and callbacks: the wall, the analyst's warnings, the case board, the
    grid worker's report, the response metrics, the audit trail and the figures builder.

    Dash's page registry is one per process, so the registered layouts hold no setting: each
    reads the settings of the app serving the request (``chrome``, kept in the Flask app's
    extensions), and two apps in one process each render with their own.
    """
    from callbacks import audit_page as audit_cb
    from callbacks import briefings_page as briefings_cb
    from callbacks import cases_page as cases_cb
    from callbacks import console_page as console_cb
    from callbacks import feeds_new_page as feeds_new_cb
    from callbacks import figures_page as figures_cb
    from callbacks import inspections_page as inspections_cb
    from callbacks import metrics_page as metrics_cb
    from callbacks import report_page as report_cb
    from callbacks import rules_page as rules_cb
    from callbacks import search_page as search_cb
    from callbacks import shell as shell_cb
    from callbacks import wall as wall_cb
    from callbacks import warnings_page as warnings_cb
    from web.signin import csrf_token

    pages = (wall_cb, warnings_cb, cases_cb, metrics_cb, inspections_cb, report_cb, audit_cb)
    for module in (*pages, briefings_cb, figures_cb, console_cb, feeds_new_cb, rules_cb, search_cb):
        module.register(app)
    shell_cb.register(app)  # the desk pages' light / dark switch
    meta = runtime.region.meta
    chrome = {
        "refresh_ms": runtime.settings.refresh_ms,
        "timezone": runtime.timezone,
        "csrf_token": csrf_token,  # the header's sign-out form (made per request)
        "catalogue": runtime.catalogue,  # the deployment's sources (the wall's tiles, buttons)
        "region": {
            "name_zh": meta.get("name_zh") or runtime.region.name,
            "name_en": meta.get("name_en") or runtime.region.name,
            "illustrative": "illustrative" in str(meta.get("source", "")),
        },
    }
    app.server.extensions["onegrid_chrome"] = chrome
    for name, (path, _layout) in _page_layouts().items():
        dash.register_page(
            name, path=path, layout=functools.partial(page_layout, name), title="OneGrid"
        )
    _keep_validation_layout(app, chrome)


def page_layout(name: str, **query):
    """Page ``name``'s layout for the current request: the page when the policy lets the
    signed-in user open it, else a refusal page; framed with the serving app's settings."""
    from flask import current_app

    from data.policy import PAGES, page
    from layouts.shell import forbidden
    from web.session import may

    chrome = current_app.extensions["onegrid_chrome"]
    registered = set(dash.page_registry)  # keyed by the names given to register_page
    allowed = [(n, p) for n, p in PAGES.items() if n in registered and may("view", page(n))]
    if not may("view", page(name)):
        return forbidden(chrome, allowed)
    # every desk page gets the navigation; the wall is the hall's kiosk and keeps its screen
    nav = [] if name == "wall" else allowed
    return _page_layouts()[name][1]({**chrome, "nav": nav, "current": name}, **query)


def validation_layout(chrome: dict):
    """Every component any page can show, for Dash to check the callbacks against (instead of
    ``suppress_callback_exceptions``, which would hide a wrong or duplicate id): the shell and
    every page as an administrator sees it, with the sign-out form."""
    from dash import html

    from layouts import shell

    full = {**chrome, "csrf_token": "validation"}
    pages = [layout(full) for _path, layout in _page_layouts().values()]
    return html.Div([shell.shell(), *pages])


def _keep_validation_layout(app: dash.Dash, chrome: dict) -> None:
    """Give Dash :func:`validation_layout`. Dash's pages router builds its own on the first
    request by calling each page's layout as that request's user would see it (a refusal page
    for a visitor not signed in), so ours is set again after it, before each request for a page
    (the index hands it to the browser). Built at the first such request, not in create_app:
    rendering every page takes about a second, which API clients and tests need not wait for."""
    from flask import request

    built: list = []
    not_pages = (API_PATHS, "/_dash-", "/geo/", "/assets/", "/_favicon")

    @app.server.before_request
    def _validation_layout() -> None:
        if request.path.startswith(not_pages):
            return
        if not built:
            built.append(validation_layout(chrome))
        app.validation_layout = built[0]


def _register_geometry(server, runtime: Runtime) -> None:
    @server.get("/geo/<level>.json")
    def geometry(level: str) -> Response:
        if level not in GEO_LEVELS:
            abort(404)
        resp = Response(runtime.geojson(level), mimetype="application/geo+json")
        resp.headers["Cache-Control"] = "public, max-age=86400"
        return resp


def serve(args: argparse.Namespace) -> int:
    """Run the web server (waitress, one process, threads) until SIGTERM or SIGINT.

    Either signal stops it gracefully: no new connections, the requests under way finish, the
    feeds and schedulers stop, queued writes are committed, the write-ahead log is checkpointed
    into the database file and the file is closed; then it exits 0, within ``stop_timeout_s``
    seconds (a watchdog ends the process a little later if something hangs: what was
    acknowledged is in the WAL by then).
    """
    from waitress import create_server

    overrides = {k: v for k, v in {"port": args.port, "host": args.host}.items() if v is not None}
    if args.no_simulator:
        overrides["simulator"] = False
    settings = load_settings(args.config, **overrides)
    app = create_app(settings)
    runtime = app.server.extensions["onegrid"]
    runtime.start()  # the feeds and schedulers: background threads start here, not in create_app
    if settings.auth:
        from data.auth import ensure_admin, hand_over_first_password

        password = ensure_admin(runtime.users)
        if password:
            # on a terminal, shown once; under a service manager, a 0600 file (never the log)
            hand_over_first_password(password, settings.users_file)
    try:
        server = create_server(
            app.server,
            host=settings.host,
            port=settings.port,
            threads=settings.server_threads,
            connection_limit=settings.server_connection_limit,
            channel_timeout=60,
            ident="OneGrid",
        )
    except BaseException:
        runtime.stop()
        raise
    url = f"http://{settings.host}:{settings.port}/"
    log.info("OneGrid on %s (region %s, database %s)", url, settings.region, settings.db)
    if args.open:
        webbrowser.open(url)
    stopping = _install_stop_signals(settings.stop_timeout_s)
    try:
        server.run()  # returns after a stop signal, once the requests under way are done
    finally:
        stopping.set()
        t0 = time.monotonic()
        server.close()
        # what is left of the stop budget after waitress waited for the requests under way
        since = _signal_at[0] if _signal_at else t0
        runtime.stop(timeout=max(2.0, settings.stop_timeout_s - (time.monotonic() - since)))
        _stopped.set()
        log.info("OneGrid stopped in %.1f s after the signal", time.monotonic() - since)
    return 0


def _install_stop_signals(timeout_s: float) -> threading.Event:
    """SIGTERM and SIGINT end :func:`serve`'s loop once (by SystemExit, which waitress's loop
    turns into a shutdown of its worker threads); a watchdog then bounds the stop."""
    import signal

    stopping = threading.Event()

    def watchdog() -> None:
        if not _stopped.wait(timeout_s + 2.0):
            log.error("stop took longer than %.0f s: exiting anyway", timeout_s + 2.0)
            logging.shutdown()
            os._exit(3)

    def on_signal(signum, _frame) -> None:
        if stopping.is_set():
            return  # already stopping: a second signal must not break the stop half-way
        stopping.set()
        _signal_at.append(time.monotonic())
        log.info("%s: stopping", signal.Signals(signum).name)
        threading.Thread(target=watchdog, name="onegrid-stop-watchdog", daemon=True).start()
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    return stopping


# set when serve() has finished its stop (the watchdog's all-clear); when the signal came
_stopped = threading.Event()
_signal_at: list[float] = []


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the process exit code. The command line is parsed in :mod:`cli`."""
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    import cli

    return cli.main(argv, serve=serve)


if __name__ == "__main__":
    sys.exit(main())
