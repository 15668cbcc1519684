"""Benchmark of the wall's live refresh with a big store (issue 3's budget).

    python bench/wall.py                       # 10,000,000 events (a few minutes)
    python bench/wall.py --events 1000000      # a quick run

History beyond the database (issue 12): with ``--archive-older-than-days D`` the days older than
D go straight into the Parquet archive (data/archive.py's layout, recorded in ``archive_parts``)
and only the recent days into ``events``; the rollups cover all of it. Same events per day, a
hundred times the history (docs/SCALE.md)::

    python bench/wall.py --events 1000000 --days 11 --db /tmp/wall1m.duckdb
    python bench/wall.py --events 100000000 --days 1100 --archive-older-than-days 90 \
        --db /tmp/wall100m.duckdb

How the store is filled: the default region (data/regions/anshan) in a fresh DuckDB file; the
simulator (``data.feeds.simulator.Simulator``, rates scaled up so ``--events`` fall in ``--days``
days ending now) generates one day at a time; each day's points are placed in their grid cells with
the pipeline's own placer and appended to ``events`` as an Arrow table (with every level's key from
the cell lineage); ``cell_counts`` is then built in one SQL ``GROUP BY`` over ``events`` -- the
same rows the ingest pipeline maintains batch by batch. Validation and de-duplication are skipped
for the bulk fill (the simulator's ids are unique); the live ticks go through the real pipeline.

What is measured, in one run:

* refresh: after ingesting each tick's new simulated events through ``Pipeline.ingest_frame``,
  the view's shared computation (``WallViews.state(..., fresh=True)``: map values, KPIs, ticker,
  warnings, done once per data version for every screen on the view; computed every tick, as
  the wall does once per refresh period even when no event arrived) plus the wall's one real
  refresh request through Dash's HTTP endpoint (``POST /_dash-update-component`` via the Flask
  test client, State = the values and part signatures the browser shows); server time p50/p95
  and the response bytes (only the changed cells and the parts that changed travel);
* the other per-tick reads (KPI counts, feed health, ticker) timed through the same queries;
* geometry: the bytes of ``/geo/grid.json`` (fetched once per browser);
* naive: the same view the naive way -- the window's events read, a geopandas spatial join with
  the cell polygons, a pandas group-by, and the whole figure (geometry embedded) to JSON.

The last line sums up: ``wall refresh_p50_ms=... refresh_p95_ms=... bytes_per_refresh=...
geometry_bytes=... naive_ms=... speedup=...``.
"""

from __future__ import annotations

import os
import sys

# bench/ holds scripts named like standard modules (bench/warnings.py): keep this folder off the
# import path so "import warnings" finds the standard library
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _HERE]

import argparse  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pyarrow as pa  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.load import apply_diff  # noqa: E402
from data import archive  # noqa: E402
from data.areas import cell_lineage, lineage_arrays  # noqa: E402
from data.feeds.simulator import DEFAULT_RATES, Simulator  # noqa: E402
from data.runtime import Runtime  # noqa: E402
from data.schema import BUCKET_SECONDS, EVENT_ID_HASH_SQL, EVENT_SEARCH_SQL  # noqa: E402
from data.settings import load_settings  # noqa: E402
from data.times import floor_bucket  # noqa: E402

DEFAULT_PER_DAY = sum(DEFAULT_RATES.values())


