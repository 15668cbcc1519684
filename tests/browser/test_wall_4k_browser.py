"""The wall at 4K (3840x2160), read from across the room, on the default region (Anshan, whose
dense urban districts Tiedong and Qianshan lie side by side): no text smaller than 18 px, chart
text included; area names never overlap; the legend never covers the view's areas."""

from __future__ import annotations

import pytest

from tests.support.browser import dash_quiet, live_site, recorded_page, wait_map

pytestmark = pytest.mark.browser

# the smallest text on a 4K wall: 18 px is 9 px on a 1080p panel of the same size, the smallest
# any part of the wall uses at 1920 px is about 11 px
MIN_TEXT_PX = 18

SMALLEST_TEXT = """() => {
  let smallest = null;
  for (const el of document.querySelectorAll('body *')) {
    const own = Array.from(el.childNodes).some(n => n.nodeType === 3 && n.textContent.trim());
    if (!own) continue;
    const st = getComputedStyle(el);
    const r = el.getBoundingClientRect();
    if (st.visibility === 'hidden' || st.display === 'none' || r.width === 0 || r.height === 0)
      continue;
    if (el.closest('[hidden], .og-label-hidden')) continue;
    const px = parseFloat(st.fontSize);
    if (smallest === null || px < smallest.px)
      smallest = {px: px, text: el.textContent.trim().slice(0, 40), tag: el.tagName};
  }
  return smallest;
}"""

LABEL_BOXES = """() => Array.from(document.querySelectorAll('.og-map-label'))
  .filter(e => getComputedStyle(e).visibility !== 'hidden')
  .map(e => { const r = e.getBoundingClientRect();
              return {n: e.innerText, x: r.x, y: r.y, w: r.width, h: r.height}; })"""

AREAS_BOX = """() => {
  const gd = document.querySelector('#cell-map .js-plotly-plot');
  const map = gd._fullLayout.map._subplot.map;
  const b = JSON.parse(document.getElementById('map-label-layer').dataset.bounds);
  const host = document.querySelector('#cell-map').getBoundingClientRect();
  const a = map.project([b[0], b[1]]), c = map.project([b[2], b[3]]);
  const legend = document.getElementById('legend').getBoundingClientRect();
  return {bottom: host.y + Math.max(a.y, c.y), legendTop: legend.y};
}"""


@pytest.fixture(scope="module")
def anshan(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("wall-4k")
    with live_site(tmp, "anshan") as (url, runtime):
        yield url, runtime


@pytest.fixture
def wall_4k(browser):
    with recorded_page(browser, 3840, 2160) as pg:
        yield pg


def _settled(page, url: str) -> None:
    page.goto(url)
    # 4,855 grid cells drawn by software GL at 3840x2160: allow for a slow, busy machine
    wait_map(page, timeout_ms=120_000)
    page.wait_for_selector("#response-gauge .js-plotly-plot", timeout=60_000)
    dash_quiet(page, timeout_ms=60_000)
    page.wait_for_timeout(1200)  # the charts are scaled to the screen twice a second


def _overlapping(boxes: list[dict]) -> list[tuple[str, str]]:
    out = []
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            across = a["x"] < b["x"] + b["w"] and b["x"] < a["x"] + a["w"]
            if across and a["y"] < b["y"] + b["h"] and b["y"] < a["y"] + a["h"]:
                out.append((a["n"], b["n"]))
    return out


# the city (county names; Tiedong and Qianshan side by side) and Tiedong (its streets), in English
@pytest.mark.parametrize("query", ["/", "/?county=210302&lang=en"])
def test_the_wall_reads_from_across_the_room_at_4k(anshan, wall_4k, query):
    url, _ = anshan
    _settled(wall_4k, url + query)
    smallest = wall_4k.evaluate(SMALLEST_TEXT)
    assert smallest["px"] >= MIN_TEXT_PX, smallest
    gauge_text = wall_4k.evaluate(
        "() => Math.min(...Array.from(document.querySelectorAll('#response-gauge text'))"
        ".map(t => parseFloat(getComputedStyle(t).fontSize)))"
    )
    assert gauge_text >= MIN_TEXT_PX
    boxes = wall_4k.evaluate(LABEL_BOXES)
    assert len(boxes) >= 3
    assert _overlapping(boxes) == []
    where = wall_4k.evaluate(AREAS_BOX)
    assert where["bottom"] <= where["legendTop"], where
    assert wall_4k.recorder.errors == []
    assert wall_4k.recorder.outside_hosts() == set()
