"""HTTP API (a Flask blueprint): push ingest for department systems and read-only data sharing.

See docs/API.md for the contract. The runtime (store, pipeline, settings) is looked up in
``current_app.extensions["onegrid"]`` so the blueprint holds no state of its own.
"""

from __future__ import annotations

import hmac
import json

import pandas as pd
from flask import Blueprint, Response, jsonify, request

from data import export, policy, queries, search
from data.areas import scope_for_code
from data.auth import User
from data.events import SEVERITY_MAX, SEVERITY_MIN
from data.times import parse_bound
from data.warnings.learning import learning_state
from data.warnings.rules import LEVELS
from layouts.search_page import search_labels
from web import export as web_export
from web.openapi import openapi_text
from web.paths import API_PREFIX
from web.session import current_user
from web.session import runtime as _runtime

api = Blueprint("onegrid_api", __name__, url_prefix=API_PREFIX)
MAX_LIMIT = 10_000
SEVERITIES = tuple(str(n) for n in range(SEVERITY_MIN, SEVERITY_MAX + 1))
QUERY_TIME_MIN = pd.Timestamp("1970-01-01", tz="UTC")
QUERY_TIME_MAX = pd.Timestamp("2200-01-01", tz="UTC")


def _error(status: int, message: str, **extra) -> Response:
    resp = jsonify({"error": message, **extra})
    resp.status_code = status
    if status == 401:
        resp.headers["WWW-Authenticate"] = 'Bearer realm="onegrid"'
    return resp


def _bearer() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


@api.get("/openapi.json")
def openapi() -> Response:
    """The API's contract (OpenAPI 3.1), the same document as docs/openapi.json. Public: it
    describes the API, it holds no data."""
    return Response(openapi_text(_runtime().catalogue), mimetype="application/json")


@api.post("/ingest/<source>")
def ingest(source: str) -> Response:
    """Accept a batch of events from a department system; answer only after commit."""
    rt = _runtime()
    settings = rt.settings
    if source not in rt.catalogue.categories:
        return _error(404, rt.catalogue.unknown(source))
    token = _bearer()
    if token is None:
        return _error(401, "missing 'Authorization: Bearer <token>' header")
    if not settings.token_ok(source, token):
        return _error(403, f"token not accepted for source {source}")
    length = request.content_length
    if length is not None and length > settings.max_push_bytes:
        return _error(413, f"body of {length} bytes exceeds the limit of {settings.max_push_bytes}")
    body = request.get_data(cache=False)
    if len(body) > settings.max_push_bytes:
        return _error(413, f"body exceeds the limit of {settings.max_push_bytes} bytes")
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        return _error(400, f"body is not valid JSON: {exc}")
    except RecursionError:
        return _error(400, "body is not valid JSON: nested too deeply")
    if not isinstance(doc, dict) or not isinstance(doc.get("events"), list):
        return _error(400, 'body must be a JSON object {"events": [...]}')
    records = doc["events"]
    if len(records) > settings.max_push_events:
        return _error(
            413, f"{len(records)} events exceed the limit of {settings.max_push_events} per request"
        )
    # plain records go straight to Arrow; invalid ones carry their reason to quarantine
    result = rt.pipeline.ingest_records(source, records, feed=f"push:{source}")
    return jsonify(result.as_dict())


def _read_allowed() -> Response | None:
    """None when a signed-in user or the read token asks; else the 401 answer."""
    if _reader() is not None:
        return None
    return _error(401, "sign in, or send 'Authorization: Bearer <read token>'")


# the read token shares city-wide data with other systems: it reads as an analyst does
READ_TOKEN_USER = User("read-token", "analyst")


def _reader() -> User | None:
    """Who reads: the signed-in user, or the read token's analyst, or None."""
    user = current_user()
    if user is not None:
        return user
    token, sent = _runtime().settings.read_token, _bearer()
    if token and sent and hmac.compare_digest(sent.encode(), token.encode()):  # constant time
        return READ_TOKEN_USER
    return None


def _area_read(rt, user: User | None, fmt: str, area=None):
    """(area, None) for a figures request of ``user`` in format ``fmt``: ``area`` (an
    :class:`data.areas.AreaScope` asked for by name) or else the reader's own scope; or (None,
    the 403 answer) when the role reads no area figures, the area is outside the reader's scope
    (data.policy), or ``fmt`` is a file and the role may not export figures of it."""
    if area is None:
        area = policy.area_scope(rt.db, user)
        if area is None:
            return None, _error(403, "your role reads no area figures")
    target = policy.area_target(rt.db, key=area.key)
    if not policy.may(user, "view", target):
        return None, _error(403, "area outside your scope")
    if fmt != "json" and not policy.may(user, "export", target):
        return None, _error(403, "your role may not export figures of this area")
    return area, None


def _unknown(allowed) -> Response | None:
    """The 400 answer when the request has a parameter not in ``allowed``; else None."""
    if unknown := set(request.args) - set(allowed):
        return _error(400, f"unknown parameter(s): {', '.join(sorted(unknown))}")
    return None


