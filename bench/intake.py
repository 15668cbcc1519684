"""Hotline intake benchmark: the writer time of the 12345 intake per push-size batch.

    python bench/intake.py                  # 40 batches of 500 simulated hotline events
    python bench/intake.py --batches 80 --size 500

A fresh database file on the default region (anshan) with the real runtime (pipeline plus the
cases service's insert hook, added as data/runtime.py adds it but timed; simulator, warnings
and feeds off).
Simulated hotline events (generated before the clock starts) go through the pipeline in batches
of ``--size``, one after the other, as the push API's writer receives them. Each batch's intake
hook (``CaseService.intake_rows``: the cases, transitions, notifications and the events' case
ids, inside the writer's transaction) is timed on its own, and so is the whole batch.
The last line is the summary:
``intake batches=... p50_ms=... p95_ms=... batch_p50_ms=... eps=...``
"""

from __future__ import annotations

import os
import sys

# bench/warnings.py is named like the standard library's module: keep this folder off the path
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _HERE]

import argparse  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from data.feeds.simulator import Simulator  # noqa: E402
from data.runtime import Runtime  # noqa: E402
from data.settings import load_settings  # noqa: E402


def hotline_batches(region, batches: int, size: int, start: pd.Timestamp) -> list[pd.DataFrame]:
    """``batches`` frames of ``size`` simulated hotline events (one simulated working day)."""
    need = batches * size
    sim = Simulator.from_region(region, seed=7, rates={"hotline": need * 1.5}, episodes=True)
    frame = sim.generate("hotline", start, start + pd.Timedelta(days=1))
    if len(frame) < need:
        raise SystemExit(f"the simulator gave {len(frame)} hotline events, {need} needed")
    return [frame.iloc[i * size : (i + 1) * size].reset_index(drop=True) for i in range(batches)]


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batches", type=int, default=40)
    ap.add_argument("--size", type=int, default=500)
    ap.add_argument("--region", default="anshan")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="onegrid-intake-") as tmp:
        settings = load_settings(
            db=Path(tmp) / "intake.duckdb",
            region=args.region,
            simulator=False,
            warnings=False,
            cases_from_hotline=False,  # the timed hook below is the intake
            users_file=Path(tmp) / "users.toml",
            secret_key="bench",
            auth=False,
        )
        rt = Runtime(settings)
        try:
            svc = rt.cases
            hook_ms: list[float] = []

            def timed(con, events, prepared):
                t0 = time.perf_counter()
                try:
                    return svc.intake_rows(con, events, prepared)
                finally:
                    hook_ms.append((time.perf_counter() - t0) * 1000)

            # the service's own hook, timed: added here as data/runtime.py would add it
            rt.pipeline.add_insert_hook(timed)
            start = pd.Timestamp("2026-11-23 00:00", tz="Asia/Shanghai").tz_convert("UTC")
            frames = hotline_batches(rt.region, args.batches + 3, args.size, start)
            now = start + pd.Timedelta(days=1, minutes=1)
            # warm-up (first statements compile, caches fill): not counted
            for i, f in enumerate(frames[:3]):
                rt.pipeline.ingest_frame("hotline", f, now=now + pd.Timedelta(seconds=i))
            hook_ms.clear()
            batch_ms = []
            events = 0
            t_all = time.perf_counter()
            for i, f in enumerate(frames[3:]):
                t0 = time.perf_counter()
                res = rt.pipeline.ingest_frame("hotline", f, now=now + pd.Timedelta(seconds=10 + i))
                batch_ms.append((time.perf_counter() - t0) * 1000)
                events += res.accepted
            elapsed = time.perf_counter() - t_all
            cases = rt.db.query_one("SELECT count(*) FROM cases")[0]
            unlinked = rt.db.query_one(
                "SELECT count(*) FROM events WHERE source = 'hotline' AND case_id IS NULL"
            )[0]
        finally:
            rt.stop()
    h = np.array(hook_ms)
    b = np.array(batch_ms)
    print(f"cases={cases} hotline events without a case={unlinked}")
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(
        f"intake batches={len(h)} p50_ms={np.percentile(h, 50):.1f} "
        f"p95_ms={np.percentile(h, 95):.1f} batch_p50_ms={np.percentile(b, 50):.1f} "
        f"eps={events / elapsed:.0f}"
    )


if __name__ == "__main__":
    main()
