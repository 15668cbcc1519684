"""Targeted inspection lists (issue 11, item 4): the right entities get the right reasons with the
right figures, good figures exempt, a county leader gets their own county only (in the data
layer, over HTTP and through the page's Dash callback), and the exports read back."""

from __future__ import annotations

import csv
import io
import json

import pandas as pd
import pytest

from data import indicators, inspections
from data.areas import scope_for_code
from tests.support import inspections as world
from tests.support.stores import tiny_runtime
from tests.support.web import TEST_PASSWORD, post_login
from web.inspections import COLUMNS

TZ = world.TZ
SINCE = pd.Timestamp("2026-11-16", tz=TZ).tz_convert("UTC")  # a Monday, local midnight
UNTIL = pd.Timestamp("2026-11-23", tz=TZ).tz_convert("UTC")
NOW = UNTIL + pd.Timedelta(hours=2)


@pytest.fixture(scope="module")
def built(tmp_path_factory, tiny_region_dir):
    tmp = tmp_path_factory.mktemp("inspections")
    rt = tiny_runtime(tmp, tiny_region_dir, cases_from_hotline=False)
    made = world.build(rt, SINCE, UNTIL)
    yield rt, made
    rt.stop()


def _run(rt, code="T", level="county", **kw):
    return inspections.build(
        rt.db,
        scope_for_code(rt.db, code),
        level=level,
        since=kw.pop("since", SINCE),
        until=kw.pop("until", UNTIL),
        now=kw.pop("now", NOW),
        timezone=TZ,
        thresholds=inspections.Thresholds.from_settings(rt.settings),
        escalate_after=rt.settings.warnings_escalate_after_s,
        **kw,
    )


def _reasons(entry) -> dict:
    return {r["code"]: r for r in entry["reasons"]}


def _risk(made: dict) -> dict[str, int]:
    """The risk index computed independently from the events put in: severity in the period
    against the 4 weeks before it scaled to the period, prior = mean of those over the counties."""
    env = made["env"]
    ev = pd.concat(
        [
            env.assign(county=env["id"].str[3], sev=1),
            made["police"].assign(county="1", sev=5),
            made["hotline"].assign(county="1", sev=2),
            made["market"].assign(county="1", sev=3),
        ]
    )
    s, e = {}, {}
    for c in ("1", "2"):
        mine = ev[ev.county == c]
        s[c] = mine[(mine.time >= SINCE) & (mine.time < UNTIL)].sev.sum()
        base = mine[(mine.time >= SINCE - pd.Timedelta(weeks=4)) & (mine.time < SINCE)]
        e[c] = base.sev.sum() * 7 / 28
    a = sum(e.values()) / 2
    return {f"T0{c}": round(100 * (s[c] + a) / (e[c] + a)) for c in s}


def test_the_county_with_evidence_is_listed_with_its_figures(built):
    rt, made = built
    got = _run(rt)
    assert [e["entity"] for e in got["entries"]] == ["T01"]
    (t01,) = got["entries"]
    r = _reasons(t01)
    assert set(r) == {
        "overdue",
        "reworked",
        "returns",
        "repeat_complaints",
        "unacknowledged",
        "risk",
        "feed_silent",
    }
    assert r["overdue"]["figures"] == {"cases": 2} and r["overdue"]["threshold"] == 1
    assert r["reworked"]["figures"] == {"cases": 2} and r["reworked"]["threshold"] == 2
    assert r["returns"]["figures"] == {"returns": 2}
    assert r["unacknowledged"]["figures"] == {"warnings": 1}
    rep = r["repeat_complaints"]
    assert rep["threshold"] == 3 and rep["value"] == 4
    assert rep["figures"]["places"] == 2 and rep["figures"]["complaints"] == 7
    assert rep["figures"]["top"][0] == {
        "kind": "address",
        "place": "zhongshan road 12",
        "category": None,
        "complaints": 4,
    }
    assert rep["figures"]["top"][1]["place"] == world.BUSINESS
    want = _risk(made)
    assert want["T01"] >= 150 > want["T02"]
    assert r["risk"]["figures"]["risk"] == want["T01"] and r["risk"]["threshold"] == 150
    silent = r["feed_silent"]["figures"]
    assert silent["sources"] == ["environment"]
    # its last reading was 50 hours before the end; silence counts from the end of its bucket
    assert silent["hours"] == pytest.approx(50 - 5 / 60, abs=0.05)
    assert silent["expected"] > 40  # about one an hour
    # the score is the documented sum, and the figures are the catalogue's
    assert t01["score"] == pytest.approx(sum(x["score"] for x in t01["reasons"]))
    assert t01["score"] == pytest.approx(
        3 * 2
        + 2 * 1
        + 1 * 1
        + 2 * 4 / 3
        + 3 * 1
        + 2 * min((want["T01"] - 100) / 50, 5)
        + 1 * silent["hours"] / 24,
        abs=0.1,
    )
    cat = indicators.compute(
        rt.db,
        "cases.overdue_at_end",
        scope_for_code(rt.db, "T"),
        SINCE,
        UNTIL,
        by="county",
        now=NOW,
    )
    assert dict(zip(cat.area, cat.value, strict=True)) == {"T01": 2.0, "T02": 0.0}


