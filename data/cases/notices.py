"""Case notifications: each department's inbox, quiet hours and the webhook mirror.

A notice to a department is held until its next working time (quiet hours) unless it is urgent,
for the hall (24 h), or about an orange or red warning. With a webhook configured, each notice also
gets a row in ``notice_outbox``, written in the same transaction as the notice: a case change that
rolls back (a joint dispatch that fails half-way) leaves neither. :class:`NoticeDeliverer`, a
periodic thread the runtime starts, runs after those transactions commit: it releases held notices
whose time has come (:meth:`CaseNotices.deliver_due`) and posts due outbox rows to the webhook,
off the writer, marking them sent; a failed post is tried again with backoff and never dropped
(delivery is at least once: a receiver may see a notice twice and tells by its ``id``).

:class:`CaseNotices` is a part of :class:`data.cases.service.CaseService` (it uses the service's
``db``, ``rules``, ``calendar``, ``webhook_url`` and ``webhook_timeout_s``).
"""

from __future__ import annotations

import json
import logging
import threading
import urllib.request

import pandas as pd

from data.areas import AreaScope
from data.periodic import Periodic
from data.times import to_py, utc_now

log = logging.getLogger(__name__)
BREAK_THROUGH = frozenset({"orange", "red"})  # warning levels whose notices ignore quiet hours
OUTBOX_BATCH = 200  # outbox rows posted in one step at most (the rest in the next)


class CaseNotices:
    """Notifications of the case service (a mixin of :class:`~data.cases.service.CaseService`)."""

    deliverer: NoticeDeliverer | None = None

    def inbox(
        self,
        department: str,
        *,
        now: pd.Timestamp | None = None,
        limit: int = 100,
        scope: AreaScope | None = None,
    ) -> pd.DataFrame:
        """A department's notifications already due (quiet hours respected), newest first.

        ``scope``: only notes about cases inside this area (a county leader reading a board);
        a city scope or None reads them all.
        """
        cond, params = "true", []
        if scope is not None and scope.level != "city":
            cond, params = scope.where("c")
        return self.db.query_df(
            f"""
            SELECT n.id, n.case_id, n.kind, n.urgent, n.created_at, n.deliver_at, n.read_at,
                   c.title, c.category, c.state
            FROM notifications n LEFT JOIN cases c ON c.id = n.case_id
            WHERE n.department = ? AND n.deliver_at <= ? AND {cond}
            ORDER BY n.deliver_at DESC, n.id DESC LIMIT ?
            """,
            [department, to_py(utc_now(now)), *params, int(limit)],
        )

    def mark_read(self, notification_id: int, *, now: pd.Timestamp | None = None) -> None:
        self.db.write(
            lambda con: con.execute(
                "UPDATE notifications SET read_at = ? WHERE id = ? AND read_at IS NULL",
                [to_py(utc_now(now)), int(notification_id)],
            )
        )

    def deliver_at(self, department: str, urgent: bool, now: pd.Timestamp) -> pd.Timestamp:
        """When a notice to ``department`` is delivered: at once for the hall (24 h) and for
        urgent / orange / red notices, else at the next working time (quiet hours)."""
        if urgent or department == self.rules.hall.id:
            return now
        return self.calendar.next_working([now])[0]

    def _notify(self, con, department, case_id, kind, urgent, now, case=None) -> None:
        if not department:
            return
        urgent = bool(urgent) or bool(case and case.get("warning_level") in BREAK_THROUGH)
        at = self.deliver_at(department, urgent, now)
        delivered = at <= now
        note_id = con.execute(
            "INSERT INTO notifications (department, case_id, kind, urgent, created_at, "
            "deliver_at, delivered, delivered_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            [
                department,
                case_id,
                kind,
                urgent,
                to_py(now),
                to_py(at),
                delivered,
                to_py(now) if delivered else None,
            ],
        ).fetchall()[0][0]
        if self.webhook_url:
            # same transaction as the notice: it is posted only if this transaction commits
            payload = {
                "id": int(note_id),
                "department": department,
                "case_id": case_id,
                "kind": kind,
                "urgent": urgent,
                "at": at.isoformat(),
            }
            con.execute(
                "INSERT INTO notice_outbox (notification_id, payload, created_at, due_at, "
                "next_try_at) VALUES (?, ?, ?, ?, ?)",
                [int(note_id), json.dumps(payload, default=str), to_py(now), to_py(at), to_py(at)],
            )
            if delivered and self.deliverer is not None:
                # the deliverer's next step writes through the writer queue, so it runs only
                # after this transaction has committed (or rolled back)
                self.deliverer.wake()

    def deliver_due(self, now: pd.Timestamp | None = None) -> int:
        """Mark held notifications whose time has come as delivered; returns how many.

        Their webhook posts are in the outbox already (due at the same time):
        :meth:`post_outbox` sends them.
        """
        now = utc_now(now)
        rows = self.db.write(
            lambda con: con.execute(
                "UPDATE notifications SET delivered = true, delivered_at = ? "
                "WHERE NOT delivered AND deliver_at <= ? RETURNING id",
                [to_py(now), to_py(now)],
            ).fetchall()
        )
        return len(rows)

    def outbox_pending(self) -> int:
        """Outbox rows not yet posted (due or not)."""
        return int(self.db.query_one("SELECT count(*) FROM notice_outbox WHERE sent_at IS NULL")[0])

    def post_outbox(
        self, now: pd.Timestamp | None = None, *, retry_base_s: float = 10.0, retry_max_s=600.0
    ) -> tuple[int, int]:
        """POST the outbox rows due at ``now`` to the webhook, oldest first; returns
        (posted, failed).

        Runs off the writer: rows are read from committed data, posted one by one, and the
        outcome written in one short transaction. After a failure the round stops (the receiver
        is down; the rest wait) and the failed row is tried again after
        ``retry_base_s * 2^(attempts-1)`` seconds, at most ``retry_max_s``.
        """
        if not self.webhook_url:
            return 0, 0
        now = utc_now(now)
        rows = self.db.query(
            "SELECT id, payload, attempts FROM notice_outbox WHERE sent_at IS NULL "
            "AND due_at <= ? AND next_try_at <= ? ORDER BY id LIMIT ?",
            [to_py(now), to_py(now), OUTBOX_BATCH],
        )
        sent: list[int] = []
        failed: tuple[int, int, str] | None = None
        for row_id, payload, attempts in rows:
            try:
                req = urllib.request.Request(
                    self.webhook_url,
                    data=payload.encode(),
                    headers={"Content-Type": "application/json"},
                    method="POST",
                )
                with urllib.request.urlopen(req, timeout=self.webhook_timeout_s):
                    pass
            except Exception as exc:  # noqa: BLE001 - any failure: keep the row, try later
                log.warning("case webhook %s failed: %s", self.webhook_url, exc)
                failed = (int(row_id), int(attempts) + 1, str(exc)[:500])
                break
            sent.append(int(row_id))
        if not sent and failed is None:
            return 0, 0

        def write(con) -> None:
            if sent:
                con.execute(
                    f"UPDATE notice_outbox SET sent_at = ?, attempts = attempts + 1, "
                    f"last_error = NULL WHERE id IN ({','.join('?' * len(sent))})",
                    [to_py(now), *sent],
                )
            if failed is not None:
                row_id, attempts, error = failed
                wait = min(retry_base_s * 2 ** (attempts - 1), retry_max_s)
                con.execute(
                    "UPDATE notice_outbox SET attempts = ?, last_error = ?, next_try_at = ? "
                    "WHERE id = ?",
                    [attempts, error, to_py(now + pd.Timedelta(seconds=wait)), row_id],
                )

        self.db.write(write)
        return len(sent), 0 if failed is None else 1


