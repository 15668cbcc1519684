"""Simulated departments that work their cases (simulator demos only, docs/CASES.md).

With simulated feeds every 12345 event becomes a dispatched case, but nobody signs or closes
them. :func:`advance_simulated_cases` plays the departments and the hall in one vectorised pass:
each open leaf case (dispatched / handling / verification) takes the next step whose planned time
has come, and a case may take several steps in one call (history back-fill). Planned times are
pseudo-random but deterministic per (case id, seed) (DuckDB ``hash``), counted from the time
the case entered its state (its last transition):

- accept (签收): urgent 2-15 min, normal 10 min-3 h after dispatch;
- about 3 % are first returned as not theirs (退单), and the hall re-dispatches them to the same
  department 5-60 min later (改派: a reassign with a fresh time limit of the same length);
- report_handled (反馈): a fraction of the time left to the deadline: most well before it,
  about 10 % late (1.05-1.65 x), about 2 % stuck long past it (4-12 x);
- verification 10 min-4 h later (shorter for short limits): about 4 % fail once (返工, back to
  handling, redone in 20 min-8 h), the rest pass (核查通过 -> closed);
- a joint parent closes when its last sub-case has (as ``CaseService`` does).

Columns and transitions are written as ``CaseService.act`` writes them; actors are
``simulated:<department>`` and ``simulated:hall``, ``occurred_at`` the planned time (never after
``now``). No notifications are written (nobody reads a simulated inbox). Idempotent: calling again
with the same ``now`` changes nothing. Run inside the writer's transaction:
``db.write(lambda con: advance_simulated_cases(con, now))``.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pandas as pd

from data.cases.states import after, sql_after
from data.periodic import Periodic
from data.times import to_py

# how often a step put off by a bulk load looks again
WAIT_POLL_S = 0.5
MAX_STEPS = 8  # the longest chain: return+reassign, accept, handled, rework, handled, pass
# the open cases worked in one transaction: after a bulk load the departments have a backlog of
# hundreds of thousands, which in one transaction held the writer for 2-3 s (every push and feed
# batch waited) and left one large log to checkpoint (issue 12); in parts, other writes and the
# writer's checkpoints go between them
CHUNK_CASES = 20_000
RETURN_REASON = "not our responsibility (simulated)"
REASSIGN_REASON = "re-dispatched after review (simulated)"
REWORK_REASON = "failed verification (simulated)"

# The steps a department (or the hall) may take from each open state. The states they lead to
# come from the one state machine (data/cases/states.py); a return is followed at once by the
# hall's reassign, so the case ends dispatched again.
STEPS: dict[str, tuple[str, ...]] = {
    "dispatched": ("return", "accept"),
    "handling": ("report_handled",),
    "verification": ("rework", "verify_pass"),
}
RETURNED = after("return", "dispatched")
REDISPATCHED = after("reassign", RETURNED)
_TO_STATE = sql_after("action", "state", ("accept", "report_handled", "rework", "verify_pass"))
_OPEN = ", ".join(f"'{s}'" for s in STEPS)
# the cases the simulated departments work: open leaf cases that were dispatched
_WORKED = (
    f"state IN ({_OPEN}) AND NOT joint AND department IS NOT NULL AND dispatched_at IS NOT NULL"
)


def _u(key: str, extra: str = "") -> str:
    """SQL: a uniform number in [0, 1) from hash(case id, seed, key)."""
    return f"((hash(id, $seed, '{key}'{extra}) % 1000003) / 1000003.0)"


def _us(expr: str) -> str:
    """SQL: an interval of ``expr`` microseconds (a double)."""
    return f"to_microseconds(CAST({expr} AS BIGINT))"


_MIN = 60e6
_LIMIT = "greatest(date_diff('microsecond', dispatched_at, deadline), 600e6)"
_LEFT = "greatest(date_diff('microsecond', entry, deadline), 600e6)"

_STEP_SQL = f"""
CREATE OR REPLACE TEMP TABLE sim_step AS
WITH p AS (
    SELECT *,
        CASE
            WHEN state = 'dispatched' AND returns = 0 AND {_u("ret")} < 0.03 THEN 'return'
            WHEN state = 'dispatched' THEN 'accept'
            WHEN state = 'handling' THEN 'report_handled'
            WHEN reworks = 0 AND {_u("rw")} < 0.04 THEN 'rework'
            ELSE 'verify_pass'
        END AS action,
        CASE WHEN {_u("cls")} < 0.02 THEN 4 + 8 * {_u("f")}
             WHEN {_u("cls")} < 0.12 THEN 1.05 + 0.6 * {_u("f")}
             ELSE 0.1 + 0.65 * pow({_u("f")}, 1.5)
        END AS frac
    FROM sim
), q AS (
    SELECT *,
        CASE state
            WHEN 'dispatched' THEN entry + {
    _us(
        f"{_MIN} * CASE WHEN urgent THEN 2 + 13 * {_u('acc', ', returns')} "
        f"ELSE 10 + 170 * pow({_u('acc', ', returns')}, 2) END"
    )
}
            WHEN 'handling' THEN entry + CASE WHEN reworks = 0 THEN {_us(f"frac * {_LEFT}")}
                ELSE {_us(f"{_MIN} * 20 + {_u('redo')} * least(480 * {_MIN}, 0.2 * {_LIMIT})")}
                END
            ELSE entry + {
    _us(f"{_MIN} * 10 + {_u('ver', ', reworks')} * least(230 * {_MIN}, 0.1 * {_LIMIT})")
}
        END AS t0
    FROM p
), r AS (
    SELECT *,
        CASE WHEN action = 'return' THEN t0 + {_us(f"{_MIN} * (5 + 55 * {_u('re')})")}
             ELSE t0 END AS t
    FROM q
)
SELECT id, state, action, department, t0, t,
    CASE WHEN action = 'return' THEN '{REDISPATCHED}' ELSE {_TO_STATE} END AS to_state,
    -- a reassign gives the department a fresh limit of the same length
    CASE WHEN action = 'return'
         THEN t + {_us("date_diff('microsecond', entry, deadline)")} END AS new_deadline