def test_the_county_with_good_figures_is_exempt_with_why(built):
    rt, _ = built
    got = _run(rt)
    assert [e["entity"] for e in got["exempt"]] == ["T02"]
    why = {w["code"]: w for w in got["exempt"][0]["why"]}
    assert why["on_time"]["figures"] == {"on_time_rate": 1.0, "cases": 3}
    assert why["on_time"]["threshold"] == 0.9 and "no_overdue" in why


def test_departments_are_listed_and_exempt_by_their_own_figures(built):
    rt, _ = built
    names = {world.T01_DEPT: {"zh": "住建", "en": "Housing"}}
    got = _run(rt, level="department", departments=names)
    (heat,) = got["entries"]
    assert heat["entity"] == world.T01_DEPT and heat["name_en"] == "Housing"
    r = _reasons(heat)
    assert set(r) == {"overdue", "reworked", "returns"}
    assert r["overdue"]["figures"] == {"cases": 2} and r["returns"]["figures"] == {"returns": 2}
    assert [e["entity"] for e in got["exempt"]] == [world.T02_DEPT]


def test_a_county_scope_never_sees_another_county(built):
    rt, _ = built
    got = _run(rt, code="T02")
    assert got["entries"] == [] and [e["entity"] for e in got["exempt"]] == ["T02"]
    got = _run(rt, code="T02", level="township")
    assert [e["entity"] for e in got["exempt"]] == ["T02001"]
    got = _run(rt, code="T02", level="department")
    assert got["entries"] == [] and [e["entity"] for e in got["exempt"]] == [world.T02_DEPT]
    got = _run(rt, code="T01", level="community")
    assert [e["entity"] for e in got["entries"]] == ["T01001001"] and got["exempt"] == []


def test_bad_requests_say_why(built):
    rt, _ = built
    with pytest.raises(inspections.InspectionError, match="unknown level"):
        _run(rt, level="planet")
    with pytest.raises(inspections.InspectionError, match="must be before"):
        _run(rt, since=UNTIL, until=SINCE)
    with pytest.raises(indicators.IndicatorError, match="above it"):
        _run(rt, code="T02001", level="county")


def test_a_period_before_the_evidence_lists_nothing(built):
    rt, _ = built
    got = _run(rt, since=SINCE - pd.Timedelta(days=60), until=SINCE - pd.Timedelta(days=50))
    assert got["entries"] == []


def test_default_period_is_the_last_seven_local_days():
    now = pd.Timestamp("2026-11-23 10:00", tz=TZ).tz_convert("UTC")
    since, until = inspections.default_period(TZ, now)
    assert since == pd.Timestamp("2026-11-17", tz=TZ) and until == now


# --- over HTTP: the read API and the page's Dash callback -------------------------------------

Q = "since=2026-11-16&until=2026-11-23"  # local dates: [16 Nov 00:00, 23 Nov 00:00)


