"""Signed in through the real sign-in form: a county leader's wall shows their county only, the
audit trail lists the sign-in, the navigation offers what the account may open, a desk page opens
in its address's language. Every page opened by every role (no console error, nothing fetched
from any host but OneGrid's own, refused when the policy says so) is
tests/browser/test_pages_by_role.py."""

from __future__ import annotations

import pytest

from tests.support.browser import dash_quiet, live_site, wait_map
from tests.support.browser_steps import sign_in
from tests.support.web import TEST_PASSWORD

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def site(tmp_path_factory, tiny_region_dir):
    """A live server with sign-in on: an operator and a county leader of T02."""
    tmp = tmp_path_factory.mktemp("signed")
    with live_site(tmp, tiny_region_dir, auth=True) as (url, runtime):
        runtime.users.add("hall", TEST_PASSWORD, "operator")
        runtime.users.add("leader2", TEST_PASSWORD, "county_leader", area="T02")
        runtime.users.add("boss", TEST_PASSWORD, "admin")
        yield url, runtime


def test_county_leader_sees_only_their_county(site, page):
    url, runtime = site
    sign_in(page, url, "leader2")
    wait_map(page)
    locations = page.evaluate(
        "() => Array.from(document.querySelector('#cell-map .js-plotly-plot')"
        "._fullData[0].locations)"
    )
    allowed = {
        int(k)
        for (k,) in runtime.db.query(
            "SELECT key FROM areas WHERE county_key = (SELECT key FROM areas WHERE code = 'T02')"
            " OR key = (SELECT key FROM areas WHERE code = 'T02')"
        )
    }
    assert locations and set(locations) <= allowed
    assert page.recorder.errors == []


def test_admin_reads_the_audit_trail_and_signs_out_by_post(site, page):
    """The real form (with its CSRF token) signs in; the audit page lists that sign-in; the
    header's sign-out button POSTs and the session is gone on the server."""
    url, runtime = site
    sign_in(page, url, "boss", "/audit")
    page.wait_for_selector("#audit-grid .ag-row", timeout=20_000)
    assert "signin.success" in page.inner_text("#audit-grid")
    before = runtime.sessions.count("boss")
    dash_quiet(page)  # a click while the callbacks redraw the header could land on nothing
    page.click("#sign-out-button")
    page.wait_for_url(f"{url}/login*")
    assert runtime.sessions.count("boss") == before - 1
    page.goto(f"{url}/audit")
    assert "/login" in page.url
    assert page.recorder.errors == []


def test_the_navigation_offers_only_the_pages_the_account_may_open(site, page):
    """A county leader's desk pages link to what the policy lets them open, the page they are on
    marked; the audit trail (administrators only) is not offered."""
    url, _ = site
    sign_in(page, url, "leader2", "/metrics")
    page.wait_for_selector(".og-nav .og-nav-current", timeout=20_000)
    hrefs = page.eval_on_selector_all(".og-nav a", "els => els.map(e => e.getAttribute('href'))")
    assert {"/", "/warnings", "/cases", "/metrics", "/briefings"} <= set(hrefs)
    assert "/audit" not in hrefs and "/report" not in hrefs
    assert page.inner_text(".og-nav-current") == "考核评价"
    page.click(".og-nav a[href='/briefings']")
    page.wait_for_selector("#briefings-grid", state="attached", timeout=20_000)
    assert page.recorder.errors == []


def test_a_desk_page_opens_in_the_language_of_its_address(site, page):
    """``?lang=en`` on a desk page opened directly (no visit to the wall first) shows English."""
    url, _ = site
    sign_in(page, url, "hall", "/metrics?lang=en")
    page.wait_for_function(
        "() => document.querySelector('.og-nav-current')?.innerText === 'Response metrics'",
        timeout=20_000,
    )
    assert page.recorder.errors == []
