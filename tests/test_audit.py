"""The audit trail (issue 8, item 4): who did what, when, from which address, to which object;
append-only; an admin page lists and filters it and exports it to CSV (itself audited)."""

from __future__ import annotations

import csv
import io
import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from app import create_app
from data import audit
from data.runtime import Runtime
from data.warnings import acknowledge, clear
from layouts import ids
from tests.support.warnings import T0, S, accidents, engine, warnings_df
from tests.support.web import TEST_PASSWORD, form_token, open_page, post_login, sign_in

ROOT = Path(__file__).resolve().parents[1]
CODE = ["app.py", "data", "web", "callbacks", "layouts", "bench"]


def rows(runtime, action_prefix: str = "") -> list[dict]:
    return audit.query(runtime.db, action=action_prefix or None, limit=10_000).to_dict("records")


def test_no_code_path_updates_or_deletes_audit_rows():
    """Append-only: nothing in the code changes or removes an audit row; the one statement that
    writes to the table is an INSERT."""
    pattern = re.compile(
        r"(UPDATE|DELETE\s+FROM|TRUNCATE|DROP\s+TABLE|ALTER\s+TABLE|INSERT\s+OR\s+REPLACE\s+INTO"
        r"|REPLACE\s+INTO)\s+(\w+\.)?audit_log\b|audit_log\s+SET\b|ON\s+CONFLICT",
        re.IGNORECASE,
    )
    writers = []
    for top in CODE:
        paths = [ROOT / top] if top.endswith(".py") else (ROOT / top).rglob("*.py")
        for path in paths:
            text = path.read_text(encoding="utf-8")
            for stmt in re.findall(r"[^;\"']*audit_log[^;\"']*", text):
                assert not pattern.search(stmt), f"{path}: {stmt.strip()}"
            if re.search(r"INSERT\s+INTO\s+audit_log", text):
                writers.append(path.relative_to(ROOT).as_posix())
    assert writers == ["data/audit.py"]
    assert [n for n in dir(audit) if re.match(r"(update|delete|remove|purge|truncate)", n)] == []


def test_sign_in_failure_success_and_sign_out_are_recorded_with_the_address(runtime):
    runtime.settings.auth = True
    client = create_app(runtime=runtime).server.test_client()
    runtime.users.add("ana", TEST_PASSWORD, "analyst")
    env = {"REMOTE_ADDR": "10.1.2.3"}
    token = form_token(client)
    for password in ("wrong-password", TEST_PASSWORD):
        client.post(
            "/login",
            data={"username": "ana", "password": password, "csrf_token": token},
            environ_base=env,
        )
    client.post("/logout", data={"csrf_token": form_token(client)}, environ_base=env)
    got = [
        (r["actor"], r["action"], r["object_id"], r["address"], r["outcome"])
        for r in reversed(rows(runtime, "sign"))
    ]
    assert got == [
        ("ana", "signin.failure", "ana", "10.1.2.3", "failure"),
        ("ana", "signin.success", "ana", "10.1.2.3", "ok"),
        ("ana", "signout", "ana", "10.1.2.3", "ok"),
    ]
    assert TEST_PASSWORD not in str(rows(runtime))


def test_warning_and_case_actions_are_recorded_in_their_transaction(runtime):
    accidents(runtime, 3)
    eng = engine(runtime, ["acc"])
    eng.evaluate(T0)
    eng.evaluate(T0 + S)
    wid = int(warnings_df(runtime).iloc[0]["id"])
    with audit.bound("10.9.9.9"):
        acknowledge(runtime.db, wid, "duty", "on it")
        clear(runtime.db, wid, "duty", "false alarm")
    cell = runtime.db.query_one("SELECT key FROM areas WHERE level = 'grid' ORDER BY key")[0]
    with audit.bound("10.9.9.8"):
        cid = runtime.cases.create("hotline.heating", area_key=cell, actor="op1", dispatch=False)
        runtime.cases.dispatch(cid, "city.utilities", actor="op1", reason="theirs")
    got = [
        (r["actor"], r["action"], r["object_type"], r["object_id"], r["address"])
        for r in reversed(rows(runtime))
        if r["action"].startswith(("warning.", "case."))
    ]
    assert got == [
        ("duty", "warning.acknowledge", "warning", str(wid), "10.9.9.9"),
        ("duty", "warning.clear", "warning", str(wid), "10.9.9.9"),
        ("op1", "case.register", "case", str(cid), "10.9.9.8"),
        ("op1", "case.dispatch", "case", str(cid), "10.9.9.8"),
    ]
    # a refused action leaves no audit row (same transaction as the action itself)
    before = len(rows(runtime))
    with pytest.raises(ValueError):
        clear(runtime.db, wid, "duty", "again")
    assert len(rows(runtime)) == before


