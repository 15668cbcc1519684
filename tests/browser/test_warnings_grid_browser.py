"""The warnings list shows one row per active warning (issue 10, item 10): four warnings raised
in four cells are four rows, and AG Grid reports no duplicate row id."""

from __future__ import annotations

import pandas as pd
import pytest

from tests.support.browser import live_site
from tests.support.browser_steps import evaluate
from tests.support.region import tiny_cell_center

CELLS = [(1, 2, 1), (1, 3, 3), (2, 1, 1), (2, 3, 2)]


@pytest.fixture(scope="module")
def site(tmp_path_factory, tiny_region_dir):
    with live_site(tmp_path_factory.mktemp("warngrid"), tiny_region_dir) as found:
        yield found


def _accidents(runtime) -> None:
    """A burst of six accident reports in each of four cells, now (each makes one warning)."""
    now = pd.Timestamp.now(tz="UTC")
    frames = []
    for c, (county, i, j) in enumerate(CELLS):
        lon, lat = tiny_cell_center(county, i, j)
        frames.append(
            pd.DataFrame(
                {
                    "id": [f"grid-{c}-{k}" for k in range(6)],
                    "time": [now - pd.Timedelta(minutes=k) for k in range(6)],
                    "lon": lon,
                    "lat": lat,
                    "category": "traffic",
                    "severity": 3,
                }
            )
        )
    frame = pd.concat(frames, ignore_index=True)
    assert runtime.pipeline.ingest_frame("police", frame).accepted == len(frame)


def test_four_active_warnings_are_four_rows(site, page):
    url, runtime = site
    console: list[str] = []
    page.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
    _accidents(runtime)
    page.goto(url + "/warnings")
    page.wait_for_selector("#warn-grid .ag-root", timeout=30_000)
    for _ in range(2):  # the pending period is 2 evaluations
        evaluate(page)
    active = runtime.db.query_one(
        "SELECT count(*) FROM warnings WHERE state IN ('raised', 'acknowledged')"
    )[0]
    assert active == 4
    page.wait_for_function(
        "() => document.querySelectorAll("
        "'#warn-grid .ag-center-cols-container .ag-row').length >= 4",
        timeout=20_000,
    )
    page.wait_for_timeout(2_500)  # a refresh tick or two more: the rows stay
    ids = page.locator("#warn-grid .ag-center-cols-container .ag-row [col-id=id]").all_inner_texts()
    rows = page.locator("#warn-grid .ag-center-cols-container .ag-row").all_inner_texts()
    assert len(ids) == 4 and len(set(ids)) == 4, (rows, console)
    stored = {str(r[0]) for r in runtime.db.query("SELECT id FROM warnings")}
    assert set(ids) == stored
    # before the fix: "getRowId callback must return a string ... nodeId=undefined", one row
    bad = [m for m in console if "duplicate node id" in m.lower() or "getrowid" in m.lower()]
    assert not bad, console
    assert page.recorder.errors == []
