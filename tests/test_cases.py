"""Cases: the responsibility list, working-time deadlines, the state machine, quiet hours,
hotline intake in bulk, the warning adapter, and metrics checked against a plain-Python count."""

from __future__ import annotations

import json
import random
import statistics
import time

import pandas as pd
import pytest

from data.cases import (
    CaseService,
    InvalidTransition,
    Responsibilities,
    ResponsibilityError,
    WorkCalendar,
    case_from_warning,
    metrics,
)
from data.cases.calendar import parse_duration
from tests.support.region import tiny_cell_center
from tests.support.webhook import Receiver

TZ = "Asia/Shanghai"
MON_10 = pd.Timestamp("2026-11-23 10:00", tz=TZ).tz_convert("UTC")  # a Monday, 10:00 local
SAT_10 = pd.Timestamp("2026-11-28 10:00", tz=TZ).tz_convert("UTC")

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
id = "roads"
name_zh = "道路"
name_en = "Roads"
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
category = "traffic.accident"
department = "roads"
deadlines = { normal = "2h" }
[[rules]]
category = "market.food_safety"
department = "market"
[[rules]]
category = "warning.traffic_accident_cell"
department = "roads"
"""


@pytest.fixture
def svc(runtime, tmp_path):
    path = tmp_path / "list.toml"
    path.write_text(LIST, encoding="utf-8")
    rules = Responsibilities.load(path, db=runtime.db)
    return CaseService(runtime.db, rules, WorkCalendar(TZ))


def cell(county=1, i=0, j=0):
    return tiny_cell_center(county, i, j)


# ------------------------------------------------------------------ responsibility list


def test_default_list_loads_and_routes(runtime) -> None:
    rules = Responsibilities.load(db=runtime.db)
    assert rules.route("hotline.heating").department == "city.housing"
    assert rules.route("market.food_safety").department == "city.samr"
    assert rules.route("police.dispute").level == "city"
    assert rules.route("hotline.other").needs_decision
    assert "210323" in rules.unresolved_areas  # Anshan codes are not in the tiny region


def test_area_override_deepest_wins(runtime, svc) -> None:
    keys = dict(runtime.db.query("SELECT code, key FROM areas WHERE level = 'county'"))
    r1 = svc.rules.route("hotline.heating", {"county": keys["T01"]})
    r2 = svc.rules.route("hotline.heating", {"county": keys["T02"]})
    assert (r1.department, r2.department, r2.level) == ("heat", "heat2", "county")
    assert svc.rules.route("hotline.noise").needs_decision  # outside the list: never guessed


@pytest.mark.parametrize(
    "patch, message",
    [
        (('department = "roads"', 'department = "nobody"'), "unknown department"),
        (('normal = "48h"', 'normal = "48 hours"'), "duration"),
        (
            ('category = "market.food_safety"', 'category = "hotline.heating"\narea = "T02"'),
            "more than one rule",
        ),
        (('level = "county"', 'level = "village"'), "level"),
    ],
)
def test_invalid_lists_are_refused(tmp_path, patch, message) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(LIST.replace(*patch, 1), encoding="utf-8")
    with pytest.raises(ResponsibilityError, match=message):
        Responsibilities.load(path)


# ------------------------------------------------------------------ working time


def test_working_time_deadlines() -> None:
    cal = WorkCalendar(TZ, holidays=("2026-12-01",))
    local = lambda s: pd.Timestamp(s, tz=TZ)  # noqa: E731
    mon = local("2026-11-23 10:00")
    fri_eve = local("2026-11-27 20:00")

    def add(t, d):
        return cal.add([t], d)[0].tz_convert(TZ)

    assert add(mon, "4wh") == local("2026-11-23 14:00")
    assert add(mon, "8wh") == local("2026-11-24 09:00")  # 7.5 h on Monday, 0.5 h Tuesday
    assert add(mon, "3wd") == local("2026-11-26 10:00")
    assert add(fri_eve, "1wd") == local("2026-11-30 17:30")  # after hours: Monday's day
    assert add(local("2026-11-30 12:00"), "1wd") == local("2026-12-02 12:00")  # skips holiday
    assert add(fri_eve, "2h") == local("2026-11-27 22:00")  # calendar hours run at night
    assert add(mon, "15d") == local("2026-12-08 10:00")
    nxt = cal.next_working([fri_eve, mon])
    assert nxt[0].tz_convert(TZ) == local("2026-11-30 08:30") and nxt[1] == mon
    assert parse_duration("3wd") == (3.0, "wd")
    with pytest.raises(ValueError):
        parse_duration("3 weeks")


# ------------------------------------------------------------------ the state machine


def test_full_loop_records_every_step(svc) -> None:
    lon, lat = cell()
    svc.place = None
    area = svc.db.query_one("SELECT key FROM areas WHERE level = 'grid' ORDER BY key LIMIT 1")[0]
    cid = svc.create(
        "hotline.heating", area_key=area, title="cold flat", dispatch=False, actor="op1", now=MON_10
    )
    assert svc.get(cid)["state"] == "registered"
    t = MON_10
    c = svc.dispatch(cid, "heat", actor="op1", now=t)
    assert c["state"] == "dispatched" and c["deadline_at"] == t + pd.Timedelta(hours=24)
    with pytest.raises(InvalidTransition, match="belongs to heat"):
        svc.accept(cid, "roads", actor="x", now=t)
    with pytest.raises(InvalidTransition, match="allowed from"):
        svc.report_handled(cid, "heat", actor="w1", now=t)
    svc.accept(cid, "heat", actor="w1", now=t + pd.Timedelta(hours=1))
    with pytest.raises(InvalidTransition, match="needs a reason"):
        svc.request_extension(cid, "heat", "24h", "", actor="w1")
    svc.request_extension(
        cid, "heat", "24h", "parts on order", actor="w1", now=t + pd.Timedelta(hours=2)
    )
    c = svc.decide_extension(cid, True, actor="op1", now=t + pd.Timedelta(hours=3))
    assert c["deadline_at"] == t + pd.Timedelta(hours=48) and c["extensions"] == 1
    svc.report_handled(cid, "heat", actor="w1", now=t + pd.Timedelta(hours=5))
    c = svc.verify(
        cid, False, actor="insp", reason="still 14 degrees", now=t + pd.Timedelta(hours=6)
    )
    assert (c["state"], c["reworks"]) == ("handling", 1)
    svc.report_handled(cid, "heat", actor="w1", now=t + pd.Timedelta(hours=7))
    c = svc.verify(cid, True, actor="insp", now=t + pd.Timedelta(hours=8))
    assert c["state"] == "closed" and c["closed_at"] == t + pd.Timedelta(hours=8)
    with pytest.raises(InvalidTransition):
        svc.close(cid, "again", actor="op1")
    h = svc.transitions(cid)
    assert h["action"].tolist() == [
        "register",
        "dispatch",
        "accept",
        "request_extension",
        "approve_extension",
        "report_handled",
        "rework",
        "report_handled",
        "verify_pass",
    ]
    assert h["actor"].notna().all() and h["occurred_at"].is_monotonic_increasing
    assert h.loc[h["action"] == "rework", "reason"].item() == "still 14 degrees"


def test_return_reassign_and_needs_decision(svc) -> None:
    lon, lat = cell()
    area = svc.db.query_one("SELECT key FROM areas WHERE level = 'grid' ORDER BY key LIMIT 1")[0]
    cid = svc.create("hotline.noise", area_key=area, title="loud bar", now=MON_10)
    c = svc.get(cid)
    assert c["needs_decision"] and c["department"] is None and c["state"] == "registered"
    with pytest.raises(InvalidTransition, match="outside the responsibility list"):
        svc.dispatch(cid, actor="op1", now=MON_10)
    svc.dispatch(cid, "market", actor="op1", now=MON_10)
    with pytest.raises(InvalidTransition, match="needs a reason"):
        svc.hand_back(cid, "market", "", actor="m1")
    c = svc.hand_back(cid, "market", "noise is not market supervision", actor="m1", now=MON_10)
    assert (c["state"], c["department"], c["returns"]) == ("returned", None, 1)
    c = svc.reassign(cid, "roads", "try roads", actor="op1", now=MON_10)
    c = svc.reassign(cid, "heat", "wrong again", actor="op1", now=MON_10)
    assert (c["state"], c["department"], c["reassignments"]) == ("dispatched", "heat", 2)
    hall_inbox = svc.inbox("hall", now=MON_10)
    assert {"needs_decision", "returned"} <= set(hall_inbox["kind"])
    with pytest.raises(InvalidTransition, match="unknown department"):
        svc.reassign(cid, "nobody", "x", actor="op1")


def test_joint_dispatch_closes_with_last_sub_case(svc) -> None:
    area = svc.db.query_one("SELECT key FROM areas WHERE level = 'township' LIMIT 1")[0]
    cid = svc.create("traffic.accident", area_key=area, dispatch=False, now=MON_10)
    with pytest.raises(InvalidTransition, match="at least two"):
        svc.joint_dispatch(cid, ["roads"], actor="op1")
    subs = svc.joint_dispatch(cid, ["roads", "market"], actor="op1", now=MON_10)
    assert len(subs) == 2 and svc.get(cid)["joint"]
    with pytest.raises(InvalidTransition, match="joint case"):
        svc.close(cid, "done", actor="op1")
    for n, (sub, dept) in enumerate(zip(subs, ["roads", "market"], strict=True)):
        t = MON_10 + pd.Timedelta(hours=n + 1)
        svc.accept(sub, dept, actor="w", now=t)
        svc.report_handled(sub, dept, actor="w", now=t)
        svc.verify(sub, True, actor="insp", now=t)
        assert svc.get(cid)["state"] == ("closed" if n == 1 else "dispatched")
    assert svc.get(cid)["closed_at"] == MON_10 + pd.Timedelta(hours=2)


# ------------------------------------------------------------------ quiet hours and webhook


def test_quiet_hours_hold_non_urgent_notices(svc) -> None:
    area = svc.db.query_one("SELECT key FROM areas WHERE level = 'grid' LIMIT 1")[0]
    a = svc.create("hotline.heating", area_key=area, now=SAT_10)
    b = svc.create("hotline.heating", area_key=area, urgency="urgent", now=SAT_10)
    monday = pd.Timestamp("2026-11-30 08:30", tz=TZ).tz_convert("UTC")
    notes = svc.db.query_df(
        "SELECT case_id, deliver_at, delivered FROM notifications WHERE department = 'heat'"
    ).set_index("case_id")
    assert notes.loc[a, "deliver_at"] == monday and not notes.loc[a, "delivered"]
    assert notes.loc[b, "deliver_at"] == SAT_10 and notes.loc[b, "delivered"]
    assert svc.inbox("heat", now=SAT_10)["case_id"].tolist() == [b]
    assert svc.deliver_due(now=monday) == 1
    assert set(svc.inbox("heat", now=monday)["case_id"]) == {a, b}
    # a red warning breaks through quiet hours
    w = svc.from_warning(
        {
            "id": 77,
            "rule_id": "traffic_accident_cell",
            "kind": "threshold",
            "area_key": area,
            "level_rank": 4,
        },
        now=SAT_10,
    )
    c = svc.get(w)
    assert (c["department"], c["urgent"], c["warning_level"]) == ("roads", True, "red")
    assert w in set(svc.inbox("roads", now=SAT_10)["case_id"])


def test_webhook_mirror_posts_and_failures_do_not_block(svc) -> None:
    receiver = Receiver()
    got = receiver.got
    area = svc.db.query_one("SELECT key FROM areas WHERE level = 'grid' LIMIT 1")[0]
    svc.deliverer.start()  # posts go out after commit, from the deliverer (the runtime starts it)
    try:
        svc.webhook_url = receiver.url
        cid = svc.create("hotline.heating", area_key=area, urgency="urgent", now=MON_10)
        deadline = time.monotonic() + 5
        while not got and time.monotonic() < deadline:
            time.sleep(0.05)
        assert got and got[0]["case_id"] == cid and got[0]["department"] == "heat"
    finally:
        receiver.close()
    svc.webhook_url = "http://127.0.0.1:9/unreachable"
    t0 = time.monotonic()
    svc.create("hotline.heating", area_key=area, urgency="urgent", now=MON_10)
    assert time.monotonic() - t0 < 2  # the POST happens off the writer, failures only logged
    svc.deliverer.stop()


# ------------------------------------------------------------------ hotline intake


def _hotline(n, now, **cols) -> pd.DataFrame:
    lon, lat = cell(2, 1, 1)
    base = {
        "id": [f"h{i}" for i in range(n)],
        "time": [now] * n,
        "lon": [lon] * n,
        "lat": [lat] * n,
        "category": "heating",
        "severity": 2,
        "attributes": [json.dumps({"type": "help"})] * n,
    }
    base.update(cols)
    return pd.DataFrame(base)


def test_every_hotline_event_becomes_a_case(runtime) -> None:
    now = MON_10
    cats = ["heating", "other", "noise", "utilities"] * 500
    types = ["help", "help", "consult", "complaint"] * 500
    attrs = [json.dumps({"type": t}) for t in types]
    attrs[3] = json.dumps({"type": "complaint", "channel": "grid_worker"})
    frame = _hotline(2000, now, category=cats, attributes=attrs, severity=[2] * 1999 + [5])
    res = runtime.pipeline.ingest_frame("hotline", frame, now=now)  # speed: bench/budgets.py
    assert res.accepted == 2000
    db = runtime.db
    assert db.query_one("SELECT count(*) FROM cases")[0] == 2000
    assert db.query_one("SELECT count(*) FROM events WHERE case_id IS NULL")[0] == 0
    df = db.query_df(
        "SELECT category, state, department, needs_decision, origin, urgent FROM cases"
    )
    heat = df[df["category"] == "hotline.heating"]
    assert (heat["department"] == "city.housing").all() and (heat["state"] == "dispatched").all()
    assert df.loc[df["category"] == "hotline.other", "needs_decision"].all()
    assert (df.loc[df["category"] == "hotline.noise", "state"] == "closed").all()  # consult
    assert (df["origin"] == "grid_report").sum() == 1
    assert df["urgent"].sum() == 1
    # a second batch only adds its own cases; a repeat of the same events adds none
    runtime.pipeline.ingest_frame("hotline", frame, now=now)
    runtime.pipeline.ingest_frame("hotline", _hotline(3, now, id=["x1", "x2", "x3"]), now=now)
    assert db.query_one("SELECT count(*) FROM cases")[0] == 2003
    notes = db.query_one("SELECT count(*) FROM notifications WHERE department = 'hall'")[0]
    assert notes == 500


def test_case_from_warning_adapter_is_idempotent(runtime, svc) -> None:
    area = runtime.db.query_one("SELECT key FROM areas WHERE level = 'community' LIMIT 1")[0]
    row = {
        "id": 5,
        "rule_id": "multi_domain_cell",
        "kind": "cross_domain",
        "area_key": area,
        "level_rank": 2,
    }
    cid = case_from_warning(runtime.db, row, now=MON_10)
    assert case_from_warning(runtime.db, row, now=MON_10) == cid
    c = svc.get(cid)
    assert c["needs_decision"] and c["warning_level"] == "yellow" and c["origin_ref"] == "5"
    assert c["area_level"] == "community" and c["cell_key"] is None and c["county_key"]


# ------------------------------------------------------------------ metrics, independently


def _simulate(svc, seed: int = 7, n: int = 240):
    """A month of cases with known bounces, reworks and extensions; returns a plain log."""
    rng = random.Random(seed)
    cells = [r[0] for r in svc.db.query("SELECT key FROM areas WHERE level = 'grid' ORDER BY key")]
    county_of = dict(svc.db.query("SELECT key, county_key FROM areas WHERE level = 'grid'"))
    start = pd.Timestamp("2026-10-01", tz="UTC")
    limits = {
        ("hotline.heating", "heat"): 24,
        ("hotline.heating", "heat2"): 24,
        ("traffic.accident", "roads"): 2,
    }
    log = []
    for _ in range(n):
        cat = rng.choice(["hotline.heating", "traffic.accident", "market.food_safety"])
        area = rng.choice(cells)
        created = start + pd.Timedelta(minutes=rng.randrange(0, 30 * 24 * 60))
        cid = svc.create(cat, area_key=area, dispatch=False, now=created)
        rec = {
            "id": cid,
            "created": created,
            "county": county_of[area],
            "returns": {},
            "reassigned_from": {},
            "reworked": False,
            "extended": False,
            "closed": None,
            "accepted": None,
            "handled": False,
        }
        t = created + pd.Timedelta(minutes=rng.randrange(1, 120))
        dept = svc.rules.route(cat, {"county": county_of[area]}).department
        svc.dispatch(cid, dept, actor="op", now=t)
        rec["dispatched"] = t
        deadline = t + pd.Timedelta(hours=limits.get((cat, dept), 48))
        if rng.random() < 0.15:  # bounced: returned, then re-dispatched by the hall
            t += pd.Timedelta(minutes=rng.randrange(5, 300))
            svc.hand_back(cid, dept, "not ours", actor="d", now=t)
            rec["returns"][dept] = rec["returns"].get(dept, 0) + 1
            t += pd.Timedelta(minutes=rng.randrange(5, 300))
            svc.dispatch(cid, dept, actor="op", reason="it is yours", now=t)
            deadline = t + pd.Timedelta(hours=limits.get((cat, dept), 48))
        if rng.random() < 0.1:  # reassigned to another department and back
            other = "market" if dept != "market" else "roads"
            t += pd.Timedelta(minutes=rng.randrange(5, 120))
            svc.reassign(cid, other, "misrouted", actor="op", now=t)
            rec["reassigned_from"][dept] = rec["reassigned_from"].get(dept, 0) + 1
            t += pd.Timedelta(minutes=rng.randrange(5, 120))
            svc.reassign(cid, dept, "back", actor="op", now=t)
            rec["reassigned_from"][other] = rec["reassigned_from"].get(other, 0) + 1
            deadline = t + pd.Timedelta(hours=limits.get((cat, dept), 48))
        rec["dept"] = dept
        if rng.random() < 0.1:  # never signed for
            rec["deadline"] = deadline
            log.append(rec)
            continue
        t += pd.Timedelta(minutes=rng.randrange(1, 600))
        svc.accept(cid, dept, actor="d", now=t)
        rec["accepted"] = t
        if rng.random() < 0.15:
            t += pd.Timedelta(minutes=10)
            svc.request_extension(cid, dept, "24h", "need parts", actor="d", now=t)
            if rng.random() < 0.7:
                svc.decide_extension(cid, True, actor="op", now=t)
                deadline += pd.Timedelta(hours=24)
                rec["extended"] = True
            else:
                svc.decide_extension(cid, False, actor="op", reason="no", now=t)
        if rng.random() < 0.1:  # left in handling
            rec["deadline"] = deadline
            log.append(rec)
            continue
        t += pd.Timedelta(minutes=rng.randrange(10, 3000))
        svc.report_handled(cid, dept, actor="d", now=t)
        rec["handled"] = True
        if rng.random() < 0.2:
            t += pd.Timedelta(minutes=rng.randrange(10, 600))
            svc.verify(cid, False, actor="insp", reason="not fixed", now=t)
            rec["reworked"] = True
            t += pd.Timedelta(minutes=rng.randrange(10, 600))
            svc.report_handled(cid, dept, actor="d", now=t)
        t += pd.Timedelta(minutes=rng.randrange(10, 600))
        svc.verify(cid, True, actor="insp", now=t)
        rec["closed"] = t
        rec["deadline"] = deadline
        log.append(rec)
    return log


def _expected(log, now, key="dept"):
    out = {}
    groups: dict = {}
    for r in log:
        groups.setdefault(r[key], []).append(r)
    groups[None] = log
    for k, rs in groups.items():
        closed = [r for r in rs if r["closed"] is not None]
        on_time = [r for r in closed if r["closed"] <= r["deadline"]]
        overdue = [r for r in rs if r["closed"] is None and r["deadline"] < now]
        hours = lambda a, b: (b - a).total_seconds() / 3600  # noqa: E731
        out[k] = {
            "on_time_rate": len(on_time) / (len(closed) + len(overdue)),
            "median_dispatch_h": statistics.median(
                hours(r["created"], r["dispatched"]) for r in rs
            ),
            "median_accept_h": statistics.median(
                hours(r["dispatched"], r["accepted"]) for r in rs if r["accepted"]
            ),
            "median_close_h": statistics.median(hours(r["created"], r["closed"]) for r in closed),
            "rework_rate": sum(r["reworked"] for r in rs) / sum(r["handled"] for r in rs),
            "extension_rate": sum(r["extended"] for r in rs) / len(rs),
        }
    return out


def test_seeded_month_metrics_match_plain_python(svc, runtime) -> None:
    log = _simulate(svc)
    now = pd.Timestamp("2026-11-02", tz="UTC")
    exp = _expected(log, now)
    got = metrics.summary(runtime.db, runtime.scope, now=now)
    assert got["cases"] == len(log)
    for name, value in exp[None].items():
        assert got[name] == pytest.approx(value, rel=1e-9), name
    table = metrics.by_department(runtime.db, runtime.scope, now=now).set_index("department")
    for dept in ("heat", "heat2", "roads", "market"):
        for name, value in exp[dept].items():
            assert table.loc[dept, name] == pytest.approx(value, rel=1e-9), (dept, name)
        returns = sum(r["returns"].get(dept, 0) for r in log)
        away = sum(r["reassigned_from"].get(dept, 0) for r in log)
        assert table.loc[dept, "returned"] == returns and table.loc[dept, "reassigned_away"] == away
    assert sum(sum(r["returns"].values()) for r in log) > 10  # the month has real bounces
    assert sum(r["reworked"] for r in log) > 10
    assert list(table["rank"]) == sorted(table["rank"])
    counties = metrics.by_county(runtime.db, runtime.scope, now=now).set_index("county_key")
    exp_c = _expected(log, now, key="county")
    for k in counties.index:
        assert counties.loc[k, "on_time_rate"] == pytest.approx(exp_c[k]["on_time_rate"])
    # scope: one county sees only its own cases
    from data.areas import AreaScope

    k = int(counties.index[0])
    one = metrics.summary(runtime.db, AreaScope("county", k), now=now)
    assert one["cases"] == sum(1 for r in log if r["county"] == k)
    week_end = pd.Timestamp("2026-10-28", tz="UTC")
    ranking = metrics.period_ranking(
        runtime.db, runtime.scope, since=week_end - pd.Timedelta(weeks=1), until=week_end
    )
    assert ranking["trend"].notna().any()  # the week before has cases of the same departments
    wall = metrics.wall(runtime.db, runtime.scope, now=now, days=60)
    n_over = sum(1 for r in log if r["closed"] is None and r["deadline"] < now)
    assert wall["open_overdue"] == n_over and wall["overdue_by_county"]["overdue"].sum() == n_over
    assert wall["on_time_rate"] == pytest.approx(exp[None]["on_time_rate"])
    assert len(wall["worst"]) == min(5, n_over)
    detail = metrics.department_detail(runtime.db, runtime.scope, "heat", now=now)
    assert detail["summary"]["on_time_rate"] == pytest.approx(exp["heat"]["on_time_rate"])


def test_effect_counts_events_around_closing(svc, runtime) -> None:
    lon, lat = cell(1, 2, 2)
    area = svc.place(lon, lat) if svc.place else runtime.cases.place(lon, lat)
    closed_at = pd.Timestamp("2026-10-10 12:00", tz="UTC")
    cid = svc.create("hotline.heating", area_key=area, now=closed_at - pd.Timedelta(days=1))
    svc.accept(cid, "heat", actor="d", now=closed_at - pd.Timedelta(hours=20))
    svc.report_handled(cid, "heat", actor="d", now=closed_at - pd.Timedelta(hours=1))
    svc.verify(cid, True, actor="i", now=closed_at)
    times = [closed_at - pd.Timedelta(days=d) for d in (1, 2, 3, 5, 6)]
    times += [closed_at + pd.Timedelta(days=2), closed_at + pd.Timedelta(days=8)]
    frame = _hotline(
        len(times), closed_at, id=[f"e{i}" for i in range(len(times))], time=times, lon=lon, lat=lat
    )
    runtime.pipeline.ingest_frame("hotline", frame, now=closed_at + pd.Timedelta(days=9))
    eff = metrics.effect(runtime.db, runtime.scope, now=closed_at + pd.Timedelta(days=9))
    row = eff["per_case"].set_index("id").loc[cid]
    assert (row["before"], row["after"]) == (5, 1)  # day 8 after is outside the window
    assert eff["calmer"] >= 1


def test_effect_counts_an_event_once_for_cases_closed_close_together(svc, runtime) -> None:
    """Two cases closed an hour apart in one cell share almost the same week before: the
    "before" total may not exceed the events the store holds in that cell (it was 2x)."""
    lon, lat = cell(1, 3, 3)
    area = runtime.cases.place(lon, lat) if svc.place is None else svc.place(lon, lat)
    first = pd.Timestamp("2026-10-10 12:00", tz="UTC")
    for k, closed_at in enumerate((first, first + pd.Timedelta(hours=1))):
        cid = svc.create("hotline.heating", area_key=area, now=closed_at - pd.Timedelta(days=1))
        svc.accept(cid, "heat", actor="d", now=closed_at - pd.Timedelta(hours=20 - k))
        svc.report_handled(cid, "heat", actor="d", now=closed_at - pd.Timedelta(minutes=30))
        svc.verify(cid, True, actor="i", now=closed_at)
    times = [first - pd.Timedelta(days=d) for d in (1, 2, 3)]  # before both closings
    times += [first + pd.Timedelta(minutes=30)]  # after the first, before the second
    times += [first + pd.Timedelta(days=2)]  # after both
    frame = _hotline(
        len(times), first, id=[f"o{i}" for i in range(len(times))], time=times, lon=lon, lat=lat
    )
    now = first + pd.Timedelta(days=9)
    runtime.pipeline.ingest_frame("hotline", frame, now=now)
    held = runtime.db.query_one("SELECT count(*) FROM events WHERE cell_key = ?", [area])[0]
    assert held == len(times)
    eff = metrics.effect(runtime.db, runtime.scope, now=now)
    mine = eff["per_cell"].set_index("cell_key").loc[area]
    # before: the 3 older events and the one between the closings (in the second's week before)
    assert (mine["before"], mine["after"]) == (4, 2)
    assert mine["before"] <= held and mine["after"] <= held
    assert (eff["before"], eff["after"]) == (4, 2)  # the only closed cases in the store
    per_case = eff["per_case"].set_index("cell_key").loc[area]
    assert per_case["before"].sum() == 7  # per case, the shared week counts twice
