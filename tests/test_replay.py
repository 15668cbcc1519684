"""Replaying historical files: paced in event time (fake clock) and in bulk, plus the CLI."""

from __future__ import annotations

import argparse

import pandas as pd
import pytest

from cli import add_feeds_parsers as add_parser
from cli import run_feeds as run
from data.feeds.mapping import load_mapping
from data.feeds.replay import live_shift_to, paced_batches, replay_file
from data.runtime import Runtime
from tests.support.region import tiny_cell_center, tiny_cell_code

MAPPING = """
source = "traffic"
format = "csv"
timezone = "UTC"
[id]
column = "ref"
[time]
column = "at"
[location]
lon = "lon"
lat = "lat"
[category]
value = "accident"
[severity]
column = "sev"
clip = true
"""

T0 = pd.Timestamp("2025-06-01T00:00:00Z")


@pytest.fixture
def mapping(tmp_path):
    path = tmp_path / "traffic_test.toml"
    path.write_text(MAPPING, encoding="utf-8")
    return load_mapping(path)


def write_events(path, rows: list[tuple[str, str, tuple[int, int, int]]]):
    """rows: (ref, time text, (county, i, j)) -> CSV in the mapping's shape."""
    lines = ["ref,at,lon,lat,sev"]
    for ref, at, cell in rows:
        lon, lat = tiny_cell_center(*cell)
        lines.append(f"{ref},{at},{lon},{lat},2")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def iso(seconds: float) -> str:
    return (T0 + pd.Timedelta(seconds=seconds)).isoformat()


class FakeClock:
    """A clock that only moves when the replay sleeps, so sleeps are exact."""

    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, s: float) -> None:
        self.sleeps.append(s)
        self.now += s


def test_paced_replay_keeps_the_time_shape(runtime, mapping, tmp_path):
    # written out of order; a quiet 10-minute gap; one row without a valid time
    path = write_events(
        tmp_path / "shape.csv",
        [
            ("r3", iso(90), (1, 1, 1)),
            ("r1", iso(0), (1, 0, 0)),
            ("r2", iso(60), (1, 0, 1)),
            ("bad", "not-a-time", (1, 0, 0)),
            ("r4", iso(180), (2, 3, 3)),
            ("r5", iso(780), (2, 0, 0)),
        ],
    )
    batches = []
    runtime.pipeline.add_listener(lambda source, result: batches.append(result))
    fake = FakeClock()
    progress = []

    result = replay_file(
        runtime.pipeline,
        mapping,
        path,
        speed=60,
        sleep=fake.sleep,
        clock=fake.clock,
        progress=lambda done, total, res: progress.append((done, total)),
    )

    # event offsets 0, 60, 90, 180, 780 s at 60x -> wall 0, 1, 1.5, 3, 13 s; 1-s batches
    assert fake.sleeps == [1.0, 2.0, 10.0]
    assert [(b.accepted, b.quarantined) for b in batches] == [(1, 1), (2, 0), (1, 0), (1, 0)]
    assert progress == [(2, 6), (4, 6), (5, 6), (6, 6)]
    assert (result.accepted, result.quarantined, result.duplicates) == (5, 1, 0)
    reason = runtime.db.query_one("SELECT reason FROM quarantine")[0]
    assert "not-a-time" in reason
    codes = dict(
        runtime.db.query(
            "SELECT e.source_event_id, a.code FROM events e JOIN areas a ON a.key = e.cell_key"
        )
    )
    assert codes["r3"] == tiny_cell_code(1, 1, 1) and codes["r5"] == tiny_cell_code(2, 0, 0)
    times = runtime.db.query_one("SELECT min(event_time), max(event_time) FROM events")
    assert pd.Timestamp(times[0]) == T0 and pd.Timestamp(times[1]) == T0 + pd.Timedelta(minutes=13)


