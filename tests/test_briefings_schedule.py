"""Scheduled briefings: when each period's briefing is due, the scheduler writing them once
into the archive (whole files, read back), the scoped list, and downloads over real HTTP that
the policy decides and the audit trail records."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
import requests
from docx import Document

from data.areas import scope_for_code
from data.briefings import archive
from reports.schedule import BriefingScheduler, folder_for
from tests.support import figures
from tests.support.browser import live_site
from tests.support.figures import TZ
from tests.support.web import TEST_PASSWORD, http_session

AT = dt.time(7, 30)


def _local(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz=TZ)


@pytest.mark.parametrize(
    ("now", "period", "first_day"),
    [
        ("2026-11-18 08:00", "day", "2026-11-17"),  # the morning after
        ("2026-11-18 07:29", "day", "2026-11-16"),  # before 07:30: yesterday's not yet
        ("2026-11-18 08:00", "week", "2026-11-09"),  # the ISO week that ended on Sunday 15th
        ("2026-11-23 07:31", "week", "2026-11-16"),  # Monday morning: last week's
        ("2026-11-23 07:29", "week", "2026-11-09"),
        ("2026-12-01 07:31", "month", "2026-11-01"),
        ("2026-12-01 07:29", "month", "2026-10-01"),
        ("2026-11-18 08:00", "month", "2026-10-01"),
        ("2027-01-01 09:00", "month", "2026-12-01"),  # across the year
    ],
)
def test_a_periods_briefing_is_due_the_morning_after_it_ends(now, period, first_day):
    got = archive.latest_due(period, _local(now), TZ, AT)
    assert got == dt.date.fromisoformat(first_day)


@pytest.fixture(scope="module")
def site(tmp_path_factory, tiny_region_dir):
    """A live server with sign-in on and a store with November 2026's data; a county leader of
    T01 and an analyst."""
    tmp = tmp_path_factory.mktemp("scheduled")
    with live_site(tmp, tiny_region_dir, auth=True, briefing_formats=["docx", "html"]) as (
        url,
        runtime,
    ):
        figures.build(runtime)
        runtime.users.add("leader1", TEST_PASSWORD, "county_leader", area="T01")
        runtime.users.add("analyst", TEST_PASSWORD, "analyst")
        runtime.users.add("clerk", TEST_PASSWORD, "department", department="county.police")
        yield url, runtime


@pytest.fixture(scope="module")
def written(site):
    """The scheduler's run on the morning of Tuesday 24 November 2026 (local)."""
    _, runtime = site
    scheduler = BriefingScheduler(runtime, clock=lambda: _local("2026-11-24 08:00"))
    ids = scheduler.run_due()
    return scheduler, ids


def test_the_scheduler_writes_each_due_briefing_once(site, written):
    _, runtime = site
    scheduler, ids = written
    rows = runtime.db.query_df("SELECT * FROM briefing_files ORDER BY id")
    # the day of 23 November and the week of 16-22 November, for the city and both counties,
    # in docx and html (zh); October 2026 has no events, so no monthly briefing is filed
    assert sorted(set(zip(rows.period, rows.day.astype(str), strict=True))) == [
        ("day", "2026-11-23"),
        ("week", "2026-11-16"),
    ]
    assert set(rows.area_code) == {"T", "T01", "T02"}
    assert len(rows) == len(ids) == 2 * 3 * 2
    for r in rows.itertuples():
        path = folder_for(runtime.settings) / r.path
        assert path.stat().st_size == r.bytes > 0
    assert not list(folder_for(runtime.settings).rglob("*.part"))
    again = scheduler.run_due()
    assert again == []  # nothing is written twice