FROM r WHERE t <= $now
"""

_UPDATE_SQL = """
UPDATE cases SET
    state = s.to_state,
    accepted_at = CASE WHEN s.action = 'accept' THEN coalesce(cases.accepted_at, s.t)
                       ELSE cases.accepted_at END,
    handled_at = CASE WHEN s.action = 'report_handled' THEN s.t ELSE cases.handled_at END,
    closed_at = CASE WHEN s.action = 'verify_pass' THEN s.t ELSE cases.closed_at END,
    extension_until = CASE WHEN s.action IN ('verify_pass', 'return') THEN NULL
                           ELSE cases.extension_until END,
    deadline_at = CASE WHEN s.action = 'return' THEN s.new_deadline ELSE cases.deadline_at END,
    needs_decision = CASE WHEN s.action = 'return' THEN false ELSE cases.needs_decision END,
    returns = cases.returns + CAST(s.action = 'return' AS INTEGER),
    reassignments = cases.reassignments + CAST(s.action = 'return' AS INTEGER),
    reworks = cases.reworks + CAST(s.action = 'rework' AS INTEGER),
    updated_at = s.t
FROM sim_step s WHERE cases.id = s.id
"""

_TRANSITIONS_SQL = f"""
INSERT INTO case_transitions (case_id, from_state, to_state, action, actor, department, reason,
                              occurred_at)
SELECT case_id, from_state, to_state, action, actor, department, reason, occurred_at FROM (
    SELECT id AS case_id, state AS from_state, '{RETURNED}' AS to_state,
           'return' AS action, 'simulated:' || department AS actor, department,
           '{RETURN_REASON}' AS reason, t0 AS occurred_at, 0 AS k
    FROM sim_step WHERE action = 'return'
    UNION ALL
    SELECT id, '{RETURNED}', '{REDISPATCHED}', 'reassign', 'simulated:hall', department,
           '{REASSIGN_REASON}', t, 1
    FROM sim_step WHERE action = 'return'
    UNION ALL
    SELECT id, state, to_state, action,
           CASE WHEN action IN ('accept', 'report_handled') THEN 'simulated:' || department
                ELSE 'simulated:hall' END,
           department, CASE WHEN action = 'rework' THEN '{REWORK_REASON}' END, t, 0
    FROM sim_step WHERE action <> 'return'
) ORDER BY occurred_at, case_id, k
"""

_SIM_UPDATE_SQL = """
UPDATE sim SET state = s.to_state, entry = s.t,
    deadline = coalesce(s.new_deadline, sim.deadline),
    returns = sim.returns + CAST(s.action = 'return' AS INTEGER),
    reworks = sim.reworks + CAST(s.action = 'rework' AS INTEGER)
