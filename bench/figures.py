"""Benchmark: the figures builder (/figures) answering requests on a big store.

    python bench/figures.py                      # 1,000,000 events
    python bench/figures.py --events 10000000

The store is filled as bench/briefing.py fills it (the default region, events, cases and warnings
spread over ``--days`` days ending now). What is measured: ``data.figures.build`` for

- a superior's usual request: 4 indicators (events by domain, cases opened, on-time rate,
  warnings raised) for the city and its 7 counties, last calendar month against the month
  before;
- the largest request the page accepts: 12 indicators x 30 areas (the counties, townships and
  communities of one county), the same months;

and the Excel and Word files of the usual one. The last line:
``figures events=... usual_s=... largest_s=...``.
"""

from __future__ import annotations

import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _HERE]

import argparse  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import pandas as pd  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.briefing import fill  # noqa: E402
from data import figures, indicators  # noqa: E402
from data.auth import User  # noqa: E402
from data.runtime import Runtime  # noqa: E402
from data.settings import load_settings  # noqa: E402
from reports.figures import render  # noqa: E402

USUAL = ["events.by_source", "cases.opened", "cases.on_time_rate", "warnings.raised"]


def _last_month(timezone: str) -> tuple[str, str]:
    first = pd.Timestamp.now(tz=timezone).tz_localize(None).normalize().replace(day=1)
    start = first - pd.offsets.MonthBegin(1)
    return str(start.date()), str(first.date())


def _timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Benchmark the figures builder.")
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--days", type=float, default=120.0, help="history span ending now")
    parser.add_argument("--db", help="DuckDB file (default: a temporary one)")
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args(argv)
    user = User("bench", "analyst")
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
            since, until = _last_month(rt.timezone)
            counties = [r[0] for r in rt.db.query("SELECT code FROM areas WHERE level = 'county'")]
            city = rt.db.query_one("SELECT code FROM areas WHERE level = 'city'")[0]
            usual = {
                "indicators": USUAL,
                "areas": [city, *sorted(counties)],
                "since": since,
                "until": until,
                "compare": "previous",
            }
            county = sorted(counties)[0]
            below = rt.db.query(
                "SELECT code FROM areas WHERE level IN ('township', 'community') AND county_key = "
                "(SELECT key FROM areas WHERE code = ?) ORDER BY level DESC, code LIMIT 29",
                [county],
            )
            largest = usual | {
                "indicators": list(indicators.CATALOGUE)[: figures.MAX_INDICATORS],
                "areas": [county, *(r[0] for r in below)],
            }
            kw = {"timezone": rt.timezone}
            figs, usual_s = _timed(lambda: figures.build(rt.db, usual, user, **kw))
            big, largest_s = _timed(lambda: figures.build(rt.db, largest, user, **kw))
            xlsx, xlsx_s = _timed(lambda: render(figs, "xlsx", timezone=rt.timezone))
            docx, docx_s = _timed(lambda: render(figs, "docx", timezone=rt.timezone))
        finally:
            rt.stop()
    print(f"period {since} - {until} against the month before, {n:,} events in the store")
    print(
        f"usual request: {len(USUAL)} indicators x 8 areas, {len(figs.table)} rows, {usual_s:.2f} s"
    )
    print(
        f"largest request: {len(largest['indicators'])} indicators x {len(largest['areas'])} areas,"
        f" {len(big.table)} rows, {largest_s:.2f} s"
    )
    print(f"excel {xlsx_s:.2f} s ({len(xlsx):,} bytes), word {docx_s:.2f} s ({len(docx):,} bytes)")
    print(f"figures events={n} usual_s={usual_s:.2f} largest_s={largest_s:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
