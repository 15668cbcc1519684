"""A tiny-region world for the inspection lists: county T01 has every kind of evidence, county
T02 has good figures. Built through the real pipeline and case service on a real DuckDB file."""

from __future__ import annotations

import pandas as pd

from tests.support.region import tiny_cell_center

TZ = "Asia/Shanghai"
HOUR = pd.Timedelta(hours=1)
ADDRESS_VARIANTS = (
    "Zhongshan Road 12",
    "zhongshan road 12",
    " ZHONGSHAN  ROAD 12 ",
    "Zhongshan Road 12",
)
BUSINESS = "B0042"
T01_DEPT, T02_DEPT = "city.housing", "city.samr"  # hotline.heating, market.food_safety


def _frame(rows: list[dict]) -> pd.DataFrame:
    df = pd.DataFrame(rows)
    df["time"] = pd.to_datetime(df["time"], utc=True)
    return df


def _cell_key(rt, county: int, i: int, j: int) -> int:
    lon, lat = tiny_cell_center(county, i, j)
    return int(rt.cases.place(lon, lat))


def build(rt, since: pd.Timestamp, until: pd.Timestamp) -> dict:
    """Fill ``rt``'s store for the period ``[since, until)``; returns what was put where (the
    figures the tests expect). Needs settings ``cases_from_hotline = false`` (the hotline events
    here are evidence, not cases)."""
    now = until
    t01, t02 = (1, 0, 0), (2, 0, 0)
    lon1, lat1 = tiny_cell_center(*t01)
    lon2, lat2 = tiny_cell_center(*t02)
    # environment sensors report hourly in both counties from 5 weeks back; T01's go silent
    # 49 hours before the end, T02's keep reporting
    start = until - pd.Timedelta(days=35)
    env = []
    for k in range(35 * 24):
        t = start + k * HOUR
        if t < until - pd.Timedelta(hours=49):
            env.append({"id": f"env1-{k}", "time": t, "lon": lon1, "lat": lat1})
        if t < until - HOUR:
            env.append({"id": f"env2-{k}", "time": t, "lon": lon2, "lat": lat2})
    env = _frame(env).assign(category="pm25", severity=1, value=40.0)
    rt.pipeline.ingest_frame("environment", env, feed="test", now=now)
    # a burst of serious police incidents in T01 during the period (its risk index rises)
    police = _frame(
        [
            {"id": f"pol-{k}", "time": since + pd.Timedelta(days=1) + k * HOUR * 1.5}
            for k in range(60)
        ]
    ).assign(lon=lon1, lat=lat1, category="dispute", severity=5)
    rt.pipeline.ingest_frame("police", police, feed="test", now=now)
    # 12345: four requests about one address (spelt four ways), two about another
    lon1b, lat1b = tiny_cell_center(1, 1, 1)
    hot = [
        {
            "id": f"hot-{k}",
            "time": since + pd.Timedelta(days=2) + k * HOUR,
            "lon": lon1b,
            "lat": lat1b,
            "category": "noise",
            "severity": 2,
            "attributes": {"address": a},
        }
        for k, a in enumerate(ADDRESS_VARIANTS)
    ]
    hot += [
        {
            "id": f"hot-other-{k}",
            "time": since + pd.Timedelta(days=3) + k * HOUR,
            "lon": lon1b,
            "lat": lat1b,
            "category": "noise",
            "severity": 2,
            "attributes": {"address": "Renmin Street 3"},
        }
        for k in range(2)
    ]
    hot = _frame(hot)
    rt.pipeline.ingest_frame("hotline", hot, feed="test", now=now)
    # market supervision: three complaints about one business in T01
    market = _frame(
        [
            {
                "id": f"mkt-{k}",
                "time": since + pd.Timedelta(days=2, hours=k),
                "lon": lon1,
                "lat": lat1,
                "category": "complaint",
                "severity": 3,
                "attributes": {"business": BUSINESS},
            }
            for k in range(3)
        ]
    )
    rt.pipeline.ingest_frame("market", market, feed="test", now=now)

    svc = rt.cases
    t0 = since + pd.Timedelta(days=1, hours=2)

    def new(county_lonlat, category) -> int:
        return svc.create(
            category,
            lon=county_lonlat[0],
            lat=county_lonlat[1],
            urgency="urgent",
            actor="test",
            now=t0,
        )

    # T01: two cases never closed (overdue), two reworked once, two returned and then closed
    overdue = [new((lon1, lat1), "hotline.heating") for _ in range(2)]
    reworked = []
    for _ in range(2):
        cid = new((lon1, lat1), "hotline.heating")
        m = pd.Timedelta(minutes=10)
        svc.accept(cid, T01_DEPT, actor="w", now=t0 + m)
        svc.report_handled(cid, T01_DEPT, actor="w", now=t0 + 2 * m)
        svc.verify(cid, False, actor="hall", reason="not fixed", now=t0 + 3 * m)
        svc.report_handled(cid, T01_DEPT, actor="w", now=t0 + 4 * m)
        svc.verify(cid, True, actor="hall", now=t0 + 5 * m)
        reworked.append(cid)
    returned = []
    for _ in range(2):
        cid = new((lon1, lat1), "hotline.heating")
        svc.hand_back(cid, T01_DEPT, "not ours", actor="w", now=t0 + pd.Timedelta(minutes=5))
        svc.close(cid, "resolved by the hall", actor="hall", now=t0 + pd.Timedelta(minutes=20))
        returned.append(cid)
    # T02: three cases closed on time
    on_time = []
    for _ in range(3):
        cid = new((lon2, lat2), "market.food_safety")
        m = pd.Timedelta(minutes=10)
        svc.accept(cid, T02_DEPT, actor="w", now=t0 + m)
        svc.report_handled(cid, T02_DEPT, actor="w", now=t0 + 2 * m)
        svc.verify(cid, True, actor="hall", now=t0 + 3 * m)
        on_time.append(cid)

    # warnings in T01: one left unacknowledged (yellow, 1 h), one acknowledged in time, one
    # raised too recently to be late yet
    cell1 = rt.db.query_one(
        "SELECT key, community_key, township_key, county_key, city_key FROM areas WHERE key = ?",
        [_cell_key(rt, *t01)],
    )
    raised = [
        (2, since + pd.Timedelta(days=3), None),
        (2, since + pd.Timedelta(days=3), since + pd.Timedelta(days=3, minutes=20)),
        (1, until - pd.Timedelta(minutes=30), None),
    ]
    base = rt.db.query_one("SELECT coalesce(max(id), 0) FROM warnings")[0]
    rows = [
        (
            base + i + 1,
            "test_rule",
            "threshold",
            cell1[0],
            "grid",
            *cell1,
            rank,
            "acknowledged" if ack is not None else "raised",
            at.to_pydatetime(),
            at.to_pydatetime(),
            None if ack is None else ack.to_pydatetime(),
        )
        for i, (rank, at, ack) in enumerate(raised)
    ]

    def write(con) -> None:
        con.executemany(
            "INSERT INTO warnings (id, rule_id, kind, area_key, area_level, cell_key, "
            "community_key, township_key, county_key, city_key, level_rank, state, raised_at, "
            "updated_at, acknowledged_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        con.executemany(
            "INSERT INTO warning_history (warning_id, changed_at, action, from_rank, to_rank, "
            "state) VALUES (?, ?, 'raised', NULL, ?, 'raised')",
            [(r[0], r[12], r[10]) for r in rows],
        )

    rt.db.write(write)
    return {
        "env": env,
        "police": police,
        "hotline": hot,
        "market": market,
        "overdue": overdue,
        "reworked": reworked,
        "returned": returned,
        "on_time": on_time,
    }
