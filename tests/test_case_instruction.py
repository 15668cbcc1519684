"""A leader's instruction (批示) on a case: the hall or the county's own leader writes it, it
enters the case's timeline and reaches the handling department at once (quiet hours or not);
another county's leader, a department and an empty or late instruction are refused."""

from __future__ import annotations

import pandas as pd
import pytest

from data.auth import User
from data.cases import desk
from data.cases.service import InvalidTransition
from data.policy import PolicyDenied
from tests.support.region import tiny_cell_center

HEATING = "city.housing"
# a Saturday night in the region: a plain notice would wait for Monday morning
SATURDAY_NIGHT = pd.Timestamp("2026-11-28 23:30", tz="Asia/Shanghai").tz_convert("UTC")


def _dispatched_case(runtime, county: int = 1) -> int:
    lon, lat = tiny_cell_center(county, 1, 1)
    cid = runtime.cases.create(
        "hotline.heating", lon=lon, lat=lat, title=f"cold-{county}", now=SATURDAY_NIGHT
    )
    assert runtime.cases.get(cid)["department"] == HEATING
    return cid


def _notes(runtime, cid: int) -> pd.DataFrame:
    return runtime.db.query_df(
        "SELECT department, kind, urgent, delivered, deliver_at FROM notifications "
        "WHERE case_id = ? AND kind = 'instruction'",
        [cid],
    )


def test_a_county_leader_instructs_a_case_of_their_county(runtime):
    cid = _dispatched_case(runtime)
    state = runtime.cases.get(cid)["state"]
    leader = User("lead1", "county_leader", area="T01")
    text = "请于今晚恢复供暖，并向居民说明原因"
    assert desk.act(runtime, leader, "instruct", case_id=cid, reason=text) == cid
    after = runtime.cases.get(cid)
    assert after["state"] == state  # an instruction changes no state
    history = runtime.cases.transitions(cid)
    last = history.iloc[-1]
    assert (last["action"], last["actor"], last["reason"]) == ("instruct", "lead1", text)
    # the handling department has it at once, on a Saturday night too
    notes = _notes(runtime, cid)
    assert notes[["department", "urgent", "delivered"]].values.tolist() == [[HEATING, True, True]]
    # in the audit trail as every case action
    row = runtime.db.query_one(
        "SELECT actor, object_id FROM audit_log WHERE action = 'case.instruct'"
    )
    assert row == ("lead1", str(cid))
    # and in the case desk's timeline
    view = desk.history_view(runtime, leader, cid)
    assert view["transitions"]["action"].tolist()[-1] == "instruct"


def test_instructions_are_refused_outside_the_leaders_county_and_to_other_roles(runtime):
    cid = _dispatched_case(runtime)
    for user in (
        User("lead2", "county_leader", area="T02"),
        User("dept", "department", department=HEATING),
        User("ana", "analyst"),
    ):
        with pytest.raises(PolicyDenied):
            desk.act(runtime, user, "instruct", case_id=cid, reason="do it")
    assert _notes(runtime, cid).empty
    hall = User("op", "operator")
    with pytest.raises(InvalidTransition):
        desk.act(runtime, hall, "instruct", case_id=cid, reason="  ")
    assert _notes(runtime, cid).empty
    closed = runtime.cases.create("hotline.heating", title="done", dispatch=False)
    runtime.cases.act(closed, "close", actor="op", reason="resolved")
    with pytest.raises(InvalidTransition):
        desk.act(runtime, hall, "instruct", case_id=closed, reason="too late")
    assert _notes(runtime, closed).empty


def test_an_instruction_on_an_undispatched_case_goes_to_the_hall(runtime):
    cid = runtime.cases.create(
        "hotline.heating", title="not yet", dispatch=False, now=SATURDAY_NIGHT
    )
    desk.act(runtime, User("op", "operator"), "instruct", case_id=cid, reason="先核实")
    assert _notes(runtime, cid).department.tolist() == [runtime.cases.rules.hall.id]


def test_the_case_desk_shows_place_evidence_and_the_instruction(runtime):
    from layouts.cases_page import history_table

    lon, lat = tiny_cell_center(1, 1, 1)
    # a 12345 request becomes a case holding it: the case's evidence
    frame = pd.DataFrame(
        {
            "id": ["h-1"],
            "time": [pd.Timestamp.now(tz="UTC")],
            "lon": [lon],
            "lat": [lat],
            "category": ["heating"],
            "severity": [2],
            "text": ["楼内暖气不热"],
        }
    )
    runtime.pipeline.ingest_frame("hotline", frame)
    runtime.cases.intake_hotline()
    (hot,) = runtime.db.query_one(
        "SELECT case_id FROM events WHERE source = 'hotline' AND source_event_id = 'h-1'"
    )
    desk.act(runtime, User("op", "operator"), "instruct", case_id=hot, reason="今晚办结")
    view = desk.history_view(runtime, User("op", "operator"), hot)
    assert view["events"]["text"].tolist() == ["楼内暖气不热"]
    assert view["case"]["id"] == hot and view["warning"] is None
    page = str(history_table(view, "zh", "Asia/Shanghai").to_plotly_json())
    for shown in ("楼内暖气不热", "批示", "今晚办结", "相关事件", "时间线", f"#{hot}"):
        assert shown in page, shown
    assert "scattermap" in page.lower()  # the case's place on a map