def fill(rt: Runtime, n_events: int, days: float, seed: int, archive_days: float = 0) -> int:
    """Bulk-fill ``events`` and ``cell_counts`` with about ``n_events`` simulated events.

    ``archive_days`` > 0: the days older than that (whole UTC days, as the archiver counts them)
    go straight into the Parquet archive (``COPY ... PARTITION_BY (date, source)``, the layout
    data/archive.py writes) instead of ``events``, and are recorded in ``archive_parts``; their
    5-minute rollups go into ``cell_counts`` like every other day's, as ingest would have left
    them. Returns the events made (database and archive).
    """
    # days start at UTC midnight and the last one ends on a bucket boundary, so each day's
    # rollups are whole buckets and each archived day is one partition
    now = floor_bucket(pd.Timestamp.now(tz="UTC"))
    start = (now - pd.Timedelta(days=days)).floor("D")
    scale = n_events / ((now - start) / pd.Timedelta(days=1) * DEFAULT_PER_DAY)
    rates = {s: r * scale for s, r in DEFAULT_RATES.items()}
    sim = Simulator.from_region(rt.region, seed=seed, rates=rates, timezone=rt.timezone)
    lin = lineage_arrays(cell_lineage(rt.db))
    cutoff = (now - pd.Timedelta(days=archive_days)).floor("D") if archive_days > 0 else None
    root = str(rt.archive.root).replace("'", "''")
    total = archived = 0
    t0 = time.perf_counter()
    for day in pd.date_range(start, now, freq="1D"):
        end = min(day + pd.Timedelta(days=1), now)
        if end <= day:
            continue
        tables = []
        for source, f in sim.generate_all(day, end).items():
            if not len(f):
                continue
            cells = rt.pipeline.placer.place(f["lon"].to_numpy(), f["lat"].to_numpy())
            ok = cells >= 0
            f, cells = f.loc[ok], cells[ok]
            n = len(f)
            tables.append(
                pa.table(
                    {
                        "source": pa.array([source] * n, pa.string()),
                        "source_event_id": pa.array(f["id"].astype(str).to_numpy(), pa.string()),
                        "category": pa.array(f["category"].to_numpy(dtype=object), pa.string()),
                        "severity": pa.array(f["severity"].astype("Int8"), pa.int8()),
                        "value": pa.array(
                            f["value"].to_numpy(dtype="float64"), pa.float64(), from_pandas=True
                        ),
                        "event_time": pa.array(f["time"], pa.timestamp("us", tz="UTC")),
                        "received_at": pa.array(f["time"], pa.timestamp("us", tz="UTC")),
                        "lon": pa.array(f["lon"].to_numpy(), pa.float64()),
                        "lat": pa.array(f["lat"].to_numpy(), pa.float64()),
                        "cell_key": pa.array(cells, pa.int32()),
                        "community_key": pa.array(lin["community_key"][cells], pa.int32()),
                        "township_key": pa.array(lin["township_key"][cells], pa.int32()),
                        "county_key": pa.array(lin["county_key"][cells], pa.int32()),
                        "city_key": pa.array(lin["city_key"][cells], pa.int32()),
                        "text": pa.array(f["text"].to_numpy(dtype=object), pa.string()),
                        "attributes": pa.nulls(n, pa.string()),
                        "feed": pa.array(["bench"] * n, pa.string()),
                    }
                )
            )
        batch = pa.concat_tables(tables).sort_by("event_time")
        to_archive = cutoff is not None and day < cutoff

        def write(con, batch=batch, to_archive=to_archive):
            con.register("bench_batch", batch)
            try:
                if to_archive:
                    # the events table's shape (every column, its types), then the archive's files
                    con.execute("CREATE OR REPLACE TEMP TABLE bench_day AS FROM events LIMIT 0")
                    con.execute("INSERT INTO bench_day BY NAME SELECT * FROM bench_batch")
                    con.execute(
                        f"COPY (SELECT {archive.FILE_COLUMNS}, source,"
                        " timezone('UTC', event_time)::DATE AS date FROM bench_day"
                        f" ORDER BY event_time) TO '{root}' (FORMAT parquet,"
                        " PARTITION_BY (date, source), FILENAME_PATTERN 'part-{uuid}', APPEND,"
                        " COMPRESSION zstd)"
                    )
                    con.execute("DROP TABLE bench_day")
                else:
                    # the search text and id digest derived as ingest derives them
                    con.execute(
                        f"INSERT INTO events BY NAME SELECT *, {EVENT_SEARCH_SQL} AS search,"
                        f" {EVENT_ID_HASH_SQL} AS id_hash FROM bench_batch"
                    )
                con.execute(
                    f"""
                    INSERT INTO cell_counts
                    SELECT time_bucket(INTERVAL {BUCKET_SECONDS} SECOND, event_time) AS bucket,
                           cell_key, source, count(*), coalesce(sum(severity), 0), max(value)
                    FROM bench_batch GROUP BY ALL ORDER BY bucket
                    """
                )
            finally:
                con.unregister("bench_batch")

        rt.db.write(write)
        total += batch.num_rows
        archived += batch.num_rows if to_archive else 0
        print(
            f"  {day:%Y-%m-%d}: {total:,} events, {archived:,} archived"
            f" ({time.perf_counter() - t0:.0f} s)",
            flush=True,
        )
    if archived:
        parts = rt.archive.adopt()
        print(f"archive: {len(parts):,} files, {sum(p['bytes'] for p in parts) / 2**20:,.0f} MB")
    rt.db.checkpoint()
    return total


