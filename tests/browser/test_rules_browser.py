"""The rules page in real Chromium, as an administrator: edit a rule's TOML, backtest it over a
past day (the real engine finds the hotline surge stored there), then save it: the rules file
gains the rule, the list shows it, and the browser logs no error and asks no outside host."""

from __future__ import annotations

import shutil

import pytest

from data.warnings import load_rules
from data.warnings.rules import DEFAULT_RULES
from tests.support.browser import live_site
from tests.support.browser_steps import sign_in
from tests.support.warnings import SURGE_TABLE, T0, hotline_surge
from tests.support.web import TEST_PASSWORD

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def site(tmp_path_factory, tiny_region_dir):
    tmp = tmp_path_factory.mktemp("rules")
    path = tmp / "rules.toml"
    shutil.copy(DEFAULT_RULES, path)
    with live_site(tmp, tiny_region_dir, auth=True, warnings_rules=str(path)) as (url, rt):
        hotline_surge(rt)
        rt.users.add("admin1", TEST_PASSWORD, "admin")
        yield url, rt, path


def test_backtest_then_save_a_rule(site, page):
    url, rt, path = site
    sign_in(page, url, "admin1", "/rules")
    page.wait_for_selector("#rules-list .ag-row", timeout=30_000)
    assert "police_above_usual" in page.inner_text("#rules-list")
    day = T0.tz_convert(rt.timezone).date().isoformat()
    page.fill("#rules-text", SURGE_TABLE)
    page.fill("#rules-since", day)
    page.fill("#rules-until", day)
    page.fill("#rules-step", "5")
    page.click("#rules-backtest")
    page.wait_for_selector(".og-rules-totals", timeout=120_000)
    totals = page.inner_text(".og-rules-totals")
    assert totals.startswith("共 1 条预警"), totals
    assert len(page.query_selector_all(".og-rules-examples tr")) == 2  # header + the surge
    page.click("#rules-save")
    page.wait_for_function(
        "document.querySelector('#rules-message').innerText.includes('surge')", timeout=30_000
    )
    assert "已保存" in page.inner_text("#rules-message")
    assert load_rules(path).get("surge") is not None
    assert rt.warnings.rules.get("surge") is not None
    page.wait_for_function(
        "document.querySelector('#rules-list').innerText.includes('surge')", timeout=30_000
    )
    assert page.recorder.errors == []
    assert page.recorder.outside_hosts() == set()
