"""The 12345 intake's rows, pinned: one varied hotline batch through the real pipeline (real
DuckDB file, the runtime's insert hook) gives exactly these cases, transitions, notifications and
events.case_id (issue 12: the intake was rewritten for the push API's writer time; the rows
must not change)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from data import schema
from data.cases import WorkCalendar, intake
from data.cases.intake import register_unplaced
from data.runtime import Runtime
from data.settings import load_settings
from tests.support.region import tiny_cell_center

LIST = """
version = 1
[hall]
id = "hall"
name_zh = "指挥中心"
name_en = "Hall"
level = "city"
[deadlines]
urgent = "2h"
normal = "48h"
complex = "15d"
[hotline]
answered_on_call = ["consult"]
urgent_severity = 4
[[departments]]
id = "heat"
name_zh = "供热"
name_en = "Heating"
level = "city"
[[departments]]
id = "heat2"
name_zh = "二区供热"
name_en = "District 2 heating"
level = "county"
[[departments]]
id = "water"
name_zh = "供水"
name_en = "Water"
level = "city"
[[departments]]
id = "market"
name_zh = "市场"
name_en = "Market"
level = "city"
[[rules]]
category = "hotline.heating"
department = "heat"
deadlines = { normal = "24h" }
[[rules]]
category = "hotline.heating"
area = "T02"
department = "heat2"
deadlines = { normal = "24h" }
[[rules]]
category = "hotline.utilities"
department = "water"
deadlines = { normal = "2wd", urgent = "4wh" }
"""

# the batch arrives on Monday 2026-11-23 at 20:00 in Shanghai: after working hours, so normal
# notices wait for Tuesday 08:30 and working-time deadlines start then
NOW = pd.Timestamp("2026-11-23 20:00", tz="Asia/Shanghai")
C1 = tiny_cell_center(1, 0, 0)  # county 1 (T01): cell key 5
C2 = tiny_cell_center(2, 1, 1)  # county 2 (T02): cell key 29


def local(text: str) -> pd.Timestamp:
    """A Shanghai wall-clock time as a UTC timestamp."""
    return pd.Timestamp(text, tz="Asia/Shanghai").tz_convert("UTC")


# id, local time, cell, category, severity, attributes
BATCH = [
    ("r01", "2026-11-23 09:00", C1, "heating", 2, {"type": "help"}),
    ("r02", "2026-11-23 09:10", C2, "heating", 5, {"type": "help"}),
    ("r03", "2026-11-23 09:20", C1, "other", 3, {"type": "help"}),
    ("r04", "2026-11-23 09:30", C2, "noise", 2, {"type": "consult"}),
    ("r05", "2026-11-23 09:40", C1, "heating", 2, {"type": "complaint", "channel": "grid_worker"}),
    (
        "r06",
        "2026-11-23 09:50",
        C1,
        "heating",
        4,
        {
            "agency": "market",
            "created": "2026-11-20T09:00:00+08:00",
            "closed": "2026-11-21T10:00:00+08:00",
            "status": "done",
        },
    ),
    (
        "r07",
        "2026-11-23 10:00",
        C2,
        "other",
        2,
        {
            "agency": "market",
            "created": "2026-11-20T10:00:00+08:00",
            "closed": "2026-11-19T10:00:00+08:00",
        },
    ),
    (
        "r08",
        "2026-11-23 10:10",
        C1,
        "heating",
        2,
        {
            "agency": "city.roads",
            "status": "In Progress",
            "created": "2026-11-22T08:00:00+08:00",
            "due": "2026-11-25T17:00:00+08:00",
        },
    ),
    ("r09", "2026-11-23 10:20", C2, "other", 2, {"type": "consult", "agency": "heat"}),
    ("r10", "2026-11-23 19:00", C1, "utilities", 2, {"type": "help"}),
    ("r11", "2026-11-23 16:30", C2, "utilities", 4, {"type": "help"}),
    ("r12", "2026-11-23 11:00", C2, "noise", 1, {"type": "help"}),
]

# origin_ref -> the case's columns (times in UTC)
NULL = None
CASES = {
    # routed by the list (city-wide rule), normal: 24 calendar hours
    "r01": dict(
        origin="hotline",
        area_key=5,
        department="heat",
        dept_level="city",
        needs_decision=False,
        state="dispatched",
        urgency="normal",
        urgent=False,
        created_at=local("2026-11-23 09:00"),
        dispatched_at=local("2026-11-23 09:00"),
        closed_at=NULL,
        deadline_at=local("2026-11-24 09:00"),
        flag=NULL,
    ),
    # the deeper (county) rule wins; urgent: the list's default 2h
    "r02": dict(
        origin="hotline",
        area_key=29,
        department="heat2",
        dept_level="county",
        needs_decision=False,
        state="dispatched",
        urgency="urgent",
        urgent=True,
        created_at=local("2026-11-23 09:10"),
        dispatched_at=local("2026-11-23 09:10"),
        closed_at=NULL,
        deadline_at=local("2026-11-23 11:10"),
        flag=NULL,
    ),
    # no rule: the hall decides
    "r03": dict(
        origin="hotline",
        area_key=5,
        department=NULL,
        dept_level=NULL,
        needs_decision=True,
        state="registered",
        urgency="normal",
        urgent=False,
        created_at=local("2026-11-23 09:20"),
        dispatched_at=NULL,
        closed_at=NULL,
        deadline_at=NULL,
        flag=NULL,
    ),
    # answered on the call: closed at once, never dispatched
    "r04": dict(
        origin="hotline",
        area_key=29,
        department=NULL,
        dept_level=NULL,
        needs_decision=False,
        state="closed",
        urgency="normal",
        urgent=False,
        created_at=local("2026-11-23 09:30"),
        dispatched_at=NULL,
        closed_at=local("2026-11-23 09:30"),
        deadline_at=NULL,
        flag=NULL,
    ),
    # a grid worker's report
    "r05": dict(
        origin="grid_report",
        area_key=5,
        department="heat",
        dept_level="city",
        needs_decision=False,
        state="dispatched",
        urgency="normal",
        urgent=False,
        created_at=local("2026-11-23 09:40"),
        dispatched_at=local("2026-11-23 09:40"),
        closed_at=NULL,
        deadline_at=local("2026-11-24 09:40"),
        flag=NULL,
    ),
    # routed and closed by the publisher: its department and times; the list's limit
    "r06": dict(
        origin="hotline",
        area_key=5,
        department="market",
        dept_level="city",
        needs_decision=False,
        state="closed",
        urgency="urgent",
        urgent=True,
        created_at=local("2026-11-20 09:00"),
        dispatched_at=local("2026-11-20 09:00"),
        closed_at=local("2026-11-21 10:00"),
        deadline_at=local("2026-11-20 11:00"),
        flag=NULL,
    ),
    # closed before it was created: kept, flagged; no rule: the default 48h
    "r07": dict(
        origin="hotline",
        area_key=29,
        department="market",
        dept_level="city",
        needs_decision=False,
        state="closed",
        urgency="normal",
        urgent=False,
        created_at=local("2026-11-20 10:00"),
        dispatched_at=local("2026-11-20 10:00"),
        closed_at=local("2026-11-19 10:00"),
        deadline_at=local("2026-11-22 10:00"),
        flag="closed_before_created",
    ),
    # a publisher's agency outside the list (no level), work started, its own due date
    "r08": dict(
        origin="hotline",
        area_key=5,
        department="city.roads",
        dept_level=NULL,
        needs_decision=False,
        state="handling",
        urgency="normal",
        urgent=False,
        created_at=local("2026-11-22 08:00"),
        dispatched_at=local("2026-11-22 08:00"),
        closed_at=NULL,
        deadline_at=local("2026-11-25 17:00"),
        flag=NULL,
    ),
    # a consultation the publisher routed is dispatched, not answered on the call
    "r09": dict(
        origin="hotline",
        area_key=29,
        department="heat",
        dept_level="city",
        needs_decision=False,
        state="dispatched",
        urgency="normal",
        urgent=False,
        created_at=local("2026-11-23 10:20"),
        dispatched_at=local("2026-11-23 10:20"),
        closed_at=NULL,
        deadline_at=local("2026-11-25 10:20"),
        flag=NULL,
    ),
    # working days: after hours on Monday, 2 wd run Tuesday and Wednesday to 17:30
    "r10": dict(
        origin="hotline",
        area_key=5,
        department="water",
        dept_level="city",
        needs_decision=False,
        state="dispatched",
        urgency="normal",
        urgent=False,
        created_at=local("2026-11-23 19:00"),
        dispatched_at=local("2026-11-23 19:00"),
        closed_at=NULL,
        deadline_at=local("2026-11-25 17:30"),
        flag=NULL,
    ),
    # working hours: one on Monday (16:30-17:30), three on Tuesday from 08:30
    "r11": dict(
        origin="hotline",
        area_key=29,
        department="water",
        dept_level="city",
        needs_decision=False,
        state="dispatched",
        urgency="urgent",
        urgent=True,
        created_at=local("2026-11-23 16:30"),
        dispatched_at=local("2026-11-23 16:30"),
        closed_at=NULL,
        deadline_at=local("2026-11-24 11:30"),
        flag=NULL,
    ),
    # a category outside the list, severity 1: the hall (an urgent notice all the same)
    "r12": dict(
        origin="hotline",
        area_key=29,
        department=NULL,
        dept_level=NULL,
        needs_decision=True,
        state="registered",
        urgency="normal",
        urgent=False,
        created_at=local("2026-11-23 11:00"),
        dispatched_at=NULL,
        closed_at=NULL,
        deadline_at=NULL,
        flag=NULL,
    ),
}

# origin_ref -> its transitions in id order: (from, to, action, actor, department, reason, at)
TRANSITIONS = {
    ref: [(None, "registered", "register", "12345", None, None, c["created_at"])]
    + (
        [
            (
                "registered",
                "dispatched",
                "dispatch",
                "system",
                c["department"],
                "responsibility list",
                c["dispatched_at"],
            )
        ]
        if c["dispatched_at"] is not None
        else []
    )
    for ref, c in CASES.items()
}
TRANSITIONS["r04"].append(
    (
        "registered",
        "closed",
        "close",
        "12345",
        None,
        "answered on the call",
        CASES["r04"]["closed_at"],
    )
)
for _ref in ("r06", "r07"):
    TRANSITIONS[_ref].append(
        (
            "dispatched",
            "closed",
            "close",
            "12345",
            "market",
            "closed by the publisher",
            CASES[_ref]["closed_at"],
        )
    )

UTC_NOW = NOW.tz_convert("UTC")
TUE_0830 = local("2026-11-24 08:30")
# origin_ref -> (department, kind, urgent, deliver_at, delivered)
NOTIFICATIONS = {
    "r01": ("heat", "dispatched", False, TUE_0830, False),
    "r02": ("heat2", "dispatched", True, UTC_NOW, True),
    "r03": ("hall", "needs_decision", True, UTC_NOW, True),
    "r05": ("heat", "dispatched", False, TUE_0830, False),
    "r08": ("city.roads", "dispatched", False, TUE_0830, False),
    "r09": ("heat", "dispatched", False, TUE_0830, False),
    "r10": ("water", "dispatched", False, TUE_0830, False),
    "r11": ("water", "dispatched", True, UTC_NOW, True),
    "r12": ("hall", "needs_decision", True, UTC_NOW, True),
}


def _settings(tmp_path, tiny_region_dir, **over):
    """Settings of a runtime on the tiny region whose intake routes with LIST."""
    path = tmp_path / "list.toml"
    path.write_text(LIST, encoding="utf-8")
    return load_settings(
        db=tmp_path / "onegrid.duckdb",
        region=str(tiny_region_dir),
        simulator=False,
        warnings=False,
        responsibilities=path,
        users_file=tmp_path / "users.toml",
        secret_key="test-secret",
        auth=False,
        **over,
    )


@pytest.fixture(params=["insert hook", "prepared", "scan"])
def listed_runtime(request, tmp_path, tiny_region_dir, monkeypatch):
    """A runtime on the tiny region whose intake routes with LIST: in the pipeline's insert hook,
    with the cases built while a bulk load's batch is prepared (``prepared``: every batch counts
    as a bulk one here), or (cases_from_hotline off) by CaseService.intake_hotline's scan of the
    stored events. Batches go in with :func:`_ingest`."""
    if request.param == "prepared":
        monkeypatch.setattr(intake, "PREPARE_MIN_ROWS", 1)
    rt = Runtime(_settings(tmp_path, tiny_region_dir, cases_from_hotline=request.param != "scan"))
    rt.bulk_test = request.param == "prepared"
    yield rt
    rt.stop()


def _ingest(rt, frame: pd.DataFrame, now: pd.Timestamp):
    """One hotline batch: as a bulk load streams it (the prepared path), else as a push."""
    if not rt.bulk_test:
        return rt.pipeline.ingest_frame("hotline", frame, now=now)
    [(_, res)] = list(rt.pipeline.ingest_stream([("batch", "hotline", frame)], now=now))
    return res


def _frame(rows) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": [r[0] for r in rows],
            "time": [local(r[1]) for r in rows],
            "lon": [r[2][0] for r in rows],
            "lat": [r[2][1] for r in rows],
            "category": [r[3] for r in rows],
            "severity": [r[4] for r in rows],
            "text": [f"request {r[0]}" for r in rows],
            "attributes": [json.dumps(r[5]) for r in rows],
        }
    )


def _ts(v):
    return None if v is None or pd.isna(v) else pd.Timestamp(v).tz_convert("UTC")


def test_a_varied_hotline_batch_gives_exactly_these_rows(listed_runtime) -> None:
    rt = listed_runtime
    res = _ingest(rt, _frame(BATCH), UTC_NOW)
    assert res.accepted == len(BATCH) and not res.quarantined
    db = rt.db
    if not rt.settings.cases_from_hotline:
        assert db.query_one("SELECT count(*) FROM cases")[0] == 0
        assert rt.cases.intake_hotline(UTC_NOW) == len(BATCH)
    cases = db.query_df("SELECT * FROM cases ORDER BY id")
    assert len(cases) == len(BATCH)
    assert sorted(cases["id"]) == list(range(1, len(BATCH) + 1))
    cases["ref"] = cases["origin_ref"].str.removeprefix("hotline:")
    assert set(cases["ref"]) == set(CASES)
    by_ref = cases.set_index("ref")
    cell = {5: (1, 2, 3, 4), 29: (1, 21, 22, 23)}  # city, county, township, community keys
    src = {r[0]: r for r in BATCH}
    for ref, want in CASES.items():
        got = by_ref.loc[ref]
        row = {k: got[k] for k in want}
        for k in ("created_at", "dispatched_at", "closed_at", "deadline_at"):
            row[k] = _ts(row[k])
        for k in ("department", "dept_level", "flag"):
            row[k] = None if pd.isna(row[k]) else row[k]
        row["needs_decision"] = bool(row["needs_decision"])
        row["urgent"] = bool(row["urgent"])
        row["area_key"] = int(row["area_key"])
        assert row == want, ref
        city, county, township, community = cell[want["area_key"]]
        ident = (
            got["area_level"],
            got["cell_key"],
            got["community_key"],
            got["township_key"],
            got["county_key"],
            got["city_key"],
        )
        assert ident == ("grid", want["area_key"], community, township, county, city), ref
        cat = src[ref][3]
        assert got["category"] == f"hotline.{cat}"
        assert (got["title"], got["description"]) == (f"request {ref}", f"request {ref}")
        lon, lat = src[ref][2]
        assert got["lon"] == pytest.approx(lon) and got["lat"] == pytest.approx(lat)
        assert _ts(got["updated_at"]) == UTC_NOW and pd.isna(got["accepted_at"])
        assert pd.isna(got["parent_id"]) and not got["joint"] and pd.isna(got["warning_level"])
        assert (got["extensions"], got["reworks"], got["returns"], got["reassignments"]) == (
            0,
            0,
            0,
            0,
        )

    # every event points at its own case
    link = db.query_df(
        "SELECT e.source_event_id AS ref, e.case_id, c.origin_ref FROM events e "
        "LEFT JOIN cases c ON c.id = e.case_id WHERE e.source = 'hotline'"
    )
    assert len(link) == len(BATCH)
    assert (link["origin_ref"] == "hotline:" + link["ref"]).all()

    trans = db.query_df(
        "SELECT t.*, c.origin_ref FROM case_transitions t JOIN cases c ON c.id = t.case_id "
        "ORDER BY t.id"
    )
    assert len(trans) == sum(len(v) for v in TRANSITIONS.values())
    for ref, want in TRANSITIONS.items():
        t = trans[trans["origin_ref"] == f"hotline:{ref}"]
        got = [
            (
                None if pd.isna(r.from_state) else r.from_state,
                r.to_state,
                r.action,
                r.actor,
                None if pd.isna(r.department) else r.department,
                None if pd.isna(r.reason) else r.reason,
                _ts(r.occurred_at),
            )
            for r in t.itertuples()
        ]
        assert got == want, ref
    # transition ids: every registration first, then the dispatches, then the closes
    order = {"register": 0, "dispatch": 1, "close": 2}
    ranks = trans["action"].map(order).tolist()
    assert ranks == sorted(ranks)

    notes = db.query_df(
        "SELECT n.*, c.origin_ref FROM notifications n JOIN cases c ON c.id = n.case_id "
        "ORDER BY n.id"
    )
    got = {
        r.origin_ref.removeprefix("hotline:"): (
            r.department,
            r.kind,
            bool(r.urgent),
            _ts(r.deliver_at),
            bool(r.delivered),
        )
        for r in notes.itertuples()
    }
    assert got == NOTIFICATIONS
    assert (notes["created_at"].map(_ts) == UTC_NOW).all() and notes["read_at"].isna().all()
    delivered_at = notes["delivered_at"].map(_ts)
    assert (delivered_at[notes["delivered"]] == UTC_NOW).all()
    assert delivered_at[~notes["delivered"]].isna().all()
    # the department's notices come first, then the hall's (ids in that order)
    assert notes["kind"].tolist() == sorted(notes["kind"], key=lambda k: k == "needs_decision")

    # a second batch adds only its own cases, after the first's ids
    more = _frame([("r13", "2026-11-23 12:00", C1, "heating", 2, {"type": "help"})])
    _ingest(rt, more, UTC_NOW + pd.Timedelta(minutes=1))
    if not rt.settings.cases_from_hotline:
        assert rt.cases.intake_hotline(UTC_NOW) == 1
    new = db.query_df("SELECT id, state, department FROM cases WHERE origin_ref = 'hotline:r13'")
    assert new.values.tolist() == [[len(BATCH) + 1, "dispatched", "heat"]]
    assert db.query_one("SELECT count(*) FROM events WHERE case_id IS NULL")[0] == 0


def test_requests_without_a_place_become_city_cases(listed_runtime) -> None:
    """register_unplaced (replays: requests whose location is unusable) gives city-level cases
    through the same intake, once."""
    rt = listed_runtime
    frame = pd.DataFrame(
        {
            "id": ["u1", "u2"],
            "category": ["heating", "other"],
            "severity": [2, 5],
            "time": [local("2026-11-23 09:00"), local("2026-11-23 09:30")],
            "lon": [float("nan")] * 2,
            "lat": [float("nan")] * 2,
            "text": ["no address", "no address either"],
            "attributes": [
                json.dumps({"type": "help"}),
                json.dumps({"agency": "market", "closed": "2026-11-23T12:00:00+08:00"}),
            ],
        }
    )
    assert register_unplaced(rt.cases, frame, UTC_NOW) == 2
    assert register_unplaced(rt.cases, frame, UTC_NOW) == 0  # a second replay: none again
    got = rt.db.query_df(
        "SELECT origin_ref, area_key, area_level, cell_key, county_key, city_key, department, "
        "state, urgent, dispatched_at, closed_at, deadline_at FROM cases ORDER BY id"
    )
    rows = [
        [None if pd.isna(v) else (_ts(v) if isinstance(v, pd.Timestamp) else v) for v in r]
        for r in got.itertuples(index=False)
    ]
    assert rows == [
        [
            "hotline:u1",
            1,
            "city",
            None,
            None,
            1,
            "heat",
            "dispatched",
            False,
            local("2026-11-23 09:00"),
            None,
            local("2026-11-24 09:00"),
        ],
        [
            "hotline:u2",
            1,
            "city",
            None,
            None,
            1,
            "market",
            "closed",
            True,
            local("2026-11-23 09:30"),
            local("2026-11-23 12:00"),
            local("2026-11-23 11:30"),
        ],
    ]
    trans = rt.db.query("SELECT case_id, action FROM case_transitions ORDER BY id")
    assert trans == [
        (1, "register"),
        (2, "register"),
        (1, "dispatch"),
        (2, "dispatch"),
        (2, "close"),
    ]
    notes = rt.db.query("SELECT case_id, department, kind, urgent FROM notifications ORDER BY id")
    assert notes == [(1, "heat", "dispatched", False)]


@pytest.mark.parametrize(
    "tz, start",
    [("Asia/Shanghai", "2026-11-20 00:00"), ("Europe/Berlin", "2026-10-22 00:00")],
)
def test_next_working_of_one_instant_is_the_calendars(tz, start) -> None:
    """The remembered answer (one per hotline batch on the writer) is next_working's, across
    evenings, weekends, a holiday and (Berlin) the end of summer time."""
    cal = WorkCalendar(tz, holidays=("2026-11-24", "2026-10-26"))
    t0 = pd.Timestamp(start, tz=tz).tz_convert("UTC")
    times = list(t0 + pd.to_timedelta(np.arange(0, 9 * 24 * 60, 37), unit="min"))
    times += [times[5], times[-1] - pd.Timedelta(hours=30), times[40]]  # back in time too
    want = cal.next_working(times)
    got = [cal.next_working_one(t) for t in times]
    assert got == list(want)


def _cases_of_events(rt) -> pd.DataFrame:
    """Each hotline event's id with its case's origin_ref, and how many cases each id has."""
    return rt.db.query_df(
        "SELECT e.source_event_id AS ref, c.origin_ref, "
        "(SELECT count(*) FROM cases k WHERE k.origin_ref = 'hotline:' || e.source_event_id) AS n "
        "FROM events e LEFT JOIN cases c ON c.id = e.case_id WHERE e.source = 'hotline'"
    )


@pytest.fixture
def bulk_runtime(tmp_path, tiny_region_dir, monkeypatch):
    """A runtime whose batches of 5 hotline events or more have their cases prepared."""
    monkeypatch.setattr(intake, "PREPARE_MIN_ROWS", 5)
    s = _settings(tmp_path, tiny_region_dir)
    rt = Runtime(s)
    yield rt
    rt.stop()


def test_prepared_cases_are_kept_only_for_the_events_stored(bulk_runtime) -> None:
    """A bulk batch's cases are built before the writer de-duplicates it: events already stored
    get no second case; an id sent twice in one transaction, one case; a batch too small to be
    prepared shares a transaction with a prepared one and still gets its cases."""
    rt = bulk_runtime
    first = _frame(BATCH[:6])
    [(_, res)] = list(rt.pipeline.ingest_stream([("a", "hotline", first)], now=UTC_NOW))
    assert res.accepted == 6
    # one stream, one transaction (both batches are under a row group): r04-r06 are stored
    # already, r07 comes twice, r10-r12 come in a batch of 3 (not prepared)
    again = _frame(BATCH[3:9] + BATCH[6:7])
    small = _frame(BATCH[9:])
    later = UTC_NOW + pd.Timedelta(minutes=1)
    out = dict(
        rt.pipeline.ingest_stream([("b", "hotline", again), ("c", "hotline", small)], now=later)
    )
    assert (out["b"].accepted, out["b"].duplicates) == (3, 4)
    assert (out["c"].accepted, out["c"].duplicates) == (3, 0)
    links = _cases_of_events(rt)
    assert sorted(links["ref"]) == sorted(r[0] for r in BATCH)
    assert (links["origin_ref"] == "hotline:" + links["ref"]).all()
    assert (links["n"] == 1).all()
    assert rt.db.query_one("SELECT count(*), max(id) FROM cases") == (len(BATCH), len(BATCH))
    # each case's transitions and notices point at it, none at a case that was not kept
    orphans = rt.db.query_one(
        "SELECT (SELECT count(*) FROM case_transitions WHERE case_id NOT IN (SELECT id FROM cases))"
        " + (SELECT count(*) FROM notifications WHERE case_id NOT IN (SELECT id FROM cases))"
    )[0]
    assert orphans == 0
    registered = rt.db.query_df(
        "SELECT c.origin_ref, count(*) AS n FROM case_transitions t JOIN cases c "
        "ON c.id = t.case_id WHERE t.action = 'register' GROUP BY ALL"
    )
    assert len(registered) == len(BATCH) and (registered["n"] == 1).all()
    r07 = rt.db.query_one("SELECT state, department FROM cases WHERE origin_ref = 'hotline:r07'")
    assert r07 == ("closed", "market")


def test_an_old_store_keeps_its_transitions_and_notices_through_migration_20(
    tmp_path, tiny_region_dir, monkeypatch
) -> None:
    """Migration 20 copies case_transitions and notifications without their primary keys: every
    row stays, new rows take the next ids of the same sequences, and a notice is still marked
    read by its id."""
    s = _settings(tmp_path, tiny_region_dir)
    tables = ("case_transitions", "notifications")
    keyed = (
        "SELECT table_name FROM duckdb_constraints() WHERE constraint_type = 'PRIMARY KEY' "
        "AND table_name IN ('case_transitions', 'notifications') ORDER BY ALL"
    )
    with monkeypatch.context() as m:
        m.setattr(schema, "MIGRATIONS", [x for x in schema.MIGRATIONS if x[0] < 20])
        rt = Runtime(s)
        try:
            rt.pipeline.ingest_frame("hotline", _frame(BATCH[:6]), now=UTC_NOW)
            assert rt.db.query(keyed) == [(t,) for t in tables]
            before = {t: rt.db.query(f"SELECT * FROM {t} ORDER BY id") for t in tables}
            assert all(before.values())
        finally:
            rt.stop()
    rt = Runtime(s)  # opening the store applies migration 20
    try:
        assert rt.db.query(keyed) == []
        for t in tables:
            assert rt.db.query(f"SELECT * FROM {t} ORDER BY id") == before[t]
        _ingest_more = _frame(BATCH[6:])
        rt.pipeline.ingest_frame("hotline", _ingest_more, now=UTC_NOW)
        for t in tables:
            ids = [r[0] for r in rt.db.query(f"SELECT id FROM {t} ORDER BY id")]
            assert ids == list(range(1, len(ids) + 1)) and len(ids) > len(before[t])
        note = before["notifications"][0][0]
        rt.db.write(
            lambda con: con.execute("UPDATE notifications SET read_at = now() WHERE id = ?", [note])
        )
        assert rt.db.query("SELECT id FROM notifications WHERE read_at IS NOT NULL") == [(note,)]
    finally:
        rt.stop()
