"""Exports over the read API (issue 10, item 5): format=csv and format=xlsx on /api/events,
/api/cases and /api/warnings, over real HTTP to a live server, signed in as an analyst and as a
county leader, and with the read token. A file holds the JSON answer's records (header first),
keeps the reader's scope, is streamed, is capped at 1,000,000 rows and is audited."""

from __future__ import annotations

import csv
import io
import json
import re
import threading
import time

import openpyxl
import pandas as pd
import pytest
import requests

from data import export
from tests.support.browser import live_site
from tests.support.region import tiny_cell_center
from tests.support.server import READ as SERVER_READ
from tests.support.server import free_port, start_server
from tests.support.warnings import T0, accidents, engine, minutes
from tests.support.web import TEST_PASSWORD
from web.openapi import EXPORT_ROWS

READ = {"Authorization": "Bearer share"}
KINDS = {"events": export.EVENT_COLUMNS, "cases": export.CASE_COLUMNS}
KINDS["warnings"] = export.WARNING_COLUMNS


def _events(rt, county: int, n: int, prefix: str) -> None:
    lon, lat = tiny_cell_center(county, 1, 1)
    frame = pd.DataFrame(
        {
            "id": [f"{prefix}{k}" for k in range(n)],
            "time": [T0 - minutes(60 + k) for k in range(n)],
            "lon": lon,
            "lat": lat,
            "category": "criminal",
            "severity": 2,
            "value": [None if k % 2 else k + 0.5 for k in range(n)],
            # text a spreadsheet would run as a formula, and Chinese text
            "text": ['=HYPERLINK("http://x")' if k == 0 else f"报警 {k}" for k in range(n)],
            "attributes": [json.dumps({"k": k, "名": "值"}) for k in range(n)],
        }
    )
    assert rt.pipeline.ingest_frame("police", frame, now=T0).accepted == n


def _cell_key(rt, county: int) -> int:
    lon, lat = tiny_cell_center(county, 1, 1)
    return rt.cases.place(lon, lat)


@pytest.fixture(scope="module")
def site(tmp_path_factory, tiny_region_dir):
    folder = tmp_path_factory.mktemp("export")
    with live_site(folder, tiny_region_dir, auth=True, read_token="share") as (url, rt):
        _events(rt, 1, 30, "a")
        _events(rt, 2, 20, "b")
        for county in (1, 2):  # a warning in each county
            accidents(rt, 3, at=T0, cell=(county, 0, 0))
        eng = engine(rt, ["acc"])
        eng.evaluate(T0)
        eng.evaluate(T0 + pd.Timedelta(seconds=30))
        for county, n in ((1, 3), (2, 2)):
            for k in range(n):
                rt.cases.create(
                    "hotline.heating", area_key=_cell_key(rt, county), now=T0 - minutes(k + 1)
                )
        rt.users.add("ana", TEST_PASSWORD, "analyst")
        rt.users.add("lead1", TEST_PASSWORD, "county_leader", area="T01")
        rt.users.add("wall1", TEST_PASSWORD, "wall")
        yield url, rt


def _session(url: str, username: str) -> requests.Session:
    s = requests.Session()
    page = s.get(url + "/login", timeout=30).text
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    resp = s.post(
        url + "/login",
        data={"username": username, "password": TEST_PASSWORD, "csrf_token": token},
        allow_redirects=False,
        timeout=30,
    )
    assert resp.status_code == 302
    return s


def _csv_cell(v) -> str:
    """What the CSV holds for a JSON value (formula text quoted, JSON objects as text)."""
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, dict | list):
        return json.dumps(v, ensure_ascii=False, sort_keys=True)
    if isinstance(v, str) and v.startswith(("=", "+", "-", "@", "\t", "\r")):
        return "'" + v
    return str(v)


def _csv(resp) -> list[list[str]]:
    assert resp.status_code == 200, resp.text
    assert resp.headers["Content-Type"].startswith("text/csv")
    assert resp.content.startswith(b"\xef\xbb\xbf")  # UTF-8 with a byte-order mark
    return list(csv.reader(io.StringIO(resp.content.decode("utf-8-sig"))))


@pytest.mark.parametrize("kind", list(KINDS))
def test_csv_holds_the_json_records_header_first(site, kind):
    url, _rt = site
    s = _session(url, "ana")
    records = s.get(f"{url}/api/{kind}?limit=10000", timeout=30).json()[kind]
    assert records
    table = _csv(s.get(f"{url}/api/{kind}?format=csv", timeout=30))
    # (the JSON answer's keys come sorted)
    assert table[0] == list(KINDS[kind]) and set(records[0]) == set(table[0])
    assert table[1:] == [[_csv_cell(r[c]) for c in table[0]] for r in records]


