"""The signed-in user of the current request, and what :mod:`data.policy` lets them see and do.

Screens and the API call :func:`current_scope` / :func:`require`; the scope comes from the user
record on the server, never from the browser.
"""

from __future__ import annotations

from flask import current_app

from data import policy
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


def signed_in() -> User:
    """The signed-in user; :class:`~data.policy.PolicyDenied` when nobody is signed in."""
    user = current_user()
    if user is None:
        raise policy.PolicyDenied("sign in first")
    return user


def current_scope() -> AreaScope:
    """The area whose aggregates the current user may read (PolicyDenied when nobody is signed
    in, or the user reads no area aggregates: departments)."""
    return scope_for_user(runtime().db, signed_in())


def require(action: str, target: policy.Target | None = None) -> User:
    """The signed-in user, when :func:`data.policy.may` lets them do ``action`` to ``target``;
    else :class:`~data.policy.PolicyDenied`."""
    user = signed_in()
    policy.require(user, action, target)
    return user


def may(action: str, target: policy.Target | None = None) -> bool:
    """:func:`data.policy.may` for the signed-in user (False when nobody is signed in)."""
    return policy.may(current_user(), action, target)
