"""The desk pages' maps follow the light / dark theme: their canvas is transparent (the page's
--og-map-bg token shows through, assets/tokens.css and desk.css), their style fetches nothing
from outside; the wall's map stays dark. The browser check is
tests/browser/test_desk_theme_browser.py::test_desk_maps_follow_the_theme."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from layouts.cases_page import case_place_map
from layouts.figures import BACKGROUND, DESK_MAP_BACKGROUND, wall_map
from layouts.report_page import report_map
from layouts.search_page import result_map

ASSETS = Path(__file__).resolve().parents[1] / "assets"


def _ground(fig) -> str:
    layers = fig.layout.map.style["layers"]
    return next(x for x in layers if x["type"] == "background")["paint"]["background-color"]


def _urls(fig) -> list[str]:
    return re.findall(r"https?://[^\"']+", str(fig.layout.map.style))


def test_every_desk_map_is_transparent_and_fetches_nothing():
    cells = pd.DataFrame({"key": [1, 2], "code": ["a", "b"], "lon": [123.0, 123.1]})
    cells["lat"] = [41.0, 41.1]
    for fig in (
        case_place_map(123.0, 41.0),
        report_map(cells),
        result_map([(123.0, 41.0, "x")], [1], (122.9, 40.9, 123.2, 41.2)),
    ):
        assert _ground(fig) == DESK_MAP_BACKGROUND
        assert fig.layout.paper_bgcolor == DESK_MAP_BACKGROUND
        assert _urls(fig) == []


def test_the_walls_map_stays_dark():
    fig = wall_map(
        level="county",
        keys=[1],
        values=[3],
        names=["x"],
        zmax=5,
        risk=False,
        value_label="n",
        center={"lon": 123.0, "lat": 41.0},
        zoom=9,
        revision="r",
    )
    assert _ground(fig) == BACKGROUND and fig.layout.paper_bgcolor == BACKGROUND


def test_the_map_ground_token_has_a_value_in_each_theme():
    tokens = (ASSETS / "tokens.css").read_text(encoding="utf-8")
    dark, light = tokens.split('html[data-theme="light"] {', 1)
    assert "--og-map-bg: #050b18" in dark  # the wall's dark ground, as before
    assert "--og-map-bg: #dfe6ef" in light
    assert "var(--og-map-bg)" in (ASSETS / "desk.css").read_text(encoding="utf-8")
