"""Ingest benchmark: bulk pipeline, raw DuckDB append, push API; prints figures.

    python bench/ingest.py                 # 1,000,000 simulated events on the default region
    python bench/ingest.py --events 200000 --push-events 20000

Bulk: simulated events (generated before the clock starts) go through the whole pipeline
(validate, de-duplicate, place, commit) into a fresh database file, in chunks as a replay or a
folder drop sends them (``data.ingest.BULK_ROWS`` rows each). Raw: the same rows, already
placed, appended in batches of the same size to an identical table in another file: the
limit of this machine. Push: the real server
(``app.py``, a separate process) receives batches of 500 over HTTP from 4 client threads.
The last line is the summary (a contract):
``ingest bulk_eps=... raw_eps=... ratio=... push_eps=... peak_mb=...``
"""

from __future__ import annotations

import os
import sys

# bench/warnings.py is named like the standard library's module: keep this folder off the path
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _HERE]

import argparse  # noqa: E402
import json  # noqa: E402
import resource  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import pandas as pd  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from data.feeds.simulator import DEFAULT_RATES, Simulator  # noqa: E402
from data.ingest import BULK_ROWS, Pipeline  # noqa: E402
from data.region import load_region  # noqa: E402
from data.store import Database  # noqa: E402
from harness.ports import free_port  # noqa: E402

TOKEN = "bench-token"


def simulated_events(region, n: int, start: pd.Timestamp) -> list[tuple[str, pd.DataFrame]]:
    """About ``n`` simulated events over one day, all sources, as (source, frame) chunks."""
    total = sum(DEFAULT_RATES.values())
    rates = {s: r * n / total for s, r in DEFAULT_RATES.items()}
    sim = Simulator.from_region(region, seed=7, rates=rates, episodes=True)
    chunks = []
    for hour in range(24):
        a = start + pd.Timedelta(hours=hour)
        for source, frame in sim.generate_all(a, a + pd.Timedelta(hours=1)).items():
            if len(frame):
                chunks.append((source, frame))
    return chunks


def bench_bulk(region, chunks, workdir: Path) -> tuple[float, int, Pipeline, Database]:
    """End-to-end events/s through the pipeline into a new database file."""
    db = Database(workdir / "bulk.duckdb")
    pipeline = Pipeline.for_region(db, region)
    now = max(f["time"].max() for _, f in chunks) + pd.Timedelta(minutes=1)
    batches = _rechunk(chunks, BULK_ROWS)
    t0 = time.perf_counter()
    accepted = pipeline.ingest_frames(batches, now=now).accepted
    elapsed = time.perf_counter() - t0
    return accepted / elapsed, accepted, pipeline, db


def _rechunk(chunks, size: int):
    """Group the hourly frames per source into batches of about ``size`` rows."""
    by_source: dict[str, list[pd.DataFrame]] = {}
    for source, frame in chunks:
        by_source.setdefault(source, []).append(frame)
    out = []
    for source, frames in by_source.items():
        whole = pd.concat(frames, ignore_index=True)
        for i in range(0, len(whole), size):
            out.append((source, whole.iloc[i : i + size]))
    return out


def bench_raw(db: Database, workdir: Path) -> float:
    """Rows/s appending the stored rows again to a constraint-free table in another file."""
    rows = db.cursor().sql("SELECT * FROM events").to_arrow_table()
    raw = Database(workdir / "raw.duckdb")
    raw.write(lambda con: con.execute("CREATE TABLE e AS SELECT * FROM events LIMIT 0"))
    step = BULK_ROWS
    t0 = time.perf_counter()
    for i in range(0, rows.num_rows, step):
        part = rows.slice(i, step)
        raw.write(lambda con, part=part: con.execute("INSERT INTO e SELECT * FROM part"))
    elapsed = time.perf_counter() - t0
    raw.close()
    return rows.num_rows / elapsed