def test_paced_replay_waits_only_for_what_is_left(runtime, mapping, tmp_path):
    """Time spent ingesting counts: the replay sleeps only the remainder."""
    path = write_events(
        tmp_path / "two.csv", [("a", iso(0), (1, 0, 0)), ("b", iso(120), (1, 0, 0))]
    )
    fake = FakeClock()

    def slow_clock():
        fake.now += 0.25  # every look at the clock costs a quarter second
        return fake.now

    replay_file(runtime.pipeline, mapping, path, speed=60, sleep=fake.sleep, clock=slow_clock)
    assert fake.sleeps == [pytest.approx(1.5)]


def test_paced_batches_split_big_windows():
    frame = pd.DataFrame(
        {
            "time": pd.to_datetime([T0] * 5 + [T0 + pd.Timedelta(seconds=30)], utc=True),
            "x": range(6),
        }
    )
    out = [(at, len(b)) for at, b in paced_batches(frame, speed=10, max_rows=2)]
    assert out == [(0.0, 2), (0.0, 2), (0.0, 1), (3.0, 1)]


def test_bulk_replay_is_chunked_and_never_sleeps(runtime, mapping, tmp_path):
    rows = [(f"k{i}", iso(i * 7), (1 + i % 2, (i // 2) % 4, (i // 8) % 4)) for i in range(1000)]
    rows.append(("k5", iso(5), (1, 0, 0)))  # a repeated id
    path = write_events(tmp_path / "bulk.csv", rows)
    calls = []
    runtime.pipeline.add_listener(lambda source, result: calls.append(source))

    result = replay_file(
        runtime.pipeline, mapping, path, chunk_rows=300, sleep=lambda s: pytest.fail("slept")
    )

    assert (result.accepted, result.duplicates, result.quarantined) == (1000, 1, 0)
    assert calls == ["traffic"] * 4
    per_cell = dict(
        runtime.db.query(
            "SELECT a.code, count(*) FROM events e JOIN areas a ON a.key = e.cell_key GROUP BY 1"
        )
    )
    assert len(per_cell) == 32 and sum(per_cell.values()) == 1000
    k9 = runtime.db.query_one(
        "SELECT a.code FROM events e JOIN areas a ON a.key = e.cell_key "
        "WHERE e.source_event_id = 'k9'"
    )
    assert k9 == (tiny_cell_code(2, 0, 1),)
    feeds = runtime.db.query("SELECT DISTINCT feed FROM events")
    assert feeds == [("replay:traffic_test",)]


def test_shift_to_moves_the_first_event_and_keeps_gaps(runtime, mapping, tmp_path):
    path = write_events(tmp_path / "s.csv", [("a", iso(0), (1, 0, 0)), ("b", iso(600), (1, 0, 0))])
    target = pd.Timestamp("2026-01-01T12:00:00Z")
    replay_file(runtime.pipeline, mapping, path, shift_to=target)
    times = [
        pd.Timestamp(t) for (t,) in runtime.db.query("SELECT event_time FROM events ORDER BY 1")
    ]
    assert times == [target, target + pd.Timedelta(minutes=10)]


def test_live_shift_keeps_every_event_in_the_past():
    first, last, now = T0, T0 + pd.Timedelta(hours=24), pd.Timestamp("2026-01-01T00:00:00Z")
    assert live_shift_to(first, last, None, now) == now - pd.Timedelta(hours=24)
    assert live_shift_to(first, last, 1, now) == now
    # at 60x a day takes 24 minutes; it starts 23h36m back so the last event lands on "now"
    start = live_shift_to(first, last, 60, now)
    assert start + pd.Timedelta(hours=24) == now + pd.Timedelta(minutes=24)


def test_cli_replay_and_ingest_folder(settings, mapping, tmp_path, capsys):
    config = tmp_path / "onegrid.toml"
    config.write_text(
        f'db = "{settings.db}"\nregion = "{settings.region}"\nsimulator = false\n', encoding="utf-8"
    )
    path = write_events(tmp_path / "cli.csv", [("a", iso(0), (1, 0, 0)), ("b", "x", (1, 0, 0))])
    parser = argparse.ArgumentParser()
    add_parser(parser.add_subparsers(dest="command"))

    args = parser.parse_args(
        ["replay", "--mapping", str(mapping.path), "--file", str(path), "--config", str(config)]
    )
    assert run(args, Runtime) == 0
    out = capsys.readouterr().out
    assert "accepted 1, duplicates 0, quarantined 1" in out

    drop = tmp_path / "drop"
    drop.mkdir()
    write_events(drop / "more.csv", [("c", iso(5), (2, 1, 1))])
    args = parser.parse_args(
        [
            "ingest-folder",
            "--path",
            str(drop),
            "--mapping",
            str(mapping.path),
            "--config",
            str(config),
        ]
    )
    assert run(args, Runtime) == 0
    assert "more.csv: done, accepted 1" in capsys.readouterr().out

    rt = Runtime(settings)
    try:
        assert rt.db.query_one("SELECT count(*) FROM events")[0] == 2
    finally:
        rt.stop()


HOTLINE_MAPPING = """
source = "hotline"
format = "csv"
timezone = "UTC"
[id]
column = "ref"
[time]
column = "created"
[location]
lon = "lon"
lat = "lat"
[category]
value = "noise"
[attributes]
agency = "agency"
created = { column = "created", type = "time" }
closed = { column = "closed", type = "time" }
"""


def test_shift_to_now_moves_event_and_case_times_together_by_whole_days(settings, tmp_path, capsys):
    """A 12345 history replayed with --shift-to-now: its events and its cases' created and
    closed times move by the same whole number of days, and nothing lands in the future."""
    (tmp_path / "hotline.toml").write_text(HOTLINE_MAPPING, encoding="utf-8")
    created = [T0 + pd.Timedelta(hours=h, minutes=7) for h in (1, 5, 9)]
    closed = [t + pd.Timedelta(hours=2, minutes=30) for t in created]
    lines = ["ref,created,closed,agency,lon,lat"]
    for i, (c, d) in enumerate(zip(created, closed, strict=True)):
        lon, lat = tiny_cell_center(1, 0, i % 2)
        lines.append(f"h{i},{c.isoformat()},{d.isoformat()},DEP,{lon},{lat}")
    path = tmp_path / "hotline.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    config = tmp_path / "onegrid.toml"
    config.write_text(
        f'db = "{settings.db}"\nregion = "{settings.region}"\nsimulator = false\n', encoding="utf-8"
    )
    parser = argparse.ArgumentParser()
    add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(
        ["replay", "--mapping", str(tmp_path / "hotline.toml"), "--file", str(path)]
        + ["--shift-to-now", "--config", str(config)]
    )
    before = pd.Timestamp.now(tz="UTC")
    assert run(args, Runtime) == 0
    assert "accepted 3" in capsys.readouterr().out
    rt = Runtime(settings)
    try:
        ev = rt.db.query_df(
            "SELECT source_event_id AS ref, event_time FROM events ORDER BY source_event_id"
        )
        cases = rt.db.query_df(
            "SELECT origin_ref, created_at, closed_at FROM cases ORDER BY origin_ref"
        )
    finally:
        rt.stop()
    shifts = {pd.Timestamp(t) - c for t, c in zip(ev["event_time"], created, strict=True)}
    assert len(shifts) == 1
    (delta,) = shifts
    assert delta > pd.Timedelta(0) and delta % pd.Timedelta(days=1) == pd.Timedelta(0)
    # ends by now, within a day of it
    assert before - pd.Timedelta(days=1) < max(created) + delta <= pd.Timestamp.now(tz="UTC")
    assert list(cases["origin_ref"]) == ["hotline:h0", "hotline:h1", "hotline:h2"]
    assert [pd.Timestamp(t) for t in cases["created_at"]] == [c + delta for c in created]
    assert [pd.Timestamp(t) for t in cases["closed_at"]] == [d + delta for d in closed]
