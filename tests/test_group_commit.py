"""Group commit: batches that arrive while the writer is busy share one transaction.

Real store (DuckDB file), real pipeline, real threads. The writer is held busy by a write that
waits on an event, so the batches sent meanwhile queue up and are written as one group; each is
acknowledged only after that group's commit, and a batch whose write fails is retried alone so it
neither takes the others down nor gets them acknowledged wrongly.
"""

from __future__ import annotations

import threading
import time

import pandas as pd
import pytest

from tests.support.region import tiny_cell_center

NOW = pd.Timestamp("2026-11-26T06:00:00Z")


def frame(rows: list[dict], category: str) -> pd.DataFrame:
    base = {"time": "2026-11-26T05:00:00Z", "category": category, "severity": 2}
    return pd.DataFrame([base | r for r in rows])


def at(i: int, j: int, **kw) -> dict:
    lon, lat = tiny_cell_center(1, i, j)
    return {"lon": lon, "lat": lat} | kw


class HeldWriter:
    """Keeps the store's writer busy until released, and sends batches from threads."""

    def __init__(self, runtime) -> None:
        self.rt = runtime
        self.gate = threading.Event()
        self.held = runtime.db.submit(lambda con: self.gate.wait(30))
        self.results: dict[str, object] = {}
        self.threads: list[threading.Thread] = []

    def send(self, name: str, source: str, batch: pd.DataFrame) -> None:
        def run() -> None:
            try:
                self.results[name] = self.rt.pipeline.ingest_frame(source, batch, now=NOW)
            except Exception as exc:  # noqa: BLE001 - the test looks at what each caller got
                self.results[name] = exc

        t = threading.Thread(target=run)
        t.start()
        self.threads.append(t)

    def release_when_queued(self, n: int) -> None:
        deadline = time.monotonic() + 20
        while len(self.rt.pipeline._pending) < n:
            assert time.monotonic() < deadline, "the batches never reached the writer's queue"
            time.sleep(0.01)
        # queued, the writer still held: nobody may have been answered yet
        assert self.results == {}
        self.gate.set()
        self.held.result(timeout=30)
        for t in self.threads:
            t.join(timeout=30)


def test_concurrent_batches_share_one_commit_and_are_acknowledged_after_it(runtime):
    p = runtime.pipeline
    seen_in_transaction = []

    def hook(con, source, now):
        # inside the group's transaction: every batch of the group is written, none answered
        n = con.execute("SELECT count(*) FROM events").fetchall()[0][0]
        seen_in_transaction.append((source, n, dict(held.results)))

    p.add_write_hook(hook)
    groups = p.groups
    held = HeldWriter(runtime)
    held.send("a", "police", frame([at(0, 0, id="p1"), at(0, 1, id="p2")], "criminal"))
    held.send("b", "traffic", frame([at(1, 0, id="t1"), {"id": "bad"}], "accident"))
    held.release_when_queued(2)
    a, b = held.results["a"], held.results["b"]
    assert (a.accepted, a.duplicates, a.quarantined) == (2, 0, 0)
    assert (b.accepted, b.duplicates, b.quarantined) == (1, 0, 1)
    assert p.groups == groups + 1
    assert sorted(s for s, _, _ in seen_in_transaction) == ["police", "traffic"]
    assert all(n == 3 and answered == {} for _, n, answered in seen_in_transaction)
    status = runtime.db.query(
        "SELECT source, accepted, duplicates, quarantined FROM feed_status ORDER BY source"
    )
    assert status == [("police", 2, 0, 0), ("traffic", 1, 0, 1)]
    minutes = runtime.db.query(
        "SELECT source, accepted, quarantined FROM ingest_minutes ORDER BY source"
    )
    assert minutes == [("police", 2, 0), ("traffic", 1, 1)]
    assert runtime.db.query_one("SELECT sum(n) FROM cell_counts")[0] == 3


def test_a_key_sent_by_two_batches_of_one_group_is_stored_once(runtime):
    held = HeldWriter(runtime)
    held.send("a", "police", frame([at(0, 0, id="x"), at(0, 1, id="y")], "criminal"))
    held.release_when_queued(1)  # the first group: only "a" (the writer is then free)
    held = HeldWriter(runtime)
    held.send("b", "police", frame([at(0, 0, id="x"), at(0, 1, id="z")], "criminal"))
    held.send("c", "police", frame([at(0, 0, id="z"), at(0, 1, id="w")], "criminal"))
    held.release_when_queued(2)
    b, c = held.results["b"], held.results["c"]
    # x was stored before; z is in both b and c: whichever the group holds first keeps it
    assert b.accepted + c.accepted == 2  # z once, w once
    assert b.duplicates + c.duplicates == 2  # x, and the second z
    ids = [r[0] for r in runtime.db.query("SELECT source_event_id FROM events ORDER BY 1")]
    assert ids == ["w", "x", "y", "z"]
    assert runtime.db.query_one("SELECT accepted, duplicates FROM feed_status") == (4, 2)


def test_one_id_sent_by_two_sources_in_one_group_is_two_events(runtime):
    """A key holds its source: batches of different sources in one group never repeat each
    other (the writer skips comparing them), each batch's own repeats still count."""
    held = HeldWriter(runtime)
    held.send("a", "police", frame([at(0, 0, id="same"), at(0, 1, id="p")], "criminal"))
    held.send("b", "traffic", frame([at(1, 0, id="same"), at(1, 1, id="same")], "accident"))
    held.release_when_queued(2)
    a, b = held.results["a"], held.results["b"]
    assert (a.accepted, a.duplicates, b.accepted, b.duplicates) == (2, 0, 1, 1)
    rows = runtime.db.query("SELECT source, source_event_id FROM events ORDER BY 1, 2")
    assert rows == [("police", "p"), ("police", "same"), ("traffic", "same")]
    assert runtime.db.query_one("SELECT sum(n) FROM cell_counts")[0] == 3


def test_a_failing_batch_is_retried_alone_and_does_not_take_the_group_down(runtime):
    p = runtime.pipeline

    def hook(con, source, now):
        if source == "market":
            raise RuntimeError("market hook failed")

    p.add_write_hook(hook)
    held = HeldWriter(runtime)
    held.send("good", "police", frame([at(0, 0, id="g1")], "criminal"))
    held.send("bad", "market", frame([at(0, 1, id="m1")], "food_safety"))
    held.release_when_queued(2)
    good, bad = held.results["good"], held.results["bad"]
    assert isinstance(bad, RuntimeError) and "market hook failed" in str(bad)
    assert good.accepted == 1
    # what was acknowledged is stored; what failed is not, not even partly
    assert runtime.db.query("SELECT source, source_event_id FROM events") == [("police", "g1")]
    assert runtime.db.query("SELECT source FROM feed_status") == [("police",)]
    assert runtime.db.query_one("SELECT sum(n) FROM cell_counts")[0] == 1


def test_a_closed_store_refuses_the_batch(runtime):
    runtime.db.close()
    with pytest.raises(RuntimeError, match="closed"):
        runtime.pipeline.ingest_frame("police", frame([at(0, 0, id="c1")], "criminal"), now=NOW)
