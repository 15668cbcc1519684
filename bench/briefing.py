"""Benchmark: a city-month briefing on a big store (issue 11's budget: under 15 s at 10 M events).

    python bench/briefing.py                      # 10,000,000 events
    python bench/briefing.py --events 1000000     # a quick run

How the store is filled: the default region (data/regions/anshan) in a fresh DuckDB file; events
spread uniformly over the grid cells and over ``--days`` days ending now (default 400, so the
same month last year is in the store and the briefing compares with it), every source and
category, with the per-cell 5-minute counts ingest keeps; cases (one per 50 events, dispatched, about 70 % closed) and warnings (one per 2,000
events) spread the same way. Rows are generated with numpy and appended as Arrow tables, 1 M at
a time (validation and placement are the ingest benchmark's business, not this one's).

What is measured: ``data.briefings.build`` (every figure of the month from the indicator
catalogue: this month, last month, the same month last year, by source, by community, warnings,
cases by department and by county, hotline subjects) and each renderer (PDF, Word, HTML). The
last line: ``briefing period=month events=... seconds=...`` (build + PDF, the slowest format).
"""

from __future__ import annotations

import os
import sys

# bench/ holds scripts named like standard modules (bench/warnings.py): keep this folder off the
# import path so "import warnings" finds the standard library
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _HERE]

import argparse  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pyarrow as pa  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from data import briefings  # noqa: E402
from data.catalogue import CATEGORIES, SOURCES  # noqa: E402
from data.runtime import Runtime  # noqa: E402
from data.schema import BUCKET_SECONDS  # noqa: E402
from data.settings import load_settings  # noqa: E402
from reports import render  # noqa: E402

CHUNK = 1_000_000
LINEAGE = ("community_key", "township_key", "county_key", "city_key")


def _cells(rt) -> pd.DataFrame:
    return rt.db.query_df(
        "SELECT key AS cell_key, community_key, township_key, county_key, city_key, lon, lat "
        "FROM areas WHERE level = 'grid' ORDER BY key"
    )


def _times(rng, n: int, start: pd.Timestamp, span_s: float) -> np.ndarray:
    us = start.value // 1000 + (rng.random(n) * span_s * 1e6).astype("int64")
    return np.sort(us)


def _insert(rt, table: str, arrow: pa.Table) -> None:
    def write(con):
        con.register("bench_rows", arrow)
        con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM bench_rows")
        con.unregister("bench_rows")

    rt.db.write(write)


