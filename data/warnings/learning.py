"""The "learning" state: rules that compare an area with its own usual need its history first.

An anomaly rule judges a window against the same window of past weeks; until a week of history
is stored it cannot judge at all, and until ``weeks`` weeks are stored it judges with fewer. A
new city with no history then sees "learning: N days of history" where the operator looks (the
warnings page, the wall's panel, ``/api/warnings``) instead of a silent panel.
"""

from __future__ import annotations

import pandas as pd

from data.store import Database
from data.times import WEEK, utc, utc_now
from data.warnings.rules import RuleSet

# kinds whose condition compares an area with its own past (they learn from history)
LEARNING_KINDS = ("anomaly",)


def history_span(db: Database, sources: list[str], now=None) -> float:
    """Days of stored history of ``sources`` up to ``now``: from the oldest 5-minute bucket to the
    newest one (not to the clock: a replayed file from years ago has only its own span)."""
    if not sources:
        return 0.0
    marks = ", ".join("?" for _ in sources)
    row = db.query_one(
        f"SELECT min(bucket), max(bucket) FROM cell_counts WHERE source IN ({marks})", sources
    )
    if not row or row[0] is None:
        return 0.0
    first, last = utc(row[0]), utc(row[1])
    end = min(last, utc_now(now))
    return max((end - first).total_seconds() / 86400.0, 0.0)


def learning_state(db: Database, rules: RuleSet, now=None) -> dict | None:
    """Where the rules that learn from history stand, or None when no enabled rule learns.

    ``{"learning": bool, "days": float, "needed_days": int, "judging": bool, "rules": [ids]}``:
    ``days`` of history of those rules' sources; ``needed_days`` for every such rule to use all its
    weeks; ``judging`` once at least one week is stored (anomaly rules raise nothing before);
    ``rules``: the ids still short of their weeks. ``learning`` is True while ``rules`` is not
    empty.
    """
    learners = [r for r in rules.rules if r.kind in LEARNING_KINDS]
    if not learners:
        return None
    sources = sorted({s for r in learners for s in r.sources})
    # once every rule has its weeks the state cannot go back (history is never deleted from the
    # 5-minute counts), so the answer is kept: the span query scans the counts, which is cheap
    # while a city is new and learning, and would cost every wall refresh on a big store
    key = (
        "learning_complete",
        tuple(sources),
        tuple((r.id, r.weeks, r.window_min) for r in learners),
    )
    done = db.memo.get(key)
    if done is not None:
        return dict(done)
    days = history_span(db, sources, now)
    span = pd.Timedelta(days=days)
    short = [r.id for r in learners if span < r.weeks * WEEK + r.window]
    state = {
        "learning": bool(short),
        "days": round(days, 1),
        "needed_days": int(max(r.weeks for r in learners) * 7),
        "judging": span >= min(WEEK + r.window for r in learners),
        "rules": short,
    }
    if not short:
        db.memo[key] = dict(state)
    return state
