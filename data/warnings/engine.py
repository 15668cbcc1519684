"""The warnings engine: rules evaluated as SQL over DuckDB, a pending period, and one life per
warning (raised -> acknowledged -> cleared) with upgrades, downgrades, escalation and history.

``WarningEngine.evaluate(now)`` is the whole cycle: every enabled rule's conditions are read with
parameterised SQL (windowed counts from the 5-minute ``cell_counts`` buckets, raw ``events`` only
inside constant time windows), then one write transaction on the store's single writer applies
them to the ``warnings`` / ``warning_history`` / ``warning_pending`` tables, escalates warnings
nobody acknowledged in time, and fuses reports from several feeds into ``incidents``.
All times are UTC; ``now`` may be any instant (the live clock, a replay's or a benchmark's).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from data.areas import LEVEL_COLUMN
from data.schema import BUCKET_SECONDS
from data.store import Database
from data.warnings.rules import AREA_LEVELS, LEVELS, Rule, RuleSet, load_rules

BUCKET = pd.Timedelta(seconds=BUCKET_SECONDS)
WEEK = pd.Timedelta(days=7)
COND_COLUMNS = ["rule_id", "area_key", "subject", "rank", "value", "limit", "baseline", "detail"]
# prior shape of the Gamma on a baseline rate (anomaly rule): half an event per window
PRIOR_SHAPE = 0.5
# -log10 p is capped here (beyond double precision meaning)
MAX_SCORE = 30.0
DEFAULT_ESCALATE = {"blue": 7200.0, "yellow": 3600.0, "orange": 1800.0, "red": 900.0}


def _utc(ts) -> pd.Timestamp:
    t = pd.Timestamp(ts)
    return t.tz_localize("UTC") if t.tzinfo is None else t.tz_convert("UTC")


def _py(ts: pd.Timestamp):
    return _utc(ts).to_pydatetime()


def _floor(ts: pd.Timestamp) -> pd.Timestamp:
    return _utc(ts).floor(f"{BUCKET_SECONDS}s")


def next_command_level(level: str) -> str | None:
    """The command level above ``level`` (grid -> community -> township -> county -> city)."""
    i = AREA_LEVELS.index(level)
    return AREA_LEVELS[i + 1] if i + 1 < len(AREA_LEVELS) else None


def negbin_tail_score(obs: int, base_sum: float, weeks: int) -> float:
    """-log10 P(X >= obs) for the count X of a window whose rate was seen ``weeks`` times.

    The rate gets a Gamma(PRIOR_SHAPE + base_sum, weeks) posterior from the past windows, so X is
    negative binomial (a Poisson whose rate is only estimated): its tail is summed term by term from
    ``obs`` upwards in log space, exact down to tiny probabilities.
    """
    if obs <= 0:
        return 0.0
    r = PRIOR_SHAPE + float(base_sum)
    q = weeks / (weeks + 1.0)  # success probability
    log_q, log_1q, lg_r = math.log(q), math.log1p(-q), math.lgamma(r)
    total, x = 0.0, int(obs)
    first = None
    while True:
        lp = math.lgamma(x + r) - lg_r - math.lgamma(x + 1) + r * log_q + x * log_1q
        if first is None:
            first = lp
        term = math.exp(lp - first)
        total += term
        x += 1
        if term < 1e-12 * total or x - obs > 100_000:
            break
    log10p = (first + math.log(total)) / math.log(10)
    return min(max(-log10p, 0.0), MAX_SCORE)


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
        return cls(
            db,
            load_rules(settings.warnings_rules),
            stale_after=settings.stale_after,
            escalate_after=settings.warnings_escalate_after_s,
        )

    # -- the cycle -------------------------------------------------------------------------------

    def evaluate(self, now=None) -> EvaluationResult:
        """Read every rule's conditions at ``now`` (default: the clock) and apply them."""
        now = _utc(now) if now is not None else pd.Timestamp.now(tz="UTC")
        t0 = time.perf_counter()
        cond = self.conditions(now)
        fusion = self._fusion_candidates(now)
        t1 = time.perf_counter()
        result = EvaluationResult(now=now, conditions=cond, read_s=t1 - t0)
        idle = cond.empty and not any(ev["incident_id"].isna().any() for _g, ev, _i in fusion)
        if idle and not self._live_state:
            return result  # nothing to raise, clear, escalate or fuse: no write transaction
        self.db.write(lambda con: self._apply(con, now, cond, fusion, result))
        result.write_s = time.perf_counter() - t1
        return result

    def conditions(self, now) -> pd.DataFrame:
        """Every enabled rule's conditions at ``now``: one row per (rule, area, subject) at a level."""
        now = _utc(now)
        frames = []
        self.timings = {}
        for rule in self.rules.rules:
            t0 = time.perf_counter()
            df = getattr(self, f"_cond_{rule.kind}")(rule, now)
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

    # -- counting --------------------------------------------------------------------------------

    def _filters(self, rule: Rule, alias: str, raw: bool) -> tuple[str, list]:
        conds, params = [], []
        if rule.sources:
            conds.append(f"{alias}.source IN ({', '.join('?' for _ in rule.sources)})")
            params += rule.sources
        if raw and rule.categories:
            conds.append(f"{alias}.category IN ({', '.join('?' for _ in rule.categories)})")
            params += rule.categories
        if raw and rule.exclude_categories:
            marks = ", ".join("?" for _ in rule.exclude_categories)
            conds.append(f"{alias}.category NOT IN ({marks})")
            params += rule.exclude_categories
        return (" AND ".join(conds) or "TRUE"), params

    def _counts_sql(
        self, rule: Rule, windows: list[tuple[int, pd.Timestamp, pd.Timestamp]], by_source=False
    ) -> tuple[str, list]:
        """SQL of events per (area at the rule's level, window index[, source]) for half-open
        windows (start, end]; rules without a category filter read whole 5-minute buckets from
        ``cell_counts`` (start rounded down to its bucket) and raw events only after the last
        bucket boundary, so ``now`` is exact and raw reads stay within 5 minutes."""
        lv = rule.area_level
        ev_key = "e.cell_key" if lv == "grid" else f"e.{LEVEL_COLUMN[lv]}"
        cc_key = "cc.cell_key" if lv == "grid" else f"g.{LEVEL_COLUMN[lv]}"
        join = "" if lv == "grid" else "JOIN areas g ON g.key = cc.cell_key"
        src_e = ", e.source" if by_source else ""
        src_c = ", cc.source" if by_source else ""
        parts, params = [], []
        for w, start, end in windows:
            if rule.uses_raw:
                cond, p = self._filters(rule, "e", True)
                parts.append(
                    f"SELECT {ev_key} AS area_key, {int(w)} AS w{src_e}, count(*) AS n FROM events e"
                    f" WHERE {cond} AND e.event_time > ? AND e.event_time <= ? GROUP BY ALL"
                )
                params += [*p, _py(start), _py(end)]
            else:
                b0, b1 = _floor(start), _floor(end)
                cond, p = self._filters(rule, "cc", False)
                parts.append(
                    f"SELECT {cc_key} AS area_key, {int(w)} AS w{src_c}, sum(cc.n) AS n"
                    f" FROM cell_counts cc {join}"
                    f" WHERE {cond} AND cc.bucket >= ? AND cc.bucket < ? GROUP BY ALL"
                )
                params += [*p, _py(b0), _py(b1)]
                cond, p = self._filters(rule, "e", False)
                parts.append(
                    f"SELECT {ev_key} AS area_key, {int(w)} AS w{src_e}, count(*) AS n FROM events e"
                    f" WHERE {cond} AND e.event_time >= ? AND e.event_time <= ? GROUP BY ALL"
                )
                params += [*p, _py(b1), _py(end)]
        return " UNION ALL ".join(parts), params

    def earliest(self) -> pd.Timestamp | None:
        """The oldest bucket in the store (cached once found): how far history reaches back."""
        if self._earliest is None:
            row = self.db.query_one("SELECT min(bucket) FROM cell_counts")
            if row and row[0] is not None:
                self._earliest = _utc(row[0])
        return self._earliest

    def _history_weeks(self, now: pd.Timestamp, weeks: int, span: pd.Timedelta) -> list[int]:
        first = self.earliest()
        if first is None:
            return []
        return [w for w in range(1, weeks + 1) if now - w * WEEK - span >= first - BUCKET]

    def _ranked(
        self,
        rule: Rule,
        area_keys,
        values: np.ndarray,
        detail: list[str],
        *,
        subject="",
        strict: bool = False,
    ) -> pd.DataFrame:
        """Conditions of a rule whose level follows from ``values`` against its thresholds."""
        rank = self._rank(values, rule, strict=strict)
        limits = dict(rule.levels.items())
        return pd.DataFrame(
            {
                "area_key": area_keys,
                "subject": subject,
                "rank": rank,
                "value": values,
                "limit": [limits[r] for r in rank],
                "baseline": np.nan,
                "detail": detail,
            }
        )

    @staticmethod
    def _rank(values: np.ndarray, rule: Rule, strict: bool = False) -> np.ndarray:
        rank = np.zeros(len(values), dtype=np.int64)
        for r, thr in rule.levels.items():
            hit = values > thr if strict else values >= thr
            rank = np.where(hit, r, rank)
        return rank

    # -- rule kinds ------------------------------------------------------------------------------

    def _cond_threshold(self, rule: Rule, now: pd.Timestamp) -> pd.DataFrame:
        sql, params = self._counts_sql(rule, [(0, now - rule.window, now)])
        blue = rule.levels.items()[0][1]
        df = self.db.query_df(
            f"SELECT area_key, sum(n)::BIGINT AS n FROM ({sql}) GROUP BY area_key"
            " HAVING sum(n) >= ?",
            [*params, blue],
        )
        if df.empty:
            return df
        n = df["n"].to_numpy(dtype="float64")
        detail = [json.dumps({"n": int(v), "window_min": rule.window_min}) for v in n]
        return self._ranked(rule, df["area_key"], n, detail)

    def _cond_anomaly(self, rule: Rule, now: pd.Timestamp) -> pd.DataFrame:
        weeks = self._history_weeks(now, rule.weeks, rule.window)
        if not weeks:
            return pd.DataFrame()
        windows = [(0, now - rule.window, now)] + [
            (w, now - w * WEEK - rule.window, now - w * WEEK) for w in weeks
        ]
        sql, params = self._counts_sql(rule, windows)
        df = self.db.query_df(
            f"""
            SELECT area_key, coalesce(sum(n) FILTER (WHERE w = 0), 0)::BIGINT AS obs,
                   coalesce(sum(n) FILTER (WHERE w > 0), 0)::BIGINT AS base
            FROM ({sql}) GROUP BY area_key
            HAVING coalesce(sum(n) FILTER (WHERE w = 0), 0) >= ?
               AND coalesce(sum(n) FILTER (WHERE w = 0), 0) * ? > coalesce(sum(n) FILTER (WHERE w > 0), 0)
            """,
            [*params, rule.min_count, len(weeks)],
        )
        if df.empty:
            return df
        k = len(weeks)
        score = np.array(
            [
                negbin_tail_score(int(o), float(b), k)
                for o, b in zip(df["obs"], df["base"], strict=True)
            ]
        )
        rank = self._rank(score, rule)
        keep = rank > 0
        df, score, rank = df[keep], score[keep], rank[keep]
        base = df["base"].to_numpy(dtype="float64") / k
        return pd.DataFrame(
            {
                "area_key": df["area_key"].to_numpy(),
                "subject": "",
                "rank": rank,
                "value": df["obs"].to_numpy(dtype="float64"),
                "limit": [dict(rule.levels.items())[r] for r in rank],
                "baseline": base,
                "detail": [
                    json.dumps(
                        {
                            "n": int(o),
                            "baseline": round(float(b), 3),
                            "score": round(float(s), 2),
                            "weeks": k,
                            "window_min": rule.window_min,
                        }
                    )
                    for o, b, s in zip(df["obs"], base, score, strict=True)
                ],
            }
        )

    def _cond_persistence(self, rule: Rule, now: pd.Timestamp) -> pd.DataFrame:
        k = rule.hours
        blue = rule.levels.items()[0][1]
        path = f"$.{rule.station_attr}"
        df = self.db.query_df(
            f"""
            WITH r AS (
                SELECT json_extract_string(e.attributes, ?) AS station,
                       any_value(e.cell_key) AS cell_key,
                       date_trunc('hour', e.event_time) AS hour, max(e.value) AS v
                FROM events e
                WHERE e.source = ? AND e.category = ? AND e.event_time > ? AND e.event_time <= ?
                GROUP BY ALL
            ), ranked AS (
                SELECT *, row_number() OVER (PARTITION BY station ORDER BY hour DESC) AS rn FROM r
                WHERE station IS NOT NULL
            )
            SELECT station, any_value(cell_key) AS cell_key, min(v) AS vmin, max(v) AS vmax,
                   max(hour) AS last_hour
            FROM ranked WHERE rn <= {int(k)} GROUP BY station
            HAVING count(*) = {int(k)} AND max(hour) - min(hour) = INTERVAL {int(k) - 1} HOUR
               AND min(v) > ? AND max(hour) >= ?
            """,
            [
                path,
                rule.sources[0],
                rule.categories[0],
                _py(now - pd.Timedelta(hours=k + 1)),
                _py(now),
                blue,
                _py(now.floor("h") - pd.Timedelta(hours=1)),
            ],
        )
        if df.empty:
            return df
        v = df["vmin"].to_numpy(dtype="float64")
        detail = [
            json.dumps({"station": s, "hours": k, "min": float(a), "max": float(b)})
            for s, a, b in zip(df["station"], v, df["vmax"], strict=True)
        ]
        return self._ranked(
            rule,
            df["cell_key"].astype("int64"),
            v,
            detail,
            subject=df["station"].astype(str),
            strict=True,
        )

    def _cond_cross_domain(self, rule: Rule, now: pd.Timestamp) -> pd.DataFrame:
        sql, params = self._counts_sql(rule, [(0, now - rule.window, now)], by_source=True)
        blue = rule.levels.items()[0][1]
        df = self.db.query_df(
            f"""
            SELECT area_key, count(*) AS k, string_agg(source || ':' || n, ',' ORDER BY source) AS s
            FROM (SELECT area_key, source, sum(n) AS n FROM ({sql}) GROUP BY ALL HAVING sum(n) >= ?)
            GROUP BY area_key HAVING count(*) >= ?
            """,
            [*params, rule.min_per_source, blue],
        )
        if df.empty:
            return df
        kk = df["k"].to_numpy(dtype="float64")
        detail = [
            json.dumps({"sources": dict(p.split(":") for p in s.split(","))}) for s in df["s"]
        ]
        return self._ranked(rule, df["area_key"], kk, detail)

    def _cond_silence(self, rule: Rule, now: pd.Timestamp) -> pd.DataFrame:
        sources = rule.sources
        limits = {s: float(self._stale(s)) for s in sources}
        top = rule.levels.items()[-1][1]
        lookback = pd.Timedelta(seconds=max(limits.values()) * top) + BUCKET
        marks = ", ".join("?" for _ in sources)
        status = {
            r[0]: r[1]
            for r in self.db.query(
                f"SELECT source, last_received_at FROM feed_status WHERE source IN ({marks})"
                " AND accepted > 0",
                sources,
            )
        }
        if not status:
            return pd.DataFrame()
        known = [s for s in sources if s in status]
        marks = ", ".join("?" for _ in known)
        # the newest event up to now: raw events of the current (partial) bucket, else the last
        # whole bucket before it found in cell_counts, then its events (bounded reads only)
        b_now = _floor(now)
        last_event = dict(
            self.db.query(
                f"""
                WITH cur AS (
                    SELECT source, max(event_time) AS t FROM events
                    WHERE source IN ({marks}) AND event_time >= ? AND event_time <= ? GROUP BY source
                ), lb AS (
                    SELECT source, max(bucket) AS b FROM cell_counts
                    WHERE source IN ({marks}) AND bucket >= ? AND bucket < ? GROUP BY source
                ), prev AS (
                    SELECT e.source, max(e.event_time) AS t FROM events e
                    JOIN lb ON e.source = lb.source AND e.event_time >= lb.b
                           AND e.event_time < lb.b + INTERVAL {BUCKET_SECONDS} SECOND
                    WHERE e.event_time >= ? AND e.event_time < ? GROUP BY e.source
                )
                SELECT source, max(t) FROM (SELECT * FROM cur UNION ALL SELECT * FROM prev)
                GROUP BY source
                """,
                [
                    *known,
                    _py(b_now),
                    _py(now),
                    *known,
                    _py(now - lookback),
                    _py(b_now),
                    _py(now - lookback),
                    _py(b_now),
                ],
            )
        )
        rows = []
        for s in known:
            seen = [_utc(t) for t in (status.get(s), last_event.get(s)) if t is not None]
            seen = [t for t in seen if t <= now]
            last = max(seen) if seen else now - lookback
            silent = (now - last).total_seconds()
            mult = silent / limits[s]
            rank = int(self._rank(np.array([mult]), rule)[0])
            if rank:
                rows.append((s, rank, silent, mult, last))
        if not rows:
            return pd.DataFrame()
        city = self.db.query_one("SELECT key FROM areas WHERE level = 'city' LIMIT 1")[0]
        out = []
        for s, rank, silent, _mult, last in rows:
            expected = None
            if rule.min_expected > 0:
                span = pd.Timedelta(seconds=silent)
                weeks = self._history_weeks(now, rule.weeks, span)
                if weeks:
                    parts = " UNION ALL ".join(
                        "SELECT sum(n) AS n FROM cell_counts WHERE source = ? AND bucket >= ?"
                        " AND bucket < ?"
                        for _ in weeks
                    )
                    params = []
                    for w in weeks:
                        # whole buckets strictly after the last event seen (its own bucket is out)
                        b0 = _floor(now - w * WEEK - span) + BUCKET
                        params += [s, _py(b0), _py(now - w * WEEK)]
                    total = self.db.query_one(f"SELECT coalesce(sum(n), 0) FROM ({parts})", params)
                    expected = float(total[0]) / len(weeks)
                    if expected < rule.min_expected:
                        continue
            out.append(
                {
                    "area_key": int(city),
                    "subject": s,
                    "rank": rank,
                    "value": round(silent, 1),
                    "limit": limits[s] * dict(rule.levels.items())[rank],
                    "baseline": np.nan if expected is None else expected,
                    "detail": json.dumps(
                        {
                            "source": s,
                            "silent_s": round(silent, 1),
                            "stale_after_s": limits[s],
                            "last_seen": last.isoformat(),
                            "expected": expected,
                        }
                    ),
                }
            )
        return pd.DataFrame(out)

    # -- fusion ----------------------------------------------------------------------------------

    def _fusion_candidates(self, now: pd.Timestamp) -> list[tuple]:
        """Per fusion group: (group, candidate events, recent incidents) read before the write."""
        out = []
        for g in self.rules.fusion:
            window = pd.Timedelta(minutes=g.window_min)
            pairs = " OR ".join("(e.source = ? AND e.category = ?)" for _ in g.members)
            params = [v for m in g.members for v in (m["source"], m["category"])]
            ev = self.db.query_df(
                f"""
                SELECT e.source, e.source_event_id, e.cell_key, e.event_time, ie.incident_id
                FROM events e
                LEFT JOIN incident_events ie
                  ON ie.source = e.source AND ie.source_event_id = e.source_event_id
                WHERE ({pairs}) AND e.event_time > ? AND e.event_time <= ?
                ORDER BY e.cell_key, e.event_time
                """,
                [*params, _py(now - 2 * window), _py(now)],
            )
            inc = self.db.query_df(
                "SELECT id, cell_key, first_time, sources FROM incidents"
                " WHERE group_id = ? AND first_time > ?",
                [g.id, _py(now - 3 * window)],
            )
            out.append((g, ev, inc))
        return out

    @staticmethod
    def _fuse(con, now, group, ev: pd.DataFrame, inc: pd.DataFrame) -> int:
        """Group candidate reports into incidents; returns the incidents created or extended.

        One pass over the reports in (cell, time) order: a report joins the open cluster of its
        cell when it came within ``window_min`` of the cluster's first report (clusters already
        stored as incidents included), else it starts a new cluster. A cluster becomes an
        incident once ``min_sources`` feeds are in it."""
        if ev.empty:
            return 0
        window_us = int(group.window_min * 60e6)
        linked = ev["incident_id"].notna().to_numpy()
        if linked.all():
            return 0
        cells = ev["cell_key"].to_numpy(dtype=np.int64)
        t_us = (
            pd.to_datetime(ev["event_time"], utc=True).dt.as_unit("us").astype("int64").to_numpy()
        )
        src = ev["source"].to_numpy(dtype=object)
        ids_ = ev["source_event_id"].to_numpy(dtype=object)
        existing: dict[int, list] = {}
        if len(inc):
            first = (
                pd.to_datetime(inc["first_time"], utc=True)
                .dt.as_unit("us")
                .astype("int64")
                .to_numpy()
            )
            for c, f, i, srcs in zip(
                inc["cell_key"], first, inc["id"], inc["sources"], strict=True
            ):
                existing.setdefault(int(c), []).append([int(f), int(i), set(srcs.split(",")), []])
        clusters: list[list] = []  # [first_us, incident id or None, sources, new reports, cell]
        cur_cell, open_ = None, []
        for k in np.flatnonzero(~linked):
            c = int(cells[k])
            if c != cur_cell:
                cur_cell = c
                open_ = [[*x, c] for x in existing.get(c, [])]
                clusters.extend(open_)
            t = int(t_us[k])
            home = None
            for cl in open_:
                if cl[0] <= t <= cl[0] + window_us:
                    home = cl
                    break
            if home is None:
                home = [t, None, set(), [], c]
                open_.append(home)
                clusters.append(home)
            home[2].add(src[k])
            home[3].append(k)
        done = [cl for cl in clusters if cl[3] and len(cl[2]) >= group.min_sources]
        if not done:
            return 0
        new = [cl for cl in done if cl[1] is None]
        if new:
            seq = con.execute(f"SELECT nextval('incidents_seq') FROM range({len(new)})").fetchall()
            for cl, (nid,) in zip(new, seq, strict=True):
                cl[1] = int(nid)
        rows = pd.DataFrame(
            {
                "id": [cl[1] for cl in done],
                "is_new": [cl in new for cl in done],
                "cell_key": [cl[4] for cl in done],
                "first_time": pd.to_datetime([cl[0] for cl in done], unit="us", utc=True),
                "last_time": pd.to_datetime(
                    [int(t_us[cl[3]].max()) for cl in done], unit="us", utc=True
                ),
                "sources": [",".join(sorted(cl[2])) for cl in done],
                "n": [len(cl[3]) for cl in done],
            }
        )
        idx = np.concatenate([np.asarray(cl[3]) for cl in done])
        links = pd.DataFrame(
            {
                "incident_id": np.repeat(rows["id"].to_numpy(), rows["n"].to_numpy()),
                "source": src[idx],
                "source_event_id": ids_[idx],
                "event_time": pd.to_datetime(t_us[idx], unit="us", utc=True),
            }
        )
        con.register("fused_rows", rows)
        con.register("fused_links", links)
        con.execute(
            """
            INSERT INTO incidents (id, group_id, cell_key, community_key, township_key, county_key,
                city_key, first_time, last_time, sources, n_reports, created_at, updated_at)
            SELECT r.id, ?, r.cell_key, a.community_key, a.township_key, a.county_key, a.city_key,
                   r.first_time, r.last_time, r.sources, r.n, ?, ?
            FROM fused_rows r JOIN areas a ON a.key = r.cell_key WHERE r.is_new
            """,
            [group.id, _py(now), _py(now)],
        ).fetchall()
        con.execute(
            """
            UPDATE incidents SET last_time = greatest(incidents.last_time, r.last_time),
                sources = r.sources, n_reports = incidents.n_reports + r.n, updated_at = ?
            FROM fused_rows r WHERE incidents.id = r.id AND NOT r.is_new
            """,
            [_py(now)],
        ).fetchall()
        con.execute(
            "INSERT INTO incident_events SELECT incident_id, source, source_event_id, event_time"
            " FROM fused_links ON CONFLICT DO NOTHING"
        ).fetchall()
        con.unregister("fused_rows")
        con.unregister("fused_links")
        return len(done)

    # -- the state machine -----------------------------------------------------------------------

    def _apply(self, con, now, cond: pd.DataFrame, fusion, result: EvaluationResult) -> None:
        rules = {r.id: r for r in self.rules.rule}
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

        def history(wid, action, frm, to, state, actor=None, note=None, value=None):
            hist.append((int(wid), _py(now), action, frm, to, state, actor, note, value))

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
            wid = self._raise(con, now, rule, key, rank, value, lim, base, row.detail)
            history(wid, "raised", None, rank, "raised", actor="system", value=value)
            result.raised.append(wid)

        if updates:
            upd = pd.DataFrame(
                updates, columns=["id", "level_rank", "value", "limit_value", "baseline", "detail"]
            )
            upd = upd.astype({"value": "float64", "limit_value": "float64", "baseline": "float64"})
            con.register("warn_updates", upd)
            con.execute(
                """
                UPDATE warnings SET level_rank = u.level_rank, value = u.value,
                    limit_value = u.limit_value, baseline = u.baseline, detail = u.detail,
                    last_true_at = ?, clear_since = NULL, updated_at = ?
                FROM warn_updates u WHERE warnings.id = u.id
                """,
                [_py(now), _py(now)],
            ).fetchall()
            con.unregister("warn_updates")
        for key, w in act.items():
            if key in seen:
                continue
            pend_del.add(key)
            rule = rules.get(key[0])
            hold = pd.Timedelta(minutes=rule.clear_hold_min if rule else 0)
            since = _utc(w[6]) if w[6] is not None else now
            if now - since >= hold:
                con.execute(
                    "UPDATE warnings SET state = 'cleared', cleared_at = ?, cleared_by = 'system',"
                    " clear_reason = ?, updated_at = ? WHERE id = ?",
                    [
                        _py(now),
                        f"condition clear for {hold.total_seconds() / 60:g} min",
                        _py(now),
                        int(w[0]),
                    ],
                ).fetchall()
                history(
                    int(w[0]),
                    "cleared",
                    int(w[4]),
                    int(w[4]),
                    "cleared",
                    actor="system",
                    note="auto",
                )
                result.cleared.append(int(w[0]))
            elif w[6] is None:
                con.execute(
                    "UPDATE warnings SET clear_since = ? WHERE id = ?", [_py(now), int(w[0])]
                ).fetchall()
        for key in pending:
            if key not in seen:
                pend_del.add(key)

        for key in pend_del - set(pend_set):
            if key in pending:
                con.execute(
                    "DELETE FROM warning_pending WHERE rule_id = ? AND area_key = ? AND subject = ?",
                    list(key),
                ).fetchall()
        for key, (rank, hits, _old) in pend_set.items():
            con.execute(
                "INSERT INTO warning_pending VALUES (?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT DO UPDATE SET level_rank = excluded.level_rank, hits = excluded.hits,"
                " last_at = excluded.last_at",
                [*key, rank, hits, _py(now), _py(now)],
            ).fetchall()

        self._escalate(con, now, result, history)
        self._live_state = bool(
            con.execute(
                "SELECT (SELECT count(*) FROM warnings WHERE state <> 'cleared')"
                " + (SELECT count(*) FROM warning_pending)"
            ).fetchall()[0][0]
        )
        if hist:
            con.executemany(
                "INSERT INTO warning_history (warning_id, changed_at, action, from_rank, to_rank, state,"
                " actor, note, value) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                hist,
            )
        for group, ev, inc in fusion:
            result.incidents += self._fuse(con, now, group, ev, inc)

    @staticmethod
    def _raise(con, now, rule: Rule, key, rank, value, lim, base, detail) -> int:
        rule_id, area_key, subject = key
        area = con.execute(
            "SELECT level, community_key, township_key, county_key, city_key FROM areas"
            " WHERE key = ?",
            [area_key],
        ).fetchall()
        level, comm, town, county, city = (
            area[0] if area else (rule.area_level, None, None, None, None)
        )
        cell = area_key if level == "grid" else None
        return con.execute(
            """
            INSERT INTO warnings (rule_id, kind, area_key, area_level, subject, cell_key,
                community_key, township_key, county_key, city_key, level_rank, state, value,
                limit_value, baseline, detail, raised_at, updated_at, last_true_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'raised', ?, ?, ?, ?, ?, ?, ?) RETURNING id
            """,
            [
                rule_id,
                rule.kind,
                area_key,
                level,
                subject,
                cell,
                comm,
                town,
                county,
                city,
                rank,
                value,
                lim,
                base,
                detail,
                _py(now),
                _py(now),
                _py(now),
            ],
        ).fetchall()[0][0]

    def _escalate(self, con, now, result: EvaluationResult, history) -> None:
        rows = con.execute(
            "SELECT id, level_rank, area_level, escalated_to, coalesce(escalated_at, raised_at)"
            " FROM warnings WHERE state = 'raised'"
        ).fetchall()
        for wid, rank, area_level, esc_to, since in rows:
            limit = self.escalate_after.get(LEVELS[int(rank) - 1])
            if limit is None or (now - _utc(since)).total_seconds() < limit:
                continue
            target = next_command_level(esc_to or area_level)
            if target is None:
                continue
            con.execute(
                "UPDATE warnings SET escalated_to = ?, escalated_at = ?, updated_at = ? WHERE id = ?",
                [target, _py(now), _py(now), int(wid)],
            ).fetchall()
            history(wid, "escalated", int(rank), int(rank), "raised", actor="system", note=target)
            result.escalated.append(int(wid))
