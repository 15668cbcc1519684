"""Users, roles and their area scope.

Roles (what a signed-in person may see and do):

| role | sees | acts |
|---|---|---|
| ``admin`` | the whole city | everything, manages users |
| ``operator`` | the whole city (command hall) | acknowledges warnings, dispatches cases |
| ``analyst`` | the whole city | reads, drills down, exports |
| ``wall`` | the whole city | nothing (a video wall's display account) |
| ``county_leader`` | one county (``area``) and nothing else | reads |
| ``department`` | the cases of one department (``department``) and their events | handles its cases |
| ``grid_worker`` | one community or grid cell (``area``) | files field reports there |

Every decision is made by :mod:`data.policy` (``may``/``require``/``scope``); this table is its
summary, docs/SECURITY.md the full one.

The scope is computed here, on the server, from the user record; screens and the API never take
a scope from the browser. Users live in a TOML file (``settings.users_file``) holding salted
password hashes (scrypt, in werkzeug's format: :mod:`data.passwords`), managed with
``python app.py user ...``.
"""

from __future__ import annotations

import getpass
import logging
import os
import re
import secrets
import sys
import threading
import tomllib
from dataclasses import dataclass, replace
from pathlib import Path

import tomli_w

from data.areas import AreaScope, scope_for_code
from data.files import write_atomic
from data.passwords import PasswordHashError, check_method, hash_password, verify_password
from data.policy import AREA_ROLES, HALL, ROLES, PolicyDenied, area_scope
from data.store import Database

log = logging.getLogger(__name__)
ACTING_ROLES = HALL


class AuthError(ValueError):
    """A wrong user definition or argument, worded for the administrator."""


@dataclass(frozen=True)
class User:
    """A signed-in person. ``area``: county code for county leaders; ``department``: its id."""

    username: str
    role: str
    area: str | None = None
    department: str | None = None
    password_hash: str = ""

    def can_act(self) -> bool:
        """True for roles that acknowledge warnings and dispatch cases."""
        return self.role in ACTING_ROLES


class UserStore:
    """The users file: read again whenever it changes on disk, written atomically, mode 0600.

    ``on_load(users, changed_by)``: called after each (re)read of a changed file, outside the
    lock; the server uses it to record user changes in the audit trail. ``changed_by`` is the
    operating-system account the ``user`` command wrote into the file, if any.
    """

    def __init__(self, path: str | Path, *, on_load=None) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._cache: tuple[tuple, dict[str, User], str | None] | None = None
        self.on_load = on_load

    def users(self) -> dict[str, User]:
        """All users by name (empty when the file does not exist)."""
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return {}
        # the inode changes on each atomic replace, so two writes within one mtime tick still
        # count as a change (a password changed twice in a second must end sessions both times)
        stamp = (st.st_ino, st.st_mtime_ns, st.st_size)
        with self._lock:
            if self._cache and self._cache[0] == stamp:
                return self._cache[1]
            data = tomllib.loads(self.path.read_text(encoding="utf-8"))
            users = {name: _user(name, rec) for name, rec in data.get("users", {}).items()}
            changed_by = data.get("changed_by")
            self._cache = (stamp, users, changed_by)
        if self.on_load is not None:
            try:
                self.on_load(users, changed_by)
            except Exception as exc:  # noqa: BLE001 - signing in must not fail on the audit
                log.warning("users file reloaded, but recording the change failed: %s", exc)
        return users

    def get(self, username: str) -> User | None:
        """The user called ``username``, or None."""
        return self.users().get(username)

    def authenticate(self, username: str, password: str) -> User | None:
        """The user when the password matches, else None (same cost either way)."""
        user = self.get(username)
        digest = user.password_hash if user else _DUMMY_HASH
        ok = verify_password(digest, password or "")
        return user if (user and ok) else None

    def add(
        self,
        username: str,
        password: str,
        role: str,
        *,
        area: str | None = None,
        department: str | None = None,
    ) -> User:
        """Add or replace a user; raises :class:`AuthError` on a wrong role or missing field."""
        if not username or not username.replace("_", "").replace("-", "").isalnum():
            raise AuthError("user names are letters, digits, '-' and '_'")
        _check_password(password)
        for name, value in (("area", area), ("department", department)):
            if value is not None and not _PLAIN.fullmatch(value):
                raise AuthError(f"{name} must be letters, digits, '.', '-' and '_' (got {value!r})")
        user = _user(
            username,
            {
                "role": role,
                "area": area,
                "department": department,
                "password_hash": hash_password(password),
            },
        )
        users = dict(self.users())
        users[username] = user
        self._write(users)
        return user

    def set_password(self, username: str, password: str) -> User:
        """Change a user's password (which ends the user's sessions); AuthError when unknown."""
        _check_password(password)
        users = dict(self.users())
        if username not in users:
            raise AuthError(f"no user {username!r}")
        users[username] = replace(users[username], password_hash=hash_password(password))
        self._write(users)
        return users[username]

    def remove(self, username: str) -> None:
        """Delete a user; AuthError when there is none."""
        users = dict(self.users())
        if users.pop(username, None) is None:
            raise AuthError(f"no user {username!r}")
        self._write(users)

    def _write(self, users: dict[str, User]) -> None:
        # a TOML writer escapes every value, so no field can add a table or another user
        doc: dict = {"changed_by": _os_account(), "users": {}}
        for u in users.values():
            rec = {"role": u.role}
            if u.area:
                rec["area"] = u.area
            if u.department:
                rec["department"] = u.department
            rec["password_hash"] = u.password_hash
            doc["users"][u.username] = rec
        text = "# OneGrid users: manage with `python app.py user ...`\n\n" + tomli_w.dumps(doc)
        write_private(self.path, text.encode("utf-8"))
        with self._lock:
            self._cache = None


