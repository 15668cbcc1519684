"""How the callback modules attach themselves to an app, and what every callback asks first.

Dash hands its global ``@dash.callback`` list to the first app built in a process only, and tests
and tools build several apps in one process. So each module records its callbacks at import in a
:class:`Wiring` (filled once, never changed afterwards) and ``create_app`` calls its
``register(app)``.

Every server callback is guarded when attached: the signed-in user must be allowed to open the
callback's page (:mod:`data.policy`, ``view page:<name>``), a refusal answers 403, and input the
callback cannot read (a warning id ``"abc"``, a view that is not an object, wrong types) answers
400 instead of a server error. A callback added later gets the same guard without doing anything.
"""

from __future__ import annotations

import functools
import logging

import dash
import duckdb
from flask import jsonify
from werkzeug.exceptions import BadRequest

from data import policy
from data.areas import AreaScope
from web.session import current_scope, current_user, signed_in
from web.session import runtime as runtime

log = logging.getLogger(__name__)

# what a callback's own code raises on input of the wrong shape or type (a parameter of the wrong
# type reaching a query, a path Dash's page router cannot read)
MALFORMED = (
    TypeError,
    ValueError,
    KeyError,
    AttributeError,
    IndexError,
    OverflowError,
    duckdb.ConversionException,
    dash.exceptions.UnsupportedRelativePath,
)


class MalformedInput(BadRequest):
    """A callback's inputs could not be read (answered 400 with the reason)."""


class Wiring:
    """The server and clientside callbacks of one module, attached to each app by ``register``.

    ``page``: the page (a key of :data:`data.policy.PAGES`) whose callbacks these are; a callback
    may name another with ``page=...`` (``None``: any signed-in user, for the app's frame).
    """

    def __init__(self, page: str | None = None) -> None:
        self.page = page
        self._items: list[tuple[str, tuple, dict, object]] = []

    def callback(self, *args, page: str | None | bool = False, **kwargs):
        """Record a server callback (same arguments as ``dash.callback``, plus ``page``)."""
        where = self.page if page is False else page

        def record(func):
            self._items.append(("server", args, kwargs, guarded(func, where)))
            return func

        return record

    def clientside_callback(self, function, *args, **kwargs) -> None:
        """Record a clientside callback (same arguments as ``dash.clientside_callback``)."""
        self._items.append(("client", (function, *args), kwargs, None))

    def address_period(self, picker_id: str) -> None:
        """The desk page's date picker ``picker_id`` takes the address's ``since``/``until`` (a
        shared link), read as the read API reads them (:func:`data.search.picker_days`); an
        address without them leaves the picker empty (the page's default period)."""
        from data import search
        from layouts import ids

        def period_from_address(query):
            return search.picker_days(query if isinstance(query, str) else "", runtime().timezone)

        self.callback(
            dash.Output(picker_id, "start_date"),
            dash.Output(picker_id, "end_date"),
            dash.Input(ids.URL, "search"),
        )(period_from_address)

    def register(self, app: dash.Dash) -> None:
        """Attach every recorded callback to ``app``."""
        for kind, args, kwargs, func in self._items:
            if kind == "server":
                app.callback(*args, **kwargs)(func)
            else:
                app.clientside_callback(*args, **kwargs)


def guarded(func, page: str | None):
    """``func`` as attached to the app: the page check first, malformed input as 400."""

    @functools.wraps(func)
    def run(*args, **kwargs):
        user = signed_in()
        if page is not None:
            policy.require(user, "view", policy.page(page))
        try:
            return func(*args, **kwargs)
        except (dash.exceptions.PreventUpdate, PermissionError):
            raise
        except MALFORMED as exc:
            log.info("callback %s: malformed input: %r", func.__name__, exc)
            raise MalformedInput(f"malformed input to {func.__name__}: {exc}") from exc

    return run


def register_errors(server) -> None:
    """Answer a policy refusal with 403 and malformed callback input with 400, as JSON."""

    @server.errorhandler(policy.PolicyDenied)
    def denied(exc):
        resp = jsonify({"error": str(exc)})
        resp.status_code = 403
        return resp

    @server.errorhandler(MalformedInput)
    def malformed(exc):
        resp = jsonify({"error": exc.description})
        resp.status_code = 400
        return resp

    @server.before_request
    def check_callback_body():
        """A Dash update whose body is not the renderer's shape is refused before Dash reads it."""
        from flask import request

        if request.path != "/_dash-update-component" or request.method != "POST":
            return None
        body = request.get_json(silent=True)
        app = server.extensions.get("onegrid_dash")
        lists = ("inputs", "state", "changedPropIds")
        ok = (
            isinstance(body, dict)
            and isinstance(body.get("output"), str)
            and (app is None or body["output"] in app.callback_map)
            and all(isinstance(body.get(k, []), list) for k in lists)
        )
        if not ok:
            resp = jsonify({"error": "malformed callback request"})
            resp.status_code = 400
            return resp
        entry = app.callback_map[body["output"]] if app is not None else None
        if entry is not None and (
            len(body.get("inputs", [])) != len(entry["inputs"])
            or len(body.get("state", [])) != len(entry["state"])
        ):
            # Dash would fail on the missing values (a 500): the renderer always sends them all
            resp = jsonify({"error": "malformed callback request: inputs or state missing"})
            resp.status_code = 400
            return resp
        # Dash's own callbacks (the page router, registered at the first request) get the same
        # answer to input they cannot read as ours
        if entry is not None and not getattr(entry["callback"], "onegrid_guarded", False):
            entry["callback"] = _malformed_as_400(entry["callback"])
        return None


def _malformed_as_400(func):
    @functools.wraps(func)
    def run(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except MALFORMED as exc:
            log.info("callback %s: malformed input: %r", func.__name__, exc)
            raise MalformedInput(f"malformed input to {func.__name__}: {exc}") from exc

    run.onegrid_guarded = True
    return run


def scope() -> AreaScope:
    """The signed-in user's area, decided on the server (web.session, data.policy)."""
    return current_scope()


def actor() -> str:
    """The signed-in user's name, for the records of who did what."""
    user = current_user()
    return getattr(user, "username", None) or "anonymous"
