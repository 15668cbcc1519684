"""Every page, opened in a real Chromium by every role (signed in through the real form, one
browser context per role, one server for the module): each page the policy lets the role open
shows its own content once its callbacks have answered, with no console error and no request to
a host other than 127.0.0.1; each page it may not open is refused (the refusal page, none of the
page's content). The roles and pages are data.policy's (docs/SECURITY.md)."""

from __future__ import annotations

import pytest

from data import policy
from data.auth import User
from tests.support.browser import dash_quiet, live_site, recorded_page
from tests.support.browser_steps import answered, sign_in
from tests.support.pages import MARKERS, REFUSED, settle
from tests.support.region import tiny_cell_code
from tests.support.web import TEST_PASSWORD

pytestmark = pytest.mark.browser

# one account per role: (username, the user record's area, department)
ACCOUNTS: dict[str, tuple[str, dict]] = {
    "admin": ("r-admin", {}),
    "operator": ("r-operator", {}),
    "analyst": ("r-analyst", {}),
    "wall": ("r-wall", {}),
    "county_leader": ("r-leader", {"area": "T02"}),
    "department": ("r-dept", {"department": "city.heating"}),
    "grid_worker": ("r-grid", {"area": tiny_cell_code(1, 1, 1)}),
}


# moves the app to another page as its navigation links do (dcc.Link: the history entry, then
# Dash's own event), so the Dash bundle is not loaded again for every page
PUSH_JS = """
(path) => {
  window.history.pushState({}, '', path);
  window.dispatchEvent(new CustomEvent('_dashprivate_pushstate'));
}
"""


def go_to(page, path: str) -> None:
    """Open ``path`` in the running app and wait for the router's answer (the page's layout,
    built on the server for the signed-in user: the page, or the refusal)."""
    with answered(page, "_pages_location.pathname"):
        page.evaluate(PUSH_JS, path)


@pytest.fixture(scope="module")
def site(tmp_path_factory, tiny_region_dir):
    """A live server with sign-in on and one account per role."""
    with live_site(tmp_path_factory.mktemp("by-role"), tiny_region_dir, auth=True) as (url, rt):
        for role, (name, extra) in ACCOUNTS.items():
            rt.users.add(name, TEST_PASSWORD, role, **extra)
        yield url, rt


def test_every_role_and_page_is_covered():
    """The table above and the markers name every role and every page the policy knows."""
    assert set(ACCOUNTS) == set(policy.ROLES)
    assert set(MARKERS) == set(policy.PAGES)


@pytest.mark.parametrize("role", list(ACCOUNTS))
def test_each_page_by_each_role(site, browser, role):
    url, _ = site
    name, extra = ACCOUNTS[role]
    user = User(name, role, **extra)
    allowed = [p for p in policy.PAGES if policy.may(user, "view", policy.page(p))]
    assert allowed, f"{role} may open no page"
    # signed in on a desk page when the role has one (the wall's map is the slowest to draw);
    # every other page is then opened as the navigation opens it
    first = next((p for p in allowed if p != "wall"), allowed[0])
    with recorded_page(browser, 1920, 1080) as page:
        sign_in(page, url, name, policy.PAGES[first])
        for page_name in [first, *(p for p in policy.PAGES if p != first)]:
            path = policy.PAGES[page_name]
            where = f"{path} as {role}"
            errors_before = len(page.recorder.errors)
            if page_name != first:
                go_to(page, path)
            if page_name in allowed:
                page.wait_for_selector(MARKERS[page_name], state="attached", timeout=20_000)
                settle(page, page_name)
                assert page.locator(REFUSED).count() == 0, where
            else:
                page.wait_for_selector(REFUSED, state="attached", timeout=20_000)
                dash_quiet(page)
                assert page.locator(MARKERS[page_name]).count() == 0, where
            assert page.recorder.errors[errors_before:] == [], where
        assert page.recorder.outside_hosts() == set(), role