def test_formula_text_is_quoted_and_chinese_kept(site):
    url, _rt = site
    table = _csv(requests.get(f"{url}/api/events?format=csv&source=police", headers=READ))
    texts = [row[table[0].index("text")] for row in table[1:]]
    assert '\'=HYPERLINK("http://x")' in texts and "报警 1" in texts


@pytest.mark.parametrize("kind", list(KINDS))
def test_xlsx_has_a_header_row_and_a_filters_sheet(site, kind):
    url, _rt = site
    s = _session(url, "ana")
    q = "since=2026-05-01T00:00:00%2B08:00&limit=500"
    records = s.get(f"{url}/api/{kind}?{q}", timeout=30).json()[kind]
    resp = s.get(f"{url}/api/{kind}?{q}&format=xlsx", timeout=60)
    assert resp.status_code == 200 and "spreadsheetml" in resp.headers["Content-Type"]
    assert f"onegrid-{kind}-" in resp.headers["Content-Disposition"]
    wb = openpyxl.load_workbook(io.BytesIO(resp.content), read_only=True)
    assert wb.sheetnames == [kind, "filters"]
    rows = list(wb[kind].iter_rows(values_only=True))
    assert list(rows[0]) == list(KINDS[kind])
    assert len(rows) - 1 == len(records)
    ids = [r["id"] for r in records]
    assert [str(r[rows[0].index("id")]) for r in rows[1:]] == [str(i) for i in ids]
    filters = dict(wb["filters"].iter_rows(values_only=True))
    assert filters["user"] == "ana" and filters["rows"] == len(records)
    assert filters["since"] == "2026-05-01T00:00:00+08:00" and filters["limit"] == "500"
    assert pd.Timestamp(filters["exported_at"]).tzinfo is not None


def _county_of(rt, code: str) -> str:
    row = rt.db.query_one(
        "SELECT c.code FROM areas a JOIN areas c ON c.key = a.county_key WHERE a.code = ?",
        [code],
    )
    return row[0] if row else code


@pytest.mark.parametrize("kind", list(KINDS))
def test_county_leader_exports_only_own_county(site, kind):
    url, rt = site
    lead, ana = _session(url, "lead1"), _session(url, "ana")
    mine = _csv(lead.get(f"{url}/api/{kind}?format=csv", timeout=30))
    everyone = _csv(ana.get(f"{url}/api/{kind}?format=csv", timeout=30))
    col = mine[0].index("county" if kind != "warnings" else "area")
    counties = {_county_of(rt, row[col]) for row in mine[1:]}
    assert counties == {"T01"}
    assert "T02" in {_county_of(rt, row[col]) for row in everyone[1:]}
    assert len(mine) - 1 == lead.get(f"{url}/api/{kind}", timeout=30).json()["count"]
    # asking for the other county's area gives nothing of it
    other = _csv(lead.get(f"{url}/api/{kind}?format=csv&area=T02", timeout=30))
    assert other[1:] == []


def test_read_token_exports_and_the_row_cap(site):
    url, _rt = site
    table = _csv(requests.get(f"{url}/api/cases?format=csv", headers=READ, timeout=30))
    assert len(table) == 1 + 5
    assert export.MAX_ROWS == EXPORT_ROWS == 1_000_000
    ok = requests.get(f"{url}/api/events?format=csv&limit=1000000", headers=READ, timeout=30)
    assert ok.status_code == 200
    for kind in KINDS:
        for fmt in ("csv", "xlsx"):
            resp = requests.get(
                f"{url}/api/{kind}?format={fmt}&limit=1000001", headers=READ, timeout=30
            )
            assert resp.status_code == 400
            assert "1,000,000 rows" in resp.json()["error"]
    resp = requests.get(f"{url}/api/events?limit=20000", headers=READ, timeout=30)
    assert resp.status_code == 400 and "format=csv" in resp.json()["error"]
    resp = requests.get(f"{url}/api/warnings?format=pdf", headers=READ, timeout=30)
    assert resp.status_code == 400 and "format" in resp.json()["error"]
    assert requests.get(f"{url}/api/cases?format=csv", timeout=30).status_code == 401


def test_each_export_is_audited_with_format_filters_and_rows(site):
    url, rt = site
    s = _session(url, "lead1")
    before = rt.db.query_one("SELECT count(*) FROM audit_log WHERE action = 'data.export'")[0]
    table = _csv(s.get(f"{url}/api/events?format=csv&source=police", timeout=30))
    s.get(f"{url}/api/warnings?format=xlsx&state=raised", timeout=30).raise_for_status()
    s.get(f"{url}/api/cases", timeout=30).raise_for_status()  # a JSON page: data.download
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # recorded when the stream ends
        got = rt.db.query_records(
            "SELECT actor, object_id, detail FROM audit_log WHERE action = 'data.export'"
            " ORDER BY id"
        )[before:]
        if len(got) == 2:
            break
        time.sleep(0.1)
    assert [(g["actor"], g["object_id"]) for g in got] == [
        ("lead1", "/api/events"),
        ("lead1", "/api/warnings"),
    ]
    ev, warn = (json.loads(g["detail"]) for g in got)
    assert ev["format"] == "csv" and ev["filters"] == {"source": "police"}
    assert ev["rows"] == len(table) - 1 and ev["complete"] is True
    assert warn["format"] == "xlsx" and warn["filters"] == {"state": "raised"}
    downloads = rt.db.query("SELECT object_id FROM audit_log WHERE action = 'data.download'")
    assert ("/api/cases",) in downloads
    assert not any("format=" in d[0] for d in downloads)