def measure_refresh(app, rt, sim, view: dict, ticks: int, tick_s: float, clock: dict) -> dict:
    """Ingest each tick's simulated events, then time the map's refresh request.

    ``clock["t"]``: the simulated time the live feed has reached (carried from view to view, so
    every tick brings new events).
    """
    from callbacks import wall as cb
    from layouts import ids

    client = app.server.test_client()
    # the wall's ticks are 5 s apart, longer than the coalescing; these come faster, so it is
    # off (the feed health the views share is then kept 0.5 s, not 2 s)
    rt.wall.coalesce_s = 0
    store = cb.build_map(rt.wall.state(view, rt.scope, fresh=True), "zh")["store"]
    shown = None
    times, sizes, changed = [], [], []
    t = clock["t"]
    for _ in range(ticks):
        nxt = t + pd.Timedelta(seconds=tick_s)
        for source, frame in sim.generate_all(t, nxt).items():
            if len(frame):
                frame = frame.copy()
                frame["id"] = "live-" + frame["id"].astype(str)
                rt.pipeline.ingest_frame(source, frame, feed="bench")
        t = clock["t"] = nxt
        body = cb.refresh_request_body(store, view, shown=shown)
        # a tick is a new state on the wall even when no event arrived (its windows slide with
        # the clock, and a state lives one refresh period): at this history's density most
        # 5-second ticks bring no event, and an unmoved version was served from memory, so
        # the figures mixed computations with look-ups of a few ms
        rt.wall.bump()
        t0 = time.perf_counter()
        rt.wall.state(view, rt.scope, fresh=True)  # the view's computation, shared by its screens
        resp = client.post("/_dash-update-component", json=body)
        times.append((time.perf_counter() - t0) * 1000)
        if resp.status_code == 204:
            sizes.append(0)
            changed.append(0)
            continue
        if resp.status_code != 200:
            raise RuntimeError(f"refresh answered {resp.status_code}: {resp.data[:300]!r}")
        out = resp.get_json()["response"]
        shown = out.get(ids.WALL_SHOWN, {}).get("data", shown)
        diff = out.get(ids.MAP_DIFF, {}).get("data") or {}
        sizes.append(len(resp.data))
        changed.append(len(diff.get("i", diff.get("z", []))))
        if diff:
            store = apply_diff(store, diff)
    return {"times": times, "sizes": sizes, "changed": changed}


def measure_other_reads(rt, ticks: int) -> list[float]:
    """KPI counts, feed health and the ticker, as the per-tick callbacks read them."""
    from data import queries
    from data.events import SOURCES

    out = []
    for _ in range(ticks):
        now = pd.Timestamp.now(tz="UTC")
        t0 = time.perf_counter()
        midnight = now.tz_convert(rt.timezone).normalize().tz_convert("UTC")
        week = pd.Timedelta(days=7)
        queries.counts_by_source_spans(
            rt.db,
            rt.scope,
            [(midnight, now), (midnight - week, now - week), (now - pd.Timedelta(hours=1), now)],
        )
        queries.feed_health(rt.db, now=now, stale_after={s: 300.0 for s in SOURCES})
        queries.significant_events(rt.db, rt.scope, since=now - pd.Timedelta(hours=24))
        out.append((time.perf_counter() - t0) * 1000)
    return out


def naive_refresh(rt, hours: float = 24) -> tuple[float, int]:
    """The naive way: the window's events, a spatial join, a group-by, the whole figure to JSON."""
    import geopandas as gpd
    import plotly.graph_objects as go

    from data.geometry import level_geojson
    from layouts import figures

    t0 = time.perf_counter()
    since = pd.Timestamp.now(tz="UTC") - pd.Timedelta(hours=hours)
    ev = rt.db.query_df(
        "SELECT lon, lat FROM events WHERE event_time >= ?", [since.to_pydatetime()]
    )
    cells = rt.region.cells()[["key", "geometry"]]
    points = gpd.GeoDataFrame(geometry=gpd.points_from_xy(ev["lon"], ev["lat"]), crs="EPSG:4326")
    joined = gpd.sjoin(points, cells, predicate="within", how="inner")
    counts = joined.groupby("key").size()
    z = counts.reindex(cells["key"], fill_value=0)
    fig = go.Figure(
        go.Choroplethmap(
            geojson=level_geojson(rt.region, "grid"),
            locations=cells["key"].tolist(),
            z=z.tolist(),
            featureidkey="id",
            colorscale=figures.EVENTS_SCALE,
        )
    )
    fig.update_layout(map={"style": figures.offline_style()})
    size = len(fig.to_json())
    return (time.perf_counter() - t0) * 1000, size


def _stored(rt) -> tuple[int, int]:
    """Events in the database and in the archive."""
    in_db = rt.db.query_one("SELECT count(*) FROM events")[0]
    archived = rt.db.query_one("SELECT coalesce(sum(rows), 0) FROM archive_parts")[0]
    return int(in_db), int(archived)


