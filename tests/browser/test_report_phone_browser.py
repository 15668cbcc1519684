"""The field report on a phone (375x812): a grid worker signs in, takes the phone's location,
adds a photo, reports, and sees the case with its state; the hall's operator sees the photo on
the case. No horizontal scrolling, no console error, nothing fetched from outside."""

from __future__ import annotations

import pytest

from data import attachments
from tests.support.browser import dash_quiet, live_site, recorded_page
from tests.support.browser_steps import sign_in
from tests.support.photos import image_bytes
from tests.support.region import tiny_cell_center, tiny_cell_code
from tests.support.web import TEST_PASSWORD, http_session

pytestmark = pytest.mark.browser

# the grid worker's own grid cell, and a point inside it
OWN_CELL = tiny_cell_code(1, 1, 1)
HERE = tiny_cell_center(1, 1, 1)


@pytest.fixture(scope="module")
def site(tmp_path_factory, tiny_region_dir):
    tmp = tmp_path_factory.mktemp("report-phone")
    with live_site(tmp, tiny_region_dir, auth=True) as (url, runtime):
        runtime.users.add("gw", TEST_PASSWORD, "grid_worker", area=OWN_CELL)
        runtime.users.add("hall", TEST_PASSWORD, "operator")
        yield url, runtime


@pytest.fixture
def phone(browser):
    with recorded_page(
        browser,
        375,
        812,
        has_touch=True,
        is_mobile=True,
        permissions=["geolocation"],
        geolocation={"longitude": HERE[0], "latitude": HERE[1], "accuracy": 12},
    ) as pg:
        yield pg


def test_a_grid_worker_reports_from_a_phone_with_a_photo(site, phone):
    url, rt = site
    sign_in(phone, url, "gw", "/report")
    phone.wait_for_selector("#report-map .js-plotly-plot", timeout=30_000)
    dash_quiet(phone)
    # the place starts at the worker's own grid cell; the phone's location replaces it
    home = rt.db.query_one("SELECT lon, lat FROM areas WHERE code = ?", [OWN_CELL])
    assert float(phone.input_value("#report-lon")) == pytest.approx(home[0])
    assert float(phone.input_value("#report-lat")) == pytest.approx(home[1])
    phone.click("#report-locate")
    phone.wait_for_function(
        "([x, y]) => Math.abs(Number(document.querySelector('#report-lon').value) - x) < 1e-5"
        " && Math.abs(Number(document.querySelector('#report-lat').value) - y) < 1e-5",
        arg=list(HERE),
        timeout=10_000,
    )
    # the accuracy, in metres (the same callback's third output: waited for, not read at once,
    # as a loaded machine may paint it a frame after the two fields)
    phone.wait_for_function(
        "() => document.querySelector('#report-geo-msg').innerText.includes('12')",
        timeout=10_000,
    )
    phone.fill("#report-text", "垃圾桶满溢")
    photo = image_bytes("JPEG", (320, 240))
    phone.set_input_files(
        "#report-photos input[type=file]",
        files=[{"name": "bin.jpg", "mimeType": "image/jpeg", "buffer": photo}],
    )
    phone.wait_for_function(
        "() => document.querySelector('#report-photo-note').innerText.includes('bin.jpg')"
    )
    phone.click("#report-submit")
    phone.wait_for_function(
        "() => document.querySelector('#report-msg').innerText.includes('案件编号')",
        timeout=20_000,
    )
    case_id = int(phone.inner_text("#report-msg").split()[-1])
    # the worker's own reports, with the case's state
    phone.wait_for_function(
        "(id) => document.querySelector('#report-mine').innerText.includes('#' + id)",
        arg=case_id,
        timeout=20_000,
    )
    assert "1 张照片" in phone.inner_text("#report-mine")
    state = rt.db.query_one("SELECT state FROM cases WHERE id = ?", [case_id])[0]
    assert state in ("registered", "dispatched")
    # fits the phone: nothing wider than the screen
    assert phone.evaluate("() => document.documentElement.scrollWidth") <= 375
    assert phone.recorder.errors == []
    assert phone.recorder.outside_hosts() == set()
    # the photo is on the case, for the hall to see, byte for byte
    (photo_id,) = rt.db.query_one("SELECT id FROM case_attachments WHERE case_id = ?", [case_id])
    hall = http_session(url, "hall")
    got = hall.get(f"{url}/cases/attachment/{photo_id}", timeout=10)
    assert got.status_code == 200 and got.content == photo
    assert attachments.of_case(rt.db, case_id).name.tolist() == ["bin.jpg"]
