"""Warnings benchmark: recall and false warnings on injected episodes, and one evaluation's cost.

    python bench/warnings.py                       # the full run (a week at the 30 s cadence)
    python bench/warnings.py --interval 120 --days 2 --big-events 1000000   # a quicker look

Accuracy: the default region (data/regions/anshan) gets ``--history-weeks`` (4) of normal
simulated traffic (Simulator, seed fixed, its own episodes off) and then ``--days`` (7) of normal
traffic into which 24 episodes of known place and time are injected across the rule kinds
(accident clusters, public-order bursts, hotline and market surges, PM2.5 held over its band at a
station, several domains in one cell, a silent feed). The engine evaluates every ``--interval``
seconds of simulated time over those days with data/rules.toml. Recall: share of episodes with a
matching warning active within 2 evaluations of the episode's start. False warnings: warnings
raised in the week that no injected episode explains, excluding PM2.5 warnings that the station's
own simulated readings justify (computed independently with pandas and reported apart), per
1,000 grid cells per day.

eval_s: one evaluation (read + write) on a store with ``--big-events`` events (10,000,000) over
30 days in 5,000 cells, built directly in SQL (``generate_series``-style ``range`` rows with hashed
cells and categories, then the ``cell_counts`` aggregate, as ingest would leave them); median of 5
after 2 untimed warm-up evaluations.

Last line (a contract): ``warnings recall=... false_per_1000_cells_day=... eval_s=...``
"""

from __future__ import annotations

import sys

# this file is named like the standard library's ``warnings``: keep its folder off the path
sys.path[:] = [p for p in sys.path if p not in ("", __file__.rpartition("/")[0])]

import argparse  # noqa: E402
import json  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from data.region import load_region  # noqa: E402
from data.schema import EVENT_ID_HASH_SQL, EVENT_SEARCH_SQL  # noqa: E402
from data.store import Database  # noqa: E402
from data.warnings.engine import WarningEngine  # noqa: E402
from data.warnings.groundtruth import run_accuracy  # noqa: E402
from data.warnings.rules import RuleSet, load_rules  # noqa: E402

# --- one evaluation on a large store ------------------------------------------------------------


def build_big_store(
    path,
    *,
    n_events: int = 10_000_000,
    n_cells: int = 5000,
    days: int = 30,
    end: pd.Timestamp | None = None,
) -> tuple[Database, pd.Timestamp]:
    """A store with ``n_cells`` grid cells (city > 10 counties > 100 townships > 500 communities >
    cells) and ``n_events`` events spread evenly over ``days`` up to ``end``, built in SQL:
    ``generate_series`` rows with hashed cells and categories, then ``cell_counts`` aggregated
    from them and ``feed_status`` set, as ingest would have left them."""
    end = end or pd.Timestamp("2026-06-01", tz="UTC")
    db = Database(path)
    n_comm, n_town, n_county = 500, 100, 10
    c0, t0k, m0, g0 = 2, 2 + n_county, 2 + n_county + n_town, 2 + n_county + n_town + n_comm
    start = end - pd.Timedelta(days=days)
    span_us = int(pd.Timedelta(days=days).total_seconds() * 1e6)

    def build(con):
        con.execute(
            "INSERT INTO areas (key, code, level, parent_key, name_zh, name_en, city_key) "
            "VALUES (1, 'C', 'city', NULL, '测试市', 'City', 1)"
        )
        con.execute(
            f"""
            INSERT INTO areas (key, code, level, parent_key, name_zh, name_en, city_key, county_key,
                               township_key, community_key, lon, lat)
            SELECT {c0} + i, 'K' || i, 'county', 1, '区' || i, 'County ' || i, 1, {c0} + i,
                   NULL, NULL, 123.0, 41.0 FROM range({n_county}) t(i)
            UNION ALL
            SELECT {t0k} + i, 'T' || i, 'township', {c0} + i % {n_county}, '街道' || i, 'Town ' || i,
                   1, {c0} + i % {n_county}, {t0k} + i, NULL, 123.0, 41.0 FROM range({n_town}) t(i)
            UNION ALL
            SELECT {m0} + i, 'M' || i, 'community', {t0k} + i % {n_town}, '社区' || i, 'Comm ' || i,
                   1, {c0} + (i % {n_town}) % {n_county}, {t0k} + i % {n_town}, {m0} + i, 123.0, 41.0
            FROM range({n_comm}) t(i)
            UNION ALL
            SELECT {g0} + i, 'G' || i, 'grid', {m0} + i % {n_comm}, '网格' || i, 'Grid ' || i, 1,
                   {c0} + ((i % {n_comm}) % {n_town}) % {n_county}, {t0k} + (i % {n_comm}) % {n_town},
                   {m0} + i % {n_comm}, 123.0, 41.0
            FROM range({n_cells}) t(i)
            """
        )
        con.execute("INSERT INTO meta VALUES ('region', 'bench-big')")
        src = "['police','traffic','environment','market','hotline']"
        cat = (
            "[['public_order','traffic','dispute','assistance'], ['accident','congestion'],"
            " ['pm25','aqi'], ['complaint','enquiry'], ['heating','utilities','traffic','noise']]"
        )
        con.execute(
            f"""
            INSERT INTO events (source, source_event_id, category, severity, value, event_time,
                received_at, lon, lat, cell_key, community_key, township_key, county_key, city_key,
                text, attributes, feed, id_hash)
            SELECT s, 'b' || i, c, 2, v, t, t, 123.0, 41.0, {g0} + cell,
                   {m0} + cell % {n_comm}, {t0k} + (cell % {n_comm}) % {n_town},
                   {c0} + ((cell % {n_comm}) % {n_town}) % {n_county}, 1, NULL,
                   CASE WHEN s = 'environment' THEN '{{"station":"S' || (cell % 200) || '"}}' END,
                   'bench', (md5_number_lower('b' || i) >> 33)::INTEGER
            FROM (
                SELECT i, {src}[1 + (h % 5)::INT] AS s,
                       ({cat}[1 + (h % 5)::INT])[1 + ((h // 5) % len(({cat})[1 + (h % 5)::INT]))::INT] AS c,
                       ((h // 97) % {n_cells})::INT AS cell,
                       (h % 1000)::DOUBLE / 10 AS v,
                       to_timestamp(({start.value / 1e9} + i * {span_us / 1e6} / {n_events})::DOUBLE)
                           AS t
                FROM (SELECT i, hash(i) AS h FROM range({n_events}) r(i))
            )
            """
        )
        # the search text and id digest, as ingest derives them (data/schema.py); the digest is
        # written by the INSERT above (the column is NOT NULL: de-duplication reads it)
        con.execute(f"UPDATE events SET search = {EVENT_SEARCH_SQL}, id_hash = {EVENT_ID_HASH_SQL}")
        con.execute(
            """
            INSERT INTO cell_counts
            SELECT time_bucket(INTERVAL 300 SECOND, event_time), cell_key, source, count(*),
                   sum(severity), max(value)
            FROM events GROUP BY ALL
            """
        )
        con.execute(
            "INSERT INTO feed_status (source, last_event_time, last_received_at, accepted) "
            "SELECT source, max(event_time), max(event_time), count(*) FROM events GROUP BY source"
        )

    db.write(build)
    db.checkpoint()
    return db, end