@pytest.fixture(scope="module")
def app(built):
    from app import create_app

    rt, _ = built
    rt.settings.auth = True
    rt.settings.read_token = "read-me"
    app = create_app(runtime=rt)
    for name, role, kw in (
        ("boss", "admin", {}),
        ("leader2", "county_leader", {"area": "T02"}),
        ("leader1", "county_leader", {"area": "T01"}),
        ("worker", "grid_worker", {"area": "T01001001"}),
    ):
        rt.users.add(name, TEST_PASSWORD, role, **kw)
    return app


def _client(app, user: str | None):
    client = app.server.test_client()
    if user:
        assert post_login(client, user, TEST_PASSWORD).status_code == 302
    return client


def test_api_json_is_the_list_scoped_to_the_reader(app, built):
    rt, _ = built
    body = _client(app, "boss").get(f"/api/inspections?{Q}&lang=en").get_json()
    assert body["area"] == "T" and body["since"] == "2026-11-15T16:00:00+00:00"
    assert [e["entity"] for e in body["entries"]] == ["T01"]
    assert [e["entity"] for e in body["exempt"]] == ["T02"]
    texts = [r["text"] for r in body["entries"][0]["reasons"]]
    assert "2 cases open past their deadline (threshold 1)" in texts
    assert any('address "zhongshan road 12"' in x or "zhongshan road 12" in x for x in texts)
    # a county leader of T02 asks for the city, a township level, departments: only T02's
    leader = _client(app, "leader2")
    for level in ("county", "township", "community", "department"):
        got = leader.get(f"/api/inspections?{Q}&level={level}")
        text = got.get_data(as_text=True)
        assert got.status_code == 200 and got.get_json()["area"] == "T02", level
        assert "T01" not in text and "第1区" not in text and world.T01_DEPT not in text, level
    assert leader.get(f"/api/inspections?{Q}&area=T01").status_code == 400  # no such parameter
    # roles without the page, and nobody signed in
    assert _client(app, "worker").get(f"/api/inspections?{Q}").status_code == 403
    assert _client(app, None).get(f"/api/inspections?{Q}").status_code == 401
    token = app.server.test_client().get(
        f"/api/inspections?{Q}", headers={"Authorization": "Bearer read-me"}
    )
    assert token.status_code == 200 and token.get_json()["area"] == "T"


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("level=planet", "level must be one of"),
        ("format=pdf", "format must be one of"),
        ("lang=fr", "lang must be one of"),
        ("since=2026-13-45", "since"),
        ("since=2026-11-23&until=2026-11-16", "must be before"),
    ],
)
def test_api_bad_arguments_say_why(app, query, message):
    resp = _client(app, "boss").get(f"/api/inspections?{query}")
    assert resp.status_code == 400 and message in resp.get_json()["error"]


def test_csv_and_xlsx_exports_read_back_and_are_audited(app, built):
    from openpyxl import load_workbook

    rt, _ = built
    client = _client(app, "leader1")
    resp = client.get(f"/api/inspections?{Q}&format=csv")
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    assert 'filename="inspections-T01-county.csv"' in resp.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(resp.get_data().decode("utf-8-sig"))))
    assert {r["entity"] for r in rows} == {"T01"} and {r["list"] for r in rows} == {"inspect"}
    by_reason = {r["reason"]: r for r in rows}
    assert json.loads(by_reason["overdue"]["figures"]) == {"cases": 2}
    assert by_reason["overdue"]["text"] == "超期未办结 2 件（阈值 ≥1）"

    resp = client.get(f"/api/inspections?{Q}&format=xlsx&level=department&lang=en")
    assert resp.status_code == 200
    book = load_workbook(io.BytesIO(resp.get_data()))
    sheet, filters = book["inspections"], book["filters"]
    table = list(sheet.values)
    assert list(table[0]) == list(COLUMNS)
    assert {r[2] for r in table[1:]} == {world.T01_DEPT}  # T01's cases: housing only
    assert sheet.auto_filter.ref
    got = dict(list(filters.values)[1:])
    assert got["area"] == "T01" and got["level"] == "department"
    assert got["since"] == "2026-11-15T16:00:00+00:00" and got["threshold.overdue"] == 1

    trail = rt.db.query_df(
        "SELECT actor, object_id, detail FROM audit_log WHERE action = 'inspections.export' "
        "ORDER BY id"
    )
    assert list(trail["actor"][-2:]) == ["leader1", "leader1"]
    assert json.loads(trail["detail"].iloc[-1])["format"] == "xlsx"
    # JSON reads are not exports
    before = len(trail)
    client.get(f"/api/inspections?{Q}")
    after = rt.db.query_one("SELECT count(*) FROM audit_log WHERE action = 'inspections.export'")[0]
    assert after == before


