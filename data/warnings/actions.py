"""What people do to warnings: acknowledge with a comment, clear by hand with a reason.

Both go through the store's single writer, in one transaction with their history row.
"""

from __future__ import annotations

from data import audit
from data.store import Database
from data.times import utc_now


class WarningActionError(ValueError):
    """The action is not possible (unknown warning, already cleared, missing reason)."""


def acknowledge(db: Database, warning_id: int, user: str, comment: str = "", *, now=None) -> dict:
    """Acknowledge a raised warning (who, when, comment). Returns the warning's new state."""
    user = (user or "").strip()
    if not user:
        raise WarningActionError("who acknowledges must be given")
    at = utc_now(now).to_pydatetime()
    address = audit.current_address()  # read here: the write runs on the writer thread

    def run(con) -> dict:
        row = con.execute(
            "SELECT state, level_rank FROM warnings WHERE id = ?", [int(warning_id)]
        ).fetchall()
        if not row:
            raise WarningActionError(f"no warning {warning_id}")
        state, rank = row[0]
        if state != "raised":
            raise WarningActionError(f"warning {warning_id} is {state}, not raised")
        con.execute(
            "UPDATE warnings SET state = 'acknowledged', acknowledged_by = ?, acknowledged_at = ?,"
            " ack_comment = ?, updated_at = ? WHERE id = ?",
            [user, at, comment or None, at, int(warning_id)],
        ).fetchall()
        con.execute(
            "INSERT INTO warning_history (warning_id, changed_at, action, from_rank, to_rank, state, actor,"
            " note) VALUES (?, ?, 'acknowledged', ?, ?, 'acknowledged', ?, ?)",
            [int(warning_id), at, rank, rank, user, comment or None],
        ).fetchall()
        audit.record_con(
            con,
            user,
            "warning.acknowledge",
            object_type="warning",
            object_id=int(warning_id),
            address=address,
            detail={"comment": comment or None},
            at=at,
        )
        return {"id": int(warning_id), "state": "acknowledged"}

    return db.write(run)


def clear(db: Database, warning_id: int, user: str, reason: str, *, now=None) -> dict:
    """Clear a warning by hand with a reason. While its condition still holds it is not raised
    again; it can be raised again once the condition has cleared (or worsens past its level)."""
    user, reason = (user or "").strip(), (reason or "").strip()
    if not user:
        raise WarningActionError("who clears must be given")
    if not reason:
        raise WarningActionError("a reason is required to clear a warning by hand")
    at = utc_now(now).to_pydatetime()
    address = audit.current_address()

    def run(con) -> dict:
        row = con.execute(
            "SELECT state, level_rank, rule_id, area_key, subject FROM warnings WHERE id = ?",
            [int(warning_id)],
        ).fetchall()
        if not row:
            raise WarningActionError(f"no warning {warning_id}")
        state, rank, rule_id, area_key, subject = row[0]
        if state == "cleared":
            raise WarningActionError(f"warning {warning_id} is already cleared")
        con.execute(
            "UPDATE warnings SET state = 'cleared', cleared_at = ?, cleared_by = ?,"
            " clear_reason = ?, updated_at = ? WHERE id = ?",
            [at, user, reason, at, int(warning_id)],
        ).fetchall()
        con.execute(
            "INSERT INTO warning_history (warning_id, changed_at, action, from_rank, to_rank, state, actor,"
            " note) VALUES (?, ?, 'cleared', ?, ?, 'cleared', ?, ?)",
            [int(warning_id), at, rank, rank, user, reason],
        ).fetchall()
        # suppress raising it again until the condition has cleared (hits = -1)
        con.execute(
            "INSERT INTO warning_pending VALUES (?, ?, ?, ?, -1, ?, ?) ON CONFLICT DO UPDATE SET"
            " level_rank = excluded.level_rank, hits = -1, last_at = excluded.last_at",
            [rule_id, area_key, subject, rank, at, at],
        ).fetchall()
        audit.record_con(
            con,
            user,
            "warning.clear",
            object_type="warning",
            object_id=int(warning_id),
            address=address,
            detail={"reason": reason},
            at=at,
        )
        return {"id": int(warning_id), "state": "cleared"}

    return db.write(run)
