"""The closed loop in a real browser: register a case by hand, dispatch it to a department, act
on it as that department, verify and close it in the hall; the metrics page changes."""

from __future__ import annotations

import pytest

from tests.support.browser import live_site
from tests.support.browser_steps import action, choose, run, select_case, wait_state
from tests.support.region import tiny_cell_code


@pytest.fixture(scope="module")
def site(tmp_path_factory, tiny_region_dir):
    with live_site(tmp_path_factory.mktemp("cases"), tiny_region_dir) as found:
        yield found


def metric(page, name: str) -> str:
    return page.locator(f"#metric-{name}").inner_text(timeout=15_000)


def test_case_closed_loop_in_browser(site, page) -> None:
    url, rt = site
    metrics_page = page.context.new_page()
    metrics_page.goto(url + "/metrics")
    metrics_page.wait_for_function(
        "document.querySelector('#metric-closed') !== null", timeout=30_000
    )
    assert metric(metrics_page, "closed") == "0"

    page.goto(url + "/cases")
    page.wait_for_selector("#cases-new-cell", timeout=30_000)
    page.fill("#cases-new-cell", tiny_cell_code(1, 0, 0))
    page.fill("#cases-new-title", "burst pipe (browser)")
    page.click("#cases-new-btn")
    page.wait_for_function(
        "document.querySelector('#cases-msg').innerText.match(/\\d/)", timeout=15_000
    )
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
    wait_state(rt, case_id, "handling")
    select_case(page, case_id)
    page.fill("#cases-reason", "valve replaced")
    run(page, action("report_handled"))
    wait_state(rt, case_id, "verification")
    # the selected case's history (who, when, why) is on the board
    page.wait_for_function(
        "() => document.querySelector('#cases-history').innerText.includes('valve replaced')",
        timeout=15_000,
    )

    # the hall verifies on site and closes it
    choose(page, "cases-dept", "指挥中心")
    select_case(page, case_id)
    run(page, action("verify_pass"))
    wait_state(rt, case_id, "closed")
    hist = rt.cases.transitions(case_id)
    assert hist["action"].tolist() == [
        "register",
        "dispatch",
        "accept",
        "report_handled",
        "verify_pass",
    ]

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