def time_evaluation(
    db: Database, rules: RuleSet, now: pd.Timestamp, runs: int = 5, warmup: int = 2
) -> dict:
    """Seconds for one whole evaluation (read + write), over ``runs`` consecutive runs 30 s apart,
    after ``warmup`` untimed ones: the running server evaluates every 30 s, so its evaluations
    find DuckDB's caches warm (the first two here took 0.5-0.9 s and made the median of five
    swing between 0.15 and 0.25 s from run to run)."""
    engine = WarningEngine(db, rules)
    for i in range(warmup):
        engine.evaluate(now - pd.Timedelta(seconds=30 * (warmup - i)))
    times, reads = [], []
    for i in range(runs):
        r = engine.evaluate(now + pd.Timedelta(seconds=30 * i))
        times.append(r.elapsed_s)
        reads.append(r.read_s)
    return {
        "median_s": float(np.median(times)),
        "max_s": float(np.max(times)),
        "first_s": times[0],
        "read_median_s": float(np.median(reads)),
        "conditions": int(len(r.conditions)),
    }


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--interval", type=float, default=30.0, help="evaluation period, seconds")
    p.add_argument("--days", type=float, default=7.0)
    p.add_argument("--history-weeks", type=int, default=4)
    p.add_argument("--seed", type=int, default=20261126)
    p.add_argument("--start", default="2026-06-01T00:00:00Z")
    p.add_argument("--big-events", type=int, default=10_000_000)
    p.add_argument("--big-cells", type=int, default=5000)
    p.add_argument("--rules", default=None, help="rules file (default data/rules.toml)")
    p.add_argument("--skip-accuracy", action="store_true", help="only time one evaluation")
    p.add_argument("--skip-eval", action="store_true", help="only measure accuracy")
    args = p.parse_args(argv)
    rules = load_rules(args.rules)

    def say(msg):
        print(msg, flush=True)

    region = load_region("anshan")
    with tempfile.TemporaryDirectory() as tmp:
        acc = {"recall": float("nan"), "false_per_1000_cells_day": float("nan")}
        db = None if args.skip_accuracy else Database(Path(tmp) / "acc.duckdb")
        try:
            acc = (
                acc
                if db is None
                else run_accuracy(
                    region,
                    db,
                    rules,
                    start=pd.Timestamp(args.start),
                    days=args.days,
                    history_weeks=args.history_weeks,
                    interval_s=args.interval,
                    seed=args.seed,
                    progress=say,
                )
            )
        finally:
            if db is not None:
                db.close()
        say(json.dumps({k: v for k, v in acc.items()}, default=str, ensure_ascii=False, indent=1))
        ev = {"median_s": float("nan")}
        if args.skip_eval:
            args.big_events = 0
        t0 = time.perf_counter()
        big, end = (
            (None, None)
            if args.skip_eval
            else build_big_store(
                Path(tmp) / "big.duckdb", n_events=args.big_events, n_cells=args.big_cells
            )
        )
        if big is not None:
            say(f"built the {args.big_events:,}-event store in {time.perf_counter() - t0:.1f} s")
            try:
                ev = time_evaluation(big, rules, end)
            finally:
                big.close()
            say(json.dumps(ev))
    print(
        f"warnings recall={acc['recall']:.3f} "
        f"false_per_1000_cells_day={acc['false_per_1000_cells_day']:.3f} "
        f"eval_s={ev['median_s']:.3f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
