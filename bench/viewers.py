"""Capacity: N wall screens refreshing at once on the real server while events are pushed.

    python bench/viewers.py --viewers 100 --push 1000          # the budget run (issue 12)
    python bench/viewers.py --viewers 200 --push 1000
    python bench/viewers.py --viewers 20 --push 0 --seconds 30  # a quick look
    python bench/viewers.py --viewers 50 --push 0 --bulk 1000000  # bulk ingest while 50 watch

What it does, in order:

1. a fresh temporary folder (database, users file, secret key); users added with
   ``app.py user add``: a wall account for the city, a county leader for every county, analysts;
   then ``python app.py serve`` (the REAL server: waitress, the simulator on, ``--backfill-days``
   of simulated history back-filled at the first start) on a free port;
2. ``--viewers`` screens sign in through the login form (four at a time, before the clock
   starts: a shift beginning), each as its own session: half watch the
   city wall, three in ten are county leaders on their own county (spread over the counties), two
   in ten are analysts on other views (a county's townships by risk, a township's cells, one
   source over the last hour). Every ``--refresh-s`` seconds (screens spread over the period)
   each sends the requests the browser sends per wall refresh, built from the server's own
   ``/_dash-dependencies`` (``bench/load.py``), and every sixth tick the response panel's;
3. ``--push-clients`` feeds (4, as in bench/ingest.py) push ``--push`` events/s in all to
   ``/api/ingest/<source>`` (batches of ``--push`` / 2 events, each feed every
   ``--push-clients`` / 2 seconds);
4. after ``--warmup-s`` it measures for ``--seconds``: one screen's refresh is the time until all
   of its tick's requests are answered;
5. with ``--bulk N``: N simulated events, written before the clock starts as one Parquet file
   per source, are dropped into the server's drop folder (a ``[[folder_feeds]]`` entry, scanned
   every 0.2 s) when the measured part begins; the line before the last gives the events/s from
   the drop until every file's report is in ``done/`` (bulk ingest through the running server
   while the screens watch).

The last line is the contract::

    viewers n=... refresh_p50_ms=... refresh_p95_ms=... errors=... push_eps=...

``errors``: failed requests (non-2xx, timeouts, pushes not fully accepted) during the measured
part; ``push_eps``: events acknowledged per second during it. Budget on the 2-core machine:
n=100, p95 < 500 ms, no errors, while pushing 1,000 events/s.
"""

from __future__ import annotations

import os
import sys

# bench/ holds scripts named like standard modules (bench/warnings.py): keep this folder off the
# import path so "import warnings" finds the standard library
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _HERE]

import argparse  # noqa: E402
import shutil  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from concurrent.futures import ThreadPoolExecutor  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import requests  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.host import HostMeter  # noqa: E402
from bench.load import (  # noqa: E402
    PASSWORD,
    BulkDrop,
    Pusher,
    Server,
    Stats,
    Viewer,
    WallCalls,
    region_points,
    sign_in,
)