def _parse_time(name: str) -> pd.Timestamp | None:
    """Query parameter ``name`` as a UTC bound: a bare date (``2026-11-26``) is that day's local
    midnight in the region's zone, a time carries its UTC offset (data.times.parse_bound)."""
    v = request.args.get(name)
    if v is None:
        return None
    try:
        t = parse_bound(v, _runtime().timezone)
    except ValueError as exc:
        raise ValueError(f"{name}: {exc}") from None
    # the store and Python's datetime both end somewhere: a query bound is a plausible date
    if not QUERY_TIME_MIN <= t <= QUERY_TIME_MAX:
        raise ValueError(f"{name} must lie between 1970 and 2200")
    return t


@api.get("/feeds")
def feeds() -> Response:
    """Health of every feed, as much as the reader may see (data.policy): live/stale for every
    role, received counts city-wide for city roles and inside their area for area roles, error
    texts for the hall only."""
    if (denied := _read_allowed()) is not None:
        return denied
    rt = _runtime()
    user = _reader()
    if not policy.may(user, "view", policy.Target("feeds", "health")):
        return _error(403, "your role may not read feed health")
    stale = {s: rt.settings.stale_after(s) for s in rt.catalogue.ids}
    rows = queries.feed_health(
        rt.db, now=pd.Timestamp.now(tz="UTC"), stale_after=stale, sources=rt.catalogue.ids
    )
    s = policy.scope(user)
    totals = policy.may(user, "view", policy.Target("feeds", "totals"))
    own = None
    if not totals and s.area and policy.may_some(user, "view", "feeds:totals"):
        own = queries.events_by_source(
            rt.db, policy.area_scope(rt.db, user), sources=rt.catalogue.ids
        )
    errors = policy.may(user, "view", policy.Target("feeds", "errors"))
    for r in rows:
        if not totals:
            # an area role reads its own area's accepted events; the rest are city-wide
            r.update(
                accepted=None if own is None else own[r["source"]],
                duplicates=None,
                quarantined=None,
                errors=None,
                events_per_min=None,
            )
        if not errors:
            r.update(last_error=None, last_error_at=None)
    return jsonify({"feeds": rows})


def _listing(
    kind: str, equals: tuple[str, ...], many: tuple[str, ...] = ()
) -> tuple[dict, export.Filters] | Response:
    """The shared parameters of /api/events, /api/cases and /api/warnings, checked: ``format``,
    ``since``, ``until``, ``area``, ``limit``, ``q`` (the search text, data/search.py) and the
    ``equals`` filters of ``kind``; those in ``many`` may be given more than once (any of the
    values: a desk page's multiple choice). Returns the parameters (``text``: the search text
    or None) and the reader's :class:`data.export.Filters`, or the error answer."""
    rt = _runtime()
    args = request.args
    if (bad := _unknown({"since", "until", "area", "limit", "format", "q", *equals})) is not None:
        return bad
    fmt = args.get("format", "json")
    if fmt not in web_export.FORMATS:
        return _error(
            400, f"unknown format {fmt!r}; expected one of {', '.join(web_export.FORMATS)}"
        )
    # a file export holds up to MAX_ROWS rows (all of them unless limit says fewer)
    cap = export.MAX_ROWS if fmt in web_export.FILE_FORMATS else MAX_LIMIT
    try:
        limit = int(args.get("limit", cap if fmt in web_export.FILE_FORMATS else 100))
        since, until = _parse_time("since"), _parse_time("until")
        text = search.Text.of(args.get("q"), search_labels(rt.catalogue))
    except (ValueError, OverflowError) as exc:
        return _error(400, str(exc))
    if since is not None and until is not None and since >= until:
        return _error(400, "since must be before until")
    if not 1 <= limit <= cap:
        hint = (
            f"; format=csv and format=xlsx export up to {export.MAX_ROWS:,} rows"
            if fmt == "json"
            else f" (an export holds at most {export.MAX_ROWS:,} rows; narrow the filters)"
        )
        return _error(400, f"limit must be between 1 and {cap} for format={fmt}{hint}")
    area = None
    if "area" in args:
        try:
            area = scope_for_code(rt.db, args["area"])
        except KeyError as exc:
            return _error(404, str(exc.args[0]))
    user = _reader()
    try:
        filters = search.reader_filters(
            rt.db,
            user,
            rt.scope,
            kind,
            area=area,
            since=since,
            until=until,
            equals={k: _values(k, many) for k in equals},
            limit=limit,
        )
    except policy.PolicyDenied as exc:
        return _error(403, str(exc))
    if fmt in web_export.FILE_FORMATS and not policy.may_some(user, "export", "area"):
        # the roles that may export figures (data.policy) are the ones that may export records
        return _error(403, "your role may not export files")
    # every value of a repeated filter goes to the file's filters sheet and the audit row
    given = {k: ",".join(v) for k, v in args.lists()}
    return {"format": fmt, **given, "text": text}, filters


