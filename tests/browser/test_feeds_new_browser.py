"""/feeds/new in a real browser: an administrator uploads a small CSV sample, sees its columns
and rows, maps it (pickers and the value -> category table), previews the reconciliation and
saves; the saved file passes ``python app.py check-mapping``. No console error, nothing fetched
from outside."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.support.browser import dash_quiet, live_site
from tests.support.browser_steps import answered, choose, sign_in
from tests.support.draft_sample import sample_csv
from tests.support.server import ROOT
from tests.support.web import TEST_PASSWORD

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def site(tmp_path_factory, tiny_region_dir):
    tmp = tmp_path_factory.mktemp("feeds-new-browser")
    with live_site(tmp, tiny_region_dir, auth=True, mappings_dir=tmp / "mappings") as (url, rt):
        rt.users.add("root", TEST_PASSWORD, "admin")
        yield url, rt, tmp


def pick_code(page, value: str, code: str) -> None:
    """Give ``value`` its category in the value table's select editor."""
    row = page.locator("#feednew-category-map .ag-row", has_text=value).first
    row.locator("[col-id='code']").click()
    editor = page.locator(".ag-cell-inline-editing, .ag-popup-editor").first
    editor.wait_for(timeout=5000)
    if not page.locator(".ag-select-list").count():  # the select's list opens on a click
        editor.locator(".ag-picker-field-wrapper").first.click()
    page.locator(".ag-select-list .ag-list-item", has_text=code).first.click()
    page.wait_for_function(
        "([v, c]) => [...document.querySelectorAll('#feednew-category-map .ag-row')]"
        ".some(r => r.innerText.includes(v) && r.innerText.includes(c))",
        arg=[value, code],
        timeout=5000,
    )


def test_admin_maps_a_sample_previews_and_saves(site, page, tmp_path, tiny_region_dir):
    url, rt, folder = site
    sample = tmp_path / "district calls.csv"
    sample.write_text(sample_csv(), encoding="utf-8")
    sign_in(page, url, "root", "/feeds/new")
    page.wait_for_selector("#feednew-upload", timeout=20_000)
    dash_quiet(page)
    with answered(page, "feednew-upload.contents"):
        page.set_input_files("#feednew-upload input[type=file]", str(sample))
    page.wait_for_function(
        "document.querySelectorAll('#feednew-grid .ag-center-cols-container .ag-row').length >= 5",
        timeout=15_000,
    )
    assert "10" in page.inner_text("#feednew-info")
    assert "Reported" in page.inner_text("#feednew-grid")
    assert page.input_value("#feednew-name") == "district_calls"

    choose(page, "feednew-source", "110警情")
    for picker, column in (
        ("feednew-id", "Ref"),
        ("feednew-time", "Reported"),
        ("feednew-lon", "X"),
        ("feednew-lat", "Y"),
        ("feednew-severity", "Level"),
        ("feednew-text", "Note"),
        ("feednew-category", "Kind"),
    ):
        choose(page, picker, column)
    page.fill("#feednew-time-format", "%m/%d/%Y %H:%M")
    page.wait_for_function(
        "document.querySelectorAll('#feednew-category-map .ag-row').length === 3", timeout=15_000
    )
    dash_quiet(page)
    pick_code(page, "Theft", "criminal")
    pick_code(page, "Brawl", "dispute")

    with answered(page, "feednew-preview.n_clicks"):
        page.click("#feednew-preview")
    page.wait_for_selector("#feednew-n-read", timeout=15_000)
    got = {
        k: page.inner_text(f"#feednew-n-{k}")
        for k in ("read", "accepted", "duplicates", "quarantined", "outside")
    }
    assert got == {
        "read": "10",
        "accepted": "6",
        "duplicates": "1",
        "quarantined": "2",
        "outside": "1",
    }
    assert "Parade" in page.inner_text("#feednew-result")  # the unmapped value, as an example

    with answered(page, "feednew-save.n_clicks"):
        page.click("#feednew-save")
    saved = folder / "mappings" / "district_calls.toml"
    page.wait_for_function(
        "document.querySelector('#feednew-saved').innerText.includes('district_calls.toml')",
        timeout=10_000,
    )
    assert saved.is_file()
    out = subprocess.run(
        [sys.executable, "app.py", "check-mapping", "--mapping", str(saved), "--file", str(sample)]
        + ["--region", str(tiny_region_dir), "--json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={"ONEGRID_DB": str(tmp_path / "none.duckdb"), "PATH": "/usr/bin:/bin"},
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout[out.stdout.index("{") :])
    assert (result["rows_read"], result["accepted"], result["duplicates"]) == (10, 6, 1)
    assert page.recorder.errors == []
    assert page.recorder.outside_hosts() == set()
