"""A real NYC 311 day (2013-12-25, tests/samples/SOURCES.md 1.1) replayed without shifting: the
search for the file's own dates finds the file's figures (the read API with bare dates, and the
search page's counts and hourly histogram), and nothing on the day before."""

from __future__ import annotations

import pandas as pd
import pytest

from app import create_app
from data import search
from data.auth import User
from tests.support.realdata import REALDATA, nyc_311_day_runtime
from tests.support.web import sign_in

FILE = REALDATA / "nyc" / "nyc_311_service_requests_2013-12-25.csv"
ROWS, NO_COORDINATES = 2386, 82  # SOURCES.md 1.1


@pytest.fixture(scope="module")
def nyc(tmp_path_factory):
    rt = nyc_311_day_runtime(tmp_path_factory.mktemp("nyc-search"))
    yield rt
    rt.stop()


def _expected() -> pd.DataFrame:
    """The file's rows that have coordinates (the ones that become events), read with pandas."""
    df = pd.read_csv(FILE, dtype=str)
    return df[df["Latitude"].notna() & df["Longitude"].notna()]


@pytest.mark.realdata
def test_search_for_the_files_own_dates_shows_its_figures(nyc):
    rt = nyc
    rows = _expected()
    assert len(rows) == ROWS - NO_COORDINATES
    client = create_app(runtime=rt).server.test_client()
    sign_in(client, rt, "ana", role="analyst")

    def count(query: str) -> int:
        resp = client.get(f"/api/events?{query}&since=2013-12-25&until=2013-12-26&limit=10000")
        assert resp.status_code == 200, resp.get_json()
        return resp.get_json()["count"]

    # the day as bare dates (New York's midnights): every request with coordinates
    assert count("source=hotline") == ROWS - NO_COORDINATES
    # an address, typed in lower case: the requests at it
    address = rows["Incident Address"].fillna("").str.lower()
    assert count("q=3810%20bailey") == int(address.str.contains("3810 bailey").sum()) == 18
    # a complaint type: in the text, and the category it maps to (HEAT*, Boilers -> heating)
    kind = rows["Complaint Type"].fillna("")
    text = (kind + ": " + rows["Descriptor"].fillna("")).str.lower()
    heating = text.str.contains("heating") | kind.str.upper().str.startswith("HEAT")
    heating |= kind == "Boilers"
    assert count("q=HEATING") == int(heating.sum())
    # not shifted: nothing the day before
    resp = client.get("/api/events?q=HEATING&since=2013-12-24&until=2013-12-25")
    assert resp.get_json()["count"] == 0

    # the search page's counts and histogram for the same day
    since, until = search.page_period("2013-12-25", "2013-12-25", rt.timezone)
    f = search.reader_filters(
        rt.db, User("ana", "analyst"), rt.scope, "event", since=since, until=until
    )
    res = search.results(rt.db, "events", f, search.Text.of("heating"), timezone=rt.timezone)
    assert res["total"] == int(heating.sum()) and res["bucket"] == "hour"
    assert sum(h["n"] for h in res["histogram"]) == res["total"]
    # local hours of New York: the first is the day's midnight there (05:00 UTC)
    assert res["histogram"][0]["at"] >= "2013-12-25T05:00:00+00:00"
    assert res["histogram"][-1]["at"] <= "2013-12-26T04:00:00+00:00"
    hours = pd.to_datetime(rows.loc[heating, "Created Date"], format="%m/%d/%Y %I:%M:%S %p")
    by_hour = hours.dt.hour.value_counts()
    assert {
        pd.Timestamp(h["at"]).tz_convert("America/New_York").hour: h["n"] for h in res["histogram"]
    } == {int(k): int(v) for k, v in by_hour.items()}
