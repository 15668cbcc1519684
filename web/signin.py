"""Sign-in over HTTP: the login and logout routes, server-side sessions and the sign-in gate.

The browser's cookie (signed with the secret key) carries only a random session id and the CSRF
token; the session's record is in the store (data/sessions.py), so signing out, a password change
and a removed user end it at once. Sign-in is throttled per user name and per client address
(Flask-Limiter, counting failed attempts only); while a name or address is locked out, even the
right password is refused. The login and logout forms carry a CSRF token (Flask-WTF); logout is
POST only. ``next`` is followed only when it is a plain local path.
"""

from __future__ import annotations

import re
import threading
import time
from datetime import timedelta
from urllib.parse import quote, urlsplit

from flask import Response, current_app, g, has_request_context, redirect, request, session
from flask_limiter import Limiter
from flask_limiter.errors import RateLimitExceeded
from flask_wtf.csrf import generate_csrf, validate_csrf
from werkzeug.middleware.proxy_fix import ProxyFix
from wtforms.validators import ValidationError

from data import audit
from data.auth import User, ensure_secret_key
from web.paths import API_PATHS

SID_KEY = "sid"
USER_KEY = "onegrid_user"  # flask.g: the user of this request, resolved once
# paths open without signing in: the sign-in page itself and the machine-to-machine API, which
# checks its own Bearer tokens
OPEN_PATHS = ("/login", "/login.css", "/logout", "/favicon.ico", API_PATHS)
# a local path: starts with one "/", then printable ASCII without backslash or space. Browsers
# drop tabs and newlines inside URLs and read "\" as "/", so "/\t/evil" or "/\\evil" would leave
# the site; anything outside this set is refused rather than cleaned.
_LOCAL_PATH = re.compile(r"/(?![/\\])[!-~]*")
MAX_NEXT = 2000


def safe_next(value: str | None) -> str:
    """``value`` when it is a path on this site, else ``"/"`` (never a redirect off-site)."""
    if not value or not isinstance(value, str) or len(value) > MAX_NEXT:
        return "/"
    if not _LOCAL_PATH.fullmatch(value) or "\\" in value:
        return "/"
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or not parts.path.startswith("/"):
        return "/"
    if parts.path.startswith("//"):
        return "/"
    return value


def client_address() -> str:
    """The client's address (the TCP peer, or the trusted proxies' X-Forwarded-For)."""
    return request.remote_addr or "unknown"


def request_user() -> User | None:
    """The signed-in user of this request (resolved from the session id once per request)."""
    if USER_KEY in g:
        return g.get(USER_KEY)
    rt = current_app.extensions["onegrid"]
    sid = session.get(SID_KEY)
    user = None
    if sid:
        found = rt.sessions.resolve(sid, rt.users)
        user = found.user
        if user is None:
            session.pop(SID_KEY, None)
            if found.username:  # a session that existed and has just ended
                audit.record(
                    rt.db,
                    found.username,
                    "session.end",
                    object_type="user",
                    object_id=found.username,
                    detail={"reason": found.reason},
                )
    setattr(g, USER_KEY, user)
    return user


def csrf_token() -> str | None:
    """A CSRF token for a form of the current page (None outside a request or with sign-in off);
    the pages' sign-out form carries it."""
    if not has_request_context():
        return None
    rt = current_app.extensions.get("onegrid")
    if rt is None or not rt.settings.auth:
        return None
    return generate_csrf()


