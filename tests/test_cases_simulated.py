"""Simulated departments (data/feeds/simulator/departments.py): they work the simulated cases realistically,
deterministically and idempotently, and only when the simulator runs."""

from __future__ import annotations

import json
import threading
import time

import numpy as np
import pandas as pd

from data.cases import metrics
from data.feeds.simulator.departments import advance_simulated_cases
from data.runtime import Runtime
from tests.support.region import tiny_cell_center

TZ = "Asia/Shanghai"
MON_10 = pd.Timestamp("2026-11-23 10:00", tz=TZ).tz_convert("UTC")  # a Monday, 10:00 local


def _ingest_week(rt, n: int, start: pd.Timestamp) -> None:
    """``n`` hotline requests spread over the week from ``start``, ingested day by day."""
    rng = np.random.default_rng(3)
    lon, lat = tiny_cell_center(2, 1, 1)
    times = start + pd.to_timedelta(np.sort(rng.uniform(0, 7 * 86400, n)), unit="s")
    frame = pd.DataFrame(
        {
            "id": [f"h{i}" for i in range(n)],
            "time": times,
            "lon": lon,
            "lat": lat,
            "category": rng.choice(["heating", "utilities"], n),
            "severity": rng.choice([2, 3, 5], n, p=[0.6, 0.3, 0.1]),
            "attributes": [json.dumps({"type": "help"})] * n,
        }
    )
    for day in range(7):
        a, b = start + pd.Timedelta(days=day), start + pd.Timedelta(days=day + 1)
        rt.pipeline.ingest_frame("hotline", frame[(frame.time >= a) & (frame.time < b)], now=b)


def _advance(rt, now) -> int:
    return rt.db.write(lambda con: advance_simulated_cases(con, now))


def test_a_week_of_cases_is_worked_realistically(runtime) -> None:
    start = MON_10 - pd.Timedelta(days=14)
    _ingest_week(runtime, 1200, start)
    db = runtime.db
    assert db.query_one("SELECT count(*) FROM cases WHERE state = 'dispatched'")[0] == 1200
    now = start + pd.Timedelta(days=14)
    assert _advance(runtime, now) > 3000
    states = dict(db.query_df("SELECT state, count(*) n FROM cases GROUP BY state").values)
    assert states["closed"] > 0.9 * 1200
    m = metrics.summary(db, runtime.scope, now=now)
    assert 0.8 <= m["on_time_rate"] <= 0.97, m
    assert 0.02 <= m["median_accept_h"] <= 1.5, m  # minutes to accept
    assert 1 <= m["median_close_h"] <= 72, m  # hours to close
    assert 0.01 <= m["rework_rate"] <= 0.08, m
    assert 0.005 * 1200 <= m["returns_on_cases"] <= 0.06 * 1200, m

    # the transitions tell the same story as the columns, in time order, none in the future
    tr = db.query_df("SELECT * FROM case_transitions ORDER BY case_id, id")
    assert (tr["occurred_at"] <= now).all()
    assert tr.groupby("case_id")["occurred_at"].apply(lambda s: s.is_monotonic_increasing).all()
    sim = tr[tr["actor"].str.startswith("simulated:")]
    assert set(sim["actor"]) == {
        "simulated:hall",
        "simulated:city.housing",
        "simulated:city.utilities",
    }
    cases = db.query_df("SELECT * FROM cases").set_index("id")
    closed = cases[cases["state"] == "closed"]
    for cid, case in closed.iterrows():
        t = tr[tr["case_id"] == cid]
        acts = t["action"].tolist()
        assert acts[:2] == ["register", "dispatch"] and acts[-1] == "verify_pass"
        i_acc = acts.index("accept")
        i_hand = len(acts) - 1 - acts[::-1].index("report_handled")
        assert i_acc < i_hand < len(acts) - 1
        assert t["from_state"].iloc[1:].tolist() == t["to_state"].iloc[:-1].tolist()
        at = dict(zip(t["action"], t["occurred_at"], strict=False))  # last of each action
        assert case["closed_at"] == at["verify_pass"] and case["handled_at"] == at["report_handled"]
        assert case["accepted_at"] == t.loc[t["action"] == "accept", "occurred_at"].iloc[0]
        assert case["reworks"] == acts.count("rework") and case["returns"] == acts.count("return")
        assert case["reassignments"] == acts.count("reassign") == acts.count("return")
        assert case["department"] in ("city.housing", "city.utilities")
    assert (closed["reworks"] > 0).any() and (closed["returns"] > 0).any()

    # calling again changes nothing
    before_cases = db.query_df("SELECT * FROM cases ORDER BY id")
    before_n = db.query_one("SELECT count(*) FROM case_transitions")[0]
    assert _advance(runtime, now) == 0
    assert db.query_one("SELECT count(*) FROM case_transitions")[0] == before_n
    pd.testing.assert_frame_equal(db.query_df("SELECT * FROM cases ORDER BY id"), before_cases)


