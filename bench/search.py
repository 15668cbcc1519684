"""Benchmark of search over a big store (issue 10's budget: p95 under 300 ms over 10 M events).

    python bench/search.py                              # 10,000,000 events (a few minutes to fill)
    python bench/search.py --events 1000000             # a quick run
    python bench/search.py --db /tmp/s10m.duckdb        # reuse a filled store

The store is filled as ``bench/wall.py`` fills it (the default region, the simulator's events
over ``--days`` days ending now, bulk-appended in time order). Then, through the real Flask app
(``GET /api/events?q=...`` via the test client, signed-in analyst = the whole city):

* api: the read API's search, the newest 100 matches over all of history, for a mix of texts
  (a common and a rare Chinese word, an English category name, a county's name, an event id of
  last month, a text that matches nothing) and with a facet (source, severity);
* page: the search page's whole answer (``data.search.results``: the newest 500 matches, the
  facet counts and the histogram) over its default period, the last seven days.

Each query runs ``--repeat`` times, in turn. The last line sums up the read API's search:
``search events=... p50_ms=... p95_ms=...``.

A store filled before the search columns existed (migration 18: ``events.search``,
``events.id_hash``) is migrated in place when it is opened (about a minute for 10 M events): run
it on a copy to keep the original as it was.
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
from urllib.parse import quote  # noqa: E402

import pandas as pd  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.wall import _stored, fill, pct  # noqa: E402
from data import search  # noqa: E402
from data.auth import User  # noqa: E402
from data.runtime import Runtime  # noqa: E402
from data.settings import load_settings  # noqa: E402


def api_queries(rt) -> dict[str, str]:
    """Name -> the read API's query string."""
    county = rt.db.query_one("SELECT name_zh FROM areas WHERE level = 'county' ORDER BY key")[0]
    old = rt.db.query_one(
        "SELECT source_event_id FROM events WHERE event_time < now() - INTERVAL 20 DAY"
        " AND event_time > now() - INTERVAL 21 DAY LIMIT 1"
    )[0]
    return {
        "chinese common (拥堵)": "q=" + quote("拥堵"),
        "chinese rare (火灾)": "q=" + quote("火灾"),
        "english category (noise)": "q=noise",
        f"county name ({county})": "q=" + quote(county),
        "event id (20 days old)": "q=" + quote(old),
        "no match (zzzz)": "q=zzzz",
        "text + source facet": "q=" + quote("纠纷") + "&source=police",
        "text + severity facet": "q=" + quote("求助") + "&severity=3",
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Benchmark search over a big store.")
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--days", type=float, default=90.0, help="history span ending now")
    parser.add_argument("--repeat", type=int, default=10, help="runs of each query")
    parser.add_argument("--db", help="DuckDB file (default: a temporary one)")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)

    import logging
    import warnings

    logging.disable(logging.WARNING)
    warnings.filterwarnings("ignore")
    from app import create_app

    tmp = tempfile.TemporaryDirectory()
    db = Path(args.db) if args.db else Path(tmp.name) / "search.duckdb"
    settings = load_settings(
        db=db, region="anshan", simulator=False, auth=False, archive_after_days=0
    )
    rt = Runtime(settings)
    in_db, archived = _stored(rt)
    if in_db + archived == 0:
        print(f"filling {db} with ~{args.events:,} events over {args.days:g} days ...")
        t0 = time.perf_counter()
        fill(rt, args.events, args.days, args.seed)
        print(f"filled in {time.perf_counter() - t0:.0f} s")
        in_db, archived = _stored(rt)
    have = in_db + archived
    print(f"store: {have:,} events; load average {os.getloadavg()[0]:.2f}")
    client = create_app(runtime=rt).server.test_client()
    queries = api_queries(rt)
    times: dict[str, list[float]] = {name: [] for name in queries}
    counts: dict[str, int] = {}
    for name, qs in queries.items():  # one warm-up each
        resp = client.get(f"/api/events?{qs}&limit=100")
        assert resp.status_code == 200, resp.get_json()
        counts[name] = resp.get_json()["count"]
    for _ in range(args.repeat):
        for name, qs in queries.items():
            t0 = time.perf_counter()
            resp = client.get(f"/api/events?{qs}&limit=100")
            times[name].append((time.perf_counter() - t0) * 1000)
            assert resp.status_code == 200
    for name, ts in times.items():
        print(
            f"api   {name:32s} rows {counts[name]:4d}  p50 {pct(ts, 50):7.1f} ms"
            f"  p95 {pct(ts, 95):7.1f} ms"
        )

    # the page's whole answer over its default period (the last seven local days)
    since, until = search.page_period(None, None, rt.timezone)
    f = search.reader_filters(
        rt.db, User("bench", "analyst"), rt.scope, "event", since=since, until=until, limit=500
    )
    page_times = []
    for _ in range(max(args.repeat // 2, 3)):
        for q in ("拥堵", "noise", "zzzz", None):
            t0 = time.perf_counter()
            res = search.results(rt.db, "events", f, search.Text.of(q), timezone=rt.timezone)
            page_times.append((time.perf_counter() - t0) * 1000)
    print(
        f"page  rows+facets+histogram, last 7 days ({res['total']:,} events): "
        f"p50 {pct(page_times, 50):.1f} ms  p95 {pct(page_times, 95):.1f} ms"
    )
    every = [t for ts in times.values() for t in ts]
    print(
        f"load average after: {os.getloadavg()[0]:.2f}; at {pd.Timestamp.now(tz='UTC'):%H:%M} UTC"
    )
    print(f"search events={have} p50_ms={pct(every, 50):.1f} p95_ms={pct(every, 95):.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
