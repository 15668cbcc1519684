"""Case notifications: each department's inbox, quiet hours and the webhook mirror.

A notice to a department is held until its next working time (quiet hours) unless it is urgent,
for the hall (24 h), or about an orange or red warning; :meth:`CaseNotices.deliver_due` releases
held notices when their time comes. Delivered notices are mirrored to an optional webhook by a
daemon thread, so a slow receiver never blocks the writer.

:class:`CaseNotices` is a part of :class:`data.cases.service.CaseService` (it uses the service's
``db``, ``rules``, ``calendar``, ``webhook_url`` and ``webhook_timeout_s``).
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import urllib.request

import pandas as pd

from data.areas import AreaScope
from data.times import to_py, utc_now

log = logging.getLogger(__name__)
BREAK_THROUGH = frozenset({"orange", "red"})  # warning levels whose notices ignore quiet hours


class CaseNotices:
    """Notifications of the case service (a mixin of :class:`~data.cases.service.CaseService`)."""

    _outbox: queue.Queue | None = None

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
        con.execute(
            "INSERT INTO notifications (department, case_id, kind, urgent, created_at, "
            "deliver_at, delivered, delivered_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
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
        )
        if delivered:
            self._mirror(
                [
                    {
                        "department": department,
                        "case_id": case_id,
                        "kind": kind,
                        "urgent": urgent,
                        "at": now.isoformat(),
                    }
                ]
            )

    def deliver_due(self, now: pd.Timestamp | None = None) -> int:
        """Mark held notifications whose time has come as delivered (and mirror them)."""
        now = utc_now(now)

        def write(con) -> list:
            return con.execute(
                "UPDATE notifications SET delivered = true, delivered_at = ? "
                "WHERE NOT delivered AND deliver_at <= ? "
                "RETURNING department, case_id, kind, urgent",
                [to_py(now), to_py(now)],
            ).fetchall()

        rows = self.db.write(write)
        self._mirror(
            [
                {"department": d, "case_id": c, "kind": k, "urgent": u, "at": now.isoformat()}
                for d, c, k, u in rows
            ]
        )
        return len(rows)

    # webhook mirror: a daemon thread posts JSON; failures are logged and never block
    def _mirror(self, items: list[dict]) -> None:
        if not self.webhook_url or not items:
            return
        if self._outbox is None:
            self._outbox = queue.Queue()
            threading.Thread(target=self._post_loop, name="case-webhook", daemon=True).start()
        for item in items:
            self._outbox.put(item)

    def _post_loop(self) -> None:
        while True:
            item = self._outbox.get()
            try:
                req = urllib.request.Request(
                    self.webhook_url,
                    data=json.dumps(item, default=str).encode(),
                    headers={"Content-Type": "application/json"},
                    method="POST",
                )
                with urllib.request.urlopen(req, timeout=self.webhook_timeout_s):
                    pass
            except Exception as exc:  # noqa: BLE001 - a mirror must never take the app down
                log.warning("case webhook %s failed: %s", self.webhook_url, exc)
