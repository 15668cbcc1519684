"""Every desk page in the shared look, at a 1920 x 1080 desk and a 1366 x 768 laptop, in the dark
and the light theme: no console error, nothing fetched from another host, no horizontal scroll on
the laptop, the theme on the document's root (set by the header's switch, kept after a reload),
and the page, its grids and its charts drawn from the theme's tokens. The wall stays dark."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from tests.support.browser import dash_quiet, live_site, recorded_page
from tests.support.browser_steps import choose, select_case
from tests.support.region import tiny_cell_center

pytestmark = pytest.mark.browser

# each desk page and a component only that page draws
DESK_PAGES = {
    "/warnings": "#warn-grid",
    "/cases": "#cases-grid",
    "/metrics": "#metrics-dept-grid",
    "/figures": "#figures-grid",
    "/inspections": "#inspect-grid",
    "/briefings": "#briefings-grid",
    "/audit": "#audit-grid",
    "/search": "#search-grid",
    "/rules": "#rules-list",
    "/feeds/new": "#feednew-upload",
    "/console": "#console-send",
    "/report": "#report-map",
}
SIZES = ((1920, 1080), (1366, 768))
# the tokens' page background and text per theme (assets/tokens.css), as the browser computes them
BACKGROUND = {"dark": "rgb(5, 11, 24)", "light": "rgb(238, 242, 247)"}
SURFACE = {"dark": "rgb(11, 21, 38)", "light": "rgb(255, 255, 255)"}
INK = {"dark": "rgb(230, 237, 247)", "light": "rgb(15, 23, 42)"}

LOOK_JS = """
() => {
  const css = (el, p) => el ? getComputedStyle(el)[p] : null;
  const grid = document.querySelector('.og-main .ag-root-wrapper');
  const tick = document.querySelector('.og-main .js-plotly-plot .xtick text');
  return {
    theme: document.documentElement.getAttribute('data-theme'),
    desk: !!document.querySelector('.og-app.og-desk'),
    background: css(document.querySelector('.og-desk'), 'backgroundColor'),
    ink: css(document.querySelector('.og-desk'), 'color'),
    grid: css(grid, 'backgroundColor'),
    tick: tick ? css(tick, 'fill') : null,
    scrollWidth: document.documentElement.scrollWidth,
    clientWidth: document.documentElement.clientWidth,
  };
}
"""


@pytest.fixture(scope="module")
def site(tmp_path_factory, tiny_region_dir):
    """A live server on the tiny region (sign-in off: every page opens)."""
    with live_site(tmp_path_factory.mktemp("desk-theme"), tiny_region_dir) as (url, runtime):
        yield url, runtime


def open_page(page, url: str, path: str) -> dict:
    page.goto(url + path)
    page.wait_for_selector(DESK_PAGES[path], state="attached", timeout=20_000)
    dash_quiet(page)
    return page.evaluate(LOOK_JS)


def switch_to(page, theme: str) -> None:
    """Press the header's switch until the document's root carries ``theme``."""
    if page.get_attribute("html", "data-theme") != theme:
        page.click("#theme-switch")
    page.wait_for_function(
        f"() => document.documentElement.getAttribute('data-theme') === '{theme}'",
        timeout=10_000,
    )


@pytest.mark.parametrize("theme", ["dark", "light"])
@pytest.mark.parametrize(("width", "height"), SIZES)
def test_every_desk_page_in_the_shared_look(site, browser, theme, width, height):
    url, _ = site
    with recorded_page(browser, width, height) as page:
        open_page(page, url, "/warnings")
        assert page.get_attribute("html", "data-theme") == "dark"  # the default
        switch_to(page, theme)
        assert page.get_attribute("#theme-switch", "aria-pressed") == str(theme == "light").lower()
        page.reload()  # the choice is kept per browser
        seen = {"grid": 0, "tick": 0}
        for path in DESK_PAGES:
            look = open_page(page, url, path)
            where = f"{path} at {width}x{height}, {theme}"
            assert look["theme"] == theme, where
            assert look["desk"], where
            assert look["background"] == BACKGROUND[theme], where
            assert look["ink"] == INK[theme], where
            if look["grid"] is not None:  # AG Grid's params are the tokens
                assert look["grid"] == SURFACE[theme], where
                seen["grid"] += 1
            if look["tick"] is not None:  # plotly's tick labels follow the page's ink
                assert look["tick"] == INK[theme], where
                seen["tick"] += 1
            if width <= 1366:
                assert look["scrollWidth"] <= look["clientWidth"], f"horizontal scroll: {where}"
        assert seen["grid"] >= 9 and seen["tick"] >= 1, seen  # the checks above did run
        assert page.recorder.errors == []
        assert page.recorder.outside_hosts() == set()


def test_the_wall_stays_dark_under_the_light_theme(site, browser):
    """A browser whose desk is light still shows the wall dark, with no switch on it, and the
    switch back on a desk page is kept."""
    url, _ = site
    with recorded_page(browser, 1920, 1080) as page:
        open_page(page, url, "/cases")
        switch_to(page, "light")
        page.goto(url + "/")
        page.wait_for_selector("#cell-map", state="attached", timeout=20_000)
        dash_quiet(page)
        assert page.locator("#theme-switch").count() == 0
        wall_bg = page.evaluate("getComputedStyle(document.body).backgroundColor")
        assert wall_bg == BACKGROUND["dark"]
        look = open_page(page, url, "/cases")
        assert look["theme"] == "light" and look["background"] == BACKGROUND["light"]
        switch_to(page, "dark")
        page.reload()
        page.wait_for_selector("#cases-grid", state="attached", timeout=20_000)
        assert page.get_attribute("html", "data-theme") == "dark"
        assert page.recorder.errors == []


# the desk maps' ground per theme (--og-map-bg in assets/tokens.css)
MAP_GROUND = {"dark": (5, 11, 24), "light": (223, 230, 239)}
# desk pages with a map, and the map's graph
DESK_MAPS = {"/report": "#report-map", "/search?q=a": "#search-map"}


def map_corner(page, graph: str) -> tuple[int, int, int]:
    """The colour the reader sees near the map's top-left corner (outside every area drawn: the
    maps fit their areas with a margin), from a screenshot of the rendered page."""
    import io

    from PIL import Image

    # the case detail is drawn again by the page's refresh ticks, its map with it: read the
    # pixel of a map that has loaded and is still on the page
    for _ in range(20):
        page.wait_for_selector(f"{graph} .maplibregl-canvas", timeout=20_000)
        dash_quiet(page)
        page.wait_for_function(
            "(g) => { const gd = document.querySelector(g + ' .js-plotly-plot');"
            " const m = gd && gd._fullLayout && gd._fullLayout.map"
            " && gd._fullLayout.map._subplot;"
            " return !!(m && m.map && m.map.loaded()); }",
            arg=graph,
            timeout=20_000,
        )
        box = page.locator(f"{graph} .maplibregl-canvas").bounding_box()
        if box:
            break
        page.wait_for_timeout(100)
    clip = {"x": box["x"] + 4, "y": box["y"] + 4, "width": 4, "height": 4}
    image = Image.open(io.BytesIO(page.screenshot(clip=clip))).convert("RGB")
    return image.getpixel((2, 2))


@pytest.mark.parametrize("path", DESK_MAPS)
def test_desk_maps_follow_the_theme(site, page, path):
    """A desk map's ground is the theme's token, and the switch recolours it at once, with no
    request to the server; the map's style stays the local blank one (nothing from outside)."""
    url, _ = site
    graph = DESK_MAPS[path]
    page.goto(url + path)
    page.wait_for_selector(graph, state="attached", timeout=20_000)
    dash_quiet(page)
    assert map_corner(page, graph) == MAP_GROUND["dark"]
    # the Dash requests a theme change starts (the page's own refresh ticks go on meanwhile)
    themed = []
    page.on(
        "request",
        lambda r: (
            "_dash-update" in r.url
            and "theme" in json.dumps(json.loads(r.post_data or "{}").get("changedPropIds", []))
            and themed.append(r.url)
        ),
    )
    switch_to(page, "light")
    assert map_corner(page, graph) == MAP_GROUND["light"]
    switch_to(page, "dark")
    assert map_corner(page, graph) == MAP_GROUND["dark"]
    assert themed == []  # the switch and the maps' colours are the browser's own
    assert page.recorder.errors == []
    assert page.recorder.outside_hosts() == set()


