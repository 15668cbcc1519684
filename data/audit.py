"""The audit trail: who did what, when, from which address, to which object.

An append-only table (``audit_log``): this module only ever INSERTs into it and reads it; there is
no update or delete path anywhere in the code (``tests/test_audit.py`` checks the source).

What is recorded (docs/SECURITY.md, "Audit trail"): sign-in success, failure and lock-out,
sign-out, user changes (added, removed, password or role changed; noticed by the server in the
users file, which the ``user`` command edits), warning actions, case actions, field reports,
exports and downloads, and which settings changed since the last start (key names only, never a
value).

The web layer binds the acting user and the client address of the current request with
:func:`bound`; data-layer write functions read them with :func:`current_address` in the caller's
thread, then write their audit row with :func:`record_con` inside their own transaction, so the
action and its audit row are committed together or not at all.
"""

from __future__ import annotations

import contextlib
import contextvars
import csv
import hashlib
import io
import json
import secrets
from collections.abc import Iterator, Mapping
from typing import Any

import pandas as pd

from data.store import Database

# the columns of audit_log in order, as read back and exported
COLUMNS = (
    "id",
    "occurred_at",
    "actor",
    "action",
    "object_type",
    "object_id",
    "address",
    "outcome",
    "detail",
)
_INSERT = (
    "INSERT INTO audit_log (occurred_at, actor, action, object_type, object_id, address, outcome,"
    " detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)
# settings whose values are secrets (or may carry credentials, as URLs can): their change is
# detected through a slow salted hash, and no digest that a dictionary could reverse is stored
SECRET_SETTINGS = frozenset(
    {"secret_key", "ingest_token", "read_token", "feed_tokens", "pull_feeds", "case_webhook_url"}
)

_address: contextvars.ContextVar[str | None] = contextvars.ContextVar("audit_address", default=None)


@contextlib.contextmanager
def bound(address: str | None) -> Iterator[None]:
    """Within this block, audit rows written by this thread carry ``address`` (the client's)."""
    token = _address.set(address)
    try:
        yield
    finally:
        _address.reset(token)


def bind(address: str | None) -> contextvars.Token:
    """Set the client address for this request; undo with :func:`unbind` (web layer hooks)."""
    return _address.set(address)


def unbind(token: contextvars.Token) -> None:
    """Undo :func:`bind`."""
    with contextlib.suppress(ValueError):  # a token from another context: nothing to undo
        _address.reset(token)


def current_address() -> str | None:
    """The client address bound to this request, or None (a command, a background job)."""
    return _address.get()


def _row(
    actor: str,
    action: str,
    object_type: str | None,
    object_id: Any,
    address: str | None,
    outcome: str,
    detail: Mapping | None,
    at: pd.Timestamp | None,
) -> list:
    if not action:
        raise ValueError("an audit row needs an action")
    when = pd.Timestamp.now(tz="UTC") if at is None else pd.Timestamp(at)
    if when.tzinfo is None:
        when = when.tz_localize("UTC")
    return [
        when.to_pydatetime(),
        (actor or "anonymous")[:200],
        action[:100],
        object_type,
        None if object_id is None else str(object_id)[:500],
        address,
        outcome,
        None if detail is None else json.dumps(dict(detail), ensure_ascii=False, default=str),
    ]


def record_con(
    con,
    actor: str,
    action: str,
    *,
    object_type: str | None = None,
    object_id: Any = None,
    address: str | None = None,
    outcome: str = "ok",
    detail: Mapping | None = None,
    at: pd.Timestamp | None = None,
) -> None:
    """Append one audit row on ``con`` (inside the caller's write transaction)."""
    con.execute(
        _INSERT, _row(actor, action, object_type, object_id, address, outcome, detail, at)
    ).fetchall()


def record(
    db: Database,
    actor: str,
    action: str,
    *,
    object_type: str | None = None,
    object_id: Any = None,
    address: str | None = None,
    outcome: str = "ok",
    detail: Mapping | None = None,
    at: pd.Timestamp | None = None,
) -> None:
    """Append one audit row through the store's writer. ``address`` defaults to the bound one."""
    row = _row(
        actor,
        action,
        object_type,
        object_id,
        address if address is not None else current_address(),
        outcome,
        detail,
        at,
    )
    db.write(lambda con: con.execute(_INSERT, row).fetchall())


def query(
    db: Database,
    *,
    actor: str | None = None,
    action: str | None = None,
    object_text: str | None = None,
    since: pd.Timestamp | None = None,
    until: pd.Timestamp | None = None,
    limit: int = 5000,
) -> pd.DataFrame:
    """Audit rows, newest first, filtered by actor (exact), action (prefix, e.g. ``signin``),
    object (substring of type or id), and time ``since <= occurred_at < until``."""
    where, params = [], []
    if actor:
        where.append("actor = ?")
        params.append(actor)
    if action:
        where.append("starts_with(action, ?)")
        params.append(action)
    if object_text:
        where.append("(contains(object_id, ?) OR contains(object_type, ?))")
        params += [object_text, object_text]
    if since is not None:
        where.append("occurred_at >= ?")
        params.append(pd.Timestamp(since).to_pydatetime())
    if until is not None:
        where.append("occurred_at < ?")
        params.append(pd.Timestamp(until).to_pydatetime())
    sql = f"SELECT {', '.join(COLUMNS)} FROM audit_log"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY occurred_at DESC, id DESC LIMIT ?"
    params.append(int(limit))
    return db.query_df(sql, params)


def to_csv(frame: pd.DataFrame) -> str:
    """The audit rows as CSV text (UTF-8, times in ISO 8601 UTC). Cells that a spreadsheet would
    take for a formula are prefixed with a quote (CSV injection)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    for rec in frame.itertuples(index=False):
        row = []
        for col, value in zip(COLUMNS, rec, strict=True):
            if col == "occurred_at" and not pd.isna(value):
                value = pd.Timestamp(value).tz_convert("UTC").isoformat()
            elif value is None or (not isinstance(value, str) and pd.isna(value)):
                value = ""
            value = str(value)
            if value[:1] in ("=", "+", "-", "@", "\t", "\r"):
                value = "'" + value
            row.append(value)
        writer.writerow(row)
    return out.getvalue()


def actions(db: Database) -> list[str]:
    """The distinct actions recorded so far (for the page's filter)."""
    return [r[0] for r in db.query("SELECT DISTINCT action FROM audit_log ORDER BY action")]


def actors(db: Database) -> list[str]:
    """The distinct actors recorded so far (for the page's filter)."""
    return [r[0] for r in db.query("SELECT DISTINCT actor FROM audit_log ORDER BY actor")]


# --------------------------------------------------------------------------- users file changes

_USERS_KEY = "audit.users_snapshot"


def user_fingerprint(password_hash: str) -> str:
    """A short digest of a password hash: tells a changed password without keeping the hash."""
    return hashlib.sha256(("onegrid-pw:" + (password_hash or "")).encode()).hexdigest()[:32]


def sync_users(db: Database, users: Mapping[str, Any], changed_by: str | None = None) -> int:
    """Compare the users file's users with the last snapshot kept in the store and record who
    was added, removed or changed (role, area, department, password); returns the rows written.

    The ``user`` command edits the file, possibly while the server runs and holds the database,
    so the server notices the change (on start and whenever the file is read again) instead of
    the command writing to the store. ``changed_by``: who the file says made the change.
    """
    now = {
        name: {
            "role": u.role,
            "area": u.area,
            "department": u.department,
            "password": user_fingerprint(u.password_hash),
        }
        for name, u in users.items()
    }
    actor = f"users-file:{changed_by}" if changed_by else "users-file"
    address = current_address()

    def run(con) -> int:
        row = con.execute("SELECT value FROM meta WHERE key = ?", [_USERS_KEY]).fetchall()
        before = json.loads(row[0][0]) if row else {}
        n = 0
        for name in sorted(set(before) | set(now)):
            old, new = before.get(name), now.get(name)
            if old == new:
                continue
            if old is None:
                action, detail = "user.add", {"role": new["role"]}
            elif new is None:
                action, detail = "user.remove", {"role": old["role"]}
            else:
                fields = sorted(k for k in new if new[k] != old.get(k))
                action = "user.passwd" if fields == ["password"] else "user.change"
                detail = {"fields": fields, "role": new["role"]}
            record_con(
                con,
                actor,
                action,
                object_type="user",
                object_id=name,
                address=address,
                detail=detail,
            )
            n += 1
        if n or not row:
            con.execute(
                "INSERT INTO meta VALUES (?, ?) ON CONFLICT DO UPDATE SET value = excluded.value",
                [_USERS_KEY, json.dumps(now, sort_keys=True)],
            ).fetchall()
        return n

    return db.write(run)


# --------------------------------------------------------------------------- settings changes

_SETTINGS_KEY = "audit.settings_digest"
_SALT_KEY = "audit.settings_salt"


def _digest(name: str, value: Any, salt: bytes) -> str:
    text = json.dumps(value, sort_keys=True, default=str).encode()
    if name in SECRET_SETTINGS:
        # slow and salted: a stolen database does not let anyone test guesses of a token quickly
        return hashlib.scrypt(text, salt=salt, n=2**14, r=8, p=1, dklen=16).hex()
    return hashlib.sha256(salt + text).hexdigest()[:32]


def record_settings(db: Database, values: Mapping[str, Any], *, actor: str = "system") -> list[str]:
    """Record which setting keys changed since the last start (names only, never values).

    ``values``: the settings as plain data (``settings.model_dump(mode="json")``). Returns the
    changed keys (every key on the first start, recorded as ``settings.initial``).
    """
    row = db.query_one("SELECT value FROM meta WHERE key = ?", [_SALT_KEY])
    salt = bytes.fromhex(row[0]) if row else secrets.token_bytes(16)
    digests = {k: _digest(k, v, salt) for k, v in sorted(values.items())}
    prev_row = db.query_one("SELECT value FROM meta WHERE key = ?", [_SETTINGS_KEY])
    before = json.loads(prev_row[0]) if prev_row else None
    changed = sorted(
        k for k in set(digests) | set(before or {}) if (before or {}).get(k) != digests.get(k)
    )
    if before is not None and not changed:
        return []

    def run(con) -> None:
        upsert = "INSERT INTO meta VALUES (?, ?) ON CONFLICT DO UPDATE SET value = excluded.value"
        con.execute(upsert, [_SALT_KEY, salt.hex()]).fetchall()
        con.execute(upsert, [_SETTINGS_KEY, json.dumps(digests)]).fetchall()
        record_con(
            con,
            actor,
            "settings.initial" if before is None else "settings.change",
            object_type="settings",
            detail={"keys": changed},
        )

    db.write(run)
    return changed


# --------------------------------------------------------------------------- who may read it

PERIODS = {"1h": 3600, "24h": 86400, "7d": 7 * 86400, "30d": 30 * 86400, "all": None}


def since_for_period(period: str | None, now: pd.Timestamp | None = None) -> pd.Timestamp | None:
    """The start of a named period (``1h``, ``24h``, ``7d``, ``30d``; ``all``: None).

    Raises ValueError on an unknown name."""
    key = period or "24h"
    if key not in PERIODS:
        raise ValueError(f"unknown period {period!r}; expected one of {', '.join(PERIODS)}")
    seconds = PERIODS[key]
    if seconds is None:
        return None
    return (now or pd.Timestamp.now(tz="UTC")) - pd.Timedelta(seconds=seconds)


def trail_view(
    db: Database,
    *,
    actor: str | None = None,
    action: str | None = None,
    period: str | None = None,
    object_text: str | None = None,
    limit: int = 2000,
    now: pd.Timestamp | None = None,
    since: pd.Timestamp | None = None,
    until: pd.Timestamp | None = None,
) -> dict:
    """What the audit page shows for these filters, as plain values.

    ``since``/``until`` (UTC, ``until`` excluded; from the address): a period of its own, used
    instead of the named ``period`` when either is given.

    ``rows``: the matching rows, newest first, at most ``limit`` (a DataFrame, times in UTC);
    ``actors`` and ``actions``: the values to filter by; ``period``: the period applied (an
    unknown name falls back to ``24h``, so a hand-edited address still shows the page);
    ``periods``: the period names to choose from.
    """
    if since is None and until is None:
        try:
            since = since_for_period(period, now)
        except ValueError:
            period = "24h"
            since = since_for_period(period, now)
    rows = query(
        db,
        actor=actor or None,
        action=action or None,
        object_text=(object_text or "").strip() or None,
        since=since,
        until=until,
        limit=limit,
    )
    return {
        "rows": rows,
        "actors": actors(db),
        "actions": actions(db),
        "period": period,
        "periods": list(PERIODS),
        "since": since,
        "until": until,
    }


def _may_audit(user) -> bool:
    """True when ``user`` may read and export the audit trail (administrators only)."""
    # policy: audit_view  (at merge: `return policy.may(user, "audit_view", None)`)
    return user is not None and getattr(user, "role", None) == "admin"