def test_field_report_is_recorded(runtime):
    from callbacks.report_page import submit_report
    from tests.support.region import tiny_cell_center

    runtime.settings.auth = True
    app = create_app(runtime=runtime)
    client = app.server.test_client()
    sign_in(client, runtime, "gw", "operator")
    lon, lat = tiny_cell_center(1, 1, 1)
    resp = client.post(
        "/_dash-update-component",
        json={
            "output": "..report-msg.children...report-photos.contents...report-photos.filename..",
            "outputs": [
                {"id": "report-msg", "property": "children"},
                {"id": "report-photos", "property": "contents"},
                {"id": "report-photos", "property": "filename"},
            ],
            "inputs": [{"id": "report-submit", "property": "n_clicks", "value": 1}],
            "state": [
                {"id": "report-category", "property": "value", "value": "heating"},
                {"id": "report-text", "property": "value", "value": "no heat"},
                {"id": "report-lon", "property": "value", "value": lon},
                {"id": "report-lat", "property": "value", "value": lat},
                {"id": "report-photos", "property": "contents", "value": None},
                {"id": "report-photos", "property": "filename", "value": None},
                {"id": "lang", "property": "data", "value": "en"},
            ],
            "changedPropIds": ["report-submit.n_clicks"],
        },
    )
    assert resp.status_code == 200, resp.get_data(as_text=True)[:300]
    (row,) = rows(runtime, "field_report")
    assert (row["actor"], row["object_type"], row["address"]) == ("gw", "case", "127.0.0.1")
    assert submit_report  # the callback's helper is what the page calls


