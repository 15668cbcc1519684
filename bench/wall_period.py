"""The wall on a past period against the live wall: the shared computation of one view
(``WallViews.state(..., fresh=True)`` after a new data version) for the live 24 h and 7 d views
and for a past day and a past week, at their end and at a replay position, plus the bytes and
server time of one replay step through Dash's HTTP endpoint (the slider moved one step on: the
map's changed cells, the legend and the parts that changed travel, not the figure).

    python bench/wall_period.py --db /tmp/wall1m.duckdb   # filled by bench/wall.py's fill if empty

The store is filled like bench/wall.py (the default region, the simulator, ``--events`` over
``--days`` days ending now) when it holds no event.
"""

from __future__ import annotations

import os
import sys

# bench/ holds scripts named like standard modules (bench/warnings.py): keep this folder off the
# import path so "import warnings" finds the standard library
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _HERE]

import argparse  # noqa: E402
import logging  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402

import pandas as pd  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.wall import fill  # noqa: E402
from data.runtime import Runtime  # noqa: E402
from data.settings import load_settings  # noqa: E402


def views(tz: str) -> dict[str, dict]:
    """The views timed: live, and a past day and week (local dates) at their end and inside."""
    today = pd.Timestamp.now(tz=tz).normalize()

    def day(n: int) -> str:
        return (today - pd.Timedelta(days=n)).strftime("%Y-%m-%d")

    return {
        "live 24h": {},
        "live 7d": {"window": "7d"},
        "past day (end)": {"since": day(5), "until": day(4)},
        "past day at 12:00": {"since": day(5), "until": day(4), "at": "144"},
        "past week (end)": {"since": day(9), "until": day(2)},
        "past week at mid": {"since": day(9), "until": day(2), "at": "84"},
    }


def replay_step(rt, view: dict, steps: int = 5) -> tuple[int, float]:
    """Median bytes and server ms of a replay step (the slider moved one step on)."""
    from app import create_app
    from bench.load import apply_diff
    from callbacks import wall as cb

    client = create_app(runtime=rt).server.test_client()
    # the view opened (whole), then the slider moved step by step: what the browser shows is
    # carried from answer to answer, as the page does
    body = cb.refresh_request_body(None, dict(view, at="84"), "zh", catalogue=rt.catalogue)
    body["changedPropIds"] = ["view.data"]
    first = client.post("/_dash-update-component", json=body).get_json()["response"]
    store, shown = first["map-z"]["data"], first["wall-shown"]["data"]
    sizes, times = [], []
    for i in range(steps):
        view = dict(view, at=str(85 + i))
        body = cb.refresh_request_body(
            store, view, "zh", n=i + 1, shown=shown, catalogue=rt.catalogue
        )
        body["changedPropIds"] = ["view.data"]
        t0 = time.perf_counter()
        r = client.post("/_dash-update-component", json=body)
        times.append((time.perf_counter() - t0) * 1000)
        sizes.append(len(r.data))
        if r.status_code == 200:
            got = r.get_json()["response"]
            shown = got.get("wall-shown", {}).get("data", shown)
            diff = got.get("map-diff", {}).get("data")
            if diff is not None:
                store = apply_diff(store, diff)
    return int(statistics.median(sizes)), statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="The wall on a past period against live.")
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--days", type=float, default=11.0)
    parser.add_argument("--runs", type=int, default=15, help="computations timed per view")
    parser.add_argument("--db", help="DuckDB file (default: a temporary one)")
    args = parser.parse_args(argv)
    logging.disable(logging.WARNING)
    warnings.filterwarnings("ignore")
    tmp = tempfile.TemporaryDirectory()
    db = Path(args.db) if args.db else Path(tmp.name) / "wall.duckdb"
    rt = Runtime(load_settings(db=db, region="anshan", simulator=False, auth=False))
    try:
        if rt.db.query_one("SELECT count(*) FROM events")[0] == 0:
            fill(rt, args.events, args.days, 7)
        print(f"store: {rt.db.query_one('SELECT count(*) FROM events')[0]:,} events")
        all_views = views(rt.timezone)
        for name, view in all_views.items():
            rt.wall.state(view, rt.scope, fresh=True)
            ms = []
            for _ in range(args.runs):
                rt.wall.bump()
                t0 = time.perf_counter()
                rt.wall.state(view, rt.scope, fresh=True)
                ms.append((time.perf_counter() - t0) * 1000)
            print(f"{name:20s} p50={statistics.median(ms):7.1f} ms  max={max(ms):7.1f} ms")
        size, ms = replay_step(rt, all_views["past week at mid"])
        print(f"replay step: {size:,} bytes, server p50 {ms:.0f} ms")
    finally:
        rt.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
