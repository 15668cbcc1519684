"""The scope leaks and the read-only roles that acted (issue 8), each through the real app: the
tiny region's two counties, a DuckDB file, users signed in by the login form, callbacks and
routes asked over the Flask test client."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from app import create_app
from data.auth import AuthError
from data.catalogue import SOURCES
from layouts import ids
from tests.support.region import tiny_cell_center
from tests.support.web import TEST_PASSWORD, open_page, post_login

NOW = pd.Timestamp.now(tz="UTC").floor("s")
# a working morning in the past (the previous Wednesday, 10:00 in the region's time zone): cases
# made then are notified at once, whatever the time of day the tests run at (quiet hours hold a
# note made in the evening until the next working morning, which is after NOW)
WORKING_MORNING = (
    pd.Timestamp.now(tz="Asia/Shanghai").normalize() - pd.offsets.Week(weekday=2)
) + pd.Timedelta(hours=10)
HEATING = "city.housing"


@pytest.fixture
def app(runtime):
    runtime.settings.auth = True
    return create_app(runtime=runtime)


def login(app, name: str, role: str, **kw):
    """A test client signed in through the login form as a new user ``name``."""
    app.server.extensions["onegrid"].users.add(name, TEST_PASSWORD, role, **kw)
    client = app.server.test_client()
    resp = post_login(client, name, TEST_PASSWORD)
    assert resp.status_code == 302
    return client


def call(app, client, output: str, inputs, state=(), trigger: int = 0):
    """POST one Dash callback the way the browser does; ``output``: one of its output ids."""
    key = next(k for k in app.callback_map if f"{output}." in k and "@" not in k)
    parts = key[2:-2].split("...") if key.startswith("..") else [key]
    outs = []
    for part in parts:
        cid, prop = part.rsplit(".", 1)
        if cid.startswith("{"):  # a wildcard output: one entry per matched component
            pattern = json.loads(cid)
            outs.append([{"id": dict(pattern, source=s), "property": prop} for s in SOURCES])
        else:
            outs.append({"id": cid, "property": prop})
    # every input and state the callback declares, in its order: the given values, None for
    # the others (as a browser sends a property never set)
    given = {(i, p): v for i, p, v in [*inputs, *state]}
    declared = app.callback_map[key]

    def values(items):
        return [
            {"id": x["id"], "property": x["property"], "value": given.get((x["id"], x["property"]))}
            for x in items
        ]

    body = {
        "output": key,
        "outputs": outs if key.startswith("..") else outs[0],
        "inputs": values(declared["inputs"]),
        "state": values(declared.get("state", [])),
        "changedPropIds": [f"{inputs[trigger][0]}.{inputs[trigger][1]}"],
    }
    return client.post("/_dash-update-component", json=body)


def two_county_cases(runtime) -> tuple[int, int]:
    """A heating case in each county, dispatched to the same department, notes delivered."""
    svc = runtime.cases
    made = []
    for county in (1, 2):
        lon, lat = tiny_cell_center(county, 1, 1)
        made.append(
            svc.create(
                "hotline.heating",
                lon=lon,
                lat=lat,
                title=f"heat-{county}",
                now=WORKING_MORNING.tz_convert("UTC"),
            )
        )
    svc.deliver_due(NOW)
    assert {svc.get(c)["department"] for c in made} == {HEATING}
    return made[0], made[1]


def board(app, client, dept):
    resp = call(
        app,
        client,
        ids.CASES_INBOX,
        [
            (ids.CASES_DEPT, "value", dept),
            (ids.CASES_VERSION, "data", 1),
            (ids.REFRESH, "n_intervals", 1),
            (ids.LANG, "data", "en"),
        ],
        [(ids.CASES_GRID, "selectedRows", None)],
    )
    assert resp.status_code == 200
    return resp.get_data(as_text=True)


def history(app, client, case_id):
    resp = call(
        app,
        client,
        ids.CASES_HISTORY,
        [
            (ids.CASES_GRID, "selectedRows", [{"id": case_id}]),
            (ids.CASES_VERSION, "data", 1),
            (ids.LANG, "data", "en"),
        ],
    )
    assert resp.status_code == 200
    return resp.get_data(as_text=True)


def test_county_leader_inbox_holds_only_own_county_cases(app, runtime):
    own, other = two_county_cases(runtime)
    leader = login(app, "lead1", "county_leader", area="T01")
    text = board(app, leader, HEATING)
    assert f"#{own} heat-1" in text and "heat-2" not in text and f"#{other} " not in text
    hall = login(app, "hall", "operator")
    assert "heat-2" in board(app, hall, HEATING)


def test_county_leader_reads_no_other_county_case_history(app, runtime):
    own, other = two_county_cases(runtime)
    leader = login(app, "lead1", "county_leader", area="T01")
    assert "dispatch" in history(app, leader, own).lower()
    assert "Dispatch" not in history(app, leader, other) and "system" not in history(
        app, leader, other
    )


def test_department_sees_its_own_cases_history_events_only(app, runtime):
    own, _ = two_county_cases(runtime)
    lon, lat = tiny_cell_center(2, 0, 0)
    other = runtime.cases.create("hotline.city_appearance", lon=lon, lat=lat, title="street")
    assert runtime.cases.get(other)["department"] != HEATING
    # events: a hotline event of each kind becomes a case routed by the list
    client = app.server.test_client()
    events = []
    for i, (county, cat) in enumerate(((1, "heating"), (2, "city_appearance"), (2, "heating"))):
        lon, lat = tiny_cell_center(county, 2, 2)
        events.append(
            {
                "id": f"h{i}",
                "time": (NOW - pd.Timedelta(minutes=5)).isoformat(),
                "lon": lon,
                "lat": lat,
                "category": cat,
            }
        )
    got = client.post(
        "/api/ingest/hotline",
        json={"events": events},
        headers={"Authorization": "Bearer test-token"},
    ).get_json()
    assert got["accepted"] == 3
    police = [{"id": "p1", "time": NOW.isoformat(), "lon": lon, "lat": lat, "category": "dispute"}]
    client.post(
        "/api/ingest/police",
        json={"events": police},
        headers={"Authorization": "Bearer test-token"},
    )
    dept = login(app, "heat", "department", department=HEATING)
    seen = dept.get("/api/events?limit=100").get_json()["events"]
    assert sorted(e["id"] for e in seen) == ["h0", "h2"]
    assert history(app, dept, own) and "dispatch" in history(app, dept, own).lower()
    assert "dispatch" not in history(app, dept, other).lower()
    # no area aggregates: the metrics page and its callbacks are refused
    resp = call(
        app,
        dept,
        ids.METRICS_HEAD,
        [
            (ids.METRICS_REFRESH, "n_intervals", 1),
            (ids.LANG, "data", "en"),
            (ids.METRICS_PERIOD, "data", {}),
        ],
    )
    assert resp.status_code == 403
    assert dept.get("/api/areas/T01/summary").status_code == 403
    wall = call(
        app,
        dept,
        ids.TICKER,
        [(ids.REFRESH, "n_intervals", 1), (ids.VIEW, "data", {}), (ids.LANG, "data", "en")],
        [(ids.MAP_Z, "data", None), (ids.WALL_SHOWN, "data", None)],
    )
    assert wall.status_code == 403


def test_feed_health_by_role(app, runtime):
    client = app.server.test_client()
    events = []
    for county, n in ((1, 2), (2, 3)):
        for i in range(n):
            lon, lat = tiny_cell_center(county, 0, i)
            events.append(
                {
                    "id": f"e{county}{i}",
                    "time": NOW.isoformat(),
                    "lon": lon,
                    "lat": lat,
                    "category": "dispute",
                }
            )
    events.append({"id": "bad", "time": "yesterday", "lon": 0, "lat": 0, "category": "dispute"})
    client.post(
        "/api/ingest/police",
        json={"events": events},
        headers={"Authorization": "Bearer test-token"},
    )
    runtime.db.write(
        lambda con: con.execute(
            "UPDATE feed_status SET last_error = 'drop file: secret text' WHERE source = 'police'"
        )
    )

    def police(c):
        return next(f for f in c.get("/api/feeds").get_json()["feeds"] if f["source"] == "police")

    hall = police(login(app, "hall", "operator"))
    assert hall["accepted"] == 5 and hall["last_error"] == "drop file: secret text"
    lead = police(login(app, "lead1", "county_leader", area="T01"))
    assert lead["accepted"] == 2 and lead["quarantined"] is None
    assert lead["last_error"] is None and "stale" in lead
    ana = police(login(app, "ana", "analyst"))
    assert ana["accepted"] == 5 and ana["last_error"] is None
    dept = police(login(app, "heat", "department", department=HEATING))
    assert dept["accepted"] is None and dept["last_error"] is None


def report(app, client, lon, lat):
    resp = call(
        app,
        client,
        ids.REPORT_MSG,
        [(ids.REPORT_SUBMIT, "n_clicks", 1)],
        [
            (ids.REPORT_CATEGORY, "value", "city_appearance"),
            (ids.REPORT_TEXT, "value", "litter"),
            (ids.REPORT_LON, "value", lon),
            (ids.REPORT_LAT, "value", lat),
            (ids.REPORT_PHOTOS, "contents", None),
            (ids.REPORT_PHOTOS, "filename", None),
            (ids.LANG, "data", "en"),
        ],
    )
    return resp


@pytest.mark.parametrize(
    "role,kw",
    [
        ("wall", {}),
        ("analyst", {}),
        ("county_leader", {"area": "T01"}),
        ("department", {"department": HEATING}),
    ],
)
def test_read_only_roles_file_no_report(app, runtime, role, kw):
    client = login(app, "someone", role, **kw)
    lon, lat = tiny_cell_center(1, 1, 1)
    resp = report(app, client, lon, lat)
    assert resp.status_code == 403 or "may not report" in resp.get_data(as_text=True)
    assert runtime.db.query_one("SELECT count(*) FROM cases")[0] == 0
    assert runtime.db.query_one("SELECT count(*) FROM events")[0] == 0


def test_grid_worker_reports_only_inside_own_area(app, runtime):
    worker = login(app, "gw", "grid_worker", area="T01001001")
    lon, lat = tiny_cell_center(2, 1, 1)
    assert "may not report" in report(app, worker, lon, lat).get_data(as_text=True)
    assert runtime.db.query_one("SELECT count(*) FROM cases")[0] == 0
    lon, lat = tiny_cell_center(1, 1, 1)
    assert (
        "Case" in report(app, worker, lon, lat).get_data(as_text=True)
        or runtime.db.query_one("SELECT count(*) FROM cases")[0] == 1
    )
    assert runtime.db.query_one("SELECT count(*) FROM cases")[0] == 1
    # and opens the report page only
    assert (
        call(
            app,
            worker,
            ids.TICKER,
            [(ids.REFRESH, "n_intervals", 1), (ids.VIEW, "data", {}), (ids.LANG, "data", "en")],
            [(ids.MAP_Z, "data", None), (ids.WALL_SHOWN, "data", None)],
        ).status_code
        == 403
    )


def test_grid_worker_needs_an_area(runtime):
    with pytest.raises(AuthError, match="area"):
        runtime.users.add("gw", TEST_PASSWORD, "grid_worker")


def test_malformed_callback_inputs_answer_400(app):
    hall = login(app, "hall", "operator")
    resp = call(
        app,
        hall,
        ids.WARN_TITLE,
        [
            (ids.WARN_SELECTED, "data", "abc"),
            (ids.WARN_VERSION, "data", 1),
            (ids.LANG, "data", "en"),
        ],
    )
    assert resp.status_code == 400 and "abc" in resp.get_json()["error"]
    resp = call(
        app,
        hall,
        ids.TICKER,
        [(ids.REFRESH, "n_intervals", 1), (ids.VIEW, "data", "abc"), (ids.LANG, "data", "en")],
        [(ids.MAP_Z, "data", None), (ids.WALL_SHOWN, "data", None)],
        trigger=1,
    )
    assert resp.status_code == 400
    resp = call(
        app,
        hall,
        ids.CASES_HISTORY,
        [
            (ids.CASES_GRID, "selectedRows", [{"id": "x"}]),
            (ids.CASES_VERSION, "data", 1),
            (ids.LANG, "data", "en"),
        ],
    )
    assert resp.status_code == 400
    bad = hall.post(
        "/_dash-update-component", data=json.dumps([1, 2]), content_type="application/json"
    )
    assert bad.status_code == 400
    unknown = hall.post("/_dash-update-component", json={"output": "nope.children", "inputs": []})
    assert unknown.status_code == 400
    # inputs or state left out (Dash itself failed on them with a 500), or one too many
    key = next(k for k in app.callback_map if f"{ids.TICKER}." in k and "@" not in k)
    declared = app.callback_map[key]

    def sent(items):
        return [{"id": x["id"], "property": x["property"], "value": None} for x in items]

    inputs, state = sent(declared["inputs"]), sent(declared["state"])
    for body_inputs, body_state in (
        (inputs[:-1], state),
        (inputs, state[:-1]),
        (inputs, []),
        (inputs + inputs[:1], state),
    ):
        body = {"output": key, "outputs": {"id": ids.TICKER, "property": "children"}}
        body |= {"inputs": body_inputs, "state": body_state, "changedPropIds": []}
        resp = hall.post("/_dash-update-component", json=body)
        assert resp.status_code == 400, (len(body_inputs), len(body_state))
        assert "missing" in resp.get_json()["error"]


def test_pages_open_by_role(app):
    worker = login(app, "gw", "grid_worker", area="T01001001")
    wall = open_page(app, worker, "/")
    assert ids.FORBIDDEN in wall and ids.CELL_MAP not in wall and '"/report"' in wall
    assert ids.REPORT_MAP in open_page(app, worker, "/report")
    dept = login(app, "heat", "department", department=HEATING)
    assert ids.FORBIDDEN in open_page(app, dept, "/metrics")
    assert ids.CASES_GRID in open_page(app, dept, "/cases")
    kiosk = login(app, "wall", "wall")
    assert ids.FORBIDDEN in open_page(app, kiosk, "/cases")
    assert ids.CELL_MAP in open_page(app, kiosk, "/")
