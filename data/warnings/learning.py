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


def history_spans(db: Database, sources: list[str]) -> dict[str, tuple]:
    """Source -> (oldest, newest) 5-minute bucket stored, for those of ``sources`` with any."""
    if not sources:
        return {}
    marks = ", ".join("?" for _ in sources)
    rows = db.query(
        f"SELECT source, min(bucket), max(bucket) FROM cell_counts WHERE source IN ({marks})"
        " GROUP BY source",
        sources,
    )
    return {r[0]: (utc(r[1]), utc(r[2])) for r in rows if r[1] is not None}


def learning_state(db: Database, rules: RuleSet, now=None) -> dict | None:
    """Where the rules that learn from history stand, or None when no enabled rule learns.

    ``{"learning": bool, "days": float, "needed_days": int, "judging": bool, "rules": [ids]}``.
    A rule's history is the stored span of its own sources (oldest to newest 5-minute bucket, not
    to the clock: a replayed file from years ago has only its own span). When some of the rules'
    feeds have sent events, only rules reading those feeds count (a feed never connected does not
    keep the city "learning"); with none, every such rule is learning with 0 days. ``days``: the
    longest such history; ``needed_days`` for every counted rule to use all its weeks;
    ``judging`` once some rule has a week (anomaly rules raise nothing before); ``rules``: the ids
    still short of their weeks. ``learning`` is True while ``rules`` is not empty.
    """
    learners = [r for r in rules.rules if r.kind in LEARNING_KINDS]
    if not learners:
        return None
    sources = sorted({s for r in learners for s in r.sources})
    marks = ", ".join("?" for _ in sources)
    fed = sorted(
        r[0]
        for r in db.query(
            f"SELECT source FROM feed_status WHERE source IN ({marks}) AND accepted > 0", sources
        )
    )
    if fed:
        learners = [r for r in learners if set(r.sources) & set(fed)]
    # once every counted rule has its weeks the state cannot go back (history is never deleted
    # from the 5-minute counts) until another feed starts, so the answer is kept per set of fed
    # sources: the span query scans the counts, cheap while a city is new, costly on a big store
    key = (
        "learning_complete",
        tuple(fed),
        tuple((r.id, r.weeks, r.window_min) for r in learners),
    )
    done = db.memo.get(key)
    if done is not None:
        return dict(done)
    spans = history_spans(db, sources)
    end_cap = utc_now(now)

    def span(rule) -> pd.Timedelta:
        have = [spans[s] for s in rule.sources if s in spans]
        if not have:
            return pd.Timedelta(0)
        first = min(a for a, _b in have)
        last = min(max(b for _a, b in have), end_cap)
        return max(last - first, pd.Timedelta(0))

    per_rule = {r.id: span(r) for r in learners}
    longest = max(per_rule.values())
    short = [r.id for r in learners if per_rule[r.id] < r.weeks * WEEK + r.window]
    state = {
        "learning": bool(short),
        "days": round(longest.total_seconds() / 86400.0, 1),
        "needed_days": int(max(r.weeks for r in learners) * 7),
        "judging": any(per_rule[r.id] >= WEEK + r.window for r in learners),
        "rules": short,
    }
    if not short:
        db.memo[key] = dict(state)
    return state
