"""Simulated live feeds for the five domains (police, traffic, environment, market, hotline).

The simulator turns a grid of cells (one row per grid cell: key, code, geometry, population, kind
and optionally county_key) into realistic canonical event frames (docs/ARCHITECTURE.md). Mixes,
volumes and rhythms follow /work/shared/DOMAIN.md section 2; spatial weights follow section 1
(people-driven feeds by population, environment stations dense in urban and sparse in rural cells).

Determinism and window consistency
----------------------------------
Time is split into fixed one-hour slots (hours since the Unix epoch, UTC). Everything in a slot is
derived from the seed, the source and the slot alone: counting processes draw from
``numpy.random.default_rng([seed, source_index, slot])`` and regular readings (air stations, road
segments) use a counter-based hash of (seed, stream, slot, station). A call generates whole slots
and then keeps the rows with ``start <= time < end``, so generating [a, c) equals concatenating
[a, b) and [b, c), and ids ``f"{source}-{slot}-{i}"`` (i = rank by time inside the slot) are stable and
unique. ``SimulatorFeed`` relies on this to emit small windows that add up to one big window.

Episodes
--------
Injected episodes (pollution episode, traffic pile-up, market complaint burst about one business,
police disturbance burst) are drawn per seed and per week and exposed by ``Simulator.episodes`` as
ground truth. ``Episode.factor`` is the PM2.5 multiplier at the affected stations for ``pollution``
and the number of extra events per hour in the episode's cell for the burst kinds.

Rates are events per day for the whole city. For counting sources (police, market, hotline and the
accidents / hazards / violations of traffic) they scale the Poisson intensity; for regular readings
(environment stations, traffic congestion segments) they scale the number of stations or segments.
The hotline rate is the volume outside the heating season; heating complaints come on top of it
from November to March (DOMAIN.md 2.5).
"""

from __future__ import annotations

import dataclasses
import json
import math
import threading
from collections.abc import Callable
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from data.events import CATEGORIES, SOURCES, empty_frame
from data.periodic import Periodic

__all__ = [
    "AQI_BREAKPOINTS",
    "DEFAULT_RATES",
    "Episode",
    "Simulator",
    "SimulatorFeed",
    "aqi",
    "aqi_level",
    "iaqi",
]

SLOT_US = 3_600_000_000  # one hour in microseconds
HOUR_US = SLOT_US
DAY_US = 24 * HOUR_US
WEEK_US = 7 * DAY_US
_EPOCH_MONDAY_US = 4 * DAY_US  # 1970-01-05 was a Monday: weeks for episodes start there (UTC)

_SRC = {s: i for i, s in enumerate(SOURCES)}
_CAT = {s: {c: i for i, c in enumerate(CATEGORIES[s])} for s in SOURCES}

# --- volumes ------------------------------------------------------------------------------------

