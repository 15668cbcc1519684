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
from data.api import api  # noqa: E402
from data.runtime import Runtime  # noqa: E402
from data.settings import Settings, SettingsError, load_settings  # noqa: E402

log = logging.getLogger("onegrid")
GEO_LEVELS = ("city", "county", "township", "community", "grid")


def create_app(
    settings: Settings | None = None, runtime: Runtime | None = None, *, start_feeds: bool = True
) -> dash.Dash:
    """Build the Dash app (and its Flask server) on a runtime.

    ``runtime`` defaults to a new one from ``settings`` (default: :func:`load_settings`). Feeds start
    unless ``start_feeds`` is false.
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
        suppress_callback_exceptions=True,
        assets_folder=os.path.join(os.path.dirname(os.path.abspath(__file__)), "assets"),
    )
    server = app.server
    server.extensions["onegrid"] = runtime
    server.extensions["onegrid_dash"] = app
    server.register_blueprint(api)
    _register_geometry(server, runtime)
    web.register(server, runtime)  # sessions, sign-in, the audit trail's routes
    from callbacks.wiring import register_errors

    register_errors(server)  # after sign-in, so an anonymous request still answers 401
    _register_pages(app, runtime)
    app.layout = shell.shell()
    if start_feeds:
        runtime.start()
    return app


def _register_pages(app: dash.Dash, runtime: Runtime) -> None:
    """Each page's layout and callbacks: the wall, the analyst's warnings, the case board, the
    grid worker's report, the response metrics and the audit trail."""
    from callbacks import audit_page as audit_cb
    from callbacks import cases_page as cases_cb
    from callbacks import metrics_page as metrics_cb
    from callbacks import report_page as report_cb
    from callbacks import wall as wall_cb
    from callbacks import warnings_page as warnings_cb
    from layouts import audit_page, cases_page, metrics_page, report_page, wall, warnings_page
    from web.signin import csrf_token

    for module in (wall_cb, warnings_cb, cases_cb, metrics_cb, report_cb, audit_cb):
        module.register(app)
    meta = runtime.region.meta
    chrome = {
        "refresh_ms": runtime.settings.refresh_ms,
        "timezone": runtime.timezone,
        "csrf_token": csrf_token,  # the header's sign-out form (made per request)
        "region": {
            "name_zh": meta.get("name_zh") or runtime.region.name,
            "name_en": meta.get("name_en") or runtime.region.name,
            "illustrative": "illustrative" in str(meta.get("source", "")),
        },
    }
    pages = (
        ("wall", "/", wall.layout),
        ("warnings", "/warnings", warnings_page.layout),
        ("cases", "/cases", cases_page.layout),
        ("report", "/report", report_page.layout),
        ("metrics", "/metrics", metrics_page.layout),
        ("audit", "/audit", audit_page.layout),
    )
    for name, path, layout in pages:
        dash.register_page(
            name,
            path=path,
            layout=functools.partial(_allowed_layout, name, layout, chrome),
            title="OneGrid",
        )


def _allowed_layout(name: str, layout, chrome: dict, **query):
    """A page's layout when the policy lets the signed-in user open it, else a refusal page."""
    from data.policy import PAGES, page
    from data.session import may
    from layouts.shell import forbidden

    if not may("view", page(name)):
        registered = set(dash.page_registry)  # keyed by the names given to register_page
        allowed = [(n, p) for n, p in PAGES.items() if n in registered and may("view", page(n))]
        return forbidden(chrome, allowed)
    return layout(chrome, **query)


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
            threads=8,
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


def build_parser() -> argparse.ArgumentParser:
    """The command line: ``serve`` (the default) and the data commands."""
    parser = argparse.ArgumentParser(
        prog="app.py", description="OneGrid city command centre. Without a command: serve."
    )
    parser.add_argument("--config", help="TOML settings file (default: $ONEGRID_CONFIG)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    p = sub.add_parser("serve", help="run the web server (default)")
    _serve_args(p)
    _serve_args(parser)
    _add_data_commands(sub)
    return parser


def _serve_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--host", default=None, help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=None, help="port (default 8050, $ONEGRID_PORT)")
    p.add_argument("--no-simulator", action="store_true", help="do not start simulated feeds")
    p.add_argument("--open", action="store_true", help="open the page in a browser")


def _add_data_commands(sub) -> None:
    from data import auth, region_import
    from data.feeds import replay_cli as replay

    region_import.add_parser(sub)
    replay.add_parser(sub)
    auth.add_parser(sub)
    g = sub.add_parser("generate-region", help="regenerate the default Anshan-like region")
    g.set_defaults(handler=lambda a: _generate_region())


def _generate_region() -> int:
    from data import region_gen

    region_gen.main([])
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the process exit code."""
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command in (None, "serve"):
            return serve(args)
        handler = getattr(args, "handler", None) or getattr(args, "func", None)
        return handler(args) or 0
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
