"""The archive is the hand-off to a distributed engine (issue 12, item 4): Apache Spark reads it.

Spark (pyspark in local mode on Debian's OpenJDK 17, installed by test.sh) reads the archive
folder as a Hive-partitioned Parquet table and must count, per day and source, exactly what
OneGrid counted before the events left the database. No network: local master, bound to
127.0.0.1, no web UI.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pandas as pd
import pytest

from data import archive, queries
from tests.support.archive import ingest_history

DAY = pd.Timedelta(days=1)
# about half a minute, most of it the JVM starting; it runs in .ci/run (bash test.sh) like the rest
pytestmark = pytest.mark.slow


def _java_or_skip() -> None:
    if shutil.which("java"):
        return
    msg = (
        "JAVA IS MISSING: the Spark hand-off test cannot run. test.sh installs Debian's "
        "openjdk-17-jre-headless; install it (apt-get install openjdk-17-jre-headless)."
    )
    if os.environ.get("CI"):
        pytest.fail(msg)  # CI must run it, never skip it quietly
    print(msg, file=sys.stderr)
    pytest.skip(msg)


def _spark_read(root) -> dict:
    """Spark's reading of the archive folder, in its own process (tests/support/spark_read.py)."""
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    done = subprocess.run(
        [sys.executable, "-m", "tests.support.spark_read", str(root)],
        cwd=repo,  # as a module: tests/support/warnings.py must not shadow the standard library
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_spark_counts_the_archive_per_day_and_source_like_onegrid(runtime):
    _java_or_skip()
    now = pd.Timestamp.now(tz="UTC").floor("min")
    ingest_history(runtime, now)
    since, cutoff = now - 200 * DAY, runtime.archive.cutoff(now)
    # OneGrid's own count, taken while every event is still in the database
    before = queries.events_per_day(runtime.db, runtime.scope, since=since, until=cutoff)
    moved = runtime.archive.run(now)
    assert moved and int(before["n"].sum()) == sum(p["rows"] for p in moved)
    after = queries.events_per_day(runtime.db, runtime.scope, since=since, until=cutoff)
    pd.testing.assert_frame_equal(before, after)

    got = _spark_read(runtime.archive.root)
    spark_counts = [(d, source, n) for d, source, n, _ids in got["counts"]]
    ours = [(str(pd.Timestamp(r.day).date()), r.source, int(r.n)) for r in before.itertuples()]
    assert spark_counts == ours
    assert all(ids == n for _d, _s, n, ids in got["counts"])  # no event twice
    assert got["typed"] == {"same_day": True, "cell_key_int": True}
    assert len(archive.parts(runtime.db)) == len(moved)
