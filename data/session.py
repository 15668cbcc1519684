"""The signed-in user of the current request, and the area scope that follows from it.

Screens and the API call :func:`current_scope`; the scope comes from the user record on the
server, never from the browser.
"""

from __future__ import annotations

from flask import current_app

from data.areas import AreaScope
from data.auth import User, scope_for_user


def runtime():
    """The running OneGrid of this Flask app."""
    return current_app.extensions["onegrid"]


def current_user() -> User | None:
    """The signed-in user, or None. With sign-in turned off, an anonymous city-wide admin."""
    rt = runtime()
    if not rt.settings.auth:
        return User("anonymous", "admin")
    # the web layer (web/signin.py) resolves the server-side session once per request
    resolve = current_app.extensions.get("onegrid_signin")
    return resolve() if resolve is not None else None


def current_scope() -> AreaScope:
    """The area the current user may see (PermissionError when nobody is signed in)."""
    user = current_user()
    if user is None:
        raise PermissionError("sign in first")
    return scope_for_user(runtime().db, user)