N_AIR_STATIONS = 40
N_WATER_SITES = 4
AIR_POLLUTANTS = ("pm25", "pm10", "no2", "o3", "aqi")  # readings per station per hour
WATER_PARAMS = ("water_do", "water_codmn", "water_nh3n", "water_tp")  # every 4 hours
WATER_EVERY_H = 4
N_SEGMENTS = 20  # congestion detectors, one reading every 30 minutes
TRAFFIC_POISSON = {"accident": 150.0, "road_hazard": 30.0, "violation": 60.0}  # per day
_ENV_AIR = N_AIR_STATIONS * 24 * len(AIR_POLLUTANTS)
_ENV_WATER = N_WATER_SITES * (24 // WATER_EVERY_H) * len(WATER_PARAMS)
_TRAFFIC_CONG = N_SEGMENTS * 48

DEFAULT_RATES: dict[str, float] = {
    # ~500 valid 110 incidents a day (DOMAIN.md 2.1)
    "police": 500.0,
    # 240 accidents / hazards / violations + 20 segments x 48 congestion readings
    "traffic": sum(TRAFFIC_POISSON.values()) + _TRAFFIC_CONG,
    # 40 air stations x 24 h x (pm25, pm10, no2, o3, aqi) + 4 water sites x 6 x 4 parameters
    "environment": float(_ENV_AIR + _ENV_WATER),
    # 12315 items: 150-250 a day (DOMAIN.md 2.4)
    "market": 200.0,
    # 12345 contacts: 1,500-2,500 a day outside the heating season (DOMAIN.md 2.5)
    "hotline": 2000.0,
}

# --- AQI (HJ 633-2012, DOMAIN.md 2.3) ------------------------------------------------------------

_IAQI_STEPS = (0.0, 50.0, 100.0, 150.0, 200.0, 300.0, 400.0, 500.0)
AQI_BREAKPOINTS: dict[str, tuple[float, ...]] = {
    "pm25_24h": (0, 35, 75, 115, 150, 250, 350, 500),
    "pm10_24h": (0, 50, 150, 250, 350, 420, 500, 600),
    "so2_24h": (0, 50, 150, 475, 800, 1600, 2100, 2620),
    "so2_1h": (0, 150, 500, 650, 800),  # above 800: the 24h IAQI applies
    "no2_24h": (0, 40, 80, 180, 280, 565, 750, 940),
    "no2_1h": (0, 100, 200, 700, 1200, 2340, 3090, 3840),
    "co_24h": (0, 2, 4, 14, 24, 36, 48, 60),
    "co_1h": (0, 5, 10, 35, 60, 90, 120, 150),
    "o3_1h": (0, 160, 200, 300, 400, 800, 1000, 1200),
    "o3_8h": (0, 100, 160, 215, 265, 800),  # above 800: the 1h IAQI applies
}
# Hourly dashboards apply the PM 24h breakpoints to hourly values; gases default to 1h.
_AQI_ALIASES = {
    "pm25": "pm25_24h",
    "pm2.5": "pm25_24h",
    "pm10": "pm10_24h",
    "so2": "so2_1h",
    "no2": "no2_1h",
    "co": "co_1h",
    "o3": "o3_1h",
}
_AQI_FALLBACK = {"so2_1h": "so2_24h", "o3_8h": "o3_1h"}


def iaqi(pollutant: str, concentration: Any) -> Any:
    """Individual AQI of one pollutant (HJ 633-2012 linear interpolation between breakpoints).

    ``pollutant`` is a key of :data:`AQI_BREAKPOINTS` or an alias (pm25, pm10, so2, no2, co, o3;
    PM use the 24h table, gases the 1h table). Units µg/m³ (CO mg/m³). Returns a float for a scalar
    and a float array otherwise; missing or negative concentrations give NaN, values above the top
    breakpoint give 500 (SO2 1h above 800 and O3 8h above 800 use the 24h / 1h tables).
    """
    key = _AQI_ALIASES.get(pollutant, pollutant)
    if key not in AQI_BREAKPOINTS:
        raise ValueError(f"unknown pollutant {pollutant!r}")
    c = np.asarray(concentration, dtype="float64")
    bp = np.asarray(AQI_BREAKPOINTS[key], dtype="float64")
    steps = np.asarray(_IAQI_STEPS[: len(bp)])
    out = np.interp(c, bp, steps, right=500.0)
    if key in _AQI_FALLBACK:
        over = c > bp[-1]
        if np.any(over):
            out = np.where(over, iaqi(_AQI_FALLBACK[key], c), out)
    out = np.where(np.isnan(c) | (c < 0), np.nan, out)
    return float(out) if out.ndim == 0 else out


def aqi(**concentrations: Any) -> Any:
    """AQI = the largest IAQI, rounded up to an integer (HJ 633-2012).

    Keyword arguments are pollutant names as in :func:`iaqi`, e.g. ``aqi(pm25=80, pm10=100)``.
    Missing concentrations (None / NaN) are ignored; all missing gives NaN.
    """
    parts = [iaqi(k, v) for k, v in concentrations.items() if v is not None]
    if not parts:
        return float("nan")
    stacked = np.stack(np.broadcast_arrays(*[np.asarray(p, dtype="float64") for p in parts]))
    with np.errstate(invalid="ignore"):
        best = np.fmax.reduce(stacked, axis=0)
    out = np.ceil(np.round(best, 6))
    return float(out) if out.ndim == 0 else out


def aqi_level(value: Any) -> Any:
    """AQI level 1 (优) .. 6 (严重污染) for an AQI / IAQI value; 0 for NaN."""
    v = np.asarray(value, dtype="float64")
    lvl = np.searchsorted(np.array([50.0, 100.0, 150.0, 200.0, 300.0]), np.ceil(v), side="left") + 1
    lvl = np.where(np.isnan(v), 0, lvl)
    return int(lvl) if lvl.ndim == 0 else lvl


# --- profiles (local hour 0..23, relative; normalised to mean 1 below) --------------------------

# fmt: off
_H = {
    # police (DOMAIN.md 2.1: public order at 20:00-02:00 at 6-9 %/h, <= 1 %/h at 06-10)
    "public_order": [8, 7.5, 6, 4, 2.5, 1.5, 0.8, 0.7, 0.8, 1, 1.5, 2, 2.5, 2.5, 2.8, 3, 3.5, 4,
        4.5, 5.5, 6.5, 7.5, 8, 8.5],
    "criminal": [3, 2.5, 2, 1.5, 1, 1, 1.5, 2.5, 4, 5, 5.5, 5.5, 5, 5, 5, 5, 5.5, 5.5, 5.5, 5.5, 5,
        5, 4.5, 4],
    "police_traffic": [1.5, 1.2, 1, 0.8, 0.8, 1.2, 2.5, 5.5, 6.5, 5, 4.5, 4.5, 4.5, 5, 5.5, 6, 6.5,
        7, 6.5, 5, 4, 3, 2.5, 2],
    "dispute": [2, 1.5, 1, 0.6, 0.5, 0.5, 1, 2, 3.5, 5, 6, 6, 5.5, 5.5, 6, 6, 6, 6, 6, 6, 5.5, 5, 4,
        3],
    "assistance": [2.5, 2, 1.5, 1.2, 1, 1.2, 2, 3.5, 5, 5.5, 5.5, 5.5, 5, 5, 5, 5, 5, 5, 5, 5, 5,
        4.5, 4, 3],
    "fire": [2, 2, 1.5, 1.5, 1.5, 1.5, 2, 3, 4, 5, 5.5, 6, 6, 6, 6.5, 6.5, 6, 5.5, 5, 4.5, 4, 3.5,
        3, 2.5],
    "daytime": [1.5, 1, 0.8, 0.6, 0.6, 0.8, 1.5, 3, 5, 6, 6.5, 6.5, 6, 6, 6, 6, 6, 6, 5.5, 5, 4.5,
        4, 3, 2],
    # traffic (DOMAIN.md 2.2: accidents peak 14-18 at 6-7 %/h, 03-05 at ~1.7 %/h)
    "accident": [2.5, 2, 1.9, 1.7, 1.7, 2, 3, 4.5, 5.5, 5, 4.8, 5, 5.5, 5.8, 6.2, 6.5, 7, 6.8, 6, 5,
        4.3, 3.8, 3.3, 2.8],
    "road_hazard": [2, 2, 2, 2, 2, 2.5, 3.5, 5, 5.5, 5.5, 5.5, 5, 5, 5, 5, 5, 5, 5, 4.5, 4, 3.5, 3,
        2.5, 2],
    "violation": [0.5, 0.4, 0.3, 0.3, 0.3, 0.5, 2, 6, 8, 7, 7, 6.5, 6, 6, 6.5, 6.5, 7, 7.5, 6, 4,
        2.5, 1.5, 1, 0.7],
    # hotline (busiest 09-11, low at night; DOMAIN.md 2.5)
    "hotline": [0.3, 0.2, 0.15, 0.12, 0.12, 0.2, 0.5, 1.5, 4.5, 8.5, 9, 8.2, 5, 5.5, 7, 7, 6.5, 5.5,
        4, 3.2, 2.6, 2, 1.3, 0.7],
    "heating": [0.6, 0.4, 0.3, 0.3, 0.3, 0.5, 1.5, 3.5, 6.5, 8, 8, 7, 5, 5, 5.5, 5.5, 5.5, 5.5, 5.5,
        5.5, 5, 4.5, 3, 1.5],
    # market: working hours (08:30-17:30, lunch dip), online submissions at night
    "market": [0.2, 0.1, 0.1, 0.1, 0.1, 0.1, 0.3, 1, 5, 9, 9.5, 8, 4, 6.5, 9, 9, 8.5, 5, 1.5, 1,
        0.8, 0.6, 0.4, 0.3],
    "office": [0, 0, 0, 0, 0, 0, 0, 0, 4, 9, 9.5, 8, 2, 6, 9, 9, 8, 2, 0, 0, 0, 0, 0, 0],
    # environment: PM2.5 / NO2 peak 20-23, O3 peaks 14-17 (DOMAIN.md 2.3)
    "pm25": [1.12, 1.1, 1.06, 1.02, 0.98, 0.96, 0.96, 0.98, 1.0, 0.98, 0.94, 0.88, 0.84, 0.8, 0.78,
        0.78, 0.82, 0.9, 1.0, 1.08, 1.15, 1.2, 1.2, 1.17],
    "no2": [1.05, 1.0, 0.95, 0.9, 0.88, 0.9, 1.0, 1.12, 1.15, 1.05, 0.92, 0.82, 0.75, 0.72, 0.72,
        0.75, 0.85, 1.0, 1.12, 1.2, 1.25, 1.22, 1.16, 1.1],
    "o3": [0.45, 0.4, 0.35, 0.32, 0.3, 0.3, 0.35, 0.5, 0.7, 0.95, 1.2, 1.45, 1.65, 1.8, 1.88, 1.88,
        1.75, 1.5, 1.2, 0.95, 0.75, 0.62, 0.55, 0.5],
}
# TPI 0-10 by local hour (Gaode / Beijing style; peaks 07-09 and 17-19 on weekdays)
_TPI_WEEKDAY = [1.0, 0.8, 0.7, 0.7, 0.8, 1.2, 2.5, 5.0, 6.5, 5.0, 3.8, 3.6, 3.6, 3.5, 3.6, 3.9,
    4.8, 6.5, 6.8, 4.8, 3.5, 2.8, 2.0, 1.4]
_TPI_WEEKEND = [1.0, 0.9, 0.8, 0.7, 0.7, 0.9, 1.4, 2.2, 3.0, 3.6, 4.2, 4.4, 4.2, 3.9, 3.9, 4.1,
    4.4, 4.6, 4.2, 3.6, 3.0, 2.4, 1.8, 1.3]
# fmt: on
# monthly means (µg/m³ / relative), mid-month anchors; PM2.5 53 (Aug) .. 105 (Dec), DOMAIN.md 2.3
_PM25_MONTH = [100, 90, 80, 70, 62, 58, 56, 53, 58, 72, 92, 105]
_NO2_MONTH = [46, 43, 38, 32, 28, 25, 24, 25, 29, 35, 42, 47]
_O3_MONTH = [32, 42, 56, 75, 90, 98, 94, 82, 70, 52, 38, 30]  # daily-mean level; x diurnal
_PM_COARSE = [1.4, 1.5, 1.8, 1.9, 1.7, 1.5, 1.35, 1.35, 1.45, 1.45, 1.4, 1.35]  # PM10 / PM2.5

_WEEK = {  # Mon..Sun
    "flat": [1, 1, 1, 1, 1, 1, 1],
    "nightlife": [0.9, 0.9, 0.9, 0.95, 1.1, 1.25, 1.05],
    "commute": [1.05, 1.05, 1.05, 1.05, 1.05, 0.9, 0.85],
    "accident": [1, 1, 1, 1, 1, 1.08, 1.08],
    "violation": [1.1, 1.1, 1.1, 1.1, 1.1, 0.6, 0.55],
    "hotline": [1.1, 1.1, 1.05, 1.05, 1.05, 0.8, 0.75],
    "market": [1.2, 1.2, 1.2, 1.2, 1.15, 0.35, 0.25],
    "office": [1.2, 1.2, 1.2, 1.2, 1.2, 0.05, 0.02],
}


def _norm(v: list[float]) -> np.ndarray:
    a = np.asarray(v, dtype="float64")
    return a / a.mean()


# --- categories: shares, profiles, subtypes (code, text, probability), severities ---------------

_POLICE = {  # category: (share, hour profile, week profile)
    "criminal": (0.05, "criminal", "flat"),
    "public_order": (0.10, "public_order", "nightlife"),
    "traffic": (0.28, "police_traffic", "commute"),
    "dispute": (0.14, "dispute", "flat"),
    "assistance": (0.25, "assistance", "flat"),
    "fire_disaster": (0.01, "fire", "flat"),
    "other": (0.17, "daytime", "flat"),
}
_MARKET = {
    "complaint": (0.30, "market", "market"),
    "violation_report": (0.09, "market", "market"),
    "enquiry": (0.55, "market", "market"),
    "inspection": (0.04, "office", "office"),
    "food_safety": (0.02, "office", "office"),
}
_HOTLINE = {  # heating outside the season; the season adds on top (see _heating_share)
    "heating": (0.01, "heating", "flat"),
    "utilities": (0.16, "hotline", "hotline"),
    "property": (0.14, "hotline", "hotline"),
    "traffic": (0.10, "hotline", "hotline"),
    "noise": (0.09, "hotline", "hotline"),
    "labour": (0.09, "hotline", "hotline"),
    "illegal_construction": (0.05, "hotline", "hotline"),
    "city_appearance": (0.08, "hotline", "hotline"),
    "consumer": (0.07, "hotline", "hotline"),
    "education": (0.05, "hotline", "hotline"),
    "health": (0.06, "hotline", "hotline"),
    "other": (0.10, "hotline", "hotline"),
}
_TRAFFIC = {
    "accident": (TRAFFIC_POISSON["accident"], "accident", "accident"),
    "road_hazard": (TRAFFIC_POISSON["road_hazard"], "road_hazard", "flat"),
    "violation": (TRAFFIC_POISSON["violation"], "violation", "violation"),
}

_SUBTYPES: dict[str, dict[str, list[tuple[str, str, float]]]] = {
    "police": {
        "criminal": [
            ("theft", "报警称财物被盗", 0.8),
            ("fraud", "报警称遭遇电信诈骗", 0.12),
            ("robbery", "报警称被抢劫", 0.03),
            ("assault", "报警称被人殴打致伤", 0.05),
        ],
        "public_order": [
            ("fight", "群众报警称有人打架斗殴", 0.45),
            ("drunk", "醉酒人员滋事", 0.25),
            ("disturbance", "有人聚众吵闹扰民", 0.2),
            ("gambling", "举报聚众赌博", 0.1),
        ],
        "traffic": [
            ("accident", "交通事故报警", 0.55),
            ("congestion", "道路拥堵请求疏导", 0.15),
            ("move_car", "车辆占道请求挪车", 0.3),
        ],
        "dispute": [
            ("neighbour", "邻里纠纷", 0.45),
            ("labour", "劳资纠纷", 0.2),
            ("commercial", "经济纠纷", 0.2),
            ("family", "家庭纠纷", 0.15),
        ],
        "assistance": [
            ("lost_person", "走失人员求助", 0.2),
            ("locked_out", "被锁门外求助", 0.25),
            ("medical", "突发疾病求助", 0.25),
            ("other", "其他求助", 0.3),
        ],
        "fire_disaster": [
            ("fire", "火警", 0.7),
            ("gas_leak", "燃气泄漏", 0.15),
            ("flood", "积水灾情", 0.15),
        ],
        "other": [
            ("report", "举报投诉", 0.5),
            ("consult", "咨询", 0.3),
            ("other", "其他警情", 0.2),
        ],
    },
    "traffic": {
        "accident": [("collision", "交通事故", 1.0)],
        "congestion": [("reading", "拥堵指数", 1.0)],
        "road_hazard": [
            ("pothole", "路面坑槽", 0.35),
            ("debris", "路面遗撒", 0.25),
            ("ice", "路面结冰", 0.2),
            ("signal", "信号灯故障", 0.2),
        ],
        "violation": [
            ("illegal_parking", "违法停车", 0.55),
            ("speeding", "超速行驶", 0.2),
            ("red_light", "闯红灯", 0.15),
            ("wrong_way", "逆向行驶", 0.1),
        ],
    },
    "market": {
        "complaint": [
            ("quality", "商品质量问题", 0.35),
            ("after_sales", "售后服务问题", 0.3),
            ("contract", "合同纠纷", 0.15),
            ("prepaid_card", "预付卡退费难", 0.1),
            ("false_advertising", "虚假宣传", 0.1),
        ],
        "violation_report": [
            ("food_safety", "食品安全违法", 0.4),
            ("consumer_rights", "侵害消费者权益", 0.35),
            ("unfair_competition", "不正当竞争", 0.25),
        ],
        "enquiry": [("policy", "政策咨询", 0.5), ("rights", "维权咨询", 0.5)],
        "inspection": [("routine", "日常监督检查", 1.0)],
        "food_safety": [("sampling", "食品安全监督抽检", 1.0)],
    },
    "hotline": {
        "heating": [
            ("not_warm", "家中暖气不热", 0.49),
            ("below_standard", "室温不达标", 0.23),
            ("valve_closed", "供热阀门未开启", 0.17),
            ("billing", "供热收费问题", 0.11),
        ],
        "utilities": [("water", "停水", 0.4), ("power", "停电", 0.3), ("gas", "燃气问题", 0.3)],
        "property": [("service", "物业服务问题", 1.0)],
        "traffic": [("bus", "公交线路问题", 0.5), ("road", "道路破损", 0.5)],
        "noise": [
            ("construction", "夜间施工噪音", 0.5),
            ("commercial", "商铺噪音扰民", 0.3),
            ("neighbour", "邻居噪音", 0.2),
        ],
        "labour": [("wages", "拖欠工资", 0.6), ("social_security", "社保问题", 0.4)],
        "illegal_construction": [("building", "违章建筑", 1.0)],
        "city_appearance": [
            ("garbage", "垃圾清运不及时", 0.5),
            ("stalls", "占道经营", 0.3),
            ("greening", "绿化问题", 0.2),
        ],
        "consumer": [("dispute", "消费纠纷", 1.0)],
        "education": [("school", "入学咨询", 1.0)],
        "health": [("medical", "医疗服务", 1.0)],
        "other": [("other", "其他诉求", 1.0)],
    },
}
_POLICE_SEV = {  # P(severity 1..5)
    "criminal": [0, 0.2, 0.55, 0.2, 0.05],
    "public_order": [0.1, 0.5, 0.3, 0.08, 0.02],
    "traffic": [0.2, 0.5, 0.25, 0.05, 0],
    "dispute": [0.35, 0.5, 0.13, 0.02, 0],
    "assistance": [0.4, 0.4, 0.15, 0.05, 0],
    "fire_disaster": [0, 0.1, 0.4, 0.35, 0.15],
    "other": [0.7, 0.25, 0.05, 0, 0],
}
_HOTLINE_TYPES = ("consult", "help", "suggestion", "complaint")
_HOTLINE_TYPES_ZH = ("咨询", "求助", "建议", "投诉")
_HOTLINE_TYPE_P = [0.50, 0.30, 0.15, 0.05]  # DOMAIN.md 2.5 (other 3 % folded into consult)
_HEATING_TYPE_P = [0.25, 0.60, 0.05, 0.10]
_HOTLINE_CHANNELS = ("phone", "wechat", "web", "email")
_HOTLINE_CHANNEL_P = [0.70, 0.15, 0.10, 0.05]
_HOTLINE_ESCALATE = {"heating": 0.2, "utilities": 0.2, "labour": 0.15}
_SECTORS = [  # (code, zh, goods?)
    ("food", "食品", True),
    ("clothing", "服装", True),
    ("household", "日用品", True),
    ("vehicle", "汽车", True),
    ("phone", "手机", True),
    ("appliance", "家电", True),
    ("catering", "餐饮", False),
    ("lodging", "住宿", False),
    ("beauty", "美容美发", False),
    ("telecom", "通信", False),
    ("prepaid", "健身培训", False),
]
N_BUSINESSES = 1500
_FOOD_FAIL_RATE = 0.0286  # SAMR 2022 sampling (DOMAIN.md 2.4)
_INSPECTION_PROBLEM_RATE = 0.10

# episodes: expected number per week city-wide
_EPISODE_RATES = {"pollution": (0.8, 0.15), "pileup": 1.0, "market_burst": 0.6, "police_burst": 1.0}
_POLLUTION_DAYS_P = [0.38, 0.35, 0.18, 0.09]  # 1..4 days (84 Beijing episodes, DOMAIN.md 2.3)
_MAX_EPISODE_US = 5 * DAY_US


@dataclasses.dataclass(frozen=True)
class Episode:
    """An injected episode (ground truth for tests and the warnings benchmark).

    ``factor``: for ``pollution`` the PM2.5 multiplier at the affected stations (``stations``);
    for ``pileup``, ``market_burst`` and ``police_burst`` the extra events per hour in the cell.
    """

    kind: str
    source: str
    category: str
    cell_key: int
    lon: float
    lat: float
    start: pd.Timestamp
    end: pd.Timestamp
    factor: float
    stations: tuple[str, ...] = ()
    business: str | None = None


# --- counter-based hashing (splitmix64) for regular readings and point retries ------------------

_G = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)