def test_steps_wait_for_their_planned_time(runtime) -> None:
    svc = runtime.cases
    a = svc.create("hotline.heating", title="cold flat", now=MON_10)
    b = svc.create("hotline.heating", title="no heat", urgency="urgent", now=MON_10)
    assert svc.get(a)["state"] == "dispatched"
    assert _advance(runtime, MON_10) == 0
    assert _advance(runtime, MON_10 + pd.Timedelta(minutes=1)) == 0  # accepting takes >= 2 min
    assert {svc.get(a)["state"], svc.get(b)["state"]} == {"dispatched"}
    # step by step: each state is reached no earlier than planned, the same plan every time
    seen = set()
    t = MON_10
    while svc.get(a)["state"] != "closed" and t < MON_10 + pd.Timedelta(days=30):
        t += pd.Timedelta(minutes=30)
        _advance(runtime, t)
        seen.add(svc.get(a)["state"])
        last = svc.transitions(a)["occurred_at"].max()
        assert last <= t
    assert "closed" in seen and svc.get(b)["state"] == "closed"
    assert svc.get(b)["closed_at"] <= svc.get(b)["deadline_at"] + pd.Timedelta(hours=24)


def test_same_plan_in_one_call_or_many(tmp_path, settings) -> None:
    """Back-fill in one call gives the same history as many small calls."""
    runs = []
    for k in range(2):
        settings.db = tmp_path / f"s{k}.duckdb"
        rt = Runtime(settings)
        try:
            for i in range(20):
                rt.cases.create("hotline.utilities", title=f"c{i}", now=MON_10)
            end = MON_10 + pd.Timedelta(days=10)
            if k == 0:
                _advance(rt, end)
            else:
                for t in pd.date_range(MON_10, end, freq="37min"):
                    _advance(rt, t)
                _advance(rt, end)
            runs.append(
                rt.db.query_df(
                    "SELECT id, state, accepted_at, handled_at, closed_at, "
                    "deadline_at FROM cases ORDER BY id"
                )
            )
        finally:
            rt.stop()
    pd.testing.assert_frame_equal(runs[0], runs[1])


def test_responders_work_a_backlog_in_parts_as_in_one_pass(tmp_path, settings, monkeypatch):
    """After a bulk load the responders work their backlog CHUNK_CASES cases per transaction
    (one commit of hundreds of thousands held every screen's read): the cases and their
    transitions come out as in one pass, and every part is its own transaction."""
    from data.feeds.simulator import departments

    runs = []
    for k in range(2):
        settings.db = tmp_path / f"p{k}.duckdb"
        rt = Runtime(settings)
        try:
            _ingest_week(rt, 60, MON_10 - pd.Timedelta(days=14))
            monkeypatch.setattr(departments, "CHUNK_CASES", 10**6 if k == 0 else 7)
            responders = departments.SimulatedResponders(rt.db, lambda: MON_10)
            writes = []
            real = rt.db.write
            monkeypatch.setattr(
                rt.db, "write", lambda fn, w=writes, r=real, **kw: w.append(1) or r(fn, **kw)
            )
            assert responders.run_now() > 120
            assert len(writes) == (1 if k == 0 else 9)  # 60 open cases, 7 per part
            runs.append(
                (
                    rt.db.query_df("SELECT * EXCLUDE (updated_at) FROM cases ORDER BY id"),
                    rt.db.query_df(
                        "SELECT * EXCLUDE (id) FROM case_transitions "
                        "ORDER BY case_id, occurred_at, action"
                    ),
                )
            )
        finally:
            monkeypatch.undo()
            rt.stop()
    pd.testing.assert_frame_equal(runs[0][0], runs[1][0])
    pd.testing.assert_frame_equal(runs[0][1], runs[1][1])