def test_an_archived_briefing_states_its_periods_events(site, written):
    _, runtime = site
    row = runtime.db.query_one(
        "SELECT path, events FROM briefing_files WHERE period = 'week' AND area_code = 'T01' "
        "AND fmt = 'docx'"
    )
    since, until = archive.period_bounds("week", dt.date(2026, 11, 16), TZ)
    from data import indicators

    want = indicators.value(
        runtime.db, "events.total", scope_for_code(runtime.db, "T01"), since, until
    )
    assert row[1] == want > 0
    text = "\n".join(p.text for p in Document(folder_for(runtime.settings) / row[0]).paragraphs)
    assert f"{int(want)}件[events.total]" in text.replace(",", "")


def test_the_list_holds_only_the_readers_area(site, written):
    _, runtime = site
    t01 = archive.listing(runtime.db, scope_for_code(runtime.db, "T01"))
    assert set(t01.area_code) == {"T01"} and len(t01) == 4
    city = archive.listing(runtime.db, scope_for_code(runtime.db, "T"))
    assert set(city.area_code) == {"T", "T01", "T02"}


def _file_id(runtime, area: str) -> int:
    return runtime.db.query_one(
        "SELECT id FROM briefing_files WHERE area_code = ? AND fmt = 'docx' AND period = 'day'",
        [area],
    )[0]


def test_downloads_are_decided_by_the_policy_and_logged(site, written):
    url, runtime = site
    leader = http_session(url, "leader1")
    own = leader.get(f"{url}/briefings/file/{_file_id(runtime, 'T01')}", timeout=10)
    assert own.status_code == 200
    assert own.headers["Content-Type"].startswith("application/vnd.openxmlformats")
    assert "attachment" in own.headers["Content-Disposition"]
    for other in ("T", "T02"):  # the city's briefing names every county; T02 is not theirs
        resp = leader.get(f"{url}/briefings/file/{_file_id(runtime, other)}", timeout=10)
        assert resp.status_code == 403
    clerk = http_session(url, "clerk")
    assert clerk.get(f"{url}/briefings/file/{_file_id(runtime, 'T01')}").status_code == 403
    anonymous = requests.get(
        f"{url}/briefings/file/{_file_id(runtime, 'T01')}", allow_redirects=False, timeout=10
    )
    assert anonymous.status_code in (302, 401) and b"PK" not in anonymous.content[:2]
    assert leader.get(f"{url}/briefings/file/999999", timeout=10).status_code == 404
    log = runtime.db.query_df(
        "SELECT actor, outcome, object_id FROM audit_log WHERE action = 'briefing.download'"
    )
    mine = log[log.actor == "leader1"]
    assert sorted(mine.outcome) == ["denied", "denied", "ok"]
    assert "ok" not in set(log[log.actor == "clerk"].outcome)
    analyst = http_session(url, "analyst")
    assert analyst.get(f"{url}/briefings/file/{_file_id(runtime, 'T')}").status_code == 200


def test_written_briefings_are_announced_to_the_webhook_after_quiet_hours(
    tmp_path, tiny_region_dir
):
    """Written on a Saturday morning, the briefings' notices wait in the outbox for Monday's
    working time, then reach a real local webhook, one per file, with the download address."""
    from tests.support.stores import tiny_runtime
    from tests.support.webhook import Receiver

    receiver = Receiver()
    rt = tiny_runtime(
        tmp_path, tiny_region_dir, briefing_formats=["html"], case_webhook_url=receiver.url
    )
    try:
        figures.build(rt)
        saturday = _local("2026-11-28 08:00")
        ids = BriefingScheduler(rt, clock=lambda: saturday).run_due()
        assert len(ids) == 2 * 3  # day 27 Nov and week 16-22 Nov, city and two counties
        deliverer = rt.cases.deliverer
        assert deliverer.run_once(_local("2026-11-28 09:00"))["posted"] == 0  # quiet hours
        assert receiver.got == []
        assert deliverer.run_once(_local("2026-11-30 08:31"))["posted"] == len(ids)
        assert sorted(p["id"] for p in receiver.got) == sorted(ids)
        assert {p["kind"] for p in receiver.got} == {"briefing"}
        assert all(p["url"] == f"/briefings/file/{p['id']}" for p in receiver.got)
    finally:
        rt.stop()
        receiver.close()
