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
password hashes (werkzeug's scrypt), managed with ``python app.py user ...``.
"""

from __future__ import annotations

import secrets
import threading
import tomllib
from dataclasses import dataclass
from pathlib import Path

from werkzeug.security import check_password_hash, generate_password_hash

from data.areas import AreaScope, scope_for_code
from data.policy import AREA_ROLES, HALL, ROLES, PolicyDenied, area_scope
from data.store import Database

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
    """The users file: read on each lookup's change, written atomically."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._cache: tuple[float, dict[str, User]] | None = None

    def users(self) -> dict[str, User]:
        """All users by name (empty when the file does not exist)."""
        if not self.path.exists():
            return {}
        mtime = self.path.stat().st_mtime
        with self._lock:
            if self._cache and self._cache[0] == mtime:
                return self._cache[1]
            data = tomllib.loads(self.path.read_text(encoding="utf-8"))
            users = {name: _user(name, rec) for name, rec in data.get("users", {}).items()}
            self._cache = (mtime, users)
            return users

    def get(self, username: str) -> User | None:
        """The user called ``username``, or None."""
        return self.users().get(username)

    def authenticate(self, username: str, password: str) -> User | None:
        """The user when the password matches, else None (same cost either way)."""
        user = self.get(username)
        digest = user.password_hash if user else _DUMMY_HASH
        ok = check_password_hash(digest, password or "")
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
        if len(password or "") < 8:
            raise AuthError("passwords need at least 8 characters")
        user = _user(
            username,
            {
                "role": role,
                "area": area,
                "department": department,
                "password_hash": generate_password_hash(password),
            },
        )
        users = dict(self.users())
        users[username] = user
        self._write(users)
        return user

    def remove(self, username: str) -> None:
        """Delete a user; AuthError when there is none."""
        users = dict(self.users())
        if users.pop(username, None) is None:
            raise AuthError(f"no user {username!r}")
        self._write(users)

    def _write(self, users: dict[str, User]) -> None:
        lines = ["# OneGrid users: manage with `python app.py user ...`", ""]
        for u in users.values():
            lines.append(f'[users."{u.username}"]')
            lines.append(f'role = "{u.role}"')
            if u.area:
                lines.append(f'area = "{u.area}"')
            if u.department:
                lines.append(f'department = "{u.department}"')
            lines.append(f'password_hash = "{u.password_hash}"')
            lines.append("")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text("\n".join(lines), encoding="utf-8")
        tmp.chmod(0o600)
        tmp.replace(self.path)
        with self._lock:
            self._cache = None


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
    return User(
        name,
        role,
        rec.get("area") or None,
        rec.get("department") or None,
        rec.get("password_hash", ""),
    )


_DUMMY_HASH = generate_password_hash(secrets.token_hex(8))


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


def add_parser(subparsers) -> None:
    """Register ``user add|list|remove`` (manage who may sign in)."""
    p = subparsers.add_parser("user", help="manage users: add, list, remove")
    sub = p.add_subparsers(dest="user_command", metavar="ACTION", required=True)
    add = sub.add_parser("add", help="add or replace a user")
    add.add_argument("username")
    add.add_argument("--role", required=True, choices=ROLES)
    add.add_argument(
        "--area", help="area code (county leaders: any area; grid workers: community or cell)"
    )
    add.add_argument("--department", help="department id (department users)")
    add.add_argument("--password", help="the password (default: asked for)")
    sub.add_parser("list", help="list users")
    rm = sub.add_parser("remove", help="delete a user")
    rm.add_argument("username")
    p.set_defaults(handler=run)


def run(args) -> int:
    """Carry out a ``user`` command; prints errors and returns 2 on a wrong argument."""
    import getpass
    import sys

    from data.settings import load_settings

    store = UserStore(load_settings(getattr(args, "config", None)).users_file)
    try:
        if args.user_command == "add":
            password = args.password or getpass.getpass(f"password for {args.username}: ")
            user = store.add(
                args.username, password, args.role, area=args.area, department=args.department
            )
            print(f"saved user {user.username} ({user.role}) in {store.path}")
        elif args.user_command == "list":
            for u in store.users().values():
                extra = u.area or u.department or ""
                print(f"{u.username}\t{u.role}\t{extra}")
        else:
            store.remove(args.username)
            print(f"removed user {args.username}")
    except AuthError as exc:
        print(f"user: error: {exc}", file=sys.stderr)
        return 2
    return 0
