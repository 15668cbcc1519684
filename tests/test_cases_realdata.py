"""Cases measured against real data: NYC 311 replayed as hotline cases with real created and
closed times; per-agency median close times must match tests/samples/SOURCES.md 1.1, 1.2."""

from __future__ import annotations

import pytest

from data.cases import metrics
from data.cases.history import replay_history
from data.runtime import Runtime
from data.settings import load_settings

# tests/samples/SOURCES.md: agency -> (rows, median hours, decimals the figure is stated to)
EXPECTED_2013 = {
    "HPD": (1444, 72, 0),
    "NYPD": (298, 1.7, 1),
    "DOT": (272, 21, 0),
    "DEP": (128, 31, 0),
    "DSNY": (64, 32, 0),
    "DOB": (25, 279, 0),
}
EXPECTED_2019 = {"NYPD": (634, 2.5, 1), "HPD": (145, 46, 0), "DSNY": (57, 98, 0)}


@pytest.fixture(scope="module")
def nyc(tmp_path_factory, request):
    from tests.support.realdata import REALDATA, nyc_region

    tmp = tmp_path_factory.mktemp("nyc")
    nyc_region(tmp)
    rt = Runtime(load_settings(db=tmp / "nyc.duckdb", region=str(tmp / "nyc"), simulator=False))
    counts = {}
    for name, mapping, f in (
        ("2013", "nyc_311_2013", "nyc_311_service_requests_2013-12-25.csv"),
        ("2019", "nyc_311_2019", "nyc_311_service_requests_2019-12-31_evening.csv"),
    ):
        counts[name] = replay_history(rt.pipeline, rt.cases, mapping, REALDATA / "nyc" / f)
    yield rt, counts
    rt.stop()


def _times(rt, day: str):
    """Close-time figures of the cases created on one day (local NYC date)."""
    scope = rt.scope
    lo, hi = {
        "2013": ("2013-12-25 05:00Z", "2013-12-26 05:00Z"),
        "2019": ("2019-12-31 05:00Z", "2020-01-01 05:00Z"),
    }[day]
    where, params = scope.where()
    return rt.db.query_df(
        f"""
        SELECT department,
               count(*) FILTER (closed_at IS NOT NULL AND flag IS NULL) AS closed,
               count(*) FILTER (closed_at IS NOT NULL) AS with_close,
               median(date_diff('second', created_at, closed_at)) FILTER (WHERE
                   closed_at IS NOT NULL AND flag IS NULL) / 3600.0 AS median_h,
               median(date_diff('second', created_at, closed_at)) FILTER (WHERE
                   closed_at IS NOT NULL) / 3600.0 AS median_all_h,
               count(*) FILTER (closed_at IS NULL) AS open,
               count(*) FILTER (flag = 'closed_before_created') AS flagged
        FROM cases WHERE {where} AND created_at >= ? AND created_at < ?
        GROUP BY department
        """,
        [*params, lo, hi],
    ).set_index("department")


@pytest.mark.realdata
def test_every_request_is_a_case(nyc) -> None:
    rt, counts = nyc
    c13, c19 = counts["2013"], counts["2019"]
    assert c13["cases_placed"] + c13["cases_unplaced"] == 2386
    assert c19["cases_placed"] + c19["cases_unplaced"] == 1000
    assert c13["cases_unplaced"] >= 82  # 82 rows have no coordinates (tests/samples/SOURCES.md 1.1)
    assert rt.db.query_one("SELECT count(*) FROM cases")[0] == 3386


@pytest.mark.realdata
def test_2013_median_close_times_per_agency(nyc) -> None:
    rt, _ = nyc
    t = _times(rt, "2013")
    for agency, (rows, median_h, nd) in EXPECTED_2013.items():
        row = t.loc[agency]
        assert row["with_close"] == rows, agency
        assert round(row["median_h"], nd) == median_h, (agency, row["median_h"])
    # the case that closes before it opens (DOHMH, Pending, closed 2013-10-30) is flagged and
    # not averaged in: 19 cases, median 949 h. tests/samples/SOURCES.md's 918 h over 20 rows includes it
    dohmh = t.loc["DOHMH"]
    assert dohmh["flagged"] == 1 and dohmh["closed"] == 19
    assert round(dohmh["median_all_h"]) == 918
    assert round(dohmh["median_h"]) == 949
    assert rt.db.query_one("SELECT count(*) FROM cases WHERE flag IS NOT NULL")[0] == 1
    # open cases are never counted as zero time: 2,386 rows - 2,309 with a close date
    assert int(t["open"].sum()) == 2386 - 2309
    # the metrics API agrees (it leaves flagged cases out)
    ct = metrics.close_times(rt.db, rt.scope).set_index("department")
    assert ct.loc["DOHMH", "flagged"] == 1
    assert ct.loc["DOHMH", "closed"] == 19 + 12  # 2013 without the flagged one, plus 2019


@pytest.mark.realdata
def test_2019_median_close_times_per_agency(nyc) -> None:
    rt, _ = nyc
    t = _times(rt, "2019")
    for agency, (rows, median_h, nd) in EXPECTED_2019.items():
        row = t.loc[agency]
        assert row["with_close"] == rows, agency
        assert round(row["median_h"], nd) == median_h, (agency, row["median_h"])
    assert int(t["open"].sum()) == 2  # 998 of 1,000 closed
    assert int(t["flagged"].sum()) == 0


@pytest.mark.realdata
def test_metrics_on_real_cases(nyc) -> None:
    rt, _ = nyc
    s = metrics.summary(rt.db, rt.scope, now="2026-01-01")
    # every real case was dispatched to its agency at creation; none closed before it opened
    assert s["cases"] == 3386 - 1
    assert s["closed"] == 2309 - 1 + 998
    counties = metrics.by_county(rt.db, rt.scope, now="2026-01-01")
    assert len(counties) == 5
    assert counties["cases"].sum() < s["cases"]  # unplaced requests have no borough