def bench_push(chunks, n: int, workdir: Path, batch: int = 500, clients: int = 4) -> float:
    """Events/s through POST /api/ingest/<source> on the real server, batches of ``batch``."""
    import requests

    port = free_port()
    env = os.environ | {
        "ONEGRID_DB": str(workdir / "push.duckdb"),
        "ONEGRID_SIMULATOR": "off",
        "ONEGRID_INGEST_TOKEN": TOKEN,
        "ONEGRID_READ_TOKEN": TOKEN,
        "ONEGRID_USERS_FILE": str(workdir / "users.toml"),
    }
    proc = subprocess.Popen(
        [sys.executable, "app.py", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_up(port)
        bodies = _push_bodies(chunks, n, batch)
        url = f"http://127.0.0.1:{port}/api/ingest/"
        accepted = [0] * clients

        def work(k: int) -> None:
            with requests.Session() as s:
                s.headers["Authorization"] = f"Bearer {TOKEN}"
                s.headers["Content-Type"] = "application/json"
                for source, body in bodies[k::clients]:
                    r = s.post(url + source, data=body, timeout=60)
                    r.raise_for_status()
                    accepted[k] += r.json()["accepted"]

        threads = [threading.Thread(target=work, args=(k,)) for k in range(clients)]
        t0 = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - t0
        return sum(accepted) / elapsed
    finally:
        proc.terminate()
        proc.wait(timeout=60)


def _push_bodies(chunks, n: int, batch: int) -> list[tuple[str, bytes]]:
    """JSON bodies prepared before timing, so the client's encoding is not measured."""
    bodies, left = [], n
    for source, frame in chunks:
        if left <= 0:
            break
        frame = frame.iloc[:left]
        left -= len(frame)
        recs = []
        for r in frame.itertuples(index=False):
            recs.append(
                {
                    "id": r.id,
                    "time": r.time.isoformat(),
                    "lon": r.lon,
                    "lat": r.lat,
                    "category": r.category,
                    "severity": None if pd.isna(r.severity) else int(r.severity),
                    "value": None if pd.isna(r.value) else float(r.value),
                    "text": r.text,
                    "attributes": json.loads(r.attributes) if isinstance(r.attributes, str) else {},
                }
            )
        for i in range(0, len(recs), batch):
            bodies.append((source, json.dumps({"events": recs[i : i + batch]}).encode()))
    return bodies


def _wait_up(port: int) -> None:
    import requests

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            auth = {"Authorization": f"Bearer {TOKEN}"}
            if requests.get(f"http://127.0.0.1:{port}/api/feeds", headers=auth, timeout=1).ok:
                return
        except requests.ConnectionError:
            time.sleep(0.25)
    raise RuntimeError("server did not start")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=1_000_000, help="bulk events (default 1 M)")
    ap.add_argument("--push-events", type=int, default=100_000, help="events pushed over HTTP")
    ap.add_argument("--region", default="anshan")
    args = ap.parse_args()
    region = load_region(args.region)
    start = pd.Timestamp("2026-11-20T00:00:00Z")
    with tempfile.TemporaryDirectory(prefix="onegrid-bench-") as tmp:
        workdir = Path(tmp)
        t0 = time.perf_counter()
        chunks = simulated_events(region, args.events, start)
        n = sum(len(f) for _, f in chunks)
        print(f"generated {n:,} simulated events in {time.perf_counter() - t0:.1f} s (not timed)")
        bulk_eps, accepted, pipeline, db = bench_bulk(region, chunks, workdir)
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(
            f"bulk: {accepted:,} accepted of {n:,}, {bulk_eps:,.0f} events/s end to end "
            f"(lattice boundary share {pipeline.placer.boundary_share:.1%})"
        )
        raw_eps = bench_raw(db, workdir)
        print(f"raw DuckDB append of the same rows: {raw_eps:,.0f} rows/s")
        db.close()
        push_eps = bench_push(chunks, args.push_events, workdir)
        print(f"push API: {push_eps:,.0f} events/s (batches of 500, 4 clients)")
        print(f"peak memory of the bulk process: {peak_mb:,.0f} MB")
        print(
            f"ingest bulk_eps={bulk_eps:.0f} raw_eps={raw_eps:.0f} "
            f"ratio={bulk_eps / raw_eps:.3f} push_eps={push_eps:.0f} peak_mb={peak_mb:.0f}"
        )


if __name__ == "__main__":
    main()