def _values(name: str, many: tuple[str, ...]):
    """Query parameter ``name``: its value; for a name in ``many`` given more than once, the
    tuple of its values; None when absent."""
    got = request.args.getlist(name)
    if name in many and len(got) > 1:
        return tuple(dict.fromkeys(got))
    return got[0] if got else None


def _file(kind: str, columns: tuple[str, ...], query, params: dict) -> Response:
    user = _reader()
    return web_export.file_response(
        _runtime().db,
        kind,
        columns,
        query,
        fmt=params["format"],
        filters={k: v for k, v in params.items() if k not in ("format", "text")},
        actor=user.username,
        path=request.path,
    )


@api.get("/events")
def events() -> Response:
    """Events filtered by source, category, severity, time, area (any level) and a search text
    ``q``, newest first, inside the reader's scope (an area role's area; a department's own
    cases' events); JSON, or a CSV or Excel file with ``format``."""
    if (denied := _read_allowed()) is not None:
        return denied
    got = _listing("event", ("source", "category", "severity"))
    if isinstance(got, Response):
        return got
    params, f = got
    source, severity = f.equals["source"], f.equals["severity"]
    rt = _runtime()
    if source is not None and source not in rt.catalogue.categories:
        return _error(400, rt.catalogue.unknown(source))
    if severity is not None:
        if severity not in SEVERITIES:
            return _error(400, f"severity must be one of {', '.join(SEVERITIES)}")
        f.equals["severity"] = int(severity)
    text = params["text"]
    if params["format"] != "json":
        query = search.query(rt.db, "events", f, text)
        return _file("events", export.EVENT_COLUMNS, query, params)
    if text is not None or severity is not None:
        rows = search.newest(rt.db, "events", f, text)
    else:
        rows = queries.list_events(
            rt.db,
            f.scope,
            source=source,
            category=f.equals["category"],
            since=f.since,
            until=f.until,
            area=f.area,
            limit=f.limit,
            department=f.department,
        )
    return jsonify({"events": rows, "count": len(rows)})


@api.get("/cases")
def cases() -> Response:
    """Cases filtered by state, category, department, creation time and area, newest first,
    inside the reader's scope (an area role's area; a department's own cases); JSON, or a CSV
    or Excel file with ``format``."""
    if (denied := _read_allowed()) is not None:
        return denied
    got = _listing("case", ("state", "category", "department"), many=("state",))
    if isinstance(got, Response):
        return got
    params, f = got
    db = _runtime().db
    if params["format"] != "json":
        query = search.query(db, "cases", f, params["text"])
        return _file("cases", export.CASE_COLUMNS, query, params)
    rows = search.newest(db, "cases", f, params["text"])
    return jsonify({"cases": rows, "count": len(rows)})


@api.get("/warnings")
def warnings() -> Response:
    """Warnings filtered by state, level, rule, raising time and area (the warnings inside the
    area or on it), newest first, inside the reader's scope; JSON, or a CSV or Excel file with
    ``format``."""
    if (denied := _read_allowed()) is not None:
        return denied
    got = _listing("warning", ("state", "level", "rule_id"), many=("state", "level", "rule_id"))
    if isinstance(got, Response):
        return got
    params, f = got
    level = f.equals.pop("level")
    for one in level if isinstance(level, tuple) else (level,):
        if one is not None and one not in LEVELS:
            return _error(400, f"unknown level {one!r}; expected one of {', '.join(LEVELS)}")
    db = _runtime().db
    if params["format"] != "json":
        query = search.query(db, "warnings", f, params["text"], level=level)
        return _file("warnings", export.WARNING_COLUMNS, query, params)
    rows = search.newest(db, "warnings", f, params["text"], level=level)
    # rules that compare areas with their own usual say when they still lack history
    rt = _runtime()
    learning = learning_state(rt.db, rt.ensure_warnings().rules)
    return jsonify({"warnings": rows, "count": len(rows), "learning": learning})


@api.get("/areas/<code>/summary")
def area_summary(code: str) -> Response:
    """Counts per source for an area at any level over a window (default: the last 24 h)."""
    if (denied := _read_allowed()) is not None:
        return denied
    rt = _runtime()
    try:
        area = scope_for_code(rt.db, code)
    except KeyError as exc:
        return _error(404, str(exc.args[0]))
    try:
        until = _parse_time("until") or pd.Timestamp.now(tz="UTC")
        since = _parse_time("since") or until - pd.Timedelta(hours=24)
    except (ValueError, OverflowError) as exc:
        return _error(400, str(exc))
    if since >= until:
        return _error(400, "since must be before until")
    user = _reader()
    area, denied = _area_read(rt, user, "json", area)
    if denied is not None:
        return denied
    summary = queries.area_summary(
        rt.db,
        policy.area_scope(rt.db, user),
        area,
        since=since,
        until=until,
        sources=rt.catalogue.ids,
    )
    return jsonify(summary)
