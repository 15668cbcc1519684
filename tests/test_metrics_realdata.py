"""A real NYC 311 day (2013-12-25, tests/samples/SOURCES.md 1.1) replayed without shifting: the
metrics page for that day's own dates (?since=2013-12-25&until=2013-12-26) shows the day's
figures: its cases, the per-agency median handling times as the data gives them, read as of the
file's end (a request still open then is right-censored, not overdue against today), and equal
to the indicator catalogue's for the same period."""

from __future__ import annotations

import pytest

from data import indicators
from data.cases import desk
from data.cases.history import replay_history
from data.runtime import Runtime
from data.settings import load_settings
from layouts import metrics_page
from tests.support.realdata import REALDATA, nyc_region

# tests/samples/SOURCES.md 1.1 (as tests/test_briefings_realdata.py): agency -> median
# created-to-closed hours and the decimals stated; DOHMH without the request closed before it
# was created (flagged, left out of every figure)
MEDIANS = {"HPD": (72, 0), "NYPD": (1.7, 1), "DOT": (21, 0), "DEP": (31, 0), "DSNY": (32, 0)}
MEDIANS |= {"DOB": (279, 0), "DOHMH": (949, 0)}
ROWS, WITH_CLOSE, FLAGGED = 2386, 2309, 1  # SOURCES.md 1.1; the flagged one has a close


@pytest.fixture(scope="module")
def nyc(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("nyc-metrics")
    nyc_region(tmp)  # skips when the real data is absent
    rt = Runtime(load_settings(db=tmp / "nyc.duckdb", region=str(tmp / "nyc"), simulator=False))
    replay_history(
        rt.pipeline,
        rt.cases,
        "nyc_311_2013",
        REALDATA / "nyc" / "nyc_311_service_requests_2013-12-25.csv",
    )
    yield rt
    rt.stop()


@pytest.mark.realdata
def test_the_metrics_page_for_the_files_own_day_shows_its_figures(nyc) -> None:
    rt = nyc
    period = desk.metrics_period(rt, "2013-12-25", "2013-12-26")  # local (New York) midnights
    since, until = period["since"], period["until"]
    assert since.isoformat() == "2013-12-25T05:00:00+00:00"
    view = desk.metrics_view(rt, rt.scope, since, until)
    # read as of the file's own end, not today (no shifting, right-censored)
    assert view["reading"] == indicators.reading_time(rt.db)
    newest = rt.db.query_one("SELECT greatest(max(created_at), max(closed_at)) FROM cases")[0]
    assert view["reading"] == newest and view["reading"].year == 2014  # the last close, 2014-04
    assert view["end"] == until  # the day ended before the reading: its backlog at its end
    s = view["summary"]
    assert s["cases"] == ROWS - FLAGGED
    assert s["closed"] == WITH_CLOSE - FLAGGED
    assert s["open"] == ROWS - WITH_CLOSE
    # the page's department ranking, as shown in English: the agencies' medians as the data gives
    rows = {r["name"]: r for r in metrics_page.rankings(view, "en")["dept_rows"]}
    for agency, (hours, digits) in MEDIANS.items():
        assert round(rows[agency]["median_close"], digits) == hours, (agency, rows[agency])
    # the same figures as the catalogue's for the same period, read the same way
    for field, ind in (
        ("cases", "cases.opened"),
        ("closed", "cases.closed"),
        ("on_time_rate", "cases.on_time_rate"),
        ("median_close_h", "cases.median_close_hours"),
        ("open_overdue", "cases.overdue_open"),
    ):
        assert s[field] == pytest.approx(indicators.value(rt.db, ind, rt.scope, since, until)), ind
    end = indicators.value(rt.db, "cases.overdue_at_end", rt.scope, since, until)
    assert view["overdue_at_end"] == end
    # the backlog at the day's end: requests open past their deadline at that moment, counted
    # from the stored rows directly
    direct = rt.db.query_one(
        "SELECT count(*) FROM cases WHERE dispatched_at IS NOT NULL AND flag IS NULL AND NOT joint "
        "AND created_at < ? AND deadline_at < ? AND (closed_at IS NULL OR closed_at > ?)",
        [until.to_pydatetime()] * 3,
    )[0]
    assert view["overdue_at_end"] == direct
    # the trend is the day's: one local day holding every case
    assert view["unit"] == "day" and view["trend"]["cases"].tolist() == [s["cases"]]
    # the department detail of the busiest agency: its own figures and overdue list
    hpd = desk.department_view(rt, rt.scope, "HPD", since, until)
    assert hpd["summary"]["cases"] == int(
        view["departments"].set_index("department").loc["HPD", "cases"]
    )
    assert len(hpd["overdue"]) == hpd["overdue_at_end"]