def test_a_cases_place_map_follows_the_theme(site, page):
    """The case detail's small map (a static plot) has the theme's ground too."""
    url, rt = site
    lon, lat = tiny_cell_center(1, 1, 1)
    frame = pd.DataFrame(
        {
            "id": ["theme-case-1"],
            "time": [pd.Timestamp.now(tz="UTC") - pd.Timedelta(minutes=5)],
            "lon": [lon],
            "lat": [lat],
            "category": ["heating"],
            "severity": [2],
            "text": ["theme map"],
        }
    )
    rt.pipeline.ingest_frame("hotline", frame)
    rt.cases.intake_hotline()
    (case_id,) = rt.db.query_one(
        "SELECT case_id FROM events WHERE source = 'hotline' AND source_event_id = 'theme-case-1'"
    )
    page.goto(url + "/cases")
    page.wait_for_selector("#cases-grid", timeout=30_000)
    dash_quiet(page)
    choose(page, "cases-dept", "全部案件")
    select_case(page, case_id)
    graph = "#cases-history .og-case-map"
    assert map_corner(page, graph) == MAP_GROUND["dark"]
    switch_to(page, "light")
    assert map_corner(page, graph) == MAP_GROUND["light"]
    assert page.recorder.errors == []
    assert page.recorder.outside_hosts() == set()
