"""A real NYC 311 day (2013-12-25, tests/samples/SOURCES.md 1.1) replayed without shifting: the
wall on the file's own dates shows its figures (map, KPI tile, and the replay's slider at noon:
the requests made by then, and the cases as they stood then), counted independently with pandas
from the file itself."""

from __future__ import annotations

import pandas as pd
import pytest

from data.wallhistory import cases_at
from tests.support.realdata import REALDATA, nyc_311_day_runtime

FILE = REALDATA / "nyc" / "nyc_311_service_requests_2013-12-25.csv"
ROWS, NO_COORDINATES = 2386, 82  # SOURCES.md 1.1
FORMAT = "%m/%d/%Y %I:%M:%S %p"
DAY = {"since": "2013-12-25", "until": "2013-12-26"}


@pytest.fixture(scope="module")
def nyc(tmp_path_factory):
    rt = nyc_311_day_runtime(tmp_path_factory.mktemp("nyc-wall"))
    yield rt
    rt.stop()


def _file(tz: str) -> pd.DataFrame:
    """The file read with pandas: every row, its creation time (New York's clock) in UTC."""
    df = pd.read_csv(FILE, dtype=str)
    df["created"] = (
        pd.to_datetime(df["Created Date"], format=FORMAT).dt.tz_localize(tz).dt.tz_convert("UTC")
    )
    df["placed"] = df["Latitude"].notna() & df["Longitude"].notna()
    return df


@pytest.mark.realdata
def test_the_wall_on_the_files_own_day_shows_its_figures(nyc):
    rt = nyc
    rows = _file(rt.timezone)
    assert len(rows) == ROWS and int(rows["placed"].sum()) == ROWS - NO_COORDINATES
    # the whole day, by borough (counties): every request with coordinates, on the map and tile
    st = rt.wall.state(dict(DAY), rt.scope, fresh=True)
    assert st.view["period"] is not None, st.view["period_error"]
    assert int(st.z.sum()) == ROWS - NO_COORDINATES
    assert st.kpis["hotline"]["today"] == ROWS - NO_COORDINATES
    # the live wall (today) shows none of it: the file was not shifted
    assert int(rt.wall.state({}, rt.scope, fresh=True).z.sum()) == 0

    # the replay at noon (step 144 of a day in five-minute steps): the requests made by then
    noon = pd.Timestamp("2013-12-25 12:00", tz=rt.timezone).tz_convert("UTC")
    st = rt.wall.state(dict(DAY, at="144"), rt.scope, fresh=True)
    assert st.view["period"]["at"] == noon
    by_noon = rows[rows["placed"] & (rows["created"] < noon)]
    assert 0 < len(by_noon) < ROWS - NO_COORDINATES
    assert int(st.z.sum()) == len(by_noon)
    assert st.kpis["hotline"]["today"] == len(by_noon)
    # its cases as they stood at noon: created by then; closed only when closed by then
    cases = cases_at(rt.db, rt.scope, noon)
    created = rows[rows["created"] <= noon]
    closed = pd.to_datetime(created["Closed Date"], format=FORMAT, errors="coerce")
    closed = closed.dt.tz_localize(rt.timezone).dt.tz_convert("UTC")
    assert len(cases) == len(created)
    assert int((~cases["open_then"]).sum()) == int((closed <= noon).sum())
