"""Server-side sign-in sessions: a random id in the browser's cookie, the record in the store.

A session ends when the user signs out, after ``session_idle_s`` without a request, at the latest
``session_max_s`` after sign-in, and as soon as the user's password changes or the user is
removed from the users file. The ``user`` command edits that file, possibly while the server runs
and holds the database, so the check is made here, on each request: each record keeps a
fingerprint of the password hash it was opened with, compared with the users file's current one.

Only a SHA-256 of the session id is stored, so a copy of the database gives no usable session.
``last_seen`` is written at most once per :data:`TOUCH_EVERY_S` per session (a wall polls every
few seconds; a write per request would load the single writer for nothing). The records are also
kept in memory once read (every write to the table goes through this class, so the copy is
dropped or updated with each write): a hundred walls polling every five seconds made a
DuckDB query per request, a tenth of the server's time. No web framework here.
"""

from __future__ import annotations

import contextlib
import hashlib
import secrets
import threading
import time
from dataclasses import dataclass

import pandas as pd

from data import priority
from data.audit import user_fingerprint
from data.auth import User, UserStore
from data.store import Database
from data.times import utc_now

TOUCH_EVERY_S = 60.0
# a record read from the store is read again after this long (a safety net: every write to the
# sessions table goes through SessionStore, which updates the copy); meanwhile the request is
# answered from the copy, so no screen's refresh waits for the store (a checkpoint after a bulk
# load held such reads for 2 s; issue 12)
CACHE_S = 30.0
CACHE_MAX = 20_000


def _hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True)
class Resolved:
    """The outcome of looking a session id up: the user, or why there is none."""

    user: User | None
    reason: str  # "ok", "unknown", "idle", "expired", "user_removed", "password_changed"
    username: str | None = None  # whose session it was (None when unknown)