def viewer_mix(n: int, counties: list[str], townships: list[str]) -> list[tuple[str, dict]]:
    """(user, view query) of each of ``n`` screens: the city wall, county leaders on their own
    county, analysts on other views."""
    analyst_views = [
        {"county": counties[0], "metric": "risk"},
        {"county": counties[1 % len(counties)], "township": townships[0]},
        {"metric": "police", "window": "1h"},
        {"county": counties[2 % len(counties)], "metric": "hotline", "window": "7d"},
    ]
    out = []
    for i in range(n):
        slot = i % 10
        if slot < 5:
            out.append(("wall", {}))
        elif slot < 8:
            k = (i // 10 * 3 + slot - 5) % len(counties)
            out.append((f"leader{k}", {}))
        else:
            k = (i // 10 * 2 + slot - 8) % len(analyst_views)
            out.append(("analyst", analyst_views[k]))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--viewers", type=int, default=100)
    parser.add_argument("--push", type=float, default=1000.0, help="pushed events per second")
    parser.add_argument(
        "--push-clients", type=int, default=4, help="feeds pushing at once (batches of push/2)"
    )
    parser.add_argument("--seconds", type=float, default=60.0, help="measured time")
    parser.add_argument("--warmup-s", type=float, default=15.0)
    parser.add_argument("--refresh-s", type=float, default=5.0, help="the wall's refresh period")
    parser.add_argument("--backfill-days", type=float, default=7.0)
    parser.add_argument(
        "--bulk",
        type=int,
        default=0,
        help="simulated events dropped as Parquet files into the server's drop folder once the "
        "screens are measured (bulk ingest while they watch)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args(argv)

    from data.region import load_region
    from layouts.wall import parse_view

    region = load_region("anshan")
    counties = region.level("county")["code"].tolist()
    townships = region.level("township")
    townships = townships[townships["code"].str.startswith(counties[1 % len(counties)])]
    folder = Path(tempfile.mkdtemp(prefix="onegrid-viewers-"))
    bulk = BulkDrop(folder, args.bulk) if args.bulk > 0 else None
    env = {}
    if bulk:
        (folder / "config.toml").write_text(bulk.config())
        env["ONEGRID_CONFIG"] = str(folder / "config.toml")
        t_gen = time.monotonic()
        written = bulk.prepare(region)
        print(f"bulk: {written:,} events written in {time.monotonic() - t_gen:.1f} s (not timed)")
    server = Server(folder, args.backfill_days, env=env)
    server.add_user()
    server.add_user("wall", "wall")
    server.add_user("analyst", "analyst")
    for k, code in enumerate(counties):
        server.add_user(f"leader{k}", "county_leader", area=code)
    first_start = server.start()
    print(
        f"server up in {first_start:.1f} s (back-fill of {args.backfill_days:g} days)", flush=True
    )
    try:
        stats = Stats()
        deps = requests.Session()
        deps.cookies.update(sign_in(server.url).cookies)
        calls = WallCalls(deps.get(server.url + "/_dash-dependencies", timeout=30).json())
        print(
            f"per refresh: {len(calls.tick)} request(s); every 6th also {len(calls.slow)}",
            flush=True,
        )
        mix = viewer_mix(args.viewers, counties, townships["code"].tolist())
        viewers = [
            Viewer(
                server.url,
                calls,
                args.refresh_s,
                stats,
                user=user,
                password=PASSWORD,
                view=parse_view(query),
            )
            for user, query in mix
        ]
        pusher = (
            Pusher(server.url, args.push, region_points(), stats, clients=args.push_clients)
            if args.push > 0
            else None
        )
        t_sign = time.monotonic()
        with ThreadPoolExecutor(4) as pool:  # a shift starting: screens sign in, a few at a time
            signed = sum(pool.map(lambda v: v.prepare(), viewers))
        print(
            f"{signed} of {len(viewers)} screens signed in and opened the wall in "
            f"{time.monotonic() - t_sign:.1f} s",
            flush=True,
        )
        if pusher:
            pusher.start()
        for v in viewers:
            v.start()
            time.sleep(args.refresh_s / max(1, len(viewers)))  # spread like real screens
        time.sleep(args.warmup_s)
        with stats.lock:
            stats.refresh_ms.clear()
            stats.push_ms.clear()
            stats.errors, stats.requests = 0, 0
            stats.first_errors.clear()
        host = HostMeter()
        pushed0, t0 = (pusher.count if pusher else 0), time.monotonic()
        cpu0 = time.process_time()
        load0 = os.getloadavg()[0]
        if bulk:
            bulk.start()
        time.sleep(args.seconds)
        bulk_result = bulk.result() if bulk else None
        with stats.lock:
            ms = list(stats.refresh_ms)
            errors, sent = stats.errors, stats.requests
            pushed = list(stats.push_ms)
        elapsed = time.monotonic() - t0
        client_cpu = time.process_time() - cpu0
        push_eps = ((pusher.count if pusher else 0) - pushed0) / elapsed
        stats.closed = True
        for v in viewers:
            v.stop.set()
        if pusher:
            pusher.stop.set()
        for text in stats.first_errors:
            print(f"error: {text}")
        p50 = float(np.percentile(ms, 50)) if ms else float("nan")
        p95 = float(np.percentile(ms, 95)) if ms else float("nan")
        print(
            f"refreshes {len(ms)} ({sent} requests, {sent / elapsed:.1f}/s) in {elapsed:.0f} s; "
            f"p99 {np.percentile(ms, 99) if ms else float('nan'):.0f} ms, max "
            f"{max(ms) if ms else float('nan'):.0f} ms; load average {load0:.2f} at the start, "
            f"{' '.join(f'{x:.2f}' for x in os.getloadavg())} at the end; server rss "
            f"{server.rss_mb():.0f} MB; this client's CPU {client_cpu / elapsed:.0%} of a core; "
            f"expected about {len(viewers) * elapsed / args.refresh_s:.0f} refreshes",
            flush=True,
        )
        if pushed:
            print(
                f"push requests: {len(pushed)} answered, p50 {np.percentile(pushed, 50):.0f} ms,"
                f" p95 {np.percentile(pushed, 95):.0f} ms, max {max(pushed):.0f} ms",
                flush=True,
            )
        if bulk_result:
            accepted, seconds, server_s = bulk_result
            print(
                f"bulk drop: {accepted:,} events accepted of {args.bulk:,} in "
                f"{len(bulk.files)} files, {accepted / seconds:,.0f} events/s from the drop to "
                f"the last report ({seconds:.1f} s; the feed's own ingest time {server_s:.1f} s, "
                f"{accepted / server_s:,.0f} events/s)",
                flush=True,
            )
        print(host.summary(), flush=True)
        print(
            f"viewers n={args.viewers} refresh_p50_ms={p50:.0f} refresh_p95_ms={p95:.0f} "
            f"errors={errors} push_eps={push_eps:.0f}",
            flush=True,
        )
    finally:
        server.terminate()
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
