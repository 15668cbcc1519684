"""The case pages' server side: the grid worker's report through the pipeline, the response
panel, the pages served, and every display string of the case pages in both languages."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from data.cases import metrics
from layouts.i18n import TRANSLATIONS
from tests.support.region import tiny_cell_center

ROOT = Path(__file__).resolve().parents[1]
FILES = [
    "layouts/cases_page.py",
    "layouts/report_page.py",
    "layouts/metrics_page.py",
    "layouts/response_panel.py",
    "callbacks/cases_page.py",
    "callbacks/report_page.py",
]


def test_grid_report_enters_through_the_pipeline(runtime) -> None:
    from callbacks.report_page import submit_report

    lon, lat = tiny_cell_center(2, 3, 3)
    case_id, reason = submit_report(runtime, "city_appearance", "垃圾堆放", lon, lat, "gw7")
    assert reason is None
    c = runtime.cases.get(case_id)
    assert (c["origin"], c["category"], c["department"]) == (
        "grid_report",
        "hotline.city_appearance",
        "city.urban_mgmt",
    )
    ev = runtime.db.query_one("SELECT feed, case_id FROM events WHERE source = 'hotline'")
    assert ev == ("grid_worker", case_id)
    case_id, reason = submit_report(runtime, "city_appearance", "x", 10.0, 10.0, "gw7")
    assert case_id is None and reason == "outside region"


def test_response_panel_renders_wall_metrics(runtime) -> None:
    from layouts.response_panel import response_panel

    svc = runtime.cases
    now = pd.Timestamp("2026-11-23 02:00", tz="UTC")
    lon, lat = tiny_cell_center(1, 1, 1)
    late = svc.create("hotline.heating", lon=lon, lat=lat, title="late", now=now)
    svc.create("hotline.heating", lon=lon, lat=lat, title="fresh", now=now + pd.Timedelta(days=2))
    m = metrics.wall(runtime.db, runtime.scope, now=now + pd.Timedelta(days=2, hours=1))
    assert m["open_overdue"] == 1 and m["worst"]["id"].tolist() == [late]
    for lang in ("zh", "en"):
        panel = response_panel(m, lang)
        text = str(panel.to_plotly_json())
        assert "late" in text and ("District 1" in text if lang == "en" else "第1区" in text)


def test_pages_are_served(runtime) -> None:
    from app import create_app

    runtime.settings.auth = False
    app = create_app(runtime=runtime)
    client = app.server.test_client()
    for path in ("/cases", "/report", "/metrics"):
        assert client.get(path).status_code == 200
    paths = {p["path"] for p in __import__("dash").page_registry.values()}
    assert {"/cases", "/report", "/metrics"} <= paths


def test_action_buttons_are_actions_of_the_state_machine() -> None:
    """The board's action bar offers only actions the case state machine knows (the layout
    holds plain names and no longer imports the service to check this itself)."""
    from data.cases.states import ACTIONS
    from layouts.cases_page import ACTION_BUTTONS

    assert ACTION_BUTTONS and set(ACTION_BUTTONS) <= set(ACTIONS)


def test_case_display_strings_in_both_languages() -> None:
    keys = set()
    for f in FILES:
        text = (ROOT / f).read_text(encoding="utf-8")
        keys |= set(re.findall(r'(?:t|i18n_text)\(\s*"([a-z_]+\.[a-z_.]+)"', text))
    from data.cases.service import ACTIONS, STATES

    keys |= {f"case.action.{a}" for a in ACTIONS} | {f"case.state.{s}" for s in STATES}
    keys |= {"case.action.register"}
    assert len(keys) > 40
    for lang in ("zh", "en"):
        missing = sorted(k for k in keys if k not in TRANSLATIONS[lang])
        assert not missing, (lang, missing)
