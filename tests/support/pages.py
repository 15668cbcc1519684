"""The app's pages as the browser tests open them: each page's path (data.policy.PAGES) and a
component only that page draws, so a test can tell the page itself from the refusal page."""

from __future__ import annotations

from data.policy import PAGES

# page name -> a CSS selector of a component only that page draws
MARKERS: dict[str, str] = {
    "wall": "#cell-map",
    "warnings": "#warn-grid",
    "cases": "#cases-grid",
    "report": "#report-map",
    "metrics": "#metrics-dept-grid",
    "inspections": "#inspect-grid",
    "audit": "#audit-grid",
    "briefings": "#briefings-grid",
    "figures": "#figures-grid",
    "console": "#console-send",
    "feeds_new": "#feednew-upload",
    "rules": "#rules-list",
    "search": "#search-grid",
}
# the refusal page a signed-in user gets for a page the policy does not let them open
REFUSED = "#page-forbidden"


def path_markers() -> dict[str, str]:
    """Every page's path -> its marker."""
    return {PAGES[name]: marker for name, marker in MARKERS.items()}


# every MapLibre map on the page has drawn its figure (as bench/screenshots.py waits for them)
MAPS_DRAWN_JS = """() => Array.from(document.querySelectorAll('.js-plotly-plot')).every(gd => {
  const sub = gd._fullLayout && gd._fullLayout.map && gd._fullLayout.map._subplot;
  return !sub || (sub.map && sub.map.loaded() && !sub.map.isMoving());
})"""


def settle(page, name: str, timeout_ms: int = 30_000) -> None:
    """Wait until page ``name`` has settled: its callbacks answered, the wall's map drawn (and
    its names placed), every other map drawn. Leaving a map before it has drawn is a race in
    MapLibre's teardown, not what a reader does."""
    from tests.support.browser import dash_quiet, wait_map

    dash_quiet(page, timeout_ms)
    if name == "wall":
        wait_map(page, timeout_ms)
    page.wait_for_function(MAPS_DRAWN_JS, timeout=timeout_ms)
    dash_quiet(page, timeout_ms)
