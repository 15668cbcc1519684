"""The inspection lists page in real Chromium, as a county leader: the default period's list
shows their county's entry with its reasons, nothing of the other county, no console error and
no request to any host but OneGrid's own."""

from __future__ import annotations

import pandas as pd
import pytest

from data.inspections import default_period
from tests.support import inspections as world
from tests.support.browser import live_site, wait_ticks
from tests.support.browser_steps import sign_in
from tests.support.web import TEST_PASSWORD

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def site(tmp_path_factory, tiny_region_dir):
    tmp = tmp_path_factory.mktemp("inspect")
    with live_site(tmp, tiny_region_dir, auth=True, cases_from_hotline=False) as (url, rt):
        since, until = default_period(rt.timezone)
        world.build(rt, since, until - pd.Timedelta(seconds=1))
        rt.users.add("leader1", TEST_PASSWORD, "county_leader", area="T01")
        yield url, rt


def test_county_leader_sees_their_own_list(site, page):
    url, _ = site
    sign_in(page, url, "leader1", "/inspections")
    page.wait_for_selector("#inspect-grid .ag-row", timeout=30_000)
    wait_ticks(page, 1)
    rows = page.inner_text("#inspect-grid")
    assert "第1区" in rows and "超期未办结 2 件" in rows
    assert "第2区" not in page.inner_text("body")
    href = page.get_attribute("#inspect-xlsx", "href")
    assert href.startswith("/api/inspections?") and "format=xlsx" in href
    assert page.recorder.errors == []
    assert page.recorder.outside_hosts() == set()
