"""Soak test of the real server: wall viewers and pushed events for a set time, then kill -9.

    python bench/soak.py --minutes 60                 # the budget run (issue 8, item 7)
    python bench/soak.py --minutes 12 --backfill-days 8

What it does, in order:

1. a fresh temporary folder: database, users file, secret key; a user ``soak`` (admin) is added
   with ``app.py user add``; then ``python app.py serve`` (the REAL server: waitress, the
   simulator on, ``--backfill-days`` of simulated history back-filled at the first start) on a
   free port;
2. ``--viewers`` wall viewers sign in through the login form (a hidden ``csrf_token`` input is
   posted back when the form has one), load the wall once, and every ``--refresh-s`` seconds send
   the requests a browser sends per wall refresh: the map, KPI, ticker, breadcrumb and warnings
   callbacks (``POST /_dash-update-component``, bodies built from ``/_dash-dependencies`` and
   the map's own ``refresh_request_body``), in parallel like a browser;
3. a pusher sends ``--rate`` events/s (batches every 0.5 s, the five sources in turn) to
   ``/api/ingest/<source>`` with a token and remembers every acknowledged id;
4. every 10 s it samples the server's RSS (psutil) and the write-ahead log's size;
5. at the end, while the pushes still run, ``kill -9`` the server; restart it and time the
   restart until it answers ``/login``; stop it with SIGTERM (timed); then open the database
   file and count acknowledged pushed ids that are missing (``lost``).

The last line is::

    soak minutes=... events=... rss_start_mb=... rss_end_mb=... wal_max_mb=...
    refresh_p95_ms=... errors=... lost=... restart_s=...

(on one line). ``events``: acknowledged pushed events. ``rss_start_mb`` is the RSS at minute 10
for runs of 20 minutes or more (the first ten minutes fill caches and the back-filled history's
working set; the budget is growth after them), else at half the run. ``rss_end_mb``: the last
sample. ``wal_max_mb``: the largest WAL seen. ``refresh_p95_ms``: the 95th percentile of one
viewer's whole refresh (its parallel requests). ``errors``: failed requests (non-2xx answers,
timeouts, pushes not fully accepted). ``restart_s``: seconds from starting the process after
``kill -9`` until it answers. Budget (60 minutes): RSS growth under 10 %, WAL under its limit
(``--wal-limit-mb``, the server's ``wal_limit_mb`` setting), nothing lost.
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
import requests  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


from bench.load import (  # noqa: E402
    Pusher,
    Server,
    Stats,
    Viewer,
    WallCalls,
    region_points,
    sign_in,
)

SAMPLE_S = 10.0


def missing_acked(db: Path, acked: dict[str, set[str]]) -> tuple[int, int]:
    """(acknowledged ids not in the store, events in the store); the server must be stopped."""
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    try:
        lost = 0
        for source, ids_ in acked.items():
            rows = con.execute(
                "SELECT source_event_id FROM events WHERE source = ? AND feed = ?",
                [source, f"push:{source}"],
            ).fetchall()
            lost += len(ids_ - {r[0] for r in rows})
        total = con.execute("SELECT count(*) FROM events").fetchone()[0]
    finally:
        con.close()
    return lost, total


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Soak the real server, then kill -9 it.")
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--viewers", type=int, default=5)
    parser.add_argument("--rate", type=float, default=180.0, help="pushed events per second")
    parser.add_argument("--refresh-s", type=float, default=5.0, help="the wall's refresh period")
    parser.add_argument("--backfill-days", type=float, default=30.0)
    parser.add_argument(
        "--wal-limit-mb", type=float, default=None, help="server setting (default: its own)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args(argv)

    tmp = tempfile.mkdtemp(prefix="onegrid-soak-")
    folder = Path(tmp)
    print(f"folder {folder}", flush=True)
    server = Server(folder, args.backfill_days, args.wal_limit_mb)
    server.add_user()
    t0 = time.monotonic()
    first_start = server.start()
    print(
        f"first start (back-fill of {args.backfill_days:g} days): {first_start:.1f} s, "
        f"rss {server.rss_mb():.0f} MB, db {server.db_mb():.1f} MB, wal {server.wal_mb():.1f} MB",
        flush=True,
    )
    stats = Stats()
    deps = requests.Session()
    deps.cookies.update(sign_in(server.url).cookies)
    calls = WallCalls(deps.get(server.url + "/_dash-dependencies", timeout=30).json())
    pusher = Pusher(server.url, args.rate, region_points(), stats)
    viewers = [Viewer(server.url, calls, args.refresh_s, stats) for _ in range(args.viewers)]
    pusher.start()
    for v in viewers:
        v.start()
        time.sleep(args.refresh_s / max(1, args.viewers))  # spread like real screens

    samples: list[tuple[float, float, float, float]] = []  # minute, rss, wal, db
    start = time.monotonic()
    end = start + args.minutes * 60
    last_print = -1
    while time.monotonic() < end:
        minute = (time.monotonic() - start) / 60
        samples.append((minute, server.rss_mb(), server.wal_mb(), server.db_mb()))
        if int(minute) != last_print:
            last_print = int(minute)
            _, rss, wal, dbm = samples[-1]
            p95 = np.percentile(stats.refresh_ms, 95) if stats.refresh_ms else float("nan")
            print(
                f"t={minute:5.1f} min rss={rss:7.1f} MB wal={wal:6.1f} MB db={dbm:7.1f} MB "
                f"pushed={pusher.count} refreshes={len(stats.refresh_ms)} p95={p95:.0f} ms "
                f"errors={stats.errors} load={os.getloadavg()[0]:.2f}",
                flush=True,
            )
        time.sleep(min(SAMPLE_S, max(0.0, end - time.monotonic())))
    samples.append(((time.monotonic() - start) / 60, server.rss_mb(), server.wal_mb(), 0.0))

    for v in viewers:
        v.stop.set()
    stats.closed = True
    server.kill9()  # mid-stream: pushes are in flight
    pusher.stop.set()
    pusher.join(70)
    for v in viewers:
        v.join(70)
    restart_s = server.start()
    print(f"restart after kill -9: {restart_s:.1f} s", flush=True)
    stop_s, code = server.terminate()
    wal_after = server.wal_mb()
    print(f"SIGTERM stop: {stop_s:.1f} s, exit code {code}, wal after {wal_after:.2f} MB")
    lost, total = missing_acked(server.db, pusher.acked)

    mark = 10.0 if args.minutes >= 20 else args.minutes / 2
    rss_start = next((s[1] for s in samples if s[0] >= mark), samples[0][1])
    rss_end = samples[-1][1]
    wal_max = max(s[2] for s in samples)
    p95 = float(np.percentile(stats.refresh_ms, 95)) if stats.refresh_ms else float("nan")
    for text in stats.first_errors:
        print(f"error: {text}")
    print(
        f"store: {total} events; first start {first_start:.1f} s; run "
        f"{(time.monotonic() - t0) / 60:.1f} min; rss growth after minute {mark:g}: "
        f"{100 * (rss_end - rss_start) / rss_start:+.1f} %; load average "
        f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )
    if not args.keep:
        import shutil

        shutil.rmtree(folder, ignore_errors=True)
    print(
        f"soak minutes={args.minutes:g} events={pusher.count} rss_start_mb={rss_start:.0f} "
        f"rss_end_mb={rss_end:.0f} wal_max_mb={wal_max:.1f} refresh_p95_ms={p95:.0f} "
        f"errors={stats.errors} lost={lost} restart_s={restart_s:.1f}",
        flush=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