def _mb(path: Path) -> int:
    """Megabytes on disk of a file (with its WAL) or a folder."""
    path = Path(path)
    files = list(path.rglob("*")) if path.is_dir() else [path, Path(f"{path}.wal")]
    return round(sum(f.stat().st_size for f in files if f.is_file()) / 2**20)


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values, dtype=float), q))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Benchmark the wall's live refresh.")
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--days", type=float, default=90.0, help="history span ending now")
    parser.add_argument("--ticks", type=int, default=40, help="refreshes timed per view")
    parser.add_argument("--tick-s", type=float, default=5.0, help="simulated seconds per tick")
    parser.add_argument("--db", help="DuckDB file (default: a temporary one)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--archive-older-than-days",
        type=float,
        default=0.0,
        help="days older than this go straight into the Parquet archive (0: none archived)",
    )
    args = parser.parse_args(argv)

    import logging
    import warnings

    logging.disable(logging.WARNING)
    warnings.filterwarnings("ignore")
    from app import create_app

    tmp = tempfile.TemporaryDirectory()
    db = Path(args.db) if args.db else Path(tmp.name) / "wall.duckdb"
    settings = load_settings(
        db=db,
        region="anshan",
        simulator=False,
        auth=False,
        archive_after_days=args.archive_older_than_days,
    )
    rt = Runtime(settings)
    try:
        in_db, archived = _stored(rt)
        have = in_db + archived
        if have == 0:
            print(f"filling {db} with ~{args.events:,} events over {args.days:g} days ...")
            t0 = time.perf_counter()
            have = fill(rt, args.events, args.days, args.seed, args.archive_older_than_days)
            print(f"filled {have:,} events in {time.perf_counter() - t0:.0f} s")
            in_db, archived = _stored(rt)
        n_rows = rt.db.query_one("SELECT count(*) FROM cell_counts")[0]
        print(
            f"store: {have:,} events ({in_db:,} in the database, {archived:,} archived),"
            f" {n_rows:,} cell_counts rows, {len(rt.cell_keys):,} cells;"
            f" database {_mb(db)} MB, archive {_mb(rt.archive.root)} MB"
        )
        app = create_app(runtime=rt)
        scale = have / (args.days * DEFAULT_PER_DAY)
        live = Simulator.from_region(
            rt.region,
            seed=args.seed + 1,
            rates={s: r * scale for s, r in DEFAULT_RATES.items()},
            timezone=rt.timezone,
        )
        geometry_bytes = len(app.server.test_client().get("/geo/grid.json").data)

        views = {
            "all/24h (default wall)": {"metric": "all", "window": "24h"},
            "all/1h": {"metric": "all", "window": "1h"},
            "traffic/7d": {"metric": "traffic", "window": "7d"},
            "risk/24h": {"metric": "risk", "window": "24h"},
            "county 210381 townships/24h": {"county": "210381", "window": "24h"},
        }
        results = {}
        clock = {"t": pd.Timestamp.now(tz="UTC")}
        for name, view in views.items():
            full = {
                "county": None,
                "township": None,
                "cell": None,
                "level": None,
                "tour": 0,
                "metric": "all",
                "window": "24h",
                **view,
            }
            ticks = args.ticks if name.startswith("all/24h") else max(args.ticks // 4, 5)
            measure_refresh(app, rt, live, full, 2, args.tick_s, clock)  # warm up
            r = measure_refresh(app, rt, live, full, ticks, args.tick_s, clock)
            results[name] = r
            budget = [30 * c + 2048 for c in r["changed"]]
            print(
                f"refresh {name:30s} p50 {pct(r['times'], 50):6.1f} ms  p95 "
                f"{pct(r['times'], 95):6.1f} ms  bytes mean {statistics.mean(r['sizes']):6.0f} "
                f"(changed cells mean {statistics.mean(r['changed']):.1f}; within budget "
                f"{sum(s <= b for s, b in zip(r['sizes'], budget, strict=True))}/{len(budget)})"
            )
        other = measure_other_reads(rt, args.ticks)
        print(
            f"other per-tick reads (KPIs, feed health, ticker): p50 {pct(other, 50):.1f} ms "
            f"p95 {pct(other, 95):.1f} ms"
        )
        print(f"geometry /geo/grid.json: {geometry_bytes:,} bytes (sent once)")
        naive = [naive_refresh(rt) for _ in range(3)]
        naive_ms = statistics.median(n[0] for n in naive)
        print(f"naive (sjoin + groupby + whole figure): {naive_ms:.0f} ms, {naive[0][1]:,} bytes")

        main_r = results["all/24h (default wall)"]
        p50, p95 = pct(main_r["times"], 50), pct(main_r["times"], 95)
        bytes_per = statistics.mean(main_r["sizes"])
        print(
            json.dumps(
                {
                    "events": have,
                    "archived": archived,
                    "ticks": len(main_r["times"]),
                    "tick_s": args.tick_s,
                },
                separators=(",", ":"),
            )
        )
        print(
            f"wall refresh_p50_ms={p50:.1f} refresh_p95_ms={p95:.1f} "
            f"bytes_per_refresh={bytes_per:.0f} geometry_bytes={geometry_bytes} "
            f"naive_ms={naive_ms:.0f} speedup={naive_ms / p50:.0f}"
        )
    finally:
        rt.stop()
        tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