class NoticeDeliverer(Periodic):
    """After commit, every ``interval_s``: release held notices and post the outbox.

    The runtime starts it (data/runtime.py); a notice delivered at once wakes it early, so the
    webhook hears of it within moments rather than at the next interval.
    """

    thread_name = "case-notices"
    step_at_start = True

    def __init__(
        self, service: CaseNotices, *, interval_s: float = 10.0, retry_max_s: float = 600.0
    ) -> None:
        super().__init__()
        self.service = service
        self.interval_s = float(interval_s)
        self.retry_max_s = float(retry_max_s)
        self._wake = threading.Event()

    def run_once(self, now: pd.Timestamp | None = None) -> dict:
        """One round at ``now`` (default: the clock): returns delivered/posted/failed counts."""
        delivered = self.service.deliver_due(now)
        posted, failed = self.service.post_outbox(
            now, retry_base_s=self.interval_s, retry_max_s=self.retry_max_s
        )
        return {"delivered": delivered, "posted": posted, "failed": failed}

    def step(self) -> None:
        """One round at the clock's time."""
        self.run_once()

    def wake(self) -> None:
        """Take the next round now rather than at the end of the interval."""
        self._wake.set()

    def request_stop(self) -> None:
        """Ask the thread to stop (waking it if it waits)."""
        super().request_stop()
        self._wake.set()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the thread, waiting up to ``timeout`` seconds for the round under way."""
        self._wake.set()
        super().stop(timeout)

    def _run(self) -> None:
        # like Periodic._run, but a wake() cuts the wait short
        if self.step_at_start:
            self._safe_step()
        while not self._stop.is_set():
            self._wake.wait(self.interval_s)
            self._wake.clear()
            if self._stop.is_set():
                break
            self._safe_step()
