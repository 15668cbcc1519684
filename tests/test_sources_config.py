"""Sources by configuration (issue 13, item 1): the example config's two extra sources (work
safety, urban management) are accepted at /api/ingest/<id>, shown on the wall and named in a
briefing, on the real server (``python app.py --config ...``) over real HTTP, with no code
change. The catalogue's validation gives errors that name the config entry."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import requests

from callbacks import wall as wall_cb
from data.catalogue import DEFAULT_CATALOGUE, SOURCES
from data.settings import SettingsError, load_settings
from layouts import ids
from layouts.wall import parse_view
from tests.support.region import tiny_cell_center
from tests.support.server import ROOT, free_port

EXAMPLE = ROOT / "docs" / "examples" / "config-extra-sources.toml"
TOKEN = "sources-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def test_default_catalogue_is_the_five_built_in_sources():
    settings = load_settings()
    assert settings.catalogue is DEFAULT_CATALOGUE
    assert (
        settings.catalogue.ids
        == SOURCES
        == (
            "police",
            "traffic",
            "environment",
            "market",
            "hotline",
        )
    )
    assert settings.catalogue.value_required == {"environment"}
    # the built-in names stay the translation tables' (no configured name)
    assert settings.catalogue.name("source.police", "zh") is None


def test_the_example_config_adds_two_named_sources():
    cat = load_settings(EXAMPLE).catalogue
    assert cat.ids[:5] == SOURCES and cat.ids[5:] == ("safety", "urban")
    assert cat.name("source.safety", "zh") == "安全生产"
    assert cat.name("source.urban", "en") == "Urban management"
    assert cat.name("category.safety.accident", "zh") == "生产安全事故"
    assert cat.source("safety").colour == "#f97316"
    assert "safety" in cat.wall_metrics and "urban" in cat.significant_sources


@pytest.mark.parametrize(
    ("entry", "says"),
    [
        ({"id": "safety"}, "sources[0] (id 'safety'): a new source needs name_zh, name_en"),
        ({"id": "police", "colour": "red"}, "sources[0] (id 'police').colour"),
        ({"id": "Bad-Id", "name_zh": "x", "name_en": "x", "categories": ["a"]}, ".id"),
        ({"id": "x", "name_zh": "x", "name_en": "x", "categories": ["a", "a"]}, "listed twice"),
        ({"id": "risk", "name_zh": "x", "name_en": "x", "categories": ["a"]}, "reserved"),
        ({"id": "x", "name_zh": "x", "name_en": "x", "categories": ["a"], "size": 1}, ".size"),
    ],
)
def test_a_bad_sources_table_is_a_clear_settings_error(entry, says):
    with pytest.raises(SettingsError) as err:
        load_settings(sources=[entry])
    assert says in str(err.value)
    assert "sources" in str(err.value)


def test_the_same_source_twice_is_refused(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text(
        '[[sources]]\nid = "safety"\nname_zh = "a"\nname_en = "a"\ncategories = ["x"]\n' * 2,
        encoding="utf-8",
    )
    with pytest.raises(SettingsError, match=r"sources\[1\] \(id 'safety'\): .*configured twice"):
        load_settings(cfg)


def test_a_built_in_source_can_be_changed_by_its_id():
    cat = load_settings(sources=[{"id": "police", "colour": "#123456"}]).catalogue
    assert cat.ids == SOURCES
    assert cat.source("police").colour == "#123456"
    assert cat.categories["police"] == DEFAULT_CATALOGUE.categories["police"]


# --- the real server --------------------------------------------------------------------------


def _env(folder: Path, region: Path) -> dict:
    return os.environ | {
        "ONEGRID_CONFIG": str(EXAMPLE),
        "ONEGRID_DB": str(folder / "o.duckdb"),
        "ONEGRID_REGION": str(region),
        "ONEGRID_INGEST_TOKEN": TOKEN,
        "ONEGRID_READ_TOKEN": TOKEN,
        "ONEGRID_SIMULATOR": "off",
        "ONEGRID_AUTH": "false",
        "ONEGRID_WARNINGS": "false",
        "ONEGRID_BRIEFINGS": "false",
        "ONEGRID_USERS_FILE": str(folder / "users.toml"),
        "ONEGRID_SECRET_KEY": "s",
    }


@pytest.fixture(scope="module")
def server(tmp_path_factory, tiny_region_dir):
    """(url, env) of ``python app.py`` with the example config, on a fresh store."""
    folder = tmp_path_factory.mktemp("sources")
    env = _env(folder, tiny_region_dir)
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "app.py", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            if requests.get(url + "/api/feeds", headers=AUTH, timeout=2).ok:
                break
        except requests.ConnectionError:
            if proc.poll() is not None:
                raise RuntimeError(proc.stderr.read().decode()) from None
            time.sleep(0.3)
    else:
        proc.kill()
        raise RuntimeError("server did not start")
    try:
        yield url, env, proc
    finally:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(timeout=30)


def _event(eid: str, category: str, *, severity: int | None = 4, cell=(1, 1)) -> dict:
    lon, lat = tiny_cell_center(1, *cell)
    ev = {
        "id": eid,
        "time": (pd.Timestamp.now(tz="UTC") - pd.Timedelta(minutes=1)).isoformat(),
        "lon": lon,
        "lat": lat,
        "category": category,
        "text": f"{category} {eid}",
    }
    if severity is not None:
        ev["severity"] = severity
    return ev


def _push(url: str, source: str, events: list[dict]) -> requests.Response:
    return requests.post(
        f"{url}/api/ingest/{source}", json={"events": events}, headers=AUTH, timeout=30
    )


def test_a_configured_source_takes_pushes_and_is_shown_and_briefed(server):
    url, env, proc = server
    # pushes to the new sources are accepted; a category of another source is not
    got = _push(url, "safety", [_event("s1", "accident"), _event("s2", "hazard", severity=None)])
    assert got.status_code == 200, got.text
    assert got.json()["accepted"] == 2
    got = _push(url, "urban", [_event("u1", "street_vending"), _event("u2", "criminal")])
    assert got.json()["accepted"] == 1 and got.json()["quarantined"] == 1
    assert "unknown category" in json.dumps(got.json()["errors"])
    # a source that is not configured is still unknown
    got = _push(url, "weather", [_event("w1", "rain")])
    assert got.status_code == 404 and "safety, urban" in got.json()["error"]

    # the served contract lists the configured sources
    doc = requests.get(url + "/api/openapi.json", timeout=10).json()
    [param] = [
        p
        for p in doc["paths"]["/api/ingest/{source}"]["post"]["parameters"]
        if p["name"] == "source"
    ]
    assert param["schema"]["enum"] == list(load_settings(EXAMPLE).catalogue.ids)

    # the stored events: severity 3 (the source's default) where none was sent
    rows = requests.get(
        url + "/api/events", params={"source": "safety"}, headers=AUTH, timeout=10
    ).json()["events"]
    assert {r["id"]: r["severity"] for r in rows} == {"s1": 4, "s2": 3}
    feeds = {f["source"]: f for f in requests.get(url + "/api/feeds", headers=AUTH).json()["feeds"]}
    hour = pd.Timestamp.now(tz="UTC").floor("h")
    window = {
        "since": (hour - pd.Timedelta(hours=2)).isoformat(),
        "until": (hour + pd.Timedelta(hours=2)).isoformat(),
    }
    counts = requests.get(url + "/api/areas/T/summary", params=window, headers=AUTH, timeout=10)
    assert counts.status_code == 200, counts.text
    assert counts.json()["counts"] == {s: 0 for s in SOURCES} | {"safety": 2, "urban": 1}
    assert feeds["safety"]["accepted"] == 2 and feeds["urban"]["accepted"] == 1

    # the wall's refresh over real HTTP: the KPI tiles count the new sources, the ticker shows
    # their events with their names
    cat = load_settings(EXAMPLE).catalogue
    body = wall_cb.refresh_request_body(None, parse_view({}, cat), lang="en", catalogue=cat)
    answer = _refresh(url, body)
    values = answer[ids.KPI_VALUE]
    assert [v["id"]["source"] for v in values] == list(cat.ids)
    kpi = {v["id"]["source"]: v["value"]["children"] for v in values}
    assert kpi["safety"] == "2" and kpi["urban"] == "1" and kpi["police"] == "0"
    ticker = json.dumps(answer[ids.TICKER]["children"], ensure_ascii=False)
    assert "Workplace accident" in ticker and "Work safety" in ticker
    assert "Street vending" in ticker and "Urban management" in ticker

    # the map coloured by the new source: only its events count
    view = parse_view({"metric": "safety"}, cat)
    assert view["metric"] == "safety"
    answer = _refresh(url, wall_cb.refresh_request_body(None, view, lang="zh", catalogue=cat))
    assert sum(answer[ids.MAP_Z]["data"]["z"]) == 2
    assert "安全生产" in json.dumps(answer[ids.LEGEND]["children"], ensure_ascii=False)

    # search finds the new sources' events by the sources' configured names (zh and en), by a
    # configured category's name, and facets by the source
    for q, want in (("安全生产", {"s1", "s2"}), ("urban management", {"u1"}), ("隐患", {"s2"})):
        found = requests.get(url + "/api/events", params={"q": q}, headers=AUTH, timeout=10)
        assert found.status_code == 200, found.text
        assert {r["id"] for r in found.json()["events"]} == want, q
    found = requests.get(
        url + "/api/events", params={"q": "s", "source": "urban"}, headers=AUTH, timeout=10
    ).json()["events"]
    assert [r["id"] for r in found] == ["u1"]

    # the briefing of today names the new sources with their configured names and counts
    proc.terminate()
    proc.wait(timeout=30)
    day = pd.Timestamp.now(tz="Asia/Shanghai").date().isoformat()
    for lang, names in (
        ("en", ("Work safety", "Urban management")),
        ("zh", ("安全生产", "城市管理")),
    ):
        out = Path(env["ONEGRID_DB"]).with_name(f"brief-{lang}.html")
        done = subprocess.run(
            [sys.executable, "app.py", "briefing", "--period", "day", "--date", day]
            + ["--format", "html", "--lang", lang, "--out", str(out)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
        )
        assert done.returncode == 0, done.stderr
        html = out.read_text(encoding="utf-8")
        for name in names:
            assert name in html, (lang, name)
        # the table's row of work safety (after the text) holds its count, 2
        row = html[html.rindex(names[0]) :].split("</tr>")[0]
        cells = re.findall(r"<td[^>]*>(.*?)</td>", "<td>" + row)
        assert re.sub(r"<[^>]+>.*", "", cells[1]).strip() == "2", row


def _refresh(url: str, body: dict) -> dict:
    """One wall refresh over HTTP: the answer's parts by component id, the wildcard ones (the
    KPI tiles) gathered by type, in the order the server sent them."""
    resp = requests.post(url + "/_dash-update-component", json=body, timeout=60)
    assert resp.status_code == 200, resp.text[:500]
    out: dict = {}
    for cid, props in resp.json()["response"].items():
        if cid.startswith("{"):
            key = json.loads(cid)
            out.setdefault(key["type"], []).append({"id": key, "value": props})
        else:
            out[cid] = props
    return out


# --- rules and responsibility lists over a configured source ----------------------------------

SAFETY_RULE = """
[[rule]]
id = "safety_accidents"
kind = "threshold"
name_zh = "安全生产事故集中"
name_en = "Workplace accidents clustered"
sources = ["safety"]
categories = ["accident"]
area_level = "township"
window_min = 60
levels = { blue = 2, yellow = 3 }
pending = 1
clear_hold_min = 30
"""

SAFETY_DEPARTMENT = """
[[departments]]
id = "city.safety"
name_zh = "市应急管理局"
name_en = "Municipal Emergency Management Bureau"
level = "city"

