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
cells and categories, then the ``cell_counts`` aggregate, as ingest would leave them); median of 5.

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

import pandas as pd  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from data.region import load_region  # noqa: E402
from data.store import Database  # noqa: E402
from data.warnings.accuracy import build_big_store, run_accuracy, time_evaluation  # noqa: E402
from data.warnings.rules import load_rules  # noqa: E402


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
