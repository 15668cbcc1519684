"""Cases over six weeks around October 2026 in the tiny region, made through the real case
service: closed on time, late, reworked, returned, left open (for the metrics page's tests)."""

from __future__ import annotations

import random

import pandas as pd

from tests.support.region import tiny_cell_center

OCT = pd.Timestamp("2026-10-01", tz="UTC")
SEED_START = OCT - pd.Timedelta(days=20)


def seed_cases(svc, n: int = 120, seed: int = 3, start=SEED_START, days: int = 45):
    """Cases created over ``days`` days from ``start`` in the two counties; some closed on time,
    some late, some reworked, some returned, some left open. Returns the last activity's time."""
    rng = random.Random(seed)
    last = start
    for _ in range(n):
        created = start + pd.Timedelta(minutes=rng.randrange(0, days * 24 * 60))
        lon, lat = tiny_cell_center(rng.choice([1, 2]), rng.randrange(4), rng.randrange(4))
        cat = rng.choice(["hotline.heating", "traffic.accident"])
        cid = svc.create(cat, lon=lon, lat=lat, title="seeded", now=created)
        dept = svc.get(cid)["department"]
        t = created + pd.Timedelta(minutes=rng.randrange(1, 90))
        last = max(last, created)
        if dept is None:
            continue
        if rng.random() < 0.1:
            svc.hand_back(cid, dept, "not ours", actor="d", now=t)
            t += pd.Timedelta(minutes=30)
            svc.dispatch(cid, dept, actor="op", now=t)
        if rng.random() < 0.2:  # never signed for: open
            continue
        t += pd.Timedelta(minutes=rng.randrange(1, 300))
        svc.accept(cid, dept, actor="d", now=t)
        if rng.random() < 0.15:  # left in handling
            last = max(last, t)
            continue
        t += pd.Timedelta(hours=rng.choice([1, 5, 20, 60, 120]))
        svc.report_handled(cid, dept, actor="d", now=t)
        if rng.random() < 0.2:
            t += pd.Timedelta(hours=2)
            svc.verify(cid, False, actor="insp", reason="not fixed", now=t)
            t += pd.Timedelta(hours=3)
            svc.report_handled(cid, dept, actor="d", now=t)
        t += pd.Timedelta(hours=1)
        svc.verify(cid, True, actor="insp", now=t)
        last = max(last, t)
    return last
