"""A store with known events, warnings and cases on the tiny region, for the indicator and
briefing tests: events go through the real ingest pipeline (placed in their cells), warnings and
cases are written as rows (every state a report has to count), all from a seeded generator."""

from __future__ import annotations

import numpy as np
import pandas as pd

from data.catalogue import CATEGORIES, SOURCES
from tests.support.region import tiny_cell_center

TZ = "Asia/Shanghai"  # the tiny region's zone
# the data spans November 2026 (local), plus a little of November 2025 (last year's period)
START = pd.Timestamp("2026-11-01", tz=TZ).tz_convert("UTC")
END = pd.Timestamp("2026-11-29", tz=TZ).tz_convert("UTC")
LAST_YEAR = pd.Timestamp("2025-11-01", tz=TZ).tz_convert("UTC")
NOW = pd.Timestamp("2026-11-30 12:00", tz="UTC")  # when the figures are read
DEPARTMENTS = ("county.police", "county.market", "city.housing", "county.urban")


def _times(rng, n: int, start=START, end=END) -> pd.Series:
    span = (end - start).value
    return pd.Series(pd.to_datetime(start.value + rng.integers(0, span, n), utc=True)).dt.floor("s")


def add_events(rt, *, n: int = 700, seed: int = 1) -> None:
    """``n`` events of every source in random cells of both counties, plus 40 a year earlier
    (mid-October to mid-December 2025: the history a year-on-year comparison needs)."""
    rng = np.random.default_rng(seed)
    total = n + 40
    times = pd.concat(
        [
            _times(rng, n),
            _times(rng, 40, LAST_YEAR - pd.Timedelta(days=20), LAST_YEAR + pd.Timedelta(days=40)),
        ],
        ignore_index=True,
    )
    # hotline twice as often: the top-subjects list has something to rank
    src = rng.choice(list(SOURCES) + ["hotline"], total)
    for source in SOURCES:
        idx = np.flatnonzero(src == source)
        rows = []
        for i in idx:
            county, ci, cj = (
                int(rng.integers(1, 3)),
                int(rng.integers(0, 4)),
                int(rng.integers(0, 4)),
            )
            lon, lat = tiny_cell_center(county, ci, cj)
            cats = CATEGORIES[source]
            # skewed categories: a few subjects dominate
            cat = cats[min(int(rng.geometric(0.35)) - 1, len(cats) - 1)]
            rows.append(
                {
                    "id": f"{source}-{i}",
                    "time": times[i],
                    "lon": lon,
                    "lat": lat,
                    "category": cat,
                    "severity": int(rng.integers(1, 6)),
                    "value": float(rng.uniform(10, 200)) if source == "environment" else None,
                    "text": None,
                }
            )
        frame = pd.DataFrame(rows)
        frame["time"] = pd.to_datetime(frame["time"], utc=True)
        rt.pipeline.ingest_frame(source, frame, feed="test", now=NOW)


def _lineage(rt) -> pd.DataFrame:
    return rt.db.query_df(
        "SELECT key AS cell_key, community_key, township_key, county_key, city_key "
        "FROM areas WHERE level = 'grid' ORDER BY key"
    )