[[rules]]
category = "safety.accident"
department = "city.safety"
"""


def test_warning_rules_are_checked_against_the_configured_sources():
    from data.warnings.rules import RulesError, parse_rules

    cat = load_settings(EXAMPLE).catalogue
    assert parse_rules(SAFETY_RULE, catalogue=cat).get("safety_accidents").sources == ["safety"]
    with pytest.raises(RulesError, match="unknown sources \\['safety'\\]"):
        parse_rules(SAFETY_RULE)  # the built-in catalogue has no such source
    # a rule without sources counts every configured source
    any_rule = SAFETY_RULE.replace('sources = ["safety"]\ncategories = ["accident"]\n', "")
    assert "urban" in parse_rules(any_rule, catalogue=cat).get("safety_accidents").sources


def test_a_configured_source_raises_warnings_routed_by_the_responsibility_list(
    tmp_path, tiny_region_dir
):
    from data.cases.responsibility import DEFAULT_PATH
    from tests.support.stores import tiny_runtime

    rules = tmp_path / "rules.toml"
    rules.write_text(SAFETY_RULE, encoding="utf-8")
    duties = tmp_path / "duties.toml"
    duties.write_text(DEFAULT_PATH.read_text(encoding="utf-8") + SAFETY_DEPARTMENT, "utf-8")
    sources = load_settings(EXAMPLE).sources
    rt = tiny_runtime(
        tmp_path, tiny_region_dir, sources=sources, warnings_rules=rules, responsibilities=duties
    )
    try:
        events = [_event(f"a{i}", "accident", cell=(1, i)) for i in range(3)]
        frame = pd.DataFrame(events)
        assert rt.pipeline.ingest_frame("safety", frame).accepted == 3
        rt.evaluate_warnings()
        row = rt.db.query_df(
            "SELECT id, rule_id, level_rank, area_key FROM warnings WHERE rule_id = ?",
            ["safety_accidents"],
        )
        assert len(row) == 1 and int(row["level_rank"].iloc[0]) == 2  # yellow: 3 accidents
        warning = row.iloc[0].to_dict() | {"kind": "threshold", "category": "safety.accident"}
        case_id = rt.cases.from_warning(warning)
        dept = rt.db.query_one("SELECT department FROM cases WHERE id = ?", [case_id])[0]
        assert dept == "city.safety"
        assert rt.cases.rules.department_name("city.safety", "en").startswith("Municipal")
    finally:
        rt.stop()


URBAN_MAPPING = """
name = "city_patrol"
source = "urban"
format = "csv"
timezone = "Asia/Shanghai"