def _mix(x: np.ndarray) -> np.ndarray:
    x = x + _G
    x = (x ^ (x >> np.uint64(30))) * _M1
    x = (x ^ (x >> np.uint64(27))) * _M2
    return x ^ (x >> np.uint64(31))


def _hash64(*parts: Any) -> np.ndarray:
    with np.errstate(over="ignore"):
        arrs = np.broadcast_arrays(*[np.asarray(p, dtype=np.int64) for p in parts])
        h = np.full(arrs[0].shape, 0x5EED, dtype=np.uint64)
        for a in arrs:
            h = _mix(h ^ a.astype(np.uint64))
    return h


def _hu(*parts: Any) -> np.ndarray:
    """Uniform in (0, 1) from a hash of the parts (vectorised)."""
    return ((_hash64(*parts) >> np.uint64(11)).astype(np.float64) + 0.5) * (2.0**-53)


def _hn(*parts: Any) -> np.ndarray:
    """Standard normal from a hash of the parts (Box-Muller)."""
    u1, u2 = _hu(*parts, 1), _hu(*parts, 2)
    return np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)


# stream ids for hashing
_ST_POINT, _ST_PMDAY, _ST_AIR, _ST_WATER, _ST_TPI, _ST_TPIDAY, _ST_EPTPI, _ST_OFFSET = range(1, 9)