def add_warnings(rt, *, n: int = 120, seed: int = 2) -> None:
    """``n`` warnings in random cells: some upgraded since raising, some acknowledged fast or
    late or never, some cleared."""
    rng = np.random.default_rng(seed)
    cells = _lineage(rt)
    raised = _times(rng, n)
    rows, hist = [], []
    base = rt.db.query_one("SELECT coalesce(max(id), 0) FROM warnings")[0]
    for i in range(n):
        cell = cells.iloc[int(rng.integers(0, len(cells)))]
        first = int(rng.integers(1, 5))
        now_rank = min(4, first + int(rng.random() < 0.2))
        ack = raised[i] + pd.Timedelta(seconds=int(rng.integers(60, 9000)))
        ack = ack if rng.random() < 0.7 else None
        cleared = (raised[i] + pd.Timedelta(hours=float(rng.uniform(0.5, 72)))).floor("s")
        cleared = cleared if rng.random() < 0.6 else None
        state = "cleared" if cleared is not None else ("acknowledged" if ack else "raised")
        rows.append(
            (
                base + i + 1,
                "acc",
                "threshold",
                int(cell.cell_key),
                "grid",
                int(cell.cell_key),
                int(cell.community_key),
                int(cell.township_key),
                int(cell.county_key),
                int(cell.city_key),
                now_rank,
                state,
                raised[i].to_pydatetime(),
                raised[i].to_pydatetime(),
                None if ack is None else ack.to_pydatetime(),
                None if cleared is None else cleared.to_pydatetime(),
            )
        )
        hist.append((base + i + 1, raised[i].to_pydatetime(), "raised", None, first, "raised"))

    def write(con) -> None:
        con.executemany(
            "INSERT INTO warnings (id, rule_id, kind, area_key, area_level, cell_key, "
            "community_key, township_key, county_key, city_key, level_rank, state, raised_at, "
            "updated_at, acknowledged_at, cleared_at) VALUES "
            "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        con.executemany(
            "INSERT INTO warning_history (warning_id, changed_at, action, from_rank, to_rank, "
            "state) VALUES (?, ?, ?, ?, ?, ?)",
            hist,
        )

    rt.db.write(write)


def add_cases(rt, *, n: int = 300, seed: int = 3) -> None:
    """``n`` cases: open and closed, on time and late, reworked, returned, extended; a few
    joint parents, undispatched and flagged ones that every figure must leave out."""
    rng = np.random.default_rng(seed)
    cells = _lineage(rt)
    created = _times(rng, n)
    rows = []
    base = rt.db.query_one("SELECT coalesce(max(id), 0) FROM cases")[0]
    for i in range(n):
        cell = cells.iloc[int(rng.integers(0, len(cells)))]
        c = created[i]
        joint = rng.random() < 0.04
        dispatched = None if rng.random() < 0.06 else c + pd.Timedelta(minutes=5)
        deadline = c + pd.Timedelta(hours=float(rng.choice([2, 24, 72])))
        closed = (c + pd.Timedelta(hours=float(rng.uniform(0.5, 120)))).floor("s")
        closed = closed if rng.random() < 0.7 and closed < NOW else None
        flag = "closed_before_created" if rng.random() < 0.03 else None
        rows.append(
            (
                base + i + 1,
                joint,
                "hotline",
                "hotline.heating",
                int(cell.cell_key),
                "grid",
                int(cell.cell_key),
                int(cell.community_key),
                int(cell.township_key),
                int(cell.county_key),
                int(cell.city_key),
                str(rng.choice(DEPARTMENTS)),
                "closed" if closed is not None else "dispatched",
                c.to_pydatetime(),
                None if dispatched is None else dispatched.to_pydatetime(),
                None if closed is None else closed.to_pydatetime(),
                deadline.to_pydatetime(),
                int(rng.random() < 0.15),
                int(rng.random() < 0.2),
                int(rng.integers(0, 3) * (rng.random() < 0.2)),
                flag,
                c.to_pydatetime(),
            )
        )

    def write(con) -> None:
        con.executemany(
            "INSERT INTO cases (id, joint, origin, category, area_key, area_level, cell_key, "
            "community_key, township_key, county_key, city_key, department, state, created_at, "
            "dispatched_at, closed_at, deadline_at, extensions, reworks, returns, flag, "
            "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )

    rt.db.write(write)
    # each return was a department's "return" transition (the per-department returns read them)
    returns = [
        (r[0], "dispatched", "returned", "return", "test", r[11], (c + pd.Timedelta(hours=1)))
        for r, c in zip(rows, created, strict=True)
        for _ in range(r[19])
    ]
    rt.db.write(
        lambda con: con.executemany(
            "INSERT INTO case_transitions (case_id, from_state, to_state, action, actor, "
            "department, occurred_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [(*x[:6], x[6].to_pydatetime()) for x in returns],
        )
    )


def build(rt) -> None:
    """Events, warnings and cases on ``rt``'s fresh tiny-region store."""
    add_events(rt)
    add_warnings(rt)
    add_cases(rt)
