"""Figures that unit tests used to assert as time budgets (a busy machine failed them): printed
here instead, where a slow run is a measurement, not a failed test.

    python bench/budgets.py            # all figures (the Beijing one needs ../shared/realdata)

Figures:
- ``beijing_s``: mapping the whole Beijing PRSA set (420,768 rows x 6 pollutants) with
  ``map_file("beijing_prsa", ...)`` (was ``tests/test_mapping.py::test_beijing_whole_set``, < 15 s).
- ``simulator_s``: the simulator generating one day at 200,000 police + 100,000 environment
  events per day (was ``tests/test_simulator.py::test_many_events_vectorised``, < 30 s).
- ``hotline_s``: 2,000 hotline events ingested into a live runtime, each becoming a case
  (was ``tests/test_cases.py::test_every_hotline_event_becomes_a_case``, < 10 s).
The last line is the summary: ``budgets beijing_s=... simulator_s=... hotline_s=...``.
"""

from __future__ import annotations

import os
import sys

# bench/warnings.py is named like the standard library's module: keep this folder off the path
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _HERE]

import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import pandas as pd  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from data.feeds.mapping import map_file  # noqa: E402
from data.feeds.simulator import Simulator  # noqa: E402
from data.region import load_region  # noqa: E402

BEIJING = ROOT.parent / "shared" / "realdata" / "beijing" / "prsa_air_quality"
START = pd.Timestamp("2026-11-23 00:00", tz="Asia/Shanghai").tz_convert("UTC")


def beijing_seconds() -> float | None:
    """Seconds to map the whole Beijing set; None without ../shared/realdata."""
    if not BEIJING.exists():
        return None
    t0 = time.perf_counter()
    rows = sum(len(f) for f in map_file("beijing_prsa", BEIJING))
    seconds = time.perf_counter() - t0
    print(f"Beijing PRSA whole set: {rows:,} rows mapped in {seconds:.1f} s")
    return seconds


def simulator_seconds(region) -> float:
    """Seconds for the simulator to generate one day at 300,000 events a day."""
    sim = Simulator.from_region(region, seed=9, rates={"police": 200_000, "environment": 100_000})
    t0 = time.perf_counter()
    frames = sim.generate_all(START, START + pd.Timedelta(days=1))
    seconds = time.perf_counter() - t0
    print(f"simulator: {sum(map(len, frames.values())):,} events for one day in {seconds:.1f} s")
    return seconds


def hotline_seconds(workdir: Path) -> float:
    """Seconds to ingest 2,000 hotline events into a live runtime (each becomes a case)."""
    from data.runtime import Runtime
    from data.settings import load_settings

    rt = Runtime(load_settings(db=workdir / "budgets.duckdb", simulator=False))
    try:
        sim = Simulator.from_region(rt.region, seed=3, rates={"hotline": 2_000})
        frame = sim.generate("hotline", START, START + pd.Timedelta(days=1)).head(2_000)
        now = frame["time"].max() + pd.Timedelta(minutes=1)
        t0 = time.perf_counter()
        res = rt.pipeline.ingest_frame("hotline", frame, now=now)
        seconds = time.perf_counter() - t0
        cases = rt.db.query_one("SELECT count(*) FROM cases")[0]
    finally:
        rt.stop()
    print(f"hotline: {res.accepted:,} events -> {cases:,} cases in {seconds:.2f} s")
    return seconds


def main() -> None:
    region = load_region()
    beijing = beijing_seconds()
    simulator = simulator_seconds(region)
    with tempfile.TemporaryDirectory() as tmp:
        hotline = hotline_seconds(Path(tmp))
    shown = "n/a" if beijing is None else f"{beijing:.1f}"
    print(f"budgets beijing_s={shown} simulator_s={simulator:.1f} hotline_s={hotline:.2f}")


if __name__ == "__main__":
    main()