def test_user_changes_by_the_cli_are_recorded_while_the_server_holds_the_store(runtime):
    runtime.users.add("ana", TEST_PASSWORD, "analyst")
    runtime.users.users()
    env = os.environ | {"ONEGRID_USERS_FILE": str(runtime.settings.users_file)}

    def cli(*args):
        done = subprocess.run(
            [sys.executable, "app.py", "user", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
        )
        assert done.returncode == 0, done.stderr
        runtime.users.users()  # the server reads the file again on its next request

    cli("add", "bob", "--role", "county_leader", "--area", "T01", "--password", TEST_PASSWORD)
    cli("passwd", "ana", "--password", "another-password")
    cli("add", "bob", "--role", "county_leader", "--area", "T02", "--password", TEST_PASSWORD)
    cli("remove", "bob")
    got = [(r["action"], r["object_id"]) for r in reversed(rows(runtime, "user."))]
    assert got == [
        ("user.add", "ana"),
        ("user.add", "bob"),
        ("user.passwd", "ana"),
        ("user.change", "bob"),
        ("user.remove", "bob"),
    ]
    change = [r for r in rows(runtime, "user.change")][0]
    assert "area" in change["detail"] and "password" in change["detail"]  # new hash each add
    assert all(r["actor"].startswith("users-file") for r in rows(runtime, "user."))
    assert "scrypt" not in str(rows(runtime))  # no password hash in the trail


def test_settings_changes_are_recorded_by_key_never_by_value(settings):
    rt = Runtime(settings)
    try:
        create_app(runtime=rt)
    finally:
        rt.stop()
    changed = settings.model_copy(
        update={"refresh_ms": 7000, "ingest_token": "very-secret-token-1"}
    )
    rt = Runtime(changed)
    try:
        create_app(runtime=rt)
        create_app(runtime=rt)  # nothing changed since: no new row
        got = rows(rt, "settings")
        assert [r["action"] for r in got] == ["settings.change", "settings.initial"]
        assert '"keys": ["ingest_token", "refresh_ms"]' in got[0]["detail"]
        everything = str(rt.db.query("SELECT * FROM audit_log")) + str(
            rt.db.query("SELECT * FROM meta")
        )
        assert "very-secret-token-1" not in everything and "test-token" not in everything
        assert "test-secret" not in everything
    finally:
        rt.stop()


def test_read_api_downloads_are_recorded(runtime):
    runtime.settings.read_token = "share"
    runtime.settings.auth = True
    client = create_app(runtime=runtime).server.test_client()
    client.get("/api/events?limit=5", headers={"Authorization": "Bearer share"})
    client.get("/api/events", headers={"Authorization": "Bearer nope"})  # refused: no download
    (row,) = rows(runtime, "data.download")
    assert (row["actor"], row["object_id"]) == ("read-token", "/api/events?limit=5")


# --------------------------------------------------------------------------- page and export


@pytest.fixture
def admin_site(runtime):
    runtime.settings.auth = True
    app = create_app(runtime=runtime)
    admin, analyst = app.server.test_client(), app.server.test_client()
    sign_in(admin, runtime, "boss", "admin")
    sign_in(analyst, runtime, "ana", "analyst")
    post_login(analyst, "ana", "wrong-password")
    return app, admin, analyst


def audit_request(period="24h", actor=None, action=None, obj=None, address=""):
    return {
        "output": "..audit-grid.rowData...audit-grid.columnDefs...audit-count.children..."
        "audit-export.href...audit-export-xlsx.href...audit-actor.options..."
        "audit-action.options...audit-period.options..",
        "outputs": [
            {"id": "audit-grid", "property": "rowData"},
            {"id": "audit-grid", "property": "columnDefs"},
            {"id": "audit-count", "property": "children"},
            {"id": "audit-export", "property": "href"},
            {"id": "audit-export-xlsx", "property": "href"},
            {"id": "audit-actor", "property": "options"},
            {"id": "audit-action", "property": "options"},
            {"id": "audit-period", "property": "options"},
        ],
        "inputs": [
            {"id": "audit-actor", "property": "value", "value": actor},
            {"id": "audit-action", "property": "value", "value": action},
            {"id": "audit-period", "property": "value", "value": period},
            {"id": "audit-object", "property": "value", "value": obj},
            {"id": "lang", "property": "data", "value": "en"},
            {"id": "url", "property": "search", "value": address},
        ],
        "changedPropIds": ["audit-period.value"],
    }


def test_audit_page_lists_and_filters_for_admins_only(admin_site):
    _app, admin, analyst = admin_site
    resp = admin.post("/_dash-update-component", json=audit_request(action="signin"))
    out = resp.get_json()["response"]
    grid = out["audit-grid"]["rowData"]
    assert {r["action"] for r in grid} == {"signin.success", "signin.failure"}
    assert out["audit-export"]["href"] == "/audit/export.csv?action=signin&period=24h"
    only_ana = admin.post(
        "/_dash-update-component", json=audit_request(actor="ana", action="signin.failure")
    ).get_json()["response"]["audit-grid"]["rowData"]
    assert [(r["actor"], r["outcome"]) for r in only_ana] == [("ana", "failure")]
    by_object = admin.post("/_dash-update-component", json=audit_request(obj="boss")).get_json()[
        "response"
    ]["audit-grid"]["rowData"]
    assert by_object and {r["object_id"] for r in by_object} == {"boss"}
    # refused by the one page guard (403, no row), and the page is the common refusal page
    denied = analyst.post("/_dash-update-component", json=audit_request())
    assert denied.status_code == 403 and "rowData" not in denied.get_data(as_text=True)
    page = open_page(_app, analyst, "/audit")
    assert ids.FORBIDDEN in page and ids.AUDIT_GRID not in page
    assert ids.AUDIT_GRID in open_page(_app, admin, "/audit")


def test_audit_times_are_shown_in_the_regions_zone_per_language(admin_site, runtime):
    _app, admin, _analyst = admin_site
    audit.record(runtime.db, "boss", "probe.time", at=pd.Timestamp("2026-11-25T16:05:09Z"))
    for lang, shown in (("en", "26 Nov 2026, 00:05:09"), ("zh", "2026年11月26日 00:05:09")):
        body = audit_request(period="all", action="probe.time")
        body["inputs"][-2]["value"] = lang
        grid = admin.post("/_dash-update-component", json=body).get_json()["response"]
        assert [r["occurred_at"] for r in grid["audit-grid"]["rowData"]] == [shown]


def test_csv_export_is_admin_only_and_audited(admin_site, runtime):
    _app, admin, analyst = admin_site
    assert analyst.get("/audit/export.csv").status_code == 403
    resp = admin.get("/audit/export.csv?action=signin&period=7d")
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    table = list(csv.DictReader(io.StringIO(resp.get_data(as_text=True))))
    assert {r["action"] for r in table} == {"signin.success", "signin.failure"}
    assert all(pd.Timestamp(r["occurred_at"]).tzinfo is not None for r in table)
    assert admin.get("/audit/export.csv?period=forever").status_code == 400
    (row,) = rows(runtime, "audit.export")
    assert row["actor"] == "boss" and '"rows": ' in row["detail"]


def test_csv_cells_cannot_become_spreadsheet_formulas(runtime):
    audit.record(runtime.db, "=cmd|' /C calc'!A0", "signin.failure", object_id="@SUM(1)")
    text = audit.to_csv(audit.query(runtime.db))
    assert "'=cmd" in text and "'@SUM(1)" in text


def test_excel_export_and_a_period_from_the_address(admin_site, runtime):
    """The trail exports as Excel too (header row, the filters in a second sheet, audited), and
    a shared link's ``since``/``until`` stand for the named period, on the page and in both
    files."""
    import openpyxl

    _app, admin, analyst = admin_site
    for day in ("2026-03-01T10:00:00Z", "2026-03-02T10:00:00Z", "2026-03-03T10:00:00Z"):
        audit.record(runtime.db, "boss", "probe.period", at=pd.Timestamp(day))
    # 2026-03-02 local (the region's zone) .. 2026-03-03 local midnight, until excluded
    address = "?since=2026-03-02&until=2026-03-03"
    out = admin.post(
        "/_dash-update-component", json=audit_request(action="probe.period", address=address)
    ).get_json()["response"]
    assert len(out["audit-grid"]["rowData"]) == 1
    assert out["audit-count"]["children"].endswith(": 1 rows")
    csv_href, xlsx_href = out["audit-export"]["href"], out["audit-export-xlsx"]["href"]
    assert "&period=" not in csv_href and "since=" in csv_href and "until=" in xlsx_href
    table = list(csv.DictReader(io.StringIO(admin.get(csv_href).get_data(as_text=True))))
    assert [r["occurred_at"] for r in table] == ["2026-03-02T10:00:00+00:00"]
    resp = admin.get(xlsx_href)
    assert resp.status_code == 200 and resp.mimetype.endswith("spreadsheetml.sheet")
    book = openpyxl.load_workbook(io.BytesIO(resp.data), read_only=True)
    sheet = list(book["audit"].iter_rows(values_only=True))
    assert sheet[0] == audit.COLUMNS and len(sheet) == 2
    assert sheet[1][1] == "2026-03-02T10:00:00+00:00"
    about = dict(book["filters"].iter_rows(values_only=True))
    assert about["user"] == "boss" and about["action"] == "probe.period"
    assert analyst.get(xlsx_href).status_code == 403
    assert admin.get("/audit/export.pdf").status_code == 404
    assert admin.get("/audit/export.xlsx?since=yesterday").status_code == 400
    formats = [r["detail"].count('"format": "xlsx"') for r in rows(runtime, "audit.export")]
    assert sorted(formats) == [0, 1]  # the CSV and the Excel file
