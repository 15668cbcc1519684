"""A real NYC 311 day (2013-12-25, tests/samples/SOURCES.md 1.1) replayed without shifting: the
day's briefing states that day's totals and the per-agency median handling times as the data
gives them."""

from __future__ import annotations

import pytest

import cli
from data.cases.history import replay_history
from data.runtime import Runtime
from data.settings import load_settings
from tests.support.reading import docx_tables, read_back, tagged
from tests.support.realdata import REALDATA, nyc_region

# tests/samples/SOURCES.md 1.1: agency -> median created-to-closed hours, decimals stated. DOHMH's
# stated 918 h includes the one request closed before it was created, which every OneGrid figure
# leaves out (flag closed_before_created): without it the median is 949 h.
MEDIANS = {"HPD": (72, 0), "NYPD": (1.7, 1), "DOT": (21, 0), "DEP": (31, 0), "DSNY": (32, 0)}
MEDIANS |= {"DOB": (279, 0), "DOHMH": (949, 0)}
ROWS, NO_COORDINATES, HEATING = 2386, 82, 1201  # SOURCES.md 1.1


@pytest.fixture(scope="module")
def nyc(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("nyc-brief")
    nyc_region(tmp)
    rt = Runtime(load_settings(db=tmp / "nyc.duckdb", region=str(tmp / "nyc"), simulator=False))
    counts = replay_history(
        rt.pipeline,
        rt.cases,
        "nyc_311_2013",
        REALDATA / "nyc" / "nyc_311_service_requests_2013-12-25.csv",
    )
    rt.stop()
    return tmp, counts


@pytest.mark.realdata
def test_the_days_briefing_states_the_days_totals_and_agency_medians(nyc, monkeypatch):
    tmp, counts = nyc
    assert counts["accepted"] + counts["quarantined"] == ROWS
    monkeypatch.setenv("ONEGRID_DB", str(tmp / "nyc.duckdb"))
    monkeypatch.setenv("ONEGRID_REGION", str(tmp / "nyc"))
    monkeypatch.setenv("ONEGRID_USERS_FILE", str(tmp / "users.toml"))
    out = tmp / "2013-12-25.docx"
    argv = ["briefing", "--period", "day", "--date", "2013-12-25", "--lang", "en"]
    assert cli.main([*argv, "--format", "docx", "--out", str(out)], serve=lambda a: 1) == 0
    got = tagged(read_back(out))
    # every request with coordinates is that day's event (the file is one local day)
    assert got["events.total"][0] == ROWS - NO_COORDINATES
    # nothing before the file's day (the replay was not shifted): no day-on-day comparison
    text = read_back(out)
    assert "does not cover all of the previous day" in text and "(the previous day:" not in text
    assert got["events.by_source"] == [ROWS - NO_COORDINATES]  # all of it 12345 hotline
    assert got["hotline.top_subjects"][0] >= HEATING - NO_COORDINATES  # heating first
    # the per-department table: median hours per agency as the data gives them
    table = next(t for t in docx_tables(out) if t[0][0] == "Department")
    medians = {row[0]: float(row[3].replace(",", "")) for row in table[1:]}
    for agency, (hours, digits) in MEDIANS.items():
        assert round(medians[agency], digits) == hours, (agency, medians[agency])


@pytest.mark.realdata
def test_the_days_open_cases_are_overdue_as_of_the_files_end_not_today(nyc, monkeypatch):
    """The file's requests still open are counted overdue only if their deadline passed before
    the file's newest activity (right-censored, docs/CASES.md), never against today."""
    import pandas as pd

    from data.indicators import reading_time
    from data.store import Database

    tmp, _ = nyc
    monkeypatch.setenv("ONEGRID_DB", str(tmp / "nyc.duckdb"))
    monkeypatch.setenv("ONEGRID_REGION", str(tmp / "nyc"))
    monkeypatch.setenv("ONEGRID_USERS_FILE", str(tmp / "users.toml"))
    out = tmp / "2013-12-25-overdue.html"
    argv = ["briefing", "--period", "day", "--date", "2013-12-25", "--lang", "en"]
    assert cli.main([*argv, "--format", "html", "--out", str(out)], serve=lambda a: 1) == 0
    got = tagged(read_back(out))["cases.overdue_open"]
    db = Database(tmp / "nyc.duckdb")
    try:
        end = reading_time(db)
        assert end < pd.Timestamp("2015-01-01", tz="UTC")

        def open_late(at) -> int:
            return db.query_one(
                "SELECT count(*) FROM cases WHERE NOT joint AND dispatched_at IS NOT NULL "
                "AND flag IS NULL AND closed_at IS NULL AND deadline_at < ? "
                "AND created_at >= '2013-12-25 05:00:00+00' AND created_at < '2013-12-26 05:00:00+00'",
                [at.to_pydatetime()],
            )[0]

        assert got == [open_late(end)]
        assert open_late(end) < open_late(pd.Timestamp.now(tz="UTC"))
    finally:
        db.close()
