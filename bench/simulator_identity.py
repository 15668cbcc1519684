"""Same seed, same events: compare the simulator of a base commit with the working tree's.

    python bench/simulator_identity.py --base b39d864     # the commit before the package split

Exports ``--base`` with ``git archive`` into a temporary folder, has both trees generate a few
days of every source for three seeds and rates (plus episodes, hotspots and a few live-feed ticks
on a fixed clock) on the default region, and compares the frames byte for byte (parquet). Used
when the simulator is refactored: a refactor must not change a single event.

Last line (a contract): ``simulator identical=<True|False> rows=<n>``
"""

from __future__ import annotations

import os
import sys

# bench/warnings.py is named like the standard library's module: keep this folder off the path
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _HERE]

import argparse  # noqa: E402
import io  # noqa: E402
import pickle  # noqa: E402
import subprocess  # noqa: E402
import tarfile  # noqa: E402
import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402

import pandas as pd  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]

# run inside each tree (its own ``data`` package); prints a pickle of the outputs to stdout
DUMP = r"""
import pickle, sys
import pandas as pd
from data.region import load_region
from data.feeds.simulator import Simulator, SimulatorFeed

region = load_region("anshan")
out = {}
cases = [
    (0, "2024-01-15", 3, None),
    (7, "2024-07-01", 2, {"police": 500, "hotline": 50}),
    (42, "2025-11-28", 4, None),
]
for seed, start, days, rates in cases:
    sim = Simulator.from_region(region, seed=seed, rates=rates)
    s = pd.Timestamp(start, tz="Asia/Shanghai")
    e = s + pd.Timedelta(days=days)
    out[(seed, "all")] = {k: f.to_parquet() for k, f in sim.generate_all(s, e).items()}
    out[(seed, "eps")] = repr(sim.episodes(s, e))
    out[(seed, "hot")] = repr({k: v.tolist() for k, v in sim.hotspots.items()})
    got, t = [], [s]
    feed = SimulatorFeed(sim, lambda src, f: got.append((src, f.to_parquet())), clock=lambda: t[0])
    for i in range(5):
        t[0] = s + pd.Timedelta(minutes=37 * (i + 1))
        feed.tick()
    out[(seed, "feed")] = got
sys.stdout.buffer.write(pickle.dumps(out))
"""


def dump(tree: Path) -> dict:
    """The outputs of the simulator in ``tree``."""
    res = subprocess.run(
        [sys.executable, "-c", DUMP], cwd=tree, env={"PYTHONPATH": str(tree)}, capture_output=True
    )
    if res.returncode != 0:
        raise SystemExit(f"{tree}: {res.stderr.decode()[-2000:]}")
    return pickle.loads(res.stdout)


def rows(out: dict) -> int:
    """Events in the outputs."""
    n = 0
    for (_seed, what), v in out.items():
        frames = v.values() if what == "all" else [f for _s, f in v] if what == "feed" else []
        n += sum(len(pd.read_parquet(io.BytesIO(f))) for f in frames)
    return n


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--base", required=True, help="git commit to compare with (e.g. main)")
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        archive = subprocess.run(
            ["git", "archive", args.base], cwd=ROOT, capture_output=True, check=True
        ).stdout
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(tmp, filter="data")
        old = dump(Path(tmp))
    new = dump(ROOT)
    diff = [k for k in old.keys() | new.keys() if old.get(k) != new.get(k)]
    for k in sorted(diff, key=str):
        print(f"differs: seed {k[0]} {k[1]}")
    print(f"simulator identical={not diff} rows={rows(new)}")
    return 1 if diff else 0


if __name__ == "__main__":
    sys.exit(main())