_PLAIN = re.compile(r"[A-Za-z0-9._-]{1,64}")


def _check_password(password: str) -> None:
    if len(password or "") < 8:
        raise AuthError("passwords need at least 8 characters")


def _os_account() -> str:
    """Who runs this command, as the operating system knows them (for the audit trail)."""
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no name for this uid
        return f"uid{os.getuid()}"


def write_private(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically, readable by the owner only (mode 0600, from the
    temporary file's creation on: see :func:`data.files.replacing`)."""
    write_atomic(path, data, private=True)


def ensure_secret_key(path: str | Path) -> str:
    """The session-signing key kept in ``path``; created (random, mode 0600) when missing."""
    path = Path(path)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process made it first: use theirs
            return path.read_text().strip()
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
    return path.read_text().strip()


def _user(name: str, rec: dict) -> User:
    role = rec.get("role")
    if role not in ROLES:
        raise AuthError(f"user {name!r}: role must be one of {', '.join(ROLES)} (got {role!r})")
    if role == "county_leader" and not rec.get("area"):
        raise AuthError(f"user {name!r}: a county leader needs an area (the county's code)")
    if role == "grid_worker" and not rec.get("area"):
        raise AuthError(f"user {name!r}: a grid worker needs an area (community or cell code)")
    if role == "department" and not rec.get("department"):
        raise AuthError(f"user {name!r}: a department user needs a department id")
    try:
        check_method(rec.get("password_hash", ""))
    except PasswordHashError as exc:
        raise AuthError(f"user {name!r}: {exc}") from exc
    return User(
        name,
        role,
        rec.get("area") or None,
        rec.get("department") or None,
        rec.get("password_hash", ""),
    )


_DUMMY_HASH = hash_password(secrets.token_hex(8))


def scope_for_user(db: Database, user: User) -> AreaScope:
    """The area whose aggregates a user may read, decided by :mod:`data.policy` from the user
    record. :class:`~data.policy.PolicyDenied` for users without one (departments)."""
    if user.role in AREA_ROLES:
        try:
            scope_for_code(db, user.area or "")
        except KeyError as exc:
            raise AuthError(f"user {user.username!r}: unknown area {user.area!r}") from exc
    try:
        found = area_scope(db, user)
    except PolicyDenied as exc:
        raise AuthError(
            f"user {user.username!r}: area {user.area!r} is not inside a county"
        ) from exc
    if found is None:
        raise PolicyDenied(f"{user.username} ({user.role}) reads no area aggregates")
    return found


def ensure_admin(store: UserStore) -> str | None:
    """Create an ``admin`` with a random password when no user exists; returns that password."""
    if store.users():
        return None
    password = secrets.token_urlsafe(12)
    store.add("admin", password, "admin")
    return password


def hand_over_first_password(password: str, users_file: Path, stream=None) -> Path | None:
    """Give the first admin password to the person starting OneGrid, never to the log.

    On a terminal it is shown once on ``stream`` (stdout). Otherwise (a service whose output
    goes to a journal or log file) it is written to a 0600 file beside the users file, and only
    that file's path is logged; returns that path (None when shown on the terminal).
    """
    stream = stream or sys.stdout
    if stream.isatty():
        stream.write(
            f"First start: created user 'admin' with password {password}\n"
            f"(shown once; stored hashed in {users_file}; add users with 'app.py user add')\n"
        )
        stream.flush()
        return None
    path = Path(users_file).with_name("first_admin_password")
    write_private(path, (password + "\n").encode())
    log.warning(
        "first start: created user 'admin'; its password is in %s (readable by this account "
        "only): sign in, change it with 'app.py user passwd admin', then delete that file",
        path,
    )
    return path
