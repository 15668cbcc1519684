"""Backtest: what a rule (or a whole rules file) would have raised over a past period.

The real engine (:class:`data.warnings.engine.WarningEngine`, its condition builders and its
lifecycle) runs over a scratch copy of the stored history: the areas, and the 5-minute
``cell_counts`` and raw ``events`` of the rules' sources from the period back to the oldest window
the rules look at (``weeks`` of history for an anomaly rule). Nothing is written to the store:
the scratch is an in-memory DuckDB with the same schema, dropped at the end.

The engine is evaluated every ``step`` of event time (10 minutes by default, not the live 30 s:
a month is then 4,320 evaluations); ``pending`` therefore counts steps. The answer is the
warnings raised in the period: counts per level (the highest each reached), per area, and
examples. Used by the rules page and ``python app.py backtest``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import pandas as pd

from data.store import Database, registered
from data.times import BUCKET, WEEK, floor_bucket, to_py, utc
from data.warnings.engine import WarningEngine
from data.warnings.rules import LEVELS, RuleSet

# the longest period one backtest may cover (a month at the default step is ~4,500 evaluations)
MAX_DAYS = 62
DEFAULT_STEP = pd.Timedelta(minutes=10)
EXAMPLES = 20


class BacktestError(ValueError):
    """A backtest that cannot run as asked (period, step, rules), worded for the user."""


@dataclass
class BacktestResult:
    """What a backtest found; plain values for the page, the CLI and the docs."""

    since: pd.Timestamp
    until: pd.Timestamp
    step_s: float
    evaluations: int
    cells: int
    warnings: pd.DataFrame  # one row per warning raised in the period (see backtest())
    per_level: dict[str, int] = field(default_factory=dict)
    per_rule: dict[str, int] = field(default_factory=dict)
    history_days: float = 0.0
    elapsed_s: float = 0.0

    @property
    def days(self) -> float:
        return (self.until - self.since).total_seconds() / 86400.0

    @property
    def per_1000_cells_day(self) -> float:
        """Warnings raised per 1,000 grid cells per day of the period."""
        if not self.cells or self.days <= 0:
            return 0.0
        return len(self.warnings) / (self.cells / 1000.0) / self.days

    def per_area(self, limit: int = 20) -> pd.DataFrame:
        """Warnings per area (busiest first): area_key, area_level, name_zh, name_en, n, top."""
        w = self.warnings
        if w.empty:
            return pd.DataFrame(
                columns=["area_key", "area_level", "name_zh", "name_en", "n", "top"]
            )
        g = (
            w.groupby(["area_key", "area_level", "name_zh", "name_en"], dropna=False)
            .agg(n=("id", "size"), top=("top_rank", "max"))
            .reset_index()
            .sort_values(["n", "top", "area_key"], ascending=[False, False, True])
        )
        return g.head(limit).reset_index(drop=True)

    def examples(self, limit: int = EXAMPLES) -> pd.DataFrame:
        """The highest-level warnings first, then the earliest."""
        w = self.warnings
        return (
            w.sort_values(["top_rank", "raised_at"], ascending=[False, True])
            .head(limit)
            .reset_index(drop=True)
        )

    def summary(self) -> dict:
        """The figures in one dict (for the CLI and the docs)."""
        return {
            "since": self.since.isoformat(),
            "until": self.until.isoformat(),
            "evaluations": self.evaluations,
            "step_s": self.step_s,
            "cells": self.cells,
            "warnings": len(self.warnings),
            "per_level": self.per_level,
            "per_rule": self.per_rule,
            "per_1000_cells_day": round(self.per_1000_cells_day, 3),
            "history_days": round(self.history_days, 1),
            "elapsed_s": round(self.elapsed_s, 1),
        }


def _lookback(rules: RuleSet) -> pd.Timedelta:
    """How far before the period the rules read (windows, weeks of history, persistence hours)."""
    back = pd.Timedelta(hours=2)
    for r in rules.rules:
        back = max(back, r.window + BUCKET)
        if r.kind in ("anomaly", "silence"):
            back = max(back, r.weeks * WEEK + r.window + BUCKET)
        if r.kind == "persistence":
            back = max(back, pd.Timedelta(hours=r.hours + 2))
    return back


def _copy(src: Database, dst: Database, rules: RuleSet, start, end) -> None:
    """Copy the areas and the rules' sources' counts and events in [start, end] into ``dst``."""
    sources = sorted({s for r in rules.rules for s in r.sources})
    areas = src.query_df("SELECT * FROM areas")
    feeds = src.query_df("SELECT * FROM feed_status")
    if sources:
        marks = ", ".join("?" for _ in sources)
        counts = src.query_df(
            f"SELECT * FROM cell_counts WHERE source IN ({marks}) AND bucket >= ? AND bucket <= ?",
            [*sources, to_py(floor_bucket(start)), to_py(end)],
        )
        events = src.query_df(
            f"SELECT * FROM events WHERE source IN ({marks})"
            " AND event_time >= ? AND event_time <= ?",
            [*sources, to_py(floor_bucket(start)), to_py(end)],
        )
    else:
        counts = events = None

    def load(con) -> None:
        for name, df in (
            ("areas", areas),
            ("feed_status", feeds),
            ("cell_counts", counts),
            ("events", events),
        ):
            if df is None or df.empty:
                continue
            with registered(con, "bt_frame", df):
                con.execute(f"INSERT INTO {name} BY NAME SELECT * FROM bt_frame").fetchall()

    dst.write(load)


def backtest(
    db: Database,
    rules: RuleSet,
    since,
    until,
    *,
    step: pd.Timedelta | None = None,
    stale_after=300.0,
    max_days: float = MAX_DAYS,
) -> BacktestResult:
    """Run ``rules`` (their enabled rules; fusion groups left out) over ``db``'s history from
    ``since`` to ``until`` (UTC instants) with the real engine, and return what it raised.

    Raises :class:`BacktestError` for an empty or too long period, or a step out of range.
    """
    since, until = utc(since), utc(until)
    step = pd.Timedelta(step) if step is not None else DEFAULT_STEP
    if until <= since:
        raise BacktestError("the period must end after it starts")
    if (until - since) > pd.Timedelta(days=max_days):
        raise BacktestError(f"a backtest covers at most {max_days:g} days")
    if step < pd.Timedelta(seconds=30) or step > pd.Timedelta(hours=6):
        raise BacktestError("the step must be between 30 seconds and 6 hours")
    rules = rules.model_copy(update={"fusion": []})
    if not rules.rules:
        raise BacktestError("no enabled rule to backtest")
    t0 = time.perf_counter()
    first = db.query_one("SELECT min(bucket) FROM cell_counts")
    first = utc(first[0]) if first and first[0] is not None else None
    cells = int(db.query_one("SELECT count(*) FROM areas WHERE level = 'grid'")[0])
    scratch = Database(":memory:")
    try:
        _copy(db, scratch, rules, since - _lookback(rules), until)
        engine = WarningEngine(scratch, rules, stale_after=stale_after)
        engine._earliest = first  # history starts where the store's does, not at the copy
        n = 0
        for now in pd.date_range(since, until, freq=step):
            engine.evaluate(now)
            n += 1
        w = scratch.query_df(
            """
            SELECT w.id, w.rule_id, w.kind, w.area_key, w.area_level, w.subject, w.level_rank,
                   greatest(w.level_rank, coalesce(h.top, 0)) AS top_rank,
                   w.value, w.limit_value, w.baseline, w.detail, w.raised_at, w.cleared_at,
                   a.name_zh, a.name_en
            FROM warnings w
            LEFT JOIN (SELECT warning_id, max(to_rank) AS top FROM warning_history
                       GROUP BY warning_id) h ON h.warning_id = w.id
            LEFT JOIN areas a ON a.key = w.area_key
            ORDER BY w.raised_at, w.id
            """
        )
    finally:
        scratch.close()
    per_level = {lv: int((w["top_rank"] == i + 1).sum()) for i, lv in enumerate(LEVELS)}
    per_rule = {r.id: int((w["rule_id"] == r.id).sum()) for r in rules.rules}
    hist = (since - first).total_seconds() / 86400.0 if first is not None else 0.0
    return BacktestResult(
        since=since,
        until=until,
        step_s=step.total_seconds(),
        evaluations=n,
        cells=cells,
        warnings=w,
        per_level=per_level,
        per_rule=per_rule,
        history_days=max(hist, 0.0),
        elapsed_s=time.perf_counter() - t0,
    )
