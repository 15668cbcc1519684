"""The lifecycle of a warning: pending hits, raise, upgrade / downgrade, auto-clear after a hold,
escalation up the command levels when nobody acknowledges, and the history of every change; all
inside the evaluation's one write transaction."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd
import pyarrow as pa

from data.store import registered
from data.times import to_py, utc
from data.warnings import fusion
from data.warnings.rules import AREA_LEVELS, LEVELS, RuleSet

DEFAULT_ESCALATE = {"blue": 7200.0, "yellow": 3600.0, "orange": 1800.0, "red": 900.0}


@dataclass
class EvaluationResult:
    """What one evaluation did."""

    now: pd.Timestamp
    conditions: pd.DataFrame
    raised: list[int] = field(default_factory=list)
    upgraded: list[int] = field(default_factory=list)
    downgraded: list[int] = field(default_factory=list)
    cleared: list[int] = field(default_factory=list)
    escalated: list[int] = field(default_factory=list)
    incidents: int = 0
    read_s: float = 0.0
    write_s: float = 0.0

    @property
    def elapsed_s(self) -> float:
        return self.read_s + self.write_s


def next_command_level(level: str) -> str | None:
    """The command level above ``level`` (grid -> community -> township -> county -> city)."""
    i = AREA_LEVELS.index(level)
    return AREA_LEVELS[i + 1] if i + 1 < len(AREA_LEVELS) else None


def apply(
    con,
    now: pd.Timestamp,
    cond: pd.DataFrame,
    candidates: list[tuple],
    result: EvaluationResult,
    rule_set: RuleSet,
    escalate_after: dict[str, float],
) -> bool:
    """Apply the conditions read at ``now`` (and fuse the ``candidates``) inside the write
    transaction ``con``; fills ``result``. Returns whether warnings are active or pending after."""
    rules = {r.id: r for r in rule_set.rule}
    active = con.execute(
        "SELECT id, rule_id, area_key, subject, level_rank, state, clear_since, raised_at,"
        " area_level, escalated_to, escalated_at FROM warnings WHERE state <> 'cleared'"
    ).fetchall()
    pending = {
        (r[0], int(r[1]), r[2]): (int(r[3]), int(r[4]))
        for r in con.execute(
            "SELECT rule_id, area_key, subject, level_rank, hits FROM warning_pending"
        ).fetchall()
    }
    act = {(r[1], int(r[2]), r[3]): r for r in active}
    seen = set()
    hist: list[tuple] = []
    pend_set: dict[tuple, tuple[int, int, object]] = {}
    pend_del: set[tuple] = set()

    updates: list[tuple] = []
    raises: dict[tuple, tuple] = {}

    def history(wid, action, frm, to, state, actor=None, note=None, value=None):
        hist.append((int(wid), to_py(now), action, frm, to, state, actor, note, value))

    for row in cond.itertuples(index=False):
        key = (row.rule_id, int(row.area_key), str(row.subject))
        seen.add(key)
        rule = rules[row.rule_id]
        rank = int(row.rank)
        value = None if pd.isna(row.value) else float(row.value)
        base = None if pd.isna(row.baseline) else float(row.baseline)
        lim = None if pd.isna(row.limit) else float(row.limit)
        w = act.get(key)
        if w is not None:
            wid, wrank = int(w[0]), int(w[4])
            new_rank = wrank
            if rank > wrank:
                new_rank = rank
                history(wid, "upgraded", wrank, rank, w[5], value=value)
                result.upgraded.append(wid)
                pend_del.add(key)
            elif rank < wrank:
                prank, hits = pending.get(key, (rank, 0))
                hits = hits + 1 if prank == rank and hits >= 0 else 1
                if hits >= rule.pending:
                    new_rank = rank
                    history(wid, "downgraded", wrank, rank, w[5], value=value)
                    result.downgraded.append(wid)
                    pend_del.add(key)
                else:
                    pend_set[key] = (rank, hits, pending.get(key))
            else:
                pend_del.add(key)
            updates.append((wid, new_rank, value, lim, base, row.detail))
            continue
        prank, hits = pending.get(key, (rank, 0))
        if hits < 0:  # cleared by hand while the condition held: wait for it to clear first
            if rank <= prank:
                continue
            hits = 0
        hits += 1
        if hits < rule.pending:
            pend_set[key] = (max(rank, prank) if hits > 1 else rank, hits, None)
            continue
        pend_del.add(key)
        # one warning per key: a key met twice in one evaluation is raised once
        raises.setdefault(key, (rule, rank, value, lim, base, row.detail))

    for key, wid in zip(raises, raise_warnings(con, now, raises), strict=True):
        value = raises[key][2]
        history(wid, "raised", None, raises[key][1], "raised", actor="system", value=value)
        result.raised.append(wid)
    if updates:
        upd = pd.DataFrame(
            updates, columns=["id", "level_rank", "value", "limit_value", "baseline", "detail"]
        )
        upd = upd.astype({"value": "float64", "limit_value": "float64", "baseline": "float64"})
        with registered(con, "warn_updates", upd):
            con.execute(
                """
                UPDATE warnings SET level_rank = u.level_rank, value = u.value,
                    limit_value = u.limit_value, baseline = u.baseline, detail = u.detail,
                    last_true_at = ?, clear_since = NULL, updated_at = ?
                FROM warn_updates u WHERE warnings.id = u.id
                """,
                [to_py(now), to_py(now)],
            ).fetchall()
    clears: list[tuple[int, str]] = []
    clearing: list[int] = []
    for key, w in act.items():
        if key in seen:
            continue
        pend_del.add(key)
        rule = rules.get(key[0])
        hold = pd.Timedelta(minutes=rule.clear_hold_min if rule else 0)
        since = utc(w[6]) if w[6] is not None else now
        if now - since >= hold:
            clears.append((int(w[0]), f"condition clear for {hold.total_seconds() / 60:g} min"))
            history(
                int(w[0]), "cleared", int(w[4]), int(w[4]), "cleared", actor="system", note="auto"
            )
            result.cleared.append(int(w[0]))
        elif w[6] is None:
            clearing.append(int(w[0]))
    _write_clears(con, now, clears, clearing)
    for key in pending:
        if key not in seen:
            pend_del.add(key)

    _write_pending(con, now, [k for k in pend_del - set(pend_set) if k in pending], pend_set)

    escalate(con, now, result, history, escalate_after)
    live_state = bool(
        con.execute(
            "SELECT (SELECT count(*) FROM warnings WHERE state <> 'cleared')"
            " + (SELECT count(*) FROM warning_pending)"
        ).fetchall()[0][0]
    )
    _write_history(con, hist)
    for group, ev, inc in candidates:
        result.incidents += fusion.fuse(con, now, group, ev, inc)
    return live_state


def _write_pending(con, now, gone: list[tuple], hits: dict[tuple, tuple]) -> None:
    """Delete the pending hits of ``gone`` keys and write those of ``hits`` (key -> (rank,
    hits, old)), one statement each: a statement per key, each waiting for the GIL on a busy
    server, held the writer for seconds (issue 12: pushes stalled behind an evaluation)."""
    if gone:
        with registered(con, "pending_gone", _keys_table(gone)):
            con.execute(
                "DELETE FROM warning_pending USING pending_gone g"
                " WHERE warning_pending.rule_id = g.rule_id"
                " AND warning_pending.area_key = g.area_key AND warning_pending.subject = g.subject"
            ).fetchall()
    if hits:
        rows = _keys_table(list(hits))
        counts = list(hits.values())
        rows = rows.append_column("level_rank", pa.array([v[0] for v in counts], pa.int8()))
        rows = rows.append_column("hits", pa.array([v[1] for v in counts], pa.int32()))
        with registered(con, "pending_hits", rows):
            con.execute(
                "INSERT INTO warning_pending SELECT rule_id, area_key, subject, level_rank, hits,"
                " ?::TIMESTAMPTZ, ?::TIMESTAMPTZ FROM pending_hits"
                " ON CONFLICT DO UPDATE SET level_rank = excluded.level_rank,"
                " hits = excluded.hits, last_at = excluded.last_at",
                [to_py(now), to_py(now)],
            ).fetchall()


def _keys_table(keys: list[tuple]) -> pa.Table:
    """(rule id, area key, subject) keys as an Arrow table."""
    return pa.table(
        {
            "rule_id": pa.array([k[0] for k in keys], pa.string()),
            "area_key": pa.array([k[1] for k in keys], pa.int32()),
            "subject": pa.array([k[2] for k in keys], pa.string()),
        }
    )


def raise_warnings(con, now, raises: dict[tuple, tuple]) -> list[int]:
    """Insert a raised warning for each key (rule id, area key, subject) of ``raises`` (key ->
    (rule, rank, value, limit, baseline, detail JSON text)) in one statement; returns their ids
    in the keys' order. The area's level and ancestors come from the areas table (an area not
    there: the rule's level, no ancestors)."""
    if not raises:
        return []
    keys, rows = list(raises), list(raises.values())
    new = _keys_table(keys)
    for name, values, kind in (
        ("kind", [r[0].kind for r in rows], pa.string()),
        ("rule_level", [r[0].area_level for r in rows], pa.string()),
        ("level_rank", [r[1] for r in rows], pa.int8()),
        ("value", [r[2] for r in rows], pa.float64()),
        ("limit_value", [r[3] for r in rows], pa.float64()),
        ("baseline", [r[4] for r in rows], pa.float64()),
        ("detail", [r[5] for r in rows], pa.string()),
        ("pos", range(len(keys)), pa.int32()),
    ):
        new = new.append_column(name, pa.array(values, kind))
    with registered(con, "raised_new", new):
        ids = con.execute(
            """
            INSERT INTO warnings (rule_id, kind, area_key, area_level, subject, cell_key,
                community_key, township_key, county_key, city_key, level_rank, state, value,
                limit_value, baseline, detail, raised_at, updated_at, last_true_at)
            SELECT n.rule_id, n.kind, n.area_key, coalesce(a.level, n.rule_level), n.subject,
                CASE WHEN coalesce(a.level, n.rule_level) = 'grid' THEN n.area_key END,
                a.community_key, a.township_key, a.county_key, a.city_key, n.level_rank,
                'raised', n.value, n.limit_value, n.baseline, n.detail::JSON, $now, $now, $now
            FROM raised_new n LEFT JOIN areas a ON a.key = n.area_key
            ORDER BY n.pos
            RETURNING id, rule_id, area_key, subject
            """,
            {"now": to_py(now)},
        ).fetchall()
    by_key = {(r, int(a), s): int(i) for i, r, a, s in ids}
    return [by_key[(k[0], int(k[1]), k[2])] for k in keys]


def _write_clears(con, now, clears: list[tuple[int, str]], clearing: list[int]) -> None:
    """Clear the warnings ``clears`` ((id, reason)) by the system, and mark ``clearing`` (ids)
    as clear since ``now``: one statement each, not one per warning (each statement waits for
    the GIL on a busy server, and the writer is the pipeline's one serial step)."""
    _update_by_id(
        con,
        now,
        clears,
        "UPDATE warnings SET state = 'cleared', cleared_at = $now, cleared_by = 'system',"
        " clear_reason = r.text, updated_at = $now FROM w_rows r WHERE warnings.id = r.id",
    )
    if clearing:
        con.execute(
            "UPDATE warnings SET clear_since = $now WHERE list_contains($ids, id)",
            {"now": to_py(now), "ids": clearing},
        ).fetchall()


def _write_history(con, hist: list[tuple]) -> None:
    """Append the evaluation's history rows (warning id, changed at, action, from rank, to
    rank, state, actor, note, value) in one statement."""
    if not hist:
        return
    cols = list(zip(*hist, strict=True))
    table = pa.table(
        {
            "warning_id": pa.array(cols[0], pa.int64()),
            "changed_at": pa.array(cols[1], pa.timestamp("us", tz="UTC")),
            "action": pa.array(cols[2], pa.string()),
            "from_rank": pa.array(cols[3], pa.int8()),
            "to_rank": pa.array(cols[4], pa.int8()),
            "state": pa.array(cols[5], pa.string()),
            "actor": pa.array(cols[6], pa.string()),
            "note": pa.array(cols[7], pa.string()),
            "value": pa.array(cols[8], pa.float64()),
        }
    )
    with registered(con, "history_new", table):
        con.execute(
            "INSERT INTO warning_history (warning_id, changed_at, action, from_rank, to_rank,"
            " state, actor, note, value) SELECT * FROM history_new"
        ).fetchall()


def escalate(con, now, result: EvaluationResult, history, escalate_after: dict[str, float]) -> None:
    """Move raised warnings nobody acknowledged within their level's limit one command level up."""
    rows = con.execute(
        "SELECT id, level_rank, area_level, escalated_to, coalesce(escalated_at, raised_at)"
        " FROM warnings WHERE state = 'raised'"
    ).fetchall()
    moves: list[tuple[int, str]] = []
    for wid, rank, area_level, esc_to, since in rows:
        limit = escalate_after.get(LEVELS[int(rank) - 1])
        if limit is None or (now - utc(since)).total_seconds() < limit:
            continue
        target = next_command_level(esc_to or area_level)
        if target is None:
            continue
        moves.append((int(wid), target))
        history(wid, "escalated", int(rank), int(rank), "raised", actor="system", note=target)
        result.escalated.append(int(wid))
    _update_by_id(
        con,
        now,
        moves,
        "UPDATE warnings SET escalated_to = r.text, escalated_at = $now, updated_at = $now"
        " FROM w_rows r WHERE warnings.id = r.id",
    )


def _update_by_id(con, now, rows: list[tuple[int, str]], sql: str) -> None:
    """Run ``sql``, an UPDATE of warnings from the table ``w_rows`` (id, text) of ``rows`` with
    the parameter ``$now``, once for all of them (nothing when there are none)."""
    if not rows:
        return
    ids, texts = zip(*rows, strict=True)
    table = pa.table({"id": pa.array(ids, pa.int64()), "text": pa.array(texts, pa.string())})
    with registered(con, "w_rows", table):
        con.execute(sql, {"now": to_py(now)}).fetchall()
