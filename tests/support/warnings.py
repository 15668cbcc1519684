"""Shared helpers for the warnings tests (tiny region, hand-made events, test rules)."""

from __future__ import annotations

import json

import pandas as pd

from data.warnings import WarningEngine, parse_rules
from tests.support.region import tiny_cell_center

T0 = pd.Timestamp("2026-06-01 04:00", tz="UTC")  # 12:00 in the city

RULES = """
[[rule]]
id = "acc"
kind = "threshold"
name_zh = "事故"
name_en = "Accidents"
sources = ["police", "traffic", "hotline"]
categories = ["traffic", "accident"]
window_min = 30
levels = { blue = 3, yellow = 5, orange = 8, red = 12 }
pending = 2
clear_hold_min = 10

[[rule]]
id = "surge"
kind = "anomaly"
name_zh = "激增"
name_en = "Surge"
sources = ["hotline"]
area_level = "community"
window_min = 60
weeks = 4
min_count = 5
levels = { blue = 4, yellow = 6, orange = 8, red = 10 }
pending = 2
clear_hold_min = 10

[[rule]]
id = "pm25"
kind = "persistence"
name_zh = "PM2.5"
name_en = "PM2.5"
sources = ["environment"]
categories = ["pm25"]
hours = 3
levels = { blue = 75, yellow = 115, orange = 150, red = 250 }
pending = 1
clear_hold_min = 0

[[rule]]
id = "multi"
kind = "cross_domain"
name_zh = "多领域"
name_en = "Multi"
sources = ["police", "traffic", "hotline", "market"]
exclude_categories = ["congestion"]
window_min = 60
min_per_source = 2
levels = { blue = 3, yellow = 4 }
pending = 1
clear_hold_min = 0

[[rule]]
id = "silent"
kind = "silence"
name_zh = "中断"
name_en = "Silent"
sources = ["police", "hotline"]
levels = { blue = 1, yellow = 2, orange = 4, red = 8 }
pending = 1
clear_hold_min = 0

[[fusion]]
id = "accident"
name_zh = "交通事故"
name_en = "Accident"
window_min = 30
members = [
  { source = "police", category = "traffic" },
  { source = "traffic", category = "accident" },
  { source = "hotline", category = "traffic" },
]
"""


def rules(only: list[str] | None = None, text: str = RULES):
    rs = parse_rules(text)
    if only is not None:
        rs = rs.model_copy(update={"rule": [r for r in rs.rule if r.id in only]})
    return rs


def engine(rt, only=None, **kw) -> WarningEngine:
    kw.setdefault("stale_after", 300.0)
    return WarningEngine(rt.db, rules(only), **kw)


_seq = iter(range(10**9))


def ingest(rt, source, times, *, cell=(1, 0, 0), category, value=None, attrs=None, now=None):
    """Ingest one event per time in cell (county, i, j)."""
    lon, lat = tiny_cell_center(*cell)
    times = [pd.Timestamp(t) for t in times]
    frame = pd.DataFrame(
        {
            "id": [f"t{next(_seq)}" for _ in times],
            "time": pd.DatetimeIndex(times).astype("datetime64[us, UTC]"),
            "lon": lon,
            "lat": lat,
            "category": category,
            "severity": 3,
            "value": value,
            "attributes": json.dumps(attrs) if attrs else None,
        }
    )
    now = now or max(times) + pd.Timedelta(minutes=1)
    res = rt.pipeline.ingest_frame(source, frame, now=pd.Timestamp(now).floor("us"))
    assert res.accepted == len(times), res.errors
    return frame["id"].tolist()


def cell_key(rt, county, i, j) -> int:
    from tests.support.region import tiny_cell_code

    return int(
        rt.db.query_one("SELECT key FROM areas WHERE code = ?", [tiny_cell_code(county, i, j)])[0]
    )


def warnings_df(rt):
    return rt.db.query_df("SELECT * FROM warnings ORDER BY id")


def history_actions(rt, wid):
    return [
        r[0]
        for r in rt.db.query(
            "SELECT action FROM warning_history WHERE warning_id = ? ORDER BY changed_at, id", [wid]
        )
    ]


S = pd.Timedelta(seconds=30)


def minutes(n):
    return pd.Timedelta(minutes=n)


def accidents(rt, n, at=T0, cell=(1, 0, 0), spread=5):
    times = [at - pd.Timedelta(seconds=spread * 60 * i / max(n, 1)) for i in range(n)]
    return ingest(rt, "police", times, cell=cell, category="traffic")


def hotline_surge(rt, weeks=4, n=12):
    """One hotline request in community T01001001's hour before T0 in each of ``weeks`` past
    weeks (plus an older event so the history reaches back), then ``n`` in the hour before T0:
    the "surge" rule's clear case."""
    for w in range(1, weeks + 1):
        ingest(rt, "hotline", [T0 - pd.Timedelta(days=7 * w) - minutes(20)], category="utilities")
    ingest(rt, "hotline", [T0 - pd.Timedelta(days=7 * weeks + 1)], cell=(2, 3, 3), category="other")
    ingest(rt, "hotline", [T0 - minutes(i * 4) for i in range(n)], category="utilities")


# the "surge" rule of RULES as one [[rule]] table, as the rules page edits it
SURGE_TABLE = """[[rule]]
id = "surge"
kind = "anomaly"
name_zh = "激增"
name_en = "Surge"
sources = ["hotline"]
area_level = "community"
window_min = 60
min_count = 5
levels = { blue = 4, yellow = 6, orange = 8, red = 10 }
"""