def _pick(cum: np.ndarray, key: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Index drawn from the cumulative distribution ``cum[key]`` with uniforms ``u``."""
    # rows shifted by their index form one increasing array: one searchsorted for all rows
    width = cum.shape[1]
    flat = (cum + np.arange(len(cum))[:, None]).ravel()
    key = np.asarray(key, dtype=np.int64)
    idx = np.searchsorted(flat, u + key, side="left") - key * width
    return np.clip(idx, 0, width - 1)


def _cum_table(rows: list[list[float]]) -> np.ndarray:
    width = max(len(r) for r in rows)
    out = np.ones((len(rows), width))
    for i, r in enumerate(rows):
        p = np.asarray(r, dtype="float64")
        out[i, : len(p)] = np.cumsum(p / p.sum())
        out[i, len(p) - 1 :] = 1.0
    return out


def _render(codes: np.ndarray, fmt: Callable[[int], str | None]) -> np.ndarray:
    """Object array of strings: ``fmt`` is called once per distinct code."""
    if len(codes) == 0:
        return np.empty(0, dtype=object)
    codes = np.asarray(codes, dtype=np.int64)
    top = int(codes.max())
    if codes.min() >= 0 and top < 4 * len(codes) + 100_000:  # dense codes: no sort needed
        uniq = np.flatnonzero(np.bincount(codes, minlength=top + 1))
        table = np.empty(top + 1, dtype=object)
        table[uniq] = [fmt(int(c)) for c in uniq]
        return table[codes]
    uniq, inv = np.unique(codes, return_inverse=True)
    table = np.empty(len(uniq), dtype=object)
    table[:] = [fmt(int(c)) for c in uniq]
    return table[inv]


def _dumps(d: dict[str, Any]) -> str:
    return json.dumps(d, ensure_ascii=False, separators=(",", ":"))


def _to_us(ts: Any) -> int:
    t = pd.Timestamp(ts)
    if t.tzinfo is None:
        t = t.tz_localize("UTC")
    ns = t.tz_convert("UTC").value
    return -(-ns // 1000)  # ceil: a row is kept when time_us >= start (and < end)


def _ts(us: int) -> pd.Timestamp:
    return pd.Timestamp(int(us), unit="us", tz="UTC")


# --- the simulator ------------------------------------------------------------------------------


class Simulator:
    """Deterministic, window-consistent generator of canonical event frames for a grid of cells."""

    def __init__(
        self,
        cells: gpd.GeoDataFrame,
        *,
        seed: int = 0,
        rates: dict[str, float] | None = None,
        episodes: bool = True,
        timezone: str = "Asia/Shanghai",
    ) -> None:
        if seed < 0:
            raise ValueError("seed must be a non-negative integer")
        if len(cells) == 0:
            raise ValueError("cells is empty")
        unknown = set(rates or {}) - set(SOURCES)
        if unknown:
            raise ValueError(f"unknown sources in rates: {sorted(unknown)}")
        self.seed = int(seed)
        self.rates: dict[str, float] = {
            **DEFAULT_RATES,
            **{k: float(v) for k, v in (rates or {}).items()},
        }
        if any(v < 0 or not math.isfinite(v) for v in self.rates.values()):
            raise ValueError("rates must be finite and >= 0")
        self.with_episodes = bool(episodes)
        self.timezone = timezone
        if cells.crs is not None and not cells.crs.equals("EPSG:4326"):
            cells = cells.to_crs("EPSG:4326")
        self.cells = cells.reset_index(drop=True)
        self._init_cells()
        self._init_weights()
        self._init_fixed_points()
        self._week_cache: dict[int, list[Episode]] = {}

    @classmethod
    def from_region(cls, region: Any, **kw: Any) -> Simulator:
        """Simulator for a ``data.region.Region`` (cells plus county keys from the lineage)."""
        cells = region.cells()
        try:
            lin = region.lineage()
        except Exception:  # noqa: BLE001  (a region without lineage still works)
            lin = None
        if lin is not None and "county_key" in lin and "county_key" not in cells:
            cells = cells.merge(
                lin[["cell_key", "county_key"]], left_on="key", right_on="cell_key", how="left"
            ).drop(columns="cell_key")
        if "timezone" not in kw:
            meta = getattr(region, "meta", None) or {}
            kw["timezone"] = meta.get("timezone") or "Asia/Shanghai"
        return cls(cells, **kw)

    # -- setup -----------------------------------------------------------------------------------

    def _init_cells(self) -> None:
        c = self.cells
        self.keys = c["key"].to_numpy(dtype=np.int64)
        geoms = np.asarray(c.geometry.array, dtype=object)
        shapely.prepare(geoms)
        self._geoms = geoms
        self._bounds = shapely.bounds(geoms)
        b = self._bounds
        box_area = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
        area_deg = shapely.area(geoms)
        self._is_box = np.abs(area_deg - box_area) <= 1e-9 * np.maximum(box_area, 1e-300)
        lat_mid = (b[:, 1] + b[:, 3]) / 2
        self.area_km2 = area_deg * 111.32**2 * np.cos(np.radians(lat_mid))
        pop = (
            pd.to_numeric(c["population"], errors="coerce").to_numpy(
                dtype="float64", na_value=np.nan
            )
            if "population" in c
            else np.full(len(c), np.nan)
        )
        known = np.isfinite(pop) & (pop > 0) & (self.area_km2 > 0)
        density = np.nanmedian(pop[known] / self.area_km2[known]) if known.any() else 1.0
        self.pop_eff = np.where(np.isfinite(pop), np.maximum(pop, 0), self.area_km2 * density)
        if "kind" in c and c["kind"].notna().any():
            self.urban = (c["kind"] == "urban").fillna(False).to_numpy(dtype=bool)
        else:
            dens = self.pop_eff / np.maximum(self.area_km2, 1e-9)
            self.urban = dens >= np.quantile(dens, 0.75)
        self.county = (
            pd.to_numeric(c["county_key"], errors="coerce").fillna(-1).to_numpy(dtype=np.int64)
            if "county_key" in c
            else np.full(len(c), -1, dtype=np.int64)
        )
        self._rep_points: np.ndarray | None = None

    def _rng(self, *parts: int) -> np.random.Generator:
        return np.random.default_rng([self.seed, *parts])

    @staticmethod
    def _choose(
        rng: np.random.Generator, w: np.ndarray, k: int, replace: bool = False
    ) -> np.ndarray:
        w = np.asarray(w, dtype="float64")
        if w.sum() <= 0:
            w = np.ones_like(w)
        k = int(k)
        if k <= 0:
            return np.empty(0, dtype=np.int64)
        if not replace and np.count_nonzero(w) < k:
            replace = True
        return rng.choice(len(w), size=k, replace=replace, p=w / w.sum())

    def _init_weights(self) -> None:
        n = len(self.keys)
        pop, area, urban = self.pop_eff, self.area_km2, self.urban
        people = pop if pop.sum() > 0 else area.copy()
        self.hotspots: dict[str, np.ndarray] = {}
        w: dict[str, np.ndarray] = {}
        n_hot = min(4, n)
        for src in ("police", "hotline", "market"):
            base = people * (np.where(urban, 1.5, 0.7) if src == "market" else 1.0)
            rng = self._rng(7000 + _SRC[src])
            hot = self._choose(rng, base, n_hot)
            mult = np.ones(n)
            mult[hot] = rng.uniform(4.0, 8.0, size=len(hot))
            self.hotspots[src] = self.keys[hot]
            w[src] = base * mult
        # traffic: urban population plus some area (rural roads), and a few arterial cells
        tw = people * np.where(urban, 2.0, 0.5)
        tw = 0.85 * tw / tw.sum() + 0.15 * area / max(area.sum(), 1e-12)
        rng = self._rng(7000 + _SRC["traffic"])
        self._arterial = self._choose(rng, np.where(urban, people, 0.0), min(6, n))
        mult = np.ones(n)
        mult[self._arterial] = rng.uniform(5.0, 9.0, size=len(self._arterial))
        w["traffic"] = tw * mult
        self.hotspots["traffic"] = self.keys[self._arterial]
        # environment: a few "industrial" cells next to the urban core with higher PM
        rng = self._rng(7000 + _SRC["environment"])
        self._industrial = self._choose(rng, np.where(urban, area, 0.0) + 1e-12 * area, min(3, n))
        self.hotspots["environment"] = self.keys[self._industrial]
        self._weights = w
        self._cum = {k: np.cumsum(v / v.sum()) for k, v in w.items()}

    def _pick_cells(self, src: str, u: np.ndarray) -> np.ndarray:
        cum = self._cum[src]
        return np.minimum(np.searchsorted(cum, u, side="right"), len(cum) - 1)

    def _init_fixed_points(self) -> None:
        f_env = self.rates["environment"] / DEFAULT_RATES["environment"]
        n_air = max(1, round(N_AIR_STATIONS * f_env)) if f_env > 0 else 0
        n_water = round(N_WATER_SITES * f_env) if f_env > 0 else 0
        rng = self._rng(8000, 1)
        n_urban = round(0.7 * n_air) if self.urban.any() else 0
        n_urban = min(n_urban, n_air)
        ind = self._industrial[: min(len(self._industrial), n_urban)]
        rest_w = np.where(self.urban, self.pop_eff, 0.0)
        rest_w[ind] = 0.0
        urban_st = np.concatenate([ind, self._choose(rng, rest_w, n_urban - len(ind))])
        # rural: area-weighted, stratified by county so that each county gets a share
        rural_w = np.where(~self.urban, self.area_km2, 0.0)
        if rural_w.sum() <= 0:
            rural_w = self.area_km2.copy()
        if (self.county >= 0).any():
            tot = pd.Series(rural_w).groupby(self.county).transform("sum").to_numpy()
            rural_w = np.where(tot > 0, rural_w / np.maximum(tot, 1e-12), 0.0)
        rural_st = self._choose(rng, rural_w, n_air - len(urban_st))
        air = np.concatenate([urban_st, rural_st]).astype(np.int64)
        water = self._choose(rng, self.area_km2, n_water).astype(np.int64)
        ax, ay = self._points(
            air, rng.random(len(air)), rng.random(len(air)), (_ST_POINT, 11, np.arange(len(air)))
        )
        wx, wy = self._points(
            water,
            rng.random(len(water)),
            rng.random(len(water)),
            (_ST_POINT, 12, np.arange(len(water))),
        )
        st_factor = np.where(self.urban[air], 1.0, 0.8) * np.exp(rng.normal(0, 0.08, len(air)))
        st_factor[np.isin(air, self._industrial)] *= 1.3
        self.stations = pd.DataFrame(
            {
                "station": [f"AQ{i + 1:03d}" for i in range(len(air))]
                + [f"WQ{i + 1:02d}" for i in range(len(water))],
                "kind": ["air"] * len(air) + ["water"] * len(water),
                "cell_key": np.concatenate([self.keys[air], self.keys[water]]),
                "lon": np.concatenate([ax, wx]),
                "lat": np.concatenate([ay, wy]),
            }
        )
        self._air = {
            "cell": air,
            "lon": ax,
            "lat": ay,
            "factor": st_factor,
            "urban": self.urban[air],
        }
        self._water = {
            "cell": water,
            "lon": wx,
            "lat": wy,
            "factor": np.exp(rng.normal(0, 0.25, len(water))),
        }
        if len(water):
            self._water["factor"][0] *= 1.8  # one polluted site downstream of the steel works
        # congestion segments: arterial cells first, then urban population, some rural
        f_tr = self.rates["traffic"] / DEFAULT_RATES["traffic"]
        n_seg = max(1, round(N_SEGMENTS * f_tr)) if f_tr > 0 else 0
        rng = self._rng(8000, 2)
        art = self._arterial[: min(len(self._arterial), n_seg)]
        n_rural = round(0.2 * (n_seg - len(art)))
        seg = np.concatenate(
            [
                art,
                self._choose(
                    rng, np.where(self.urban, self.pop_eff, 0.0), n_seg - len(art) - n_rural, True
                ),
                self._choose(rng, np.where(~self.urban, self.area_km2, 0.0), n_rural, True),
            ]
        ).astype(np.int64)
        sx, sy = self._points(
            seg, rng.random(len(seg)), rng.random(len(seg)), (_ST_POINT, 13, np.arange(len(seg)))
        )
        sf = np.where(self.urban[seg], 1.0, 0.55) * np.exp(rng.normal(0, 0.1, len(seg)))
        sf[: len(art)] *= 1.25
        self._seg = {
            "cell": seg,
            "lon": sx,
            "lat": sy,
            "factor": sf,
            "ids": np.array([f"R{i + 1:03d}" for i in range(len(seg))], dtype=object),
        }
        # businesses for the market feed (fixed points, Zipf-like popularity)
        rng = self._rng(8000, 3)
        bc = self._choose(rng, self._weights["market"], N_BUSINESSES, True).astype(np.int64)
        bx, by = self._points(
            bc, rng.random(len(bc)), rng.random(len(bc)), (_ST_POINT, 14, np.arange(len(bc)))
        )
        goods = np.array([g for _, _, g in _SECTORS])
        sec_p = np.where(goods, 0.57 / goods.sum(), 0.43 / (~goods).sum())
        self._biz = {
            "cell": bc,
            "lon": bx,
            "lat": by,
            "sector": rng.choice(len(_SECTORS), size=len(bc), p=sec_p),
            "cum": np.cumsum(p := rng.lognormal(0.0, 1.0, len(bc))) / p.sum(),
        }
        self._biz["food_sectors"] = np.array(
            [i for i, (code, _, _) in enumerate(_SECTORS) if code in ("food", "catering")]
        )
        self._biz["food"] = np.flatnonzero(np.isin(self._biz["sector"], self._biz["food_sectors"]))

    # -- points ----------------------------------------------------------------------------------

    def _points(
        self, cell: np.ndarray, ux: np.ndarray, uy: np.ndarray, key: tuple[Any, ...]
    ) -> tuple[np.ndarray, np.ndarray]:
        """Uniform points inside the cells: bounds sampling, then hashed retries for misses."""
        cell = np.asarray(cell, dtype=np.int64)
        b = self._bounds[cell]
        x = b[:, 0] + ux * (b[:, 2] - b[:, 0])
        y = b[:, 1] + uy * (b[:, 3] - b[:, 1])
        todo = np.flatnonzero(~self._is_box[cell])
        if todo.size:
            bad = todo[~shapely.contains_xy(self._geoms[cell[todo]], x[todo], y[todo])]
            attempt = 0
            while bad.size and attempt < 64:
                attempt += 1
                kp = [k[bad] if isinstance(k, np.ndarray) and k.ndim else k for k in key]
                bb = b[bad]
                nx = bb[:, 0] + _hu(self.seed, *kp, attempt, 0) * (bb[:, 2] - bb[:, 0])
                ny = bb[:, 1] + _hu(self.seed, *kp, attempt, 1) * (bb[:, 3] - bb[:, 1])
                ok = shapely.contains_xy(self._geoms[cell[bad]], nx, ny)
                x[bad[ok]], y[bad[ok]] = nx[ok], ny[ok]
                bad = bad[~ok]
            if bad.size:  # slivers: fall back to a point on the surface
                if self._rep_points is None:
                    rp = shapely.point_on_surface(self._geoms)
                    self._rep_points = np.column_stack([shapely.get_x(rp), shapely.get_y(rp)])
                x[bad], y[bad] = self._rep_points[cell[bad], 0], self._rep_points[cell[bad], 1]
        return x, y

    # -- calendar --------------------------------------------------------------------------------

    def _calendar(self, slots: np.ndarray) -> dict[str, np.ndarray]:
        utc = pd.DatetimeIndex((slots * SLOT_US).astype("datetime64[us]")).tz_localize("UTC")
        loc = utc.tz_convert(self.timezone)
        offset_h = (loc.tz_localize(None) - utc.tz_localize(None)) / pd.Timedelta(hours=1)
        return {
            "hour": np.asarray(loc.hour, dtype=np.int64),
            "dow": np.asarray(loc.day_of_week, dtype=np.int64),
            "month": np.asarray(loc.month, dtype=np.int64),
            "day": np.asarray(loc.day, dtype=np.int64),
            "doy": np.asarray(loc.day_of_year, dtype=np.int64),
            "local_h": slots + np.asarray(offset_h, dtype="float64"),
        }

    @staticmethod
    def _heating_share(month: np.ndarray, day: np.ndarray) -> np.ndarray:
        """Target share of heating in hotline volume by local date (DOMAIN.md 2.5, suggested)."""
        s = np.zeros(len(month))
        s = np.where(month == 11, 0.5 - 0.18 * (day - 1) / 29.0, s)
        s = np.where((month == 12) | (month <= 2), 0.2, s)
        s = np.where(month == 3, 0.12 - 0.07 * (day - 1) / 30.0, s)
        return s

    def _lambda(self, source: str, slots: np.ndarray, cal: dict[str, np.ndarray]) -> np.ndarray:
        """Expected events per slot and category (n_slots x n_categories)."""
        cats = CATEGORIES[source]
        lam = np.zeros((len(slots), len(cats)))
        rate = self.rates[source]
        h, dow, month = cal["hour"], cal["dow"], cal["month"]
        table = {"police": _POLICE, "market": _MARKET, "hotline": _HOTLINE, "traffic": _TRAFFIC}[
            source
        ]
        if source == "traffic":
            rate = rate / DEFAULT_RATES["traffic"]  # shares below are per-day counts at default
        for cat, (share, hp, wp) in table.items():
            j = _CAT[source][cat]
            lam[:, j] = rate * share / 24.0 * _norm(_H[hp])[h] * _norm(_WEEK[wp])[dow]
        if source == "traffic":
            winter = (month == 12) | (month <= 2)
            lam[:, _CAT[source]["accident"]] *= np.where(winter, 1.2, 1.0)  # snow and ice
            lam[:, _CAT[source]["road_hazard"]] *= np.where(winter, 1.6, 1.0)
        if source == "hotline":
            s = self._heating_share(month, cal["day"])
            base = _HOTLINE["heating"][0]
            extra = np.maximum(s - base, 0) / (1 - s)  # heating on top of the base volume
            lam[:, _CAT[source]["heating"]] += rate * extra / 24.0 * _norm(_H["heating"])[h]
        return lam

    # -- episodes --------------------------------------------------------------------------------

    def _week_episodes(self, week: int) -> list[Episode]:
        if week in self._week_cache:
            return self._week_cache[week]
        rng = self._rng(9000, week + 10_000)  # non-negative for weeks after 1778
        w0 = _EPOCH_MONDAY_US + week * WEEK_US
        mid_month = _ts(w0 + WEEK_US // 2).tz_convert(self.timezone).month
        heating = mid_month >= 11 or mid_month <= 3
        out: list[Episode] = []
        # pollution: several stations' PM2.5 raised for 1-4 days
        n = rng.poisson(_EPISODE_RATES["pollution"][0 if heating else 1])
        for _ in range(n):
            start = w0 + int(rng.integers(0, 7 * 24)) * HOUR_US
            days = 1 + int(rng.choice(4, p=_POLLUTION_DAYS_P))
            dur = days * DAY_US + int(rng.integers(-6, 7)) * HOUR_US
            factor = float(rng.uniform(2.0, 3.5))
            uc, k = rng.random(), int(rng.integers(4, 11))
            na = len(self._air["cell"])
            if na == 0:
                continue
            c = min(int(uc * na), na - 1)
            d = np.hypot(
                self._air["lon"] - self._air["lon"][c], self._air["lat"] - self._air["lat"][c]
            )
            near = np.argsort(d, kind="stable")[: min(k, na)]
            out.append(
                Episode(
                    "pollution",
                    "environment",
                    "pm25",
                    int(self.keys[self._air["cell"][c]]),
                    float(self._air["lon"][c]),
                    float(self._air["lat"][c]),
                    _ts(start),
                    _ts(start + dur),
                    round(factor, 3),
                    stations=tuple(f"AQ{i + 1:03d}" for i in sorted(near)),
                )
            )
        # traffic pile-up: burst of accidents + congestion in one cell over 1-2.5 hours
        for _ in range(rng.poisson(_EPISODE_RATES["pileup"])):
            start = w0 + int(rng.integers(0, 7 * 24 * 60)) * 60_000_000
            dur = int(rng.uniform(3600, 9000)) * 1_000_000
            factor = float(rng.uniform(3.0, 6.0))
            out.append(
                self._cell_episode(
                    ("pileup", "traffic", "accident"),
                    rng,
                    (_ST_POINT, 21, week),
                    start,
                    dur,
                    factor,
                )
            )
        # market: burst of complaints about one business over about a day
        for _ in range(rng.poisson(_EPISODE_RATES["market_burst"])):
            start = w0 + int(rng.integers(0, 7 * 24)) * HOUR_US
            dur = int(rng.uniform(12, 30) * 60) * 60_000_000
            factor = float(rng.uniform(1.0, 2.5))
            b = min(int(np.searchsorted(self._biz["cum"], rng.random())), N_BUSINESSES - 1)
            cell = int(self._biz["cell"][b])
            out.append(
                Episode(
                    "market_burst",
                    "market",
                    "complaint",
                    int(self.keys[cell]),
                    float(self._biz["lon"][b]),
                    float(self._biz["lat"][b]),
                    _ts(start),
                    _ts(start + dur),
                    round(factor, 3),
                    business=f"B{b + 1:04d}",
                )
            )
        # police: disturbance burst in one cell, late evening (local 20:00-01:00 start)
        for _ in range(rng.poisson(_EPISODE_RATES["police_burst"])):
            day = int(rng.integers(0, 7))
            local_day = _ts(w0 + day * DAY_US).tz_convert(self.timezone).normalize()
            start = _to_us(local_day) + int(rng.uniform(20.0, 25.0) * HOUR_US)
            start -= start % 60_000_000
            dur = int(rng.uniform(2, 5) * 60) * 60_000_000
            factor = float(rng.uniform(3.0, 8.0))
            out.append(
                self._cell_episode(
                    ("police_burst", "police", "public_order"),
                    rng,
                    (_ST_POINT, 22, week),
                    start,
                    dur,
                    factor,
                )
            )
        out.sort(key=lambda e: (e.start, e.kind))
        self._week_cache[week] = out
        return out

    def _cell_episode(self, what, rng, stream, start: int, dur: int, factor: float) -> Episode:
        """An episode at a random point of a cell drawn by the source's weights.

        ``what``: (kind, source, category); ``stream``: the point sampler's stream key. Draws
        from ``rng`` in a fixed order (cell, then point), so episodes stay reproducible.
        """
        kind, source, category = what
        cell = int(self._pick_cells(source, np.array([rng.random()]))[0])
        x, y = self._points(
            np.array([cell]), np.array([rng.random()]), np.array([rng.random()]), stream
        )
        return Episode(
            kind,
            source,
            category,
            int(self.keys[cell]),
            float(x[0]),
            float(y[0]),
            _ts(start),
            _ts(start + dur),
            round(factor, 3),
        )

    def _episodes_us(self, start_us: int, end_us: int) -> list[Episode]:
        if not self.with_episodes or end_us <= start_us:
            return []
        w0 = (start_us - _MAX_EPISODE_US - _EPOCH_MONDAY_US) // WEEK_US
        w1 = (end_us - _EPOCH_MONDAY_US) // WEEK_US
        out = []
        for w in range(int(w0), int(w1) + 1):
            for e in self._week_episodes(w):
                if self.rates[e.source] <= 0:
                    continue
                if _to_us(e.start) < end_us and _to_us(e.end) > start_us:
                    out.append(e)
        return out

    def episodes(self, start: Any, end: Any) -> list[Episode]:
        """The injected episodes overlapping [start, end), sorted by start."""
        return self._episodes_us(_to_us(start), _to_us(end))

    # -- generation ------------------------------------------------------------------------------

    def generate(self, source: str, start: Any, end: Any) -> pd.DataFrame:
        """Canonical event frame of ``source``: events with start <= time < end, sorted by time.

        ``start`` / ``end``: anything ``pd.Timestamp`` accepts; naive times are taken as UTC.
        """
        if source not in _SRC:
            raise ValueError(f"unknown source {source!r}; expected one of {', '.join(SOURCES)}")
        start_us, end_us = _to_us(start), _to_us(end)
        if end_us <= start_us or self.rates[source] <= 0:
            return empty_frame()
        s0, s1 = start_us // SLOT_US, -(-end_us // SLOT_US)
        if s0 < 0:
            raise ValueError("times before 1970 are not supported")
        slots = np.arange(s0, s1, dtype=np.int64)
        eps = [e for e in self._episodes_us(s0 * SLOT_US, s1 * SLOT_US) if e.source == source]
        cal = self._calendar(slots)
        parts = getattr(self, f"_gen_{source}")(slots, cal, eps)
        return self._frame(source, parts, start_us, end_us)

    def generate_all(self, start: Any, end: Any) -> dict[str, pd.DataFrame]:
        """One frame per source (all five, disabled sources give empty frames)."""
        return {s: self.generate(s, start, end) for s in SOURCES}

    def _draw(
        self, source: str, slots: np.ndarray, lam: np.ndarray, eps: list[Episode], k: int = 8
    ):
        """Counting process: per-slot RNG draws. Returns rows for the base and episode events."""
        src = _SRC[source]
        counts = np.empty(lam.shape, dtype=np.int64)
        us: list[np.ndarray] = []
        ep_rows: list[tuple[int, int, int, int, np.ndarray]] = []  # slot, ep index, t0, t1, u
        ep_slots: dict[int, list[int]] = {}
        for i, e in enumerate(eps):
            a, b = _to_us(e.start), _to_us(e.end)
            for s in range(
                max(a // SLOT_US, int(slots[0])), min((b - 1) // SLOT_US, int(slots[-1])) + 1
            ):
                ep_slots.setdefault(s, []).append(i)
        for j, s in enumerate(slots.tolist()):
            rng = np.random.default_rng([self.seed, src, s])
            counts[j] = rng.poisson(lam[j])
            us.append(rng.random((int(counts[j].sum()), k)))
            for i in ep_slots.get(s, ()):
                e = eps[i]
                t0 = max(_to_us(e.start), s * SLOT_US)
                t1 = min(_to_us(e.end), (s + 1) * SLOT_US)
                m = rng.poisson(e.factor * (t1 - t0) / HOUR_US)
                ep_rows.append((s, i, t0, t1, rng.random((m, k))))
        n_slot = counts.sum(axis=1)
        u = np.concatenate(us) if us else np.empty((0, k))
        slot = np.repeat(slots, n_slot)
        cat = np.repeat(np.tile(np.arange(lam.shape[1]), len(slots)), counts.ravel())
        t = slot * SLOT_US + (u[:, 0] * SLOT_US).astype(np.int64)
        first = np.repeat(np.cumsum(n_slot) - n_slot, n_slot)
        gen = np.arange(len(slot)) - first
        ep = np.full(len(slot), -1, dtype=np.int64)
        if ep_rows:
            e_u = np.concatenate([r[4] for r in ep_rows])
            sizes = np.array([len(r[4]) for r in ep_rows])
            e_slot = np.repeat([r[0] for r in ep_rows], sizes).astype(np.int64)
            e_idx = np.repeat([r[1] for r in ep_rows], sizes).astype(np.int64)
            t0 = np.repeat([r[2] for r in ep_rows], sizes).astype(np.int64)
            t1 = np.repeat([r[3] for r in ep_rows], sizes).astype(np.int64)
            e_cat = np.array([_CAT[source][eps[i].category] for i in e_idx], dtype=np.int64)
            e_gen = 1_000_000_000 + np.arange(len(e_slot))
            u = np.concatenate([u, e_u])
            slot = np.concatenate([slot, e_slot])
            cat = np.concatenate([cat, e_cat])
            t = np.concatenate([t, t0 + (e_u[:, 0] * (t1 - t0)).astype(np.int64)])
            gen = np.concatenate([gen, e_gen])
            ep = np.concatenate([ep, e_idx])
        return {"slot": slot, "time": t, "cat": cat, "u": u, "gen": gen, "ep": ep}

    def _cells_for(self, source: str, d: dict[str, np.ndarray], eps: list[Episode]) -> np.ndarray:
        cell = self._pick_cells(source, d["u"][:, 1])
        if len(eps) and (d["ep"] >= 0).any():
            key_to_idx = {int(k): i for i, k in enumerate(self.keys)}
            ep_cell = np.array([key_to_idx[e.cell_key] for e in eps], dtype=np.int64)
            m = d["ep"] >= 0
            cell[m] = ep_cell[d["ep"][m]]
        return cell

    def _gen_police(self, slots, cal, eps):
        d = self._draw("police", slots, self._lambda("police", slots, cal), eps)
        cats = CATEGORIES["police"]
        sub_cum = _cum_table([[p for _, _, p in _SUBTYPES["police"][c]] for c in cats])
        sev_cum = _cum_table([_POLICE_SEV[c] for c in cats])
        u, cat = d["u"], d["cat"]
        cell = self._cells_for("police", d, eps)
        lon, lat = self._points(
            cell, u[:, 2], u[:, 3], (_ST_POINT, _SRC["police"], d["slot"], d["gen"])
        )
        sub = _pick(sub_cum, cat, u[:, 4])
        sev = _pick(sev_cum, cat, u[:, 5]) + 1
        sev = np.where(d["ep"] >= 0, np.maximum(sev, 2), sev)
        code = cat * 16 + sub

        def text(c: int) -> str:
            return _SUBTYPES["police"][cats[c // 16]][c % 16][1]

        def attrs(c: int) -> str:
            return _dumps({"subtype": _SUBTYPES["police"][cats[c // 16]][c % 16][0]})

        return (
            d["slot"],
            d["time"],
            lon,
            lat,
            cat,
            sev,
            None,
            _render(code, text),
            _render(code, attrs),
        )

    def _gen_market(self, slots, cal, eps):
        d = self._draw("market", slots, self._lambda("market", slots, cal), eps)
        cats = CATEGORIES["market"]
        u, cat, ep = d["u"], d["cat"], d["ep"]
        biz = np.minimum(np.searchsorted(self._biz["cum"], u[:, 1]), N_BUSINESSES - 1)
        # food-safety sampling only at food shops and restaurants
        food_biz = self._biz["food"]
        sampling = cat == _CAT["market"]["food_safety"]
        if len(food_biz) and sampling.any():
            biz[sampling] = food_biz[(u[sampling, 1] * len(food_biz)).astype(np.int64)]
        if (ep >= 0).any():
            ep_biz = np.array([int(e.business[1:]) - 1 if e.business else 0 for e in eps])
            biz[ep >= 0] = ep_biz[ep[ep >= 0]]
        cell = self._biz["cell"][biz]
        lon, lat = self._points(
            cell, u[:, 2], u[:, 3], (_ST_POINT, _SRC["market"], d["slot"], d["gen"])
        )
        at_business = cat != _CAT["market"]["enquiry"]
        lon = np.where(at_business, self._biz["lon"][biz], lon)
        lat = np.where(at_business, self._biz["lat"][biz], lat)
        sub_cum = _cum_table([[p for _, _, p in _SUBTYPES["market"][c]] for c in cats])
        sub = _pick(sub_cum, cat, u[:, 4])
        # food-safety violations are reported against food businesses; others: consumer rights
        not_food = ~np.isin(self._biz["sector"][biz], self._biz["food_sectors"])
        sub = np.where((cat == _CAT["market"]["violation_report"]) & (sub == 0) & not_food, 1, sub)
        fail_p = np.where(
            cat == _CAT["market"]["food_safety"], _FOOD_FAIL_RATE, _INSPECTION_PROBLEM_RATE
        )
        bad = (u[:, 5] < fail_p) & (cat >= _CAT["market"]["inspection"])
        sev = np.select(
            [
                cat == _CAT["market"]["complaint"],
                cat == _CAT["market"]["violation_report"],
                bad,
                cat == _CAT["market"]["food_safety"],
            ],
            [
                np.where((u[:, 6] < 0.1) | (ep >= 0), 3, 2),
                3,
                np.where(cat == _CAT["market"]["food_safety"], 4, 3),
                1,
            ],
            1,
        )
        sector = self._biz["sector"][biz]
        nb = N_BUSINESSES + 1
        bcode = np.where(at_business, biz + 1, 0)
        code = ((cat * 8 + sub) * 2 + bad) * nb + bcode
        tcode = ((cat * 8 + sub) * 2 + bad) * 16 + np.where(at_business, sector + 1, 0)

        def parts(c: int, radix: int) -> tuple[str, str, int, int]:
            rest, b = divmod(c, radix)
            rest, flag = divmod(rest, 2)
            ci, si = divmod(rest, 8)
            return cats[ci], _SUBTYPES["market"][cats[ci]][si], flag, b

        def attrs(c: int) -> str:
            cat_, (scode, _, _), flag, b = parts(c, nb)
            out: dict[str, Any] = {}
            if b:
                out["business"] = f"B{b:04d}"
                out["sector"] = _SECTORS[int(self._biz["sector"][b - 1])][0]
            if cat_ in ("complaint", "violation_report"):
                out["issue"] = scode
            elif cat_ == "enquiry":
                out["topic"] = scode
            elif cat_ == "inspection":
                out["result"] = "problem" if flag else "ok"
            else:
                out["result"] = "fail" if flag else "pass"
            return _dumps(out)

        def text(c: int) -> str:
            cat_, (_, zh, _), flag, s = parts(c, 16)
            sec = _SECTORS[s - 1][1] if s else ""
            if cat_ == "complaint":
                return f"消费者投诉{sec}商户：{zh}"
            if cat_ == "violation_report":
                return f"举报{sec}商户{zh}"
            if cat_ == "enquiry":
                return f"12315{zh}"
            if cat_ == "inspection":
                return f"{sec}商户{zh}：{'发现问题' if flag else '未发现问题'}"
            return f"{sec}{zh}：{'不合格' if flag else '合格'}"

        return (
            d["slot"],
            d["time"],
            lon,
            lat,
            cat,
            sev,
            None,
            _render(tcode, text),
            _render(code, attrs),
        )

    def _gen_hotline(self, slots, cal, eps):
        d = self._draw("hotline", slots, self._lambda("hotline", slots, cal), eps)
        cats = CATEGORIES["hotline"]
        u, cat = d["u"], d["cat"]
        cell = self._cells_for("hotline", d, eps)
        lon, lat = self._points(
            cell, u[:, 2], u[:, 3], (_ST_POINT, _SRC["hotline"], d["slot"], d["gen"])
        )
        sub = _pick(
            _cum_table([[p for _, _, p in _SUBTYPES["hotline"][c]] for c in cats]), cat, u[:, 4]
        )
        heat = _CAT["hotline"]["heating"]
        typ = _pick(
            _cum_table([_HOTLINE_TYPE_P, _HEATING_TYPE_P]), (cat == heat).astype(np.int64), u[:, 5]
        )
        chan = _pick(_cum_table([_HOTLINE_CHANNEL_P]), np.zeros(len(cat), dtype=np.int64), u[:, 6])
        dispatched = u[:, 7] < np.where(cat == heat, 0.6, 0.4)
        esc_p = np.array([_HOTLINE_ESCALATE.get(c, 0.05) for c in cats])[cat]
        escalate = ((u[:, 7] * 1024.0) % 1.0) < esc_p
        sev = np.where(typ % 2 == 1, 2, 1) + escalate  # help / complaint start at 2
        code = (((cat * 8 + sub) * 4 + typ) * 4 + chan) * 2 + dispatched

        def attrs(c: int) -> str:
            rest, disp = divmod(c, 2)
            rest, ch = divmod(rest, 4)
            rest, ty = divmod(rest, 4)
            ci, si = divmod(rest, 8)
            return _dumps(
                {
                    "type": _HOTLINE_TYPES[ty],
                    "subtype": _SUBTYPES["hotline"][cats[ci]][si][0],
                    "channel": _HOTLINE_CHANNELS[ch],
                    "dispatched": bool(disp),
                }
            )

        def text(c: int) -> str:
            ci, rest = divmod(c, 32)
            si, ty = divmod(rest, 4)
            return f"{_HOTLINE_TYPES_ZH[ty]}：{_SUBTYPES['hotline'][cats[ci]][si][1]}"

        tcode = (cat * 8 + sub) * 4 + typ
        return (
            d["slot"],
            d["time"],
            lon,
            lat,
            cat,
            sev,
            None,
            _render(tcode, text),
            _render(code, attrs),
        )

    def _gen_traffic(self, slots, cal, eps):
        cats = CATEGORIES["traffic"]
        C = _CAT["traffic"]
        d = self._draw("traffic", slots, self._lambda("traffic", slots, cal), eps)
        u, cat, ep = d["u"], d["cat"], d["ep"]
        cell = self._cells_for("traffic", d, eps)
        lon, lat = self._points(
            cell, u[:, 2], u[:, 3], (_ST_POINT, _SRC["traffic"], d["slot"], d["gen"])
        )
        sub = _pick(
            _cum_table([[p for _, _, p in _SUBTYPES["traffic"][c]] for c in cats]), cat, u[:, 4]
        )
        # accidents: vehicles and injuries, heavier for pile-ups
        pile = ep >= 0
        veh = np.where(
            pile,
            3 + (u[:, 5] * 4).astype(np.int64),
            _pick(_cum_table([[0.15, 0.7, 0.1, 0.05]]), np.zeros(len(cat), np.int64), u[:, 5]) + 1,
        )
        inj = _pick(
            _cum_table([[0.72, 0.18, 0.06, 0.025, 0.015], [0.4, 0.3, 0.15, 0.1, 0.05]]),
            pile.astype(np.int64),
            u[:, 6],
        )
        acc_sev = np.select([inj >= 4, inj >= 2, inj == 1, veh >= 3], [5, 4, 3, 2], 1)
        other_sev = np.where(
            cat == C["road_hazard"], 2 + (u[:, 5] < 0.3), np.where(sub == 3, 2, 1)
        )  # wrong-way driving is 2
        sev = np.where(cat == C["accident"], acc_sev, other_sev)
        is_acc = cat == C["accident"]
        code = np.where(is_acc, 1000 + veh * 10 + inj, cat * 8 + sub)

        def attrs(c: int) -> str:
            if c >= 1000:
                v, i = divmod(c - 1000, 10)
                return _dumps({"injured": i, "vehicles": v})
            ci, si = divmod(c, 8)
            return _dumps({"subtype": _SUBTYPES["traffic"][cats[ci]][si][0]})

        def text(c: int) -> str:
            if c >= 1000:
                v, i = divmod(c - 1000, 10)
                vz = {1: "单车", 2: "两车", 3: "三车"}.get(v, "多车追尾")
                return f"{vz}事故，{f'{i}人受伤' if i else '无人员受伤'}"
            ci, si = divmod(c, 8)
            return _SUBTYPES["traffic"][cats[ci]][si][1]

        cols = [
            d["slot"],
            d["time"],
            lon,
            lat,
            cat,
            sev,
            np.full(len(cat), np.nan),
            _render(code, text),
            _render(code, attrs),
        ]
        # congestion readings: every segment every 30 minutes
        seg = self._seg
        ns = len(seg["cell"])
        if ns:
            half = np.arange(2)
            S, G, Hh = np.meshgrid(slots, np.arange(ns), half, indexing="ij")
            S, G, Hh = S.ravel(), G.ravel(), Hh.ravel()
            j = np.repeat(np.arange(len(slots)), ns * 2)
            offset = (_hu(self.seed, _ST_OFFSET, 3, G) * 60_000_000).astype(np.int64)
            t = S * SLOT_US + Hh * (SLOT_US // 2) + offset
            hour = cal["hour"][j] + 0.5 * Hh
            weekend = cal["dow"][j] >= 5
            prof_wd = np.interp(hour, np.arange(25), _TPI_WEEKDAY + _TPI_WEEKDAY[:1])
            prof_we = np.interp(hour, np.arange(25), _TPI_WEEKEND + _TPI_WEEKEND[:1])
            day = np.floor(cal["local_h"][j] / 24).astype(np.int64)
            v = (
                np.where(weekend, prof_we, prof_wd)
                * seg["factor"][G]
                * np.exp(0.08 * _hn(self.seed, _ST_TPIDAY, day))
                * np.exp(0.12 * _hn(self.seed, _ST_TPI, S * 2 + Hh, G))
            )
            for e in eps:  # pile-up: segments in the cell jam
                m = self.keys[seg["cell"][G]] == e.cell_key
                m &= (t >= _to_us(e.start)) & (t < _to_us(e.end))
                v = np.where(m, v + 4.0, v)
            v = np.round(np.clip(v, 0.0, 10.0), 1)
            tcode = G
            cols = self._concat(
                cols,
                [
                    S,
                    t,
                    seg["lon"][G],
                    seg["lat"][G],
                    np.full(len(S), C["congestion"]),
                    self._tpi_sev(v),
                    v,
                    _render(tcode, lambda g: f"路段{seg['ids'][g]}拥堵指数"),
                    _render(tcode, lambda g: _dumps({"segment": seg["ids"][g]})),
                ],
            )
        # pile-up: detector at the scene every 10 minutes, severe congestion
        t_list, e_list = [], []
        for i, e in enumerate(eps):
            a, b = _to_us(e.start), _to_us(e.end)
            tt = np.arange(a, b, 600_000_000, dtype=np.int64)
            tt = tt[(tt >= slots[0] * SLOT_US) & (tt < (slots[-1] + 1) * SLOT_US)]
            t_list.append(tt)
            e_list.append(np.full(len(tt), i))
        if t_list and sum(len(x) for x in t_list):
            tt, ei = np.concatenate(t_list), np.concatenate(e_list)
            v = np.round(8.0 + 1.8 * _hu(self.seed, _ST_EPTPI, tt // 1_000_000), 1)
            elon = np.array([e.lon for e in eps])[ei]
            elat = np.array([e.lat for e in eps])[ei]
            cols = self._concat(
                cols,
                [
                    tt // SLOT_US,
                    tt,
                    elon,
                    elat,
                    np.full(len(tt), C["congestion"]),
                    self._tpi_sev(v),
                    v,
                    np.full(len(tt), "事故现场严重拥堵", dtype=object),
                    np.full(len(tt), _dumps({"segment": "incident"}), dtype=object),
                ],
            )
        return tuple(cols)

    @staticmethod
    def _tpi_sev(v: np.ndarray) -> np.ndarray:
        return np.minimum(np.floor(v / 2.0).astype(np.int64) + 1, 5)

    @staticmethod
    def _concat(a: list, b: list) -> list:
        return [np.concatenate([x, y]) for x, y in zip(a, b, strict=True)]

    def _pm_level(self, local_h: np.ndarray) -> np.ndarray:
        """City-wide log PM level (unit variance, multi-day persistence), smooth in time."""
        day = np.floor(local_h / 24.0).astype(np.int64)
        frac = (local_h - day * 24.0) / 24.0
        days = np.unique(np.concatenate([day, day + 1]))
        lo = days.min() - 2
        zz = _hn(self.seed, _ST_PMDAY, np.arange(lo, days.max() + 1))
        z = (zz[2:] + 0.7 * zz[1:-1] + 0.4 * zz[:-2]) / math.sqrt(1 + 0.49 + 0.16)  # index d-lo-2
        a, b = z[day - lo - 2], z[day + 1 - lo - 2]
        rho = (0.7 + 0.7 * 0.4) / (1 + 0.49 + 0.16)  # lag-1 correlation of z
        return ((1 - frac) * a + frac * b) / np.sqrt(
            (1 - frac) ** 2 + frac**2 + 2 * rho * frac * (1 - frac)
        )

    def _gen_environment(self, slots, cal, eps):
        air, wat = self._air, self._water
        na, nw = len(air["cell"]), len(wat["cell"])
        cols: list | None = None
        month_anchor = np.array([15.5 + 30.4 * i for i in range(-1, 13)])

        def seasonal(tbl: list[float]) -> np.ndarray:
            vals = np.array([tbl[-1], *tbl, tbl[0]], dtype="float64")
            return np.interp(cal["doy"], month_anchor, vals)

        if na:
            ns = len(slots)
            S = np.repeat(slots, na)
            st = np.tile(np.arange(na), ns)
            j = np.repeat(np.arange(ns), na)
            hour = cal["hour"][j]
            heating = np.isin(cal["month"][j], (11, 12, 1, 2, 3))
            sigma = np.where(heating, 0.75, 0.6)
            level = self._pm_level(cal["local_h"])[j]
            n = [_hn(self.seed, _ST_AIR, S, st, k) for k in range(4)]
            pm25 = (
                seasonal(_PM25_MONTH)[j]
                * np.exp(sigma * level - sigma**2 / 2)
                * _norm(_H["pm25"])[hour]
                * air["factor"][st]
                * np.exp(0.15 * n[0] - 0.011)
            )
            for e in eps:  # pollution episodes: trapezoid with 6-hour ramps
                a, b = _to_us(e.start), _to_us(e.end)
                t = S * SLOT_US
                ramp = np.clip(np.minimum(t - a, b - t) / (6 * HOUR_US), 0.0, 1.0)
                hit = np.isin(st, [int(s[2:]) - 1 for s in e.stations])
                pm25 = pm25 * np.where(hit, 1 + (e.factor - 1) * ramp, 1.0)
            pm25 = np.round(np.clip(pm25, 2.0, 900.0))
            pm10 = np.round(
                np.clip(pm25 * seasonal(_PM_COARSE)[j] * np.exp(0.1 * n[1]), pm25 + 1, 1200.0)
            )
            urban = air["urban"][st]
            no2 = np.round(
                np.clip(
                    seasonal(_NO2_MONTH)[j]
                    * np.exp(0.4 * level)
                    * _norm(_H["no2"])[hour]
                    * np.where(urban, 1.2, 0.6)
                    * np.exp(0.2 * n[2]),
                    1.0,
                    1000.0,
                )
            )
            o3 = np.round(
                np.clip(
                    seasonal(_O3_MONTH)[j]
                    * np.exp(-0.15 * level)
                    * _norm(_H["o3"])[hour]
                    * np.where(urban, 0.9, 1.05)
                    * np.exp(0.15 * n[3]),
                    1.0,
                    1000.0,
                )
            )
            ia = np.stack(
                [iaqi("pm25", pm25), iaqi("pm10", pm10), iaqi("no2", no2), iaqi("o3", o3)]
            )
            a_val = np.ceil(np.round(ia.max(axis=0), 6))
            primary = np.where(a_val > 50, ia.argmax(axis=0), -1)
            offset = (_hu(self.seed, _ST_OFFSET, 1, st) * 300_000_000).astype(np.int64)
            t = S * SLOT_US + offset
            vals = [pm25, pm10, no2, o3, a_val]
            lv = [aqi_level(x) for x in (*ia, a_val)]
            k = len(AIR_POLLUTANTS)
            # interleave: per (slot, station) the five readings in AIR_POLLUTANTS order
            value = np.stack(vals, axis=1).ravel()
            level_ = np.stack(lv, axis=1).ravel()
            pidx = np.tile(np.arange(k), len(S))
            st_r = np.repeat(st, k)
            prim_r = np.repeat(primary, k)
            cat = np.array([_CAT["environment"][p] for p in AIR_POLLUTANTS])[pidx]
            code = ((st_r * k + pidx) * 7 + level_) * 5 + np.where(pidx == k - 1, prim_r + 1, 0)
            names = list(self.stations["station"])
            units = {"aqi": None, "pm25": "ug/m3", "pm10": "ug/m3", "no2": "ug/m3", "o3": "ug/m3"}
            labels = {"aqi": "AQI", "pm25": "PM2.5", "pm10": "PM10", "no2": "NO2", "o3": "O3"}
            prim_names = ("pm25", "pm10", "no2", "o3")

            def attrs(c: int) -> str:
                rest, pr = divmod(c, 5)
                rest, lvl = divmod(rest, 7)
                s, p = divmod(rest, k)
                pol = AIR_POLLUTANTS[p]
                out: dict[str, Any] = {"station": names[s]}
                if pol == "aqi":
                    out["level"] = lvl
                    out["primary"] = prim_names[pr - 1] if pr else None
                else:
                    out["unit"] = units[pol]
                return _dumps(out)

            def text(c: int) -> str:
                s, p = divmod(c, k)
                return f"空气自动监测站{names[s]} {labels[AIR_POLLUTANTS[p]]}"

            cols = [
                np.repeat(S, k),
                np.repeat(t, k),
                air["lon"][st_r],
                air["lat"][st_r],
                cat,
                np.clip(level_, 1, 5),
                value,
                _render(st_r * k + pidx, text),
                _render(code, attrs),
            ]
        if nw:
            sel = np.flatnonzero(cal["hour"] % WATER_EVERY_H == 0)
            if len(sel):
                S = np.repeat(slots[sel], nw * 4)
                site = np.tile(np.repeat(np.arange(nw), 4), len(sel))
                par = np.tile(np.arange(4), len(sel) * nw)
                j = np.repeat(sel, nw * 4)
                summer = np.cos(2 * np.pi * (cal["doy"][j] - 200) / 365.0)  # 1 in July
                f = wat["factor"][site]
                nz = _hn(self.seed, _ST_WATER, S, site, par)
                val = np.select(
                    [par == 0, par == 1, par == 2],
                    [
                        np.clip(8.2 - 1.6 * summer - 1.2 * (f - 1) + 0.5 * nz, 1.0, 14.0),
                        4.2 * f * np.exp(0.18 * nz),
                        (0.55 + 0.25 * (1 - summer) / 2) * f * np.exp(0.3 * nz),
                    ],
                    0.14 * f * np.exp(0.25 * nz),
                )
                val = np.round(val, 3)
                cls = self._water_class(par, val)
                offset = (_hu(self.seed, _ST_OFFSET, 2, site) * 300_000_000).astype(np.int64)
                t = S * SLOT_US + offset
                wcat = np.array([_CAT["environment"][p] for p in WATER_PARAMS])[par]
                wnames = list(self.stations["station"][na:])
                code = (site * 4 + par) * 6 + cls
                roman = ("I", "II", "III", "IV", "V", "劣V")
                zh = ("溶解氧", "高锰酸盐指数", "氨氮", "总磷")

                def wattrs(c: int) -> str:
                    rest, cl = divmod(c, 6)
                    s, _ = divmod(rest, 4)
                    return _dumps({"station": wnames[s], "unit": "mg/L", "class": roman[cl]})

                def wtext(c: int) -> str:
                    s, p = divmod(c, 4)
                    return f"水质自动监测站{wnames[s]} {zh[p]}"

                wcols = [
                    S,
                    t,
                    wat["lon"][site],
                    wat["lat"][site],
                    wcat,
                    np.array([1, 1, 2, 3, 4, 5])[cls],
                    val,
                    _render(site * 4 + par, wtext),
                    _render(code, wattrs),
                ]
                cols = wcols if cols is None else self._concat(cols, wcols)
        if cols is None:
            e = np.empty(0)
            return (
                e.astype(np.int64),
                e.astype(np.int64),
                e,
                e,
                e.astype(np.int64),
                e.astype(np.int64),
                e,
                e.astype(object),
                e.astype(object),
            )
        return tuple(cols)

    @staticmethod
    def _water_class(par: np.ndarray, val: np.ndarray) -> np.ndarray:
        """GB 3838-2002 class index 0..5 (I..V, 劣V) for each parameter value."""
        do_lim = np.array([7.5, 6, 5, 3, 2])  # DO: higher is better
        lim = {1: [2, 4, 6, 10, 15], 2: [0.15, 0.5, 1.0, 1.5, 2.0], 3: [0.02, 0.1, 0.2, 0.3, 0.4]}
        out = np.zeros(len(par), dtype=np.int64)
        m = par == 0
        out[m] = (val[m][:, None] < do_lim).sum(axis=1)
        for p, lv in lim.items():
            m = par == p
            out[m] = np.searchsorted(np.array(lv, dtype="float64"), val[m], side="left")
        return out

    def _frame(self, source: str, parts: tuple, start_us: int, end_us: int) -> pd.DataFrame:
        slot, t, lon, lat, cat, sev, value, text, attrs = parts
        n = len(t)
        if n == 0:
            return empty_frame()
        order = np.argsort(t, kind="stable")
        slot, t = slot[order], t[order]
        rank = np.arange(n) - np.searchsorted(slot, slot, side="left")
        sel = (t >= start_us) & (t < end_us)
        keep = order[sel]
        slot_k, rank_k = slot[sel], rank[sel]
        ids = np.empty(len(keep), dtype=object)
        ids[:] = [
            f"{source}-{s}-{r}" for s, r in zip(slot_k.tolist(), rank_k.tolist(), strict=True)
        ]
        cats = np.asarray(CATEGORIES[source], dtype=object)
        out = pd.DataFrame(
            {
                "id": pd.Series(ids, dtype=object),
                "time": pd.Series(t[sel].astype("datetime64[us]")).dt.tz_localize("UTC"),
                "lon": pd.Series(np.asarray(lon, dtype="float64")[keep]),
                "lat": pd.Series(np.asarray(lat, dtype="float64")[keep]),
                "category": pd.Series(cats[np.asarray(cat)[keep]], dtype=object),
                "severity": pd.array(np.asarray(sev, dtype=np.int64)[keep], dtype="Int64"),
                "value": pd.Series(
                    np.full(len(keep), np.nan)
                    if value is None
                    else np.asarray(value, dtype="float64")[keep]
                ),
                "text": pd.Series(text[keep], dtype=object),
                "attributes": pd.Series(attrs[keep], dtype=object),
            }
        )
        return out


# --- the live feed ------------------------------------------------------------------------------


def _utc_now() -> pd.Timestamp:
    return pd.Timestamp.now(tz="UTC")


class SimulatorFeed(Periodic):
    """Live feed: a daemon thread that emits, every ``interval_s``, each source's new events.

    At each tick it takes ``now`` (simulated time: the start time plus ``speed`` x the elapsed
    ``clock()`` time), generates for every enabled source the events with last_tick < time <= now
    and calls ``sink(source, frame)`` when there are any.
    A sink exception is counted in ``stats`` and does not stop the feed.
    """

    thread_name = "simulator-feed"

    def __init__(
        self,
        simulator: Simulator,
        sink: Callable[[str, pd.DataFrame], object],
        *,
        interval_s: float = 2.0,
        speed: float = 1.0,
        clock: Callable[[], Any] | None = None,
    ) -> None:
        if interval_s <= 0 or speed <= 0:
            raise ValueError("interval_s and speed must be > 0")
        super().__init__()
        self.simulator = simulator
        self.sink = sink
        self.interval_s = float(interval_s)
        self.speed = float(speed)
        self.clock = clock or _utc_now
        self._lock = threading.Lock()
        self._t0_clock: pd.Timestamp | None = None
        self._last: pd.Timestamp | None = None
        self.started_at: pd.Timestamp | None = None  # simulated time of start()
        self._stats = {
            s: {"events": 0, "batches": 0, "errors": 0, "last_tick": None, "last_error": None}
            for s in SOURCES
        }

    def _clock(self) -> pd.Timestamp:
        t = pd.Timestamp(self.clock())
        return t.tz_localize("UTC") if t.tzinfo is None else t.tz_convert("UTC")

    def sim_now(self) -> pd.Timestamp:
        """Current simulated time."""
        now = self._clock()
        if self._t0_clock is None or self.speed == 1.0:
            return now
        return self._t0_clock + (now - self._t0_clock) * self.speed

    def tick(self) -> dict[str, int]:
        """Emit the events of (last tick, now]; returns the counts per source (thread's step)."""
        now = self.sim_now()
        if self._last is None:
            self._last = now
            return {}
        counts: dict[str, int] = {}
        if now <= self._last:
            return counts
        a, b = self._last + pd.Timedelta(microseconds=1), now + pd.Timedelta(microseconds=1)
        for src in SOURCES:
            if self.simulator.rates.get(src, 0) <= 0:
                continue
            st = self._stats[src]
            try:
                frame = self.simulator.generate(src, a, b)
                # an empty batch still tells the store the feed is alive (feed health)
                self.sink(src, frame)
                counts[src] = len(frame)
                with self._lock:
                    st["events"] += len(frame)
                    st["batches"] += 1 if len(frame) else 0
                    st["last_tick"] = now
            except Exception as exc:  # noqa: BLE001  (a failing sink must not kill the feed)
                with self._lock:
                    st["errors"] += 1
                    st["last_error"] = f"{type(exc).__name__}: {exc}"
                    st["last_tick"] = now
        self._last = now
        return counts

    def step(self) -> None:
        self.tick()

    def before_start(self) -> None:
        # no backfill: the first tick emits the events after the start time
        now = self._clock()
        self._t0_clock = now
        self._last = self.started_at = now

    @property
    def stats(self) -> dict[str, dict[str, Any]]:
        with self._lock:
            return {s: dict(v) for s, v in self._stats.items()}
