"""GET /api/indicators and /api/indicators/<id> through the real Flask app: the values are the
catalogue's, as JSON, CSV and Excel; scoped like the read API; bad arguments answer 400."""

from __future__ import annotations

import csv
import io

import pandas as pd
import pytest
from openpyxl import load_workbook

from app import create_app
from data import indicators
from data.areas import scope_for_code
from tests.support import figures
from tests.support.web import sign_in

SINCE, UNTIL = "2026-11-09", "2026-11-23"  # local dates (Asia/Shanghai)


@pytest.fixture
def rt(runtime):
    runtime.settings.read_token = "read-me"
    figures.build(runtime)
    return runtime


def _client(rt, role: str | None = "operator", **kw):
    rt.settings.auth = True  # sign-in required: no credentials reads nothing
    client = create_app(runtime=rt).server.test_client()
    if role is not None:
        sign_in(client, rt, f"u-{role}", role, **kw)
    return client


def _expected(rt, ind_id: str, code: str, by: str | None = None) -> pd.DataFrame:
    since = pd.Timestamp(SINCE, tz=figures.TZ)
    until = pd.Timestamp(UNTIL, tz=figures.TZ)
    return indicators.compute(
        rt.db,
        ind_id,
        scope_for_code(rt.db, code),
        since,
        until,
        by=by,
        escalate_after=rt.settings.warnings_escalate_after_s,
    )


def test_the_catalogue_lists_every_indicator_with_names_and_definitions(rt):
    got = _client(rt).get("/api/indicators").get_json()["indicators"]
    assert [e["id"] for e in got] == list(indicators.CATALOGUE)
    total = next(e for e in got if e["id"] == "events.total")
    assert total["name"] == {"zh": "事件总数", "en": "Events"}
    assert total["unit"] == "count" and total["levels"][0] == "city"
    assert all(e["definition"]["zh"] and e["definition"]["en"] for e in got)


def test_values_as_json_csv_and_excel_are_the_catalogues(rt):
    client = _client(rt)
    want = _expected(rt, "events.by_source", "T", by="county")
    q = f"/api/indicators/events.by_source?area=T&since={SINCE}&until={UNTIL}&by=county"
    body = client.get(q).get_json()
    assert body["since"] == "2026-11-08T16:00:00+00:00"  # local midnight, in UTC
    rows = pd.DataFrame(body["rows"])
    assert list(rows["area"]) == list(want["area"]) and set(rows["area"]) == {"T01", "T02"}
    assert list(rows["value"]) == list(want["value"]) and rows["value"].sum() > 0
    assert all(isinstance(r["value"], int) for r in body["rows"])  # a count is whole

    resp = client.get(q + "&format=csv")
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    assert "attachment" in resp.headers["Content-Disposition"]
    table = list(csv.DictReader(io.StringIO(resp.get_data().decode("utf-8-sig"))))
    assert [float(r["value"]) for r in table] == list(want["value"])
    assert table[0]["name_zh"] == "第1区"

    resp = client.get(q + "&format=xlsx")
    assert resp.status_code == 200
    sheet = load_workbook(io.BytesIO(resp.get_data())).active
    cells = list(sheet.values)
    assert list(cells[0]) == indicators.COLUMNS
    assert [r[-1] for r in cells[1:]] == list(want["value"])


def test_a_county_leader_reads_their_own_county_only(rt):
    client = _client(rt, "county_leader", area="T01")
    own = client.get(f"/api/indicators/cases.opened?since={SINCE}&until={UNTIL}&by=grid")
    assert own.status_code == 200
    areas = [r["area"] for r in own.get_json()["rows"]]
    assert len(areas) == 16 and all(a.startswith("T01") for a in areas)
    want = _expected(rt, "cases.opened", "T01", by="grid")
    assert [r["value"] for r in own.get_json()["rows"]] == list(want["value"])
    for area in ("T02", "T", "T02001001001"):
        resp = client.get(f"/api/indicators/events.total?area={area}")
        assert resp.status_code == 403, area
    assert client.get("/api/indicators/events.total?area=T01&format=csv").status_code == 200


@pytest.mark.parametrize(
    "role, kw, fmt, status",
    [
        ("wall", {}, "json", 200),
        ("wall", {}, "xlsx", 403),  # the wall reads figures, it does not export them
        ("department", {"department": "county.police"}, "json", 403),
        ("grid_worker", {"area": "T01001001"}, "csv", 403),
        (None, {}, "json", 401),
    ],
)
def test_who_may_read_and_export(rt, role, kw, fmt, status):
    client = _client(rt, role, **kw)
    resp = client.get(f"/api/indicators/events.total?format={fmt}")
    assert resp.status_code == status, resp.get_data(as_text=True)


def test_the_read_token_reads_like_an_analyst(rt):
    client = _client(rt, None)
    resp = client.get(
        "/api/indicators/warnings.raised?area=T02&since=2026-11-01&until=2026-11-29",
        headers={"Authorization": "Bearer read-me"},
    )
    assert resp.status_code == 200
    got = {r["key"]: r["value"] for r in resp.get_json()["rows"]}
    assert set(got) == {"blue", "yellow", "orange", "red"} and sum(got.values()) > 0


@pytest.mark.parametrize(
    "url, message",
    [
        ("/api/indicators/no.such", "unknown indicator"),
        ("/api/indicators/events.total?since=2026-13-01", "since"),
        ("/api/indicators/events.total?since=2026-11-09T08:00", "offset"),
        ("/api/indicators/events.total?since=2026-11-09&until=2026-11-09", "before"),
        ("/api/indicators/events.total?by=district", "unknown level"),
        ("/api/indicators/events.total?area=T01&by=city", "above"),
        ("/api/indicators/events.total?format=pdf", "format"),
        ("/api/indicators/events.total?colour=red", "unknown parameter"),
        ("/api/indicators/events.total?since=9999-01-01", "between"),
    ],
)
def test_bad_arguments_answer_400_with_the_reason(rt, url, message):
    resp = _client(rt).get(url)
    assert resp.status_code == 400
    assert message in resp.get_json()["error"]