class SessionStore:
    """Sessions in the ``sessions`` table, written through the store's single writer.

    ``idle_s``: seconds without a request after which a session ends; ``max_s``: its absolute
    lifetime from sign-in.
    """

    def __init__(self, db: Database, *, idle_s: float, max_s: float, nice: int = 0) -> None:
        self.db = db
        self.idle_s = float(idle_s)
        self.max_s = float(max_s)
        # id hash -> (read at, monotonic; username, fingerprint, created, last_seen)
        self._rows: dict[str, tuple[float, tuple]] = {}
        self._rows_lock = threading.Lock()
        self._generation = 0  # moves with every ended session
        # records read again in the background (see CACHE_S), one read per record at a time
        self._renewing: set[str] = set()
        # ``nice``: the renewing thread's priority (data/priority.py): it serves screens
        self._renewer = priority.screen_pool(1, "sessions", nice)

    def create(
        self, user: User, *, address: str | None = None, user_agent: str | None = None, now=None
    ) -> str:
        """Open a session for ``user``; returns the new session id (for the cookie only)."""
        sid = secrets.token_urlsafe(32)
        at = utc_now(now)
        horizon = (at - pd.Timedelta(seconds=self.max_s)).to_pydatetime()
        row = [
            _hash(sid),
            user.username,
            user_fingerprint(user.password_hash),
            at.to_pydatetime(),
            at.to_pydatetime(),
            address,
            (user_agent or "")[:300] or None,
        ]

        def run(con) -> None:
            # sessions past their lifetime are of no use to anyone: drop them while here
            con.execute("DELETE FROM sessions WHERE created_at < ?", [horizon]).fetchall()
            con.execute("INSERT INTO sessions VALUES (?, ?, ?, ?, ?, ?, ?)", row).fetchall()

        self.db.write(run)
        return sid

    def resolve(self, session_id: str | None, users: UserStore, *, now=None) -> Resolved:
        """The user of a live session, or None with the reason; ends a session found dead."""
        if not session_id or not isinstance(session_id, str):
            return Resolved(None, "unknown")
        key = _hash(session_id)
        generation = self._generation
        row = self._row(key)
        if row is None:
            return Resolved(None, "unknown")
        username, fingerprint, created, seen = row
        at = utc_now(now)
        created, seen = pd.Timestamp(created), pd.Timestamp(seen)
        user = users.get(username)
        reason = "ok"
        if at - created >= pd.Timedelta(seconds=self.max_s):
            reason = "expired"
        elif at - seen >= pd.Timedelta(seconds=self.idle_s):
            reason = "idle"
        elif user is None:
            reason = "user_removed"
        elif user_fingerprint(user.password_hash) != fingerprint:
            reason = "password_changed"
        if reason != "ok":
            if not self._delete(key):  # another request ended it just now and reported it
                return Resolved(None, "unknown")
            return Resolved(None, reason, username)
        if at - seen >= pd.Timedelta(seconds=TOUCH_EVERY_S):
            self._remember(key, (username, fingerprint, row[2], at.to_pydatetime()), generation)
            # queued, not waited for: the request must not wait behind the writer's queue (a
            # push batch, a checkpoint); last_seen only feeds the idle timeout
            with contextlib.suppress(RuntimeError):  # the store closing: the server stops
                self.db.submit(
                    lambda con: con.execute(
                        "UPDATE sessions SET last_seen = ? WHERE id_hash = ?",
                        [at.to_pydatetime(), key],
                    ).fetchall()
                )
        return Resolved(user, "ok", username)

    def end(self, session_id: str | None) -> bool:
        """End one session (sign-out); True when there was one."""
        if not session_id or not isinstance(session_id, str):
            return False
        return self._delete(_hash(session_id)) > 0

    def end_user(self, username: str) -> int:
        """End every session of ``username``; returns how many."""
        gone = self.db.write(
            lambda con: con.execute(
                "DELETE FROM sessions WHERE username = ? RETURNING 1", [username]
            ).fetchall()
        )
        self._forget(lambda k, row: row[0] == username)
        return len(gone)

    def count(self, username: str | None = None) -> int:
        """Live session records (all, or one user's)."""
        if username is None:
            return int(self.db.query_one("SELECT count(*) FROM sessions")[0])
        return int(
            self.db.query_one("SELECT count(*) FROM sessions WHERE username = ?", [username])[0]
        )

    def _row(self, key: str) -> tuple | None:
        """The session record (username, fingerprint, created, last_seen): from memory once
        read (read again in the background when older than CACHE_S), else from the store."""
        with self._rows_lock:
            hit = self._rows.get(key)
        if hit is not None:
            if time.monotonic() - hit[0] >= CACHE_S:
                self._renew_later(key)
            return hit[1]
        return self._read(key)

    def _renew_later(self, key: str) -> None:
        """Read one remembered record again in the background; forgotten if it is gone."""
        with self._rows_lock:
            if key in self._renewing:
                return
            self._renewing.add(key)

        def renew() -> None:
            try:
                if self._read(key) is None:
                    self._forget(lambda k, row: k == key)
            finally:
                with self._rows_lock:
                    self._renewing.discard(key)

        try:
            self._renewer.submit(renew)
        except RuntimeError:  # closed: the server stops
            with self._rows_lock:
                self._renewing.discard(key)

    def close(self) -> None:
        """Stop the background reads (the runtime's stop, before the store closes)."""
        self._renewer.shutdown(wait=True, cancel_futures=True)

    def _read(self, key: str) -> tuple | None:
        """The record from the store, remembered."""
        # a session ended while this read runs must not be remembered from it
        generation = self._generation
        row = self.db.query_one(
            "SELECT username, pw_fingerprint, created_at, last_seen FROM sessions"
            " WHERE id_hash = ?",
            [key],
        )
        if row is not None:
            self._remember(key, tuple(row), generation)
        return row

    def _remember(self, key: str, row: tuple, generation: int | None = None) -> None:
        with self._rows_lock:
            if generation is not None and generation != self._generation:
                return
            if len(self._rows) >= CACHE_MAX:
                self._rows.clear()  # rare (a flood of sessions): start again from the store
            self._rows[key] = (time.monotonic(), row)

    def _delete(self, key: str) -> int:
        gone = self.db.write(
            lambda con: con.execute(
                "DELETE FROM sessions WHERE id_hash = ? RETURNING 1", [key]
            ).fetchall()
        )
        # after the delete: a request reading the record meanwhile must not keep a copy of it
        self._forget(lambda k, row: k == key)
        return len(gone)

    def _forget(self, dead) -> None:
        """Drop the copies of the records ``dead(key, row)`` names."""
        with self._rows_lock:
            self._generation += 1
            self._rows = {k: v for k, v in self._rows.items() if not dead(k, v[1])}
