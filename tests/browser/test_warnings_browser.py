"""Early warning in a real browser: an injected episode (a cluster of accident reports in one cell)
becomes a warning on the analyst page; acknowledging it there changes its state."""

from __future__ import annotations

import pytest

from tests.support.browser import live_site
from tests.support.browser_steps import evaluate, inject_accident
from tests.support.region import tiny_cell_code


@pytest.fixture(scope="module")
def site(tmp_path_factory, tiny_region_dir):
    with live_site(tmp_path_factory.mktemp("warnings"), tiny_region_dir) as found:
        yield found


def test_injected_episode_is_a_warning_and_can_be_acknowledged(site, page):
    url, runtime = site
    inject_accident(runtime)
    page.goto(url + "/warnings")
    page.wait_for_selector("#warn-grid .ag-root", timeout=30_000)
    # the rules engine runs on demand from the page (twice: the pending period is 2 evaluations)
    for _ in range(2):
        evaluate(page)
    row = page.locator("#warn-grid .ag-center-cols-container .ag-row").first
    row.wait_for(timeout=20_000)
    # the wall (another screen) shows it as a new, unacknowledged warning
    wall = page.context.new_page()
    wall.goto(url + "/")
    wall.wait_for_selector("#warnings-panel-body .og-warn-item.og-warn-unack", timeout=20_000)
    assert "网格交通事故集中" in wall.locator("#warnings-panel-body").inner_text()
    # ... in the ticker of newest events too
    wall.wait_for_selector(".og-ticker .og-tick-warn", timeout=20_000)
    assert "网格交通事故集中" in wall.locator(".og-ticker .og-tick-warn").first.inner_text()
    code = tiny_cell_code(1, 2, 1)
    assert page.locator("#warn-grid .ag-row [col-id=state_label]").first.inner_text() == "待签收"
    area = page.locator("#warn-grid .ag-row [col-id=area_label]").first.inner_text()
    assert area  # the cell's display name
    row.locator("[col-id=rule_label]").click()
    page.wait_for_function(
        "() => document.querySelector('#warn-title').innerText.includes('网格交通事故集中')",
        timeout=15_000,
    )
    # evidence chart drawn, events behind it listed
    page.wait_for_function(
        "() => { const gd = document.querySelector('#warn-figure .js-plotly-plot');"
        " return gd && gd._fullData && gd._fullData.length >= 2; }",
        timeout=15_000,
    )
    page.wait_for_selector("#warn-events .ag-center-cols-container .ag-row", timeout=15_000)
    assert page.locator("#warn-events .ag-center-cols-container .ag-row").count() == 6
    page.fill("#warn-comment", "已派警")
    page.click("#warn-ack")
    page.wait_for_function(
        "() => document.querySelector('#warn-message').innerText.includes('已签收')",
        timeout=15_000,
    )
    page.wait_for_function(
        "() => { const c = document.querySelector('#warn-grid .ag-row [col-id=state_label]');"
        " return c && c.innerText === '已签收'; }",
        timeout=15_000,
    )
    # ... and the wall follows within a refresh or two
    wall.wait_for_function(
        "() => { const i = document.querySelector('#warnings-panel-body .og-warn-item');"
        " return i && !i.classList.contains('og-warn-unack')"
        " && i.querySelector('.og-warn-state').innerText === '已签收'; }",
        timeout=15_000,
    )
    w = runtime.db.query_one(
        "SELECT state, acknowledged_by, ack_comment, area_key FROM warnings ORDER BY id LIMIT 1"
    )
    cell = runtime.db.query_one("SELECT key FROM areas WHERE code = ?", [code])[0]
    assert w == ("acknowledged", "anonymous", "已派警", cell)
    assert page.recorder.errors == []
    assert page.recorder.outside_hosts() == set()