def test_joint_parent_closes_with_its_sub_cases(runtime) -> None:
    svc = runtime.cases
    cid = svc.create("hotline.heating", dispatch=False, now=MON_10)
    subs = svc.joint_dispatch(cid, ["city.housing", "city.utilities"], actor="op", now=MON_10)
    assert len(subs) == 2
    end = MON_10 + pd.Timedelta(days=30)
    _advance(runtime, end)
    sub_states = {svc.get(s)["state"] for s in subs}
    parent = svc.get(cid)
    if sub_states == {"closed"}:
        assert parent["state"] == "closed"
        assert parent["closed_at"] == max(svc.get(s)["closed_at"] for s in subs)
    else:  # a stuck sub-case keeps the parent open
        assert parent["state"] != "closed"


def test_responders_only_with_the_simulator(settings, tmp_path) -> None:
    rt = Runtime(settings)  # simulator off (a real deployment)
    try:
        rt.start()
        assert rt.responders is None
    finally:
        rt.stop()
    settings.db = tmp_path / "sim.duckdb"
    settings.simulator = True
    settings.simulator_backfill_days = 2
    rt = Runtime(settings)
    try:
        rt.start()
        assert rt.responders is not None and rt.responders._thread.is_alive()
        n = rt.db.query_one("SELECT count(*) FROM case_transitions WHERE actor LIKE 'simulated:%'")[
            0
        ]
        assert n > 0  # the history was worked at start
    finally:
        t0 = time.monotonic()
        rt.stop()
        assert time.monotonic() - t0 < 10


def test_responders_wait_for_a_bulk_load_under_way(runtime) -> None:
    """The simulated departments work after a bulk load (a drop folder's files) is in, not
    during it; a load that never ends does not stop them past their longest wait."""
    from data.feeds.simulator.departments import SimulatedResponders

    start = MON_10 - pd.Timedelta(days=14)
    _ingest_week(runtime, 200, start)
    now = start + pd.Timedelta(days=14)
    worked = "SELECT count(*) FROM case_transitions WHERE actor LIKE 'simulated:%'"
    lon, lat = tiny_cell_center(2, 1, 1)
    more = pd.DataFrame(
        {"id": ["b1"], "time": [now], "lon": [lon], "lat": [lat], "category": ["heating"]}
    )
    # a bulk load under way: its first file is in, the next not yet
    load = runtime.pipeline.ingest_stream([("f1", "hotline", more), ("end", None, None)], now=now)
    assert next(load)[0] == "f1" and runtime.pipeline.bulk_running
    responders = SimulatedResponders(
        runtime.db, lambda: now, busy=lambda: runtime.pipeline.bulk_running
    )
    step = threading.Thread(target=responders.step)
    step.start()
    step.join(1.5)
    assert step.is_alive() and runtime.db.query_one(worked)[0] == 0
    assert list(load) == [("end", None)] and not runtime.pipeline.bulk_running
    step.join(5)
    assert not step.is_alive() and runtime.db.query_one(worked)[0] > 200

    never_ends = SimulatedResponders(runtime.db, lambda: now, busy=lambda: True, max_wait_s=0.3)
    t0 = time.monotonic()
    never_ends.step()
    assert 0.3 <= time.monotonic() - t0 < 3