FROM sim_step s WHERE sim.id = s.id
"""

_PARENTS_SQL = """
CREATE OR REPLACE TEMP TABLE sim_parents AS
SELECT p.id, p.state, max(c.closed_at) AS t
FROM cases p JOIN cases c ON c.parent_id = p.id
WHERE p.joint AND p.state <> 'closed'
GROUP BY p.id, p.state
HAVING bool_and(c.state = 'closed') AND max(c.closed_at) <= $now
"""


def advance_simulated_cases(con, now, *, seed: int = 0, ids: tuple | None = None) -> int:
    """Move every open simulated leaf case through the steps whose planned time is <= ``now``.

    ``con``: the writer's connection (inside its transaction); ``ids``: only the cases whose id
    is in (first, last), inclusive (None: no bound on that side). Returns the number of steps
    taken (a return with its re-dispatch counts as one).
    """
    t = to_py(now)
    params = {"now": t, "seed": int(seed)}
    first, last = ids or (None, None)
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE sim AS
        WITH open AS (
            SELECT id, state, department, urgent, dispatched_at,
                   coalesce(deadline_at, dispatched_at + INTERVAL 3 DAY) AS deadline,
                   returns, reworks
            FROM cases
            WHERE {_WORKED} AND id >= coalesce($first, id) AND id <= coalesce($last, id)
        ), last AS (
            SELECT case_id, max(occurred_at) AS entry FROM case_transitions
            WHERE case_id IN (SELECT id FROM open) GROUP BY case_id
        )
        SELECT o.*, coalesce(greatest(l.entry, o.dispatched_at), o.dispatched_at) AS entry
        FROM open o LEFT JOIN last l ON l.case_id = o.id
        """,
        {"first": first, "last": last},
    )
    total = 0
    try:
        for _ in range(MAX_STEPS):
            con.execute(_STEP_SQL, params)
            n = con.execute("SELECT count(*) FROM sim_step").fetchall()[0][0]
            if not n:
                break
            total += n
            con.execute(_UPDATE_SQL)
            con.execute(_TRANSITIONS_SQL)
            con.execute(_SIM_UPDATE_SQL)
            con.execute("DELETE FROM sim WHERE state = 'closed'")
        if total:  # joint parents close with their last sub-case
            con.execute(_PARENTS_SQL, {"now": t})
            con.execute(
                "UPDATE cases SET state = 'closed', closed_at = p.t, updated_at = p.t "
                "FROM sim_parents p WHERE cases.id = p.id"
            )
            con.execute(
                "INSERT INTO case_transitions (case_id, from_state, to_state, action, actor, "
                "department, reason, occurred_at) SELECT id, state, 'closed', 'close', 'system', "
                "NULL, 'all sub-cases closed', t FROM sim_parents ORDER BY t, id"
            )
            con.execute("DROP TABLE IF EXISTS sim_parents")
    finally:
        con.execute("DROP TABLE IF EXISTS sim_step")
        con.execute("DROP TABLE IF EXISTS sim")
    return int(total)


class SimulatedResponders(Periodic):
    """A daemon thread that runs :func:`advance_simulated_cases` every ``interval_s`` seconds
    (simulated deployments only). ``clock()`` gives the (simulated) current time."""

    thread_name = "simulated-responders"

    def __init__(
        self,
        db,
        clock: Callable[[], pd.Timestamp],
        *,
        interval_s: float = 30.0,
        seed: int = 0,
        busy: Callable[[], bool] = lambda: False,
        max_wait_s: float = 120.0,
    ) -> None:
        super().__init__()
        self.db = db
        self.clock = clock
        self.interval_s = float(interval_s)
        self.seed = int(seed)
        self.busy = busy
        self.max_wait_s = float(max_wait_s)

    def run_now(self, now=None) -> int:
        """Work the open cases up to ``now``, ``CHUNK_CASES`` of them per transaction; returns
        the steps taken."""
        now = self.clock() if now is None else now
        # where each part after the first starts (the first has no lower bound and the last no
        # upper one: cases opened meanwhile are worked with them)
        later = self.db.query(
            f"SELECT id FROM (SELECT id, row_number() OVER (ORDER BY id) - 1 AS k FROM cases "
            f"WHERE {_WORKED}) WHERE k > 0 AND k % $n = 0 ORDER BY id",
            {"n": CHUNK_CASES},
        )
        starts = [None, *(r[0] for r in later)]
        parts = [(a, b - 1) for a, b in zip(starts, starts[1:], strict=False)]
        parts.append((starts[-1], None))
        return sum(
            self.db.write(
                lambda con, part=part: advance_simulated_cases(con, now, seed=self.seed, ids=part)
            )
            for part in parts
        )

    def step(self) -> None:
        """Work the cases, after any bulk load under way (``busy()``), waiting at most
        ``max_wait_s``: a county's file of a day's 12345 requests gives the departments a
        backlog whose first pass took a fifth of the writer's time while the file was still
        being stored (issue 12); played once the file is in, the same steps are taken."""
        waited_until = time.monotonic() + self.max_wait_s
        while self.busy() and time.monotonic() < waited_until:
            if self._stop.wait(WAIT_POLL_S):
                return
        self.run_now()
