"""One case state machine (data/cases/states.py): the service acts by it, and what the bulk
intake and the simulated departments write agrees with it; one routing rule
(Responsibilities.route_frame, of which route() is the one-row case)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from data.cases import intake, service, states
from data.feeds.simulator import departments
from data.feeds.simulator.departments import advance_simulated_cases
from tests.support.region import tiny_cell_center

TZ = "Asia/Shanghai"
MON_10 = pd.Timestamp("2026-11-23 10:00", tz=TZ).tz_convert("UTC")  # a Monday, 10:00 local


def _ingest_hotline(rt, n: int, start: pd.Timestamp) -> None:
    """``n`` hotline requests over a day: some routed, some answered on the call."""
    rng = np.random.default_rng(5)
    lon, lat = tiny_cell_center(2, 1, 1)
    times = start + pd.to_timedelta(np.sort(rng.uniform(0, 86400, n)), unit="s")
    frame = pd.DataFrame(
        {
            "id": [f"h{i}" for i in range(n)],
            "time": times,
            "lon": lon,
            "lat": lat,
            "category": rng.choice(["heating", "utilities"], n),
            "severity": rng.choice([2, 3, 5], n, p=[0.6, 0.3, 0.1]),
            "attributes": [json.dumps({"type": t}) for t in rng.choice(["help", "consult"], n)],
        }
    )
    rt.pipeline.ingest_frame("hotline", frame, now=start + pd.Timedelta(days=1))


def _check_transitions(rows: pd.DataFrame) -> None:
    for r in rows.itertuples():
        if r.action == "register":
            assert pd.isna(r.from_state) and r.to_state == states.INITIAL, r
        elif r.action == "close" and r.actor == "12345" and r.from_state != states.INITIAL:
            # a publisher's own close, imported as it happened
            assert r.from_state in states.IMPORTED_CLOSE_FROM and r.to_state == "closed", r
        else:
            assert states.allowed(r.action, r.from_state), r
            assert r.to_state == states.after(r.action, r.from_state), r


def test_the_service_acts_by_the_one_table():
    assert service.ACTIONS is states.ACTIONS
    assert service.STATES is states.STATES
    assert service.DEPARTMENT_ACTIONS is states.DEPARTMENT_ACTIONS


def test_the_intake_states_come_from_the_table():
    assert states.after("dispatch", states.INITIAL) == intake.DISPATCHED
    assert states.after("accept", intake.DISPATCHED) == intake.HANDLING
    assert states.after("close", states.INITIAL) == intake.CLOSED
    assert intake.DISPATCHED in states.IMPORTED_CLOSE_FROM


def test_the_departments_steps_are_allowed_by_the_table():
    for state, actions in departments.STEPS.items():
        assert state in states.OPEN_STATES
        for action in actions:
            assert states.allowed(action, state), (action, state)
    assert departments.REDISPATCHED == "dispatched"


def test_written_transitions_agree_with_the_table(runtime):
    """Cases made by the intake and worked by the simulated departments for two weeks: every
    transition row is one the table allows, ending in the state the table says."""
    start = MON_10 - pd.Timedelta(days=14)
    _ingest_hotline(runtime, 400, start)
    db = runtime.db
    made = dict(db.query_df("SELECT state, count(*) n FROM cases GROUP BY state").values)
    assert made.get("dispatched", 0) > 0 and made.get("closed", 0) > 0, made
    steps = db.write(lambda con: advance_simulated_cases(con, start + pd.Timedelta(days=14)))
    assert steps > 400
    rows = db.query_df(
        "SELECT case_id, from_state, to_state, action, actor FROM case_transitions ORDER BY id"
    )
    actions = set(rows["action"])
    assert {"register", "dispatch", "accept", "report_handled", "verify_pass", "close"} <= actions
    _check_transitions(rows)
    # the last transition of every case ends in the case's state
    last = rows.groupby("case_id").tail(1).set_index("case_id")["to_state"]
    now = db.query_df("SELECT id, state FROM cases").set_index("id")["state"]
    assert (last.reindex(now.index) == now).all()


def test_the_service_writes_only_allowed_transitions(runtime):
    svc = runtime.cases
    area = runtime.db.query_one("SELECT key FROM areas WHERE level = 'county' ORDER BY key")[0]
    cid = svc.create("hotline.heating", area_key=area, title="cold flat", now=MON_10)
    dept = svc.get(cid)["department"]
    svc.act(cid, "accept", actor="d", department=dept, now=MON_10)
    svc.act(cid, "report_handled", actor="d", department=dept, now=MON_10)
    svc.act(cid, "rework", actor="hall", reason="not fixed", now=MON_10)
    svc.act(cid, "report_handled", actor="d", department=dept, now=MON_10)
    svc.act(cid, "verify_pass", actor="hall", now=MON_10)
    rows = runtime.db.query_df(
        "SELECT case_id, from_state, to_state, action, actor FROM case_transitions "
        "WHERE case_id = ? ORDER BY id",
        [cid],
    )
    assert list(rows["action"]) == [
        "register",
        "dispatch",
        "accept",
        "report_handled",
        "rework",
        "report_handled",
        "verify_pass",
    ]
    _check_transitions(rows)
    assert rows["to_state"].iloc[-1] == "closed"


def test_route_is_route_frame_of_one_row(runtime):
    rules = runtime.cases.rules
    cells = runtime.db.query_df(
        "SELECT key AS cell_key, community_key, township_key, county_key, city_key "
        "FROM areas WHERE level = 'grid' ORDER BY key LIMIT 6"
    )
    cats = [*rules.categories(), "hotline.not_in_the_list"]
    frame = cells.merge(pd.DataFrame({"category": cats}), how="cross")
    routed = rules.route_frame(frame)
    assert len(routed) == len(frame)
    for i, r in frame.iterrows():
        one = rules.route(
            r["category"],
            {
                "county": r["county_key"],
                "township": r["township_key"],
                "community": r["community_key"],
                "grid": r["cell_key"],
            },
        )
        want = routed.iloc[i]
        if pd.isna(want["department"]):
            assert one.needs_decision
        else:
            assert (one.department, one.level) == (want["department"], want["dept_level"])
            assert one.deadlines == {
                u: want[f"deadline_{u}"] for u in ("urgent", "normal", "complex")
            }
