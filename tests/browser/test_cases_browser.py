"""The closed loop in a real browser: register a case by hand, dispatch it to a department, act
on it as that department, verify and close it in the hall; the metrics page changes."""

from __future__ import annotations

import json

import pytest

from tests.browser.server import live_site
from tests.conftest import tiny_cell_code


@pytest.fixture(scope="module")
def site(tmp_path_factory, tiny_region_dir):
    with live_site(tmp_path_factory.mktemp("cases"), tiny_region_dir) as found:
        yield found


def action(name: str) -> str:
    """CSS selector of an action button (a pattern-matching id: JSON with sorted keys)."""
    key = json.dumps({"action": name, "type": "case-action"}, separators=(",", ":"))
    return f"[id='{key}']"


def choose(page, dropdown_id: str, label_part: str) -> None:
    """Pick the option containing ``label_part`` in a dcc.Dropdown."""
    trigger = page.locator(f"#{dropdown_id}")
    for _ in range(5):
        trigger.click()
        try:
            page.wait_for_selector(f"#{dropdown_id}[aria-expanded=true]", timeout=2000)
            break
        except Exception:  # noqa: BLE001 - a click during a re-render can be lost; try again
            continue
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
    if "ag-row-selected" not in (row.get_attribute("class") or ""):
        row.locator(".ag-cell").first.click()  # the selection checkbox toggles
    page.wait_for_selector(f"#cases-grid .ag-row-selected[row-id='{case_id}']", timeout=5000)


def metric(page, name: str) -> str:
    return page.locator(f"#metric-{name}").inner_text(timeout=15_000)


def test_case_closed_loop_in_browser(site, page) -> None:
    url, rt = site
    metrics_page = page.context.new_page()
    metrics_page.goto(url + "/metrics")
    metrics_page.wait_for_function("document.querySelector('#metric-closed') !== null",
                                   timeout=30_000)  # fmt: skip
    assert metric(metrics_page, "closed") == "0"

    page.goto(url + "/cases")
    page.wait_for_selector("#cases-new-cell", timeout=30_000)
    page.fill("#cases-new-cell", tiny_cell_code(1, 0, 0))
    page.fill("#cases-new-title", "burst pipe (browser)")
    page.click("#cases-new-btn")
    page.wait_for_function("document.querySelector('#cases-msg').innerText.match(/\\d/)",
                           timeout=15_000)  # fmt: skip
    case_id = int(rt.db.query_one("SELECT max(id) FROM cases")[0])
    assert rt.cases.get(case_id)["state"] == "registered"

    # the hall dispatches it to the housing bureau
    select_case(page, case_id)
    choose(page, "cases-target", "住房")
    page.fill("#cases-reason", "heating pipe")
    run(page, action("dispatch"))
    c = rt.cases.get(case_id)
    assert (c["state"], c["department"]) == ("dispatched", "city.housing"), page.inner_text(
        "#cases-msg"
    )

    # the department signs for it and reports it handled
    choose(page, "cases-dept", "住房")
    select_case(page, case_id)
    # an action not allowed in the case's state is refused with the reason, nothing changes
    assert "verify_pass" in run(page, action("verify_pass"))
    assert rt.cases.get(case_id)["state"] == "dispatched"
    run(page, action("accept"))
    _wait_state(rt, case_id, "handling")
    select_case(page, case_id)
    page.fill("#cases-reason", "valve replaced")
    run(page, action("report_handled"))
    _wait_state(rt, case_id, "verification")
    # the selected case's history (who, when, why) is on the board
    page.wait_for_function(
        "() => document.querySelector('#cases-history').innerText.includes('valve replaced')",
        timeout=15_000,
    )

    # the hall verifies on site and closes it
    choose(page, "cases-dept", "指挥中心")
    select_case(page, case_id)
    run(page, action("verify_pass"))
    _wait_state(rt, case_id, "closed")
    hist = rt.cases.transitions(case_id)
    assert hist["action"].tolist() == ["register", "dispatch", "accept", "report_handled",
                                       "verify_pass"]  # fmt: skip

    metrics_page.reload()
    metrics_page.wait_for_function(
        "document.querySelector('#metric-closed') && "
        "document.querySelector('#metric-closed').innerText === '1'",
        timeout=30_000,
    )
    assert metric(metrics_page, "on_time") == "100.0%"
    # (the wall's app-wide callbacks log "nonexistent object" errors on other pages: not ours)
    ours = [e for e in page.recorder.errors if "case" in e and "nonexistent object" not in e]
    assert not ours, ours


def _wait_state(rt, case_id: int, state: str, timeout_s: float = 15) -> None:
    import time

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if rt.cases.get(case_id)["state"] == state:
            return
        time.sleep(0.1)
    raise AssertionError(f"case {case_id} is {rt.cases.get(case_id)['state']}, not {state}")
