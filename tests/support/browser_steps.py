"""Steps several browser tests take: signing in on the page, choosing in a dropdown, running a
case action, waiting for a case's state, injecting an accident episode."""

from __future__ import annotations

import json
import time

import pandas as pd
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import expect

from tests.support.browser import dash_quiet
from tests.support.region import tiny_cell_center
from tests.support.web import TEST_PASSWORD


def action(name: str) -> str:
    """CSS selector of an action button (a pattern-matching id: JSON with sorted keys)."""
    key = json.dumps({"action": name, "type": "case-action"}, separators=(",", ":"))
    return f"[id='{key}']"


def answered(page, prop: str):
    """Context manager: wait for the answer of the Dash callback that ``prop`` (``"id.property"``)
    triggers inside the ``with`` block."""

    def is_it(response) -> bool:
        if "_dash-update-component" not in response.url:
            return False
        try:
            return prop in json.loads(response.request.post_data or "{}").get("changedPropIds", [])
        except ValueError:
            return False

    return page.expect_response(is_it, timeout=30_000)


def evaluate(page) -> None:
    """Press the warnings page's "evaluate now" and wait for its answer."""
    with answered(page, "warn-evaluate.n_clicks"):
        page.click("#warn-evaluate")


def choose(page, dropdown_id: str, label_part: str) -> None:
    """Pick the option containing ``label_part`` in a dcc.Dropdown."""
    # a click while Dash re-renders the board can be lost: open it only once the callbacks
    # have answered, and let expect wait for it to be open
    dash_quiet(page)
    page.locator(f"#{dropdown_id}").click()
    expect(page.locator(f"#{dropdown_id}")).to_have_attribute("aria-expanded", "true")
    page.locator("input.dash-dropdown-search").last.fill(label_part)
    page.locator("[role=option]", has_text=label_part).first.click(timeout=5000)
    if page.get_attribute(f"#{dropdown_id}", "aria-expanded") == "true":
        page.keyboard.press("Escape")


def run(page, button: str) -> str:
    """Click an action and wait for the board's answer; returns it."""
    before = page.inner_text("#cases-msg")
    page.click(button)
    page.wait_for_function(
        "b => document.querySelector('#cases-msg').innerText !== b", arg=before, timeout=15_000
    )
    return page.inner_text("#cases-msg")


def select_case(page, case_id: int) -> None:
    row = page.locator(f"#cases-grid .ag-row[row-id='{case_id}']").first
    row.wait_for(timeout=15_000)
    selected = page.locator(f"#cases-grid .ag-row-selected[row-id='{case_id}']")
    # the selection checkbox toggles: a row the board selected between the look and the click
    # (its refresh keeps a selection) is unselected by it, so look again before a second click
    for _ in range(3):
        if "ag-row-selected" not in (row.get_attribute("class") or ""):
            row.locator(".ag-cell").first.click()
        try:
            selected.wait_for(timeout=5000)
            return
        except PlaywrightTimeout:
            continue
    selected.wait_for(timeout=5000)


def wait_state(rt, case_id: int, state: str, timeout_s: float = 15) -> None:

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if rt.cases.get(case_id)["state"] == state:
            return
        time.sleep(0.1)
    raise AssertionError(f"case {case_id} is {rt.cases.get(case_id)['state']}, not {state}")


def sign_in(page, url: str, username: str, next_path: str = "/") -> None:
    page.goto(f"{url}{next_path}")
    assert "/login" in page.url  # nothing is shown before signing in
    page.fill("#login-username", username)
    page.fill("#login-password", TEST_PASSWORD)
    page.click("#login-submit")
    page.wait_for_url(f"{url}{next_path}*")


def inject_accident(runtime, county=1, i=2, j=1, n=6):
    lon, lat = tiny_cell_center(county, i, j)
    now = pd.Timestamp.now(tz="UTC")
    frame = pd.DataFrame(
        {
            "id": [f"acc-{k}" for k in range(n)],
            "time": [now - pd.Timedelta(minutes=k) for k in range(n)],
            "lon": lon,
            "lat": lat,
            "category": "traffic",
            "severity": 3,
        }
    )
    assert runtime.pipeline.ingest_frame("police", frame).accepted == n
