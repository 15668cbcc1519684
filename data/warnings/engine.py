"""The warnings engine: rules evaluated as SQL over DuckDB, a pending period, and one life per
warning (raised -> acknowledged -> cleared) with upgrades, downgrades, escalation and history.

``WarningEngine.evaluate(now)`` is the whole cycle: every enabled rule's conditions are read with
parameterised SQL (:mod:`data.warnings.conditions`, one builder per rule kind), then one write
transaction on the store's single writer applies them to the ``warnings`` / ``warning_history`` /
``warning_pending`` tables, escalates warnings nobody acknowledged in time
(:mod:`data.warnings.lifecycle`), and fuses reports from several feeds into ``incidents``
(:mod:`data.warnings.fusion`). The anomaly rule's statistics are in
:mod:`data.warnings.statistics`. All times are UTC; ``now`` may be any instant (the live clock,
a replay's or a benchmark's).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pandas as pd

from data.store import Database
from data.times import BUCKET, WEEK, utc
from data.warnings import fusion, lifecycle
from data.warnings.conditions import COND_COLUMNS, CONDITIONS
from data.warnings.lifecycle import DEFAULT_ESCALATE, EvaluationResult
from data.warnings.rules import RuleSet, load_rules

__all__ = ["EvaluationResult", "WarningEngine"]


class WarningEngine:
    """Evaluates ``rules`` over ``db``.

    ``stale_after(source)``: seconds of silence after which a feed is stale (settings);
    ``escalate_after``: per level name, seconds a raised warning may stay unacknowledged.
    """

    def __init__(
        self,
        db: Database,
        rules: RuleSet,
        *,
        stale_after: Callable[[str], float] | float = 300.0,
        escalate_after: dict[str, float] | None = None,
    ) -> None:
        self.db = db
        self.rules = rules
        self._stale = stale_after if callable(stale_after) else (lambda _s, v=stale_after: v)
        self.escalate_after = {**DEFAULT_ESCALATE, **(escalate_after or {})}
        self._earliest: pd.Timestamp | None = None
        self.timings: dict[str, float] = {}
        # True while warnings are active or conditions pending (an evaluation must then write);
        # starts True so the first evaluation looks at what an earlier process left
        self._live_state = True

    @classmethod
    def from_settings(cls, db: Database, settings) -> WarningEngine:
        """The engine of the settings' rules file, stale limits and escalation times."""
        return cls(
            db,
            load_rules(settings.warnings_rules, settings.catalogue),
            stale_after=settings.stale_after,
            escalate_after=settings.warnings_escalate_after_s,
        )

    # -- the cycle -------------------------------------------------------------------------------

    def evaluate(self, now=None) -> EvaluationResult:
        """Read every rule's conditions at ``now`` (default: the clock) and apply them."""
        now = utc(now) if now is not None else pd.Timestamp.now(tz="UTC")
        t0 = time.perf_counter()
        cond = self.conditions(now)
        candidates = fusion.fusion_candidates(self.db, self.rules.fusion, now)
        t1 = time.perf_counter()
        result = EvaluationResult(now=now, conditions=cond, read_s=t1 - t0)
        idle = cond.empty and not any(ev["incident_id"].isna().any() for _g, ev, _i in candidates)
        if idle and not self._live_state:
            return result  # nothing to raise, clear, escalate or fuse: no write transaction
        self.db.write(lambda con: self._apply(con, now, cond, candidates, result))
        result.write_s = time.perf_counter() - t1
        return result

    def _apply(self, con, now, cond, candidates, result: EvaluationResult) -> None:
        self._live_state = lifecycle.apply(
            con, now, cond, candidates, result, self.rules, self.escalate_after
        )

    def conditions(self, now) -> pd.DataFrame:
        """Every enabled rule's conditions at ``now``: one row per (rule, area, subject) at a level."""
        now = utc(now)
        frames = []
        self.timings = {}
        for rule in self.rules.rules:
            t0 = time.perf_counter()
            df = CONDITIONS[rule.kind](self, rule, now)
            self.timings[rule.id] = time.perf_counter() - t0
            if len(df):
                df.insert(0, "rule_id", rule.id)
                frames.append(df[COND_COLUMNS])
        if not frames:
            return pd.DataFrame(columns=COND_COLUMNS)
        out = pd.concat(frames, ignore_index=True)
        out["area_key"] = out["area_key"].astype("int64")
        out["rank"] = out["rank"].astype("int64")
        return out

    # -- what the condition builders ask -----------------------------------------------------------

    def stale_seconds(self, source: str) -> float:
        """Seconds of silence after which ``source`` is stale."""
        return float(self._stale(source))

    def earliest(self) -> pd.Timestamp | None:
        """The oldest bucket in the store (cached once found): how far history reaches back."""
        if self._earliest is None:
            row = self.db.query_one("SELECT min(bucket) FROM cell_counts")
            if row and row[0] is not None:
                self._earliest = utc(row[0])
        return self._earliest

    def history_weeks(self, now: pd.Timestamp, weeks: int, span: pd.Timedelta) -> list[int]:
        """The past weeks (1..``weeks``) whose window of ``span`` before ``now`` has history."""
        first = self.earliest()
        if first is None:
            return []
        return [w for w in range(1, weeks + 1) if now - w * WEEK - span >= first - BUCKET]