def register(server, runtime) -> None:
    """Sessions, the sign-in gate, /login and /logout on ``server`` (the Flask app)."""
    from layouts.i18n import t
    from layouts.login import LOGIN_CSS, login_page

    settings = runtime.settings
    server.secret_key = settings.secret_key or ensure_secret_key(
        settings.users_file.with_name("secret_key")
    )
    server.config.update(
        SESSION_COOKIE_NAME="onegrid_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.cookie_secure,
        # the cookie lives no longer than the longest session; the record decides before that
        PERMANENT_SESSION_LIFETIME=timedelta(seconds=settings.session_max_s),
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the browser session
    )
    if settings.trusted_proxies:
        n = settings.trusted_proxies
        server.wsgi_app = ProxyFix(server.wsgi_app, x_for=n, x_proto=n)
    server.extensions["onegrid_signin"] = request_user

    @server.before_request
    def require_sign_in():
        g.audit_token = audit.bind(client_address())
        if not runtime.settings.auth:
            return None
        path = request.path
        if path.startswith(OPEN_PATHS) or request_user() is not None:
            return None
        if request.method == "GET" and not path.startswith("/_dash"):
            return redirect(f"/login?next={quote(request.full_path.rstrip('?'))}")
        return Response('{"error": "sign in first"}', status=401, mimetype="application/json")

    @server.teardown_request
    def unbind_audit(_exc=None):
        token = g.pop("audit_token", None)
        if token is not None:
            audit.unbind(token)

    @server.get("/login.css")
    def login_css() -> Response:
        return Response(LOGIN_CSS, mimetype="text/css")

    def page(status: int = 200, error: str | None = None) -> Response:
        lang = request.args.get("lang")
        html = login_page(
            lang,
            next_url=safe_next(request.values.get("next")),
            error=error,
            csrf_token=generate_csrf(),
        )
        return Response(html, status=status, mimetype="text/html")

    def attempted_name() -> str:
        return (request.form.get("username") or "").strip()[:100]

    def login():
        if request.method == "GET":
            return page()
        try:
            validate_csrf(request.form.get("csrf_token"))
        except ValidationError:
            audit.record(
                runtime.db,
                attempted_name() or "anonymous",
                "signin.failure",
                object_type="user",
                object_id=attempted_name() or None,
                outcome="failure",
                detail={"reason": "csrf"},
            )
            return page(400, "login.expired")
        name = attempted_name()
        user = runtime.users.authenticate(name, request.form.get("password", ""))
        if user is None:
            audit.record(
                runtime.db,
                name or "anonymous",
                "signin.failure",
                object_type="user",
                object_id=name or None,
                outcome="failure",
                detail={"reason": "password"},
            )
            return page(401, "login.failed")
        runtime.sessions.end(session.get(SID_KEY))  # a new session id on each sign-in
        session.clear()
        session.permanent = True
        session[SID_KEY] = runtime.sessions.create(
            user, address=client_address(), user_agent=request.headers.get("User-Agent")
        )
        audit.record(
            runtime.db, user.username, "signin.success", object_type="user", object_id=user.username
        )
        return redirect(safe_next(request.values.get("next")))

    # Throttling: only failed attempts (401) count; once a budget is spent, every attempt is
    # refused before the password is even checked, until the moving window lets it go.
    limiter = Limiter(
        key_func=client_address,
        app=server,
        storage_uri="memory://",
        strategy="moving-window",
        default_limits=[],
    )
    window = settings.login_lockout_s

    def failed(resp) -> bool:
        # a wrong password, and a missing or forged form token (else that path writes an
        # audit row per request with no limit)
        return resp.status_code in (400, 401)

    throttled = limiter.limit(
        f"{settings.login_max_failures_address} per {window} second",
        key_func=lambda: "address:" + client_address(),
        methods=["POST"],
        deduct_when=failed,
    )(
        limiter.limit(
            f"{settings.login_max_failures_user} per {window} second",
            key_func=lambda: "user:" + attempted_name().casefold(),
            methods=["POST"],
            deduct_when=failed,
        )(login)
    )
    server.add_url_rule("/login", "login", throttled, methods=["GET", "POST"])

    noted: dict[str, float] = {}  # lock-outs already in the trail, by client address
    noted_lock = threading.Lock()

    @server.errorhandler(RateLimitExceeded)
    def locked_out(exc):
        if request.path != "/login":
            return exc
        # one audit row per address per window: a locked-out flood (of any names) must not
        # become a flood of rows
        key, now = client_address(), time.monotonic()
        with noted_lock:
            fresh = now - noted.get(key, -window) >= window
            if fresh:
                noted[key] = now
                for k in [k for k, t in noted.items() if now - t >= window]:
                    del noted[k]
        if fresh:
            audit.record(
                runtime.db,
                attempted_name() or "anonymous",
                "signin.locked",
                object_type="user",
                object_id=attempted_name() or None,
                outcome="refused",
                detail={"limit": str(exc.limit.limit) if exc.limit else None},
            )
        resp = page(429, "login.locked")
        resp.headers["Retry-After"] = str(window)
        return resp

    @server.post("/logout")
    def logout():
        try:
            validate_csrf(request.form.get("csrf_token"))
        except ValidationError:
            return Response(t("login.expired", request.args.get("lang")), status=400)
        user = request_user()
        runtime.sessions.end(session.get(SID_KEY))
        session.clear()
        if user is not None:
            audit.record(
                runtime.db, user.username, "signout", object_type="user", object_id=user.username
            )
        return redirect("/login")