[id]
column = "ref"

[time]
column = "when"

[location]
lon = "x"
lat = "y"

[category]
column = "kind"
map = { "占道" = "street_vending", "垃圾" = "sanitation" }
"""


def test_a_folder_feed_with_a_mapping_delivers_a_configured_source(tmp_path, tiny_region_dir):
    from data.feeds.connectors import FolderDropFeed
    from data.feeds.mapping import MappingError, load_mapping
    from data.settings import FolderFeed
    from tests.support.stores import tiny_runtime

    mapping = tmp_path / "city_patrol.toml"
    mapping.write_text(URBAN_MAPPING, encoding="utf-8")
    with pytest.raises(MappingError, match="unknown source 'urban'"):
        load_mapping(mapping)  # the built-in catalogue has no urban management
    rt = tiny_runtime(tmp_path, tiny_region_dir, sources=load_settings(EXAMPLE).sources)
    try:
        drop = tmp_path / "drop"
        drop.mkdir()
        spec = FolderFeed(name="patrol", path=drop, mapping=str(mapping))
        feed = FolderDropFeed(spec, rt.pipeline)
        assert feed.mapping.source == "urban"
        when = (pd.Timestamp.now(tz="Asia/Shanghai") - pd.Timedelta(minutes=5)).strftime(
            "%Y-%m-%d %H:%M:%S"
        )
        rows = ["ref,when,x,y,kind"]
        for i, kind in enumerate(["占道", "垃圾", "其他"]):
            lon, lat = tiny_cell_center(2, i, 0)
            rows.append(f"p{i},{when},{lon},{lat},{kind}")
        (drop / "patrol.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
        [report] = feed.scan_once()
        assert (report["accepted"], report["quarantined"]) == (2, 1), report
        got = rt.db.query(
            "SELECT category, severity FROM events WHERE source = 'urban' ORDER BY category"
        )
        # severity 2: the source's configured default (the mapping gives none)
        assert got == [("sanitation", 2), ("street_vending", 2)]
    finally:
        rt.stop()


def test_the_figures_builder_counts_and_names_a_configured_source(tmp_path, tiny_region_dir):
    from data import figures
    from data.auth import User
    from layouts.figures_table import display_rows
    from tests.support.stores import tiny_runtime

    rt = tiny_runtime(tmp_path, tiny_region_dir, sources=load_settings(EXAMPLE).sources)
    try:
        frame = pd.DataFrame([_event("a1", "accident"), _event("a2", "hazard", cell=(2, 2))])
        assert rt.pipeline.ingest_frame("safety", frame).accepted == 2
        today = pd.Timestamp.now(tz="Asia/Shanghai").normalize()
        request = {
            "indicators": ["events.by_source", "events.by_category"],
            "areas": ["T"],
            "since": today.strftime("%Y-%m-%d"),
            "until": (today + pd.Timedelta(days=1)).strftime("%Y-%m-%d"),
        }
        figs = figures.run(rt, User("a", "analyst"), request)
        rows = {r["member"]: r for r in display_rows(figs.table, figs.names, "en")}
        # every configured source has a row (urban with none), named as configured
        assert rows["Work safety"]["value"] == 2 and rows["Urban management"]["value"] == 0
        assert rows["Workplace accident"]["value"] == 1 and rows["Safety hazard"]["value"] == 1
        zh = {r["member"] for r in display_rows(figs.table, figs.names, "zh")}
        assert {"安全生产", "城市管理", "生产安全事故"} <= zh
    finally:
        rt.stop()