def _rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        return int(next(x for x in f if x.startswith("VmRSS")).split()[1]) / 1024


def test_a_200000_event_export_is_streamed_in_flat_memory(tmp_path, tiny_region_dir):
    """The server is a process of its own (``python app.py``), so its memory is measured alone:
    in the test process, other tests' objects and threads made the figure drift."""
    n = 200_000
    db = tmp_path / "export.duckdb"
    with live_site(tmp_path, tiny_region_dir, db=db) as (_url, rt):
        lon, lat = tiny_cell_center(1, 1, 1)
        for part in range(4):
            k = range(part * n // 4, (part + 1) * n // 4)
            frame = pd.DataFrame(
                {
                    "id": [f"s{i}" for i in k],
                    "time": [T0 - pd.Timedelta(seconds=i) for i in k],
                    "lon": lon,
                    "lat": lat,
                    "category": "criminal",
                    "severity": 2,
                    "text": [f"事件 {i} " + "x" * 100 for i in k],
                }
            )
            assert rt.pipeline.ingest_frame("police", frame, now=T0).accepted == len(k)
            del frame
    port = free_port()
    proc = start_server(db, tiny_region_dir, port)
    url = f"http://127.0.0.1:{port}/api/events?format=csv"
    try:
        # a first export loads what any export needs: modules, and DuckDB's buffers (the newest
        # 20,000 of a time-ordered table are found by reading all of it)
        _export_lines(url, proc.pid, 20_000)
        small, small_growth = _export_lines(url, proc.pid, 20_000)
        full, full_growth = _export_lines(url, proc.pid, None)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    assert (small, full) == (1 + 20_000, 1 + n)  # the header and every event
    # streamed, ten times the rows cost about the same memory; held, 200,000 records as Python
    # objects would add ~250 MB (measured: 20-70 MB more than a 20,000-row export)
    assert full_growth - small_growth < 120, (small_growth, full_growth)


def _export_lines(url: str, pid: int, limit: int | None) -> tuple[int, float]:
    """(lines, peak memory growth of process ``pid`` in MB) of one streamed CSV export."""
    base, peak, stop = _rss_mb(pid), [0.0], threading.Event()

    def sample():
        while not stop.is_set():
            peak[0] = max(peak[0], _rss_mb(pid))
            time.sleep(0.02)

    watcher = threading.Thread(target=sample)
    watcher.start()
    address = url if limit is None else f"{url}&limit={limit}"
    try:
        with requests.get(address, headers=SERVER_READ, stream=True, timeout=120) as resp:
            assert resp.status_code == 200
            assert resp.headers.get("Transfer-Encoding") == "chunked"
            assert "Content-Length" not in resp.headers
            lines = sum(chunk.count(b"\n") for chunk in resp.iter_content(1 << 16))
    finally:
        stop.set()
        watcher.join()
    return lines, max(peak[0], _rss_mb(pid)) - base


def test_roles_that_may_not_export_read_json_only(site):
    url, _rt = site
    wall = _session(url, "wall1")
    for kind in KINDS:
        assert wall.get(f"{url}/api/{kind}", timeout=30).status_code == 200
        resp = wall.get(f"{url}/api/{kind}?format=csv", timeout=30)
        assert resp.status_code == 403 and "export" in resp.json()["error"]


def test_an_export_reaching_back_reads_the_archive_as_before(runtime):
    """A CSV over a period whose days move to the Parquet archive: the same file after the move."""
    from urllib.parse import urlencode

    from app import create_app
    from tests.support.archive import ingest_history
    from tests.support.web import sign_in

    now = pd.Timestamp.now(tz="UTC").floor("min")
    ingest_history(runtime, now)
    client = create_app(runtime=runtime).server.test_client()
    sign_in(client, runtime, "analyst", "analyst")
    day = pd.Timedelta(days=1)
    query = urlencode(
        {"since": (now - 120 * day).isoformat(), "until": (now - 60 * day).isoformat()}
    )
    before = client.get(f"/api/events?{query}&area=T01&format=csv").get_data()
    assert before.count(b"\n") > 20
    assert runtime.archive.run(now)
    assert runtime.db.query_one("SELECT count(*) FROM archive_parts")[0] > 0
    after = client.get(f"/api/events?{query}&area=T01&format=csv").get_data()
    assert after == before