def fill(rt, n_events: int, days: float, seed: int) -> None:
    """Append ``n_events`` events, ``n_events / 50`` cases and ``n_events / 2000`` warnings."""
    rng = np.random.default_rng(seed)
    cells = _cells(rt)
    now = pd.Timestamp.now(tz="UTC").floor("s")
    start, span = now - pd.Timedelta(days=days), days * 86400.0
    cats = [(s, c) for s in SOURCES for c in CATEGORIES[s]]
    t0 = time.perf_counter()
    done = 0
    while done < n_events:
        n = min(CHUNK, n_events - done)
        pick = cells.iloc[rng.integers(0, len(cells), n)]
        cat = rng.integers(0, len(cats), n)
        ts = pa.array(_times(rng, n, start, span), pa.timestamp("us", tz="UTC"))
        cols = {
            "source": pa.array([cats[i][0] for i in cat], pa.string()),
            "source_event_id": pa.array([f"b{done + i}" for i in range(n)], pa.string()),
            "category": pa.array([cats[i][1] for i in cat], pa.string()),
            "severity": pa.array(rng.integers(1, 6, n).astype("int8"), pa.int8()),
            "event_time": ts,
            "received_at": ts,
            "lon": pa.array(pick["lon"].to_numpy(), pa.float64()),
            "lat": pa.array(pick["lat"].to_numpy(), pa.float64()),
            "cell_key": pa.array(pick["cell_key"].to_numpy(), pa.int32()),
            **{c: pa.array(pick[c].to_numpy(), pa.int32()) for c in LINEAGE},
            "feed": pa.array(["bench"] * n, pa.string()),
        }
        _insert(rt, "events", pa.table(cols))
        done += n
        print(f"  {done:,} events ({time.perf_counter() - t0:.0f} s)", flush=True)
    # the per-cell 5-minute counts ingest keeps (the effect of closed cases, the usual and the
    # risk read them), 30 days per transaction: one over 10 M events outgrows the 1 GB memory limit
    step = pd.Timedelta(days=30)
    lo = start.floor("D")
    while lo < now:
        hi = lo + step
        rt.db.write(
            lambda con, lo=lo, hi=hi: con.execute(
                f"""
                INSERT INTO cell_counts
                SELECT time_bucket(INTERVAL {BUCKET_SECONDS} SECOND, event_time) AS bucket,
                       cell_key, source, count(*), coalesce(sum(severity), 0), max(value)
                FROM events WHERE event_time >= ? AND event_time < ? GROUP BY ALL ORDER BY bucket
                """,
                [lo.to_pydatetime(), hi.to_pydatetime()],
            )
        )
        lo = hi
    _fill_cases(rt, rng, cells, n_events // 50, start, span, now)
    _fill_warnings(rt, rng, cells, n_events // 2000, start, span)
    rt.db.checkpoint()


def _fill_cases(rt, rng, cells, n, start, span, now) -> None:
    depts = [f"dept.{i}" for i in range(12)]
    pick = cells.iloc[rng.integers(0, len(cells), n)]
    created = pd.to_datetime(_times(rng, n, start, span), unit="us", utc=True)
    closed = created + pd.to_timedelta(rng.exponential(40, n), unit="h")
    closed = pd.Series(closed).where((rng.random(n) < 0.7) & (closed < now))
    deadline = created + pd.to_timedelta(rng.choice([2, 24, 72], n), unit="h")
    frame = pd.DataFrame(
        {
            "id": np.arange(1, n + 1, dtype="int64"),
            "joint": False,
            "origin": "hotline",
            "category": "hotline.heating",
            "area_level": "grid",
            "area_key": pick["cell_key"].to_numpy(),
            "cell_key": pick["cell_key"].to_numpy(),
            **{c: pick[c].to_numpy() for c in LINEAGE},
            "department": rng.choice(depts, n),
            "state": np.where(closed.notna(), "closed", "dispatched"),
            "created_at": created,
            "dispatched_at": created,
            "closed_at": closed.to_numpy(),
            "deadline_at": deadline,
            "extensions": (rng.random(n) < 0.1).astype("int32"),
            "reworks": (rng.random(n) < 0.1).astype("int32"),
            "returns": (rng.random(n) < 0.1).astype("int32"),
            "updated_at": created,
        }
    )
    _insert(rt, "cases", pa.Table.from_pandas(frame, preserve_index=False))


def _fill_warnings(rt, rng, cells, n, start, span) -> None:
    pick = cells.iloc[rng.integers(0, len(cells), n)]
    raised = pd.to_datetime(_times(rng, n, start, span), unit="us", utc=True)
    ack = pd.Series(raised + pd.to_timedelta(rng.exponential(40, n), unit="min"))
    cleared = pd.Series(raised + pd.to_timedelta(rng.exponential(10, n), unit="h"))
    frame = pd.DataFrame(
        {
            "id": np.arange(1, n + 1, dtype="int64"),
            "rule_id": "bench",
            "kind": "threshold",
            "area_key": pick["cell_key"].to_numpy(),
            "area_level": "grid",
            "cell_key": pick["cell_key"].to_numpy(),
            **{c: pick[c].to_numpy() for c in LINEAGE},
            "level_rank": rng.integers(1, 5, n).astype("int8"),
            "state": "cleared",
            "raised_at": raised,
            "updated_at": raised,
            "acknowledged_at": ack.where(rng.random(n) < 0.8).to_numpy(),
            "cleared_at": cleared.to_numpy(),
        }
    )
    _insert(rt, "warnings", pa.Table.from_pandas(frame, preserve_index=False))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Benchmark a city-month briefing.")
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--days", type=float, default=400.0, help="history span ending now")
    parser.add_argument("--date", default=None, help="a day of the month (default: 15 days ago)")
    parser.add_argument("--db", help="DuckDB file (default: a temporary one)")
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(args.db) if args.db else Path(tmp) / "bench.duckdb"
        rt = Runtime(
            load_settings(db=db, simulator=False, users_file=Path(tmp) / "u.toml", warnings=False)
        )
        try:
            n = rt.db.query_one("SELECT count(*) FROM events")[0]
            if n == 0:
                print(f"filling {args.events:,} events over {args.days:g} days ...", flush=True)
                fill(rt, args.events, args.days, args.seed)
                n = rt.db.query_one("SELECT count(*) FROM events")[0]
            day = args.date or (pd.Timestamp.now(tz=rt.timezone) - pd.Timedelta(days=15)).date()
            t0 = time.perf_counter()
            brief = briefings.build(
                rt.db,
                rt.scope,
                period="month",
                day=day,
                timezone=rt.timezone,
                department_name=rt.cases.rules.department_name,
            )
            t_build = time.perf_counter() - t0
            times = {}
            for fmt in ("pdf", "docx", "html"):
                t1 = time.perf_counter()
                body = render(brief, fmt, "zh", areas=rt.region.areas)
                times[fmt] = (time.perf_counter() - t1, len(body))
        finally:
            rt.stop()
    print(
        f"month of {day}: {int(brief.events_total.value):,} events in the month, "
        f"{len(brief.used)} indicators, last year compared: {brief.last_year is not None}"
    )
    print(f"build {t_build:.2f} s")
    for fmt, (s, size) in times.items():
        print(f"render {fmt} {s:.2f} s ({size:,} bytes)")
    print(f"briefing period=month events={n} seconds={t_build + times['pdf'][0]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