def _callback(app, client, start, end, level, lang="en"):
    """The page's Dash callback as the browser calls it."""
    client.get("/inspections")  # Dash registers its routes at the first request
    key = next(k for k in app.callback_map if "inspect-grid.rowData" in k)
    cb = app.callback_map[key]
    values = {"start_date": start, "end_date": end, "value": level, "data": lang}
    body = {
        "output": key,
        "outputs": [
            dict(zip(("id", "property"), p.rsplit(".", 1), strict=True))
            for p in key[2:-2].split("...")
        ],
        "inputs": [dict(i, value=values[i["property"]]) for i in cb["inputs"]],
        "state": [],
        "changedPropIds": ["inspect-level.value"],
    }
    return client.post("/_dash-update-component", json=body)


def test_the_page_callback_shows_a_county_leader_their_county_only(app):
    leader = _client(app, "leader2")
    for level in ("county", "township", "department"):
        resp = _callback(app, leader, "2026-11-16", "2026-11-22", level)
        assert resp.status_code == 200
        text = json.dumps(resp.get_json(), ensure_ascii=False)
        assert "T01" not in text and "District 1" not in text and "Street 1" not in text
        assert world.T01_DEPT not in text
    resp = _callback(app, leader, "2026-11-16", "2026-11-22", "county")
    out = resp.get_json()["response"]
    assert out["inspect-exempt-grid"]["rowData"][0]["name"] == "District 2"
    assert "since=2026-11-15T16" in out["inspect-csv"]["href"]
    # the address follows the period (until exclusive, as the read API reads it) ...
    assert out["inspect-query"]["data"] == {"since": "2026-11-16", "until": "2026-11-23"}
    # the city's view of the same period lists T01 with its reasons in words
    boss = _callback(app, _client(app, "boss"), "2026-11-16", "2026-11-22", "county")
    rows = boss.get_json()["response"]["inspect-grid"]["rowData"]
    assert [r["entity"] for r in rows] == ["T01"]
    assert "2 cases open past their deadline" in rows[0]["reasons"]
    # a role without the page is refused; input that is not a level is a clear 400
    assert _callback(app, _client(app, "worker"), None, None, "county").status_code == 403
    assert _callback(app, leader, "2026-11-16", "2026-11-22", "planet").status_code == 400


def test_without_four_weeks_of_history_the_risk_is_not_weighed(built):
    """The store's history starts 4 weeks before SINCE: one day earlier, the baseline would be
    partly empty and every risk index high, so the risk reason is left out and said so."""
    rt, _ = built
    assert _run(rt)["notes"] == []
    got = _run(rt, since=SINCE - pd.Timedelta(days=1))
    assert got["notes"] == ["risk_no_baseline"]
    (t01,) = got["entries"]
    assert "risk" not in _reasons(t01) and "overdue" in _reasons(t01)


def test_a_shared_address_sets_the_period(app):
    """``/inspections?since=..&until=..`` (a link someone shared) opens on that period."""
    client = _client(app, "leader2")
    client.get("/inspections")
    key = "..inspect-period.start_date...inspect-period.end_date.."
    assert key in app.callback_map
    body = {
        "output": key,
        "outputs": [
            {"id": "inspect-period", "property": "start_date"},
            {"id": "inspect-period", "property": "end_date"},
        ],
        "inputs": [
            {"id": "url", "property": "search", "value": "?since=2026-11-16&until=2026-11-23"}
        ],
        "state": [],
        "changedPropIds": ["url.search"],
    }
    resp = client.post("/_dash-update-component", json=body)
    assert resp.status_code == 200, resp.data[:300]
    out = resp.get_json()["response"]["inspect-period"]
    assert (out["start_date"], out["end_date"]) == ("2026-11-16", "2026-11-22")
