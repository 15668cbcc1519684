"""Parameters of the simulator: time slots, volumes, default rates, hour / week / month profiles,
category shares, severity and type probabilities, business counts and episode rates.

Sources: docs/DOMAIN.md sections 1-2 (cited per line below).
"""

from __future__ import annotations

import numpy as np

from data.events import CATEGORIES, SOURCES

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
    # ~500 valid 110 incidents a day (docs/DOMAIN.md 2.1)
    "police": 500.0,
    # 240 accidents / hazards / violations + 20 segments x 48 congestion readings
    "traffic": sum(TRAFFIC_POISSON.values()) + _TRAFFIC_CONG,
    # 40 air stations x 24 h x (pm25, pm10, no2, o3, aqi) + 4 water sites x 6 x 4 parameters
    "environment": float(_ENV_AIR + _ENV_WATER),
    # 12315 items: 150-250 a day (docs/DOMAIN.md 2.4)
    "market": 200.0,
    # 12345 contacts: 1,500-2,500 a day outside the heating season (docs/DOMAIN.md 2.5)
    "hotline": 2000.0,
}

# --- profiles (local hour 0..23, relative; normalised to mean 1 below) --------------------------

# fmt: off
_H = {
    # police (docs/DOMAIN.md 2.1: public order at 20:00-02:00 at 6-9 %/h, <= 1 %/h at 06-10)
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
    # traffic (docs/DOMAIN.md 2.2: accidents peak 14-18 at 6-7 %/h, 03-05 at ~1.7 %/h)
    "accident": [2.5, 2, 1.9, 1.7, 1.7, 2, 3, 4.5, 5.5, 5, 4.8, 5, 5.5, 5.8, 6.2, 6.5, 7, 6.8, 6, 5,
        4.3, 3.8, 3.3, 2.8],
    "road_hazard": [2, 2, 2, 2, 2, 2.5, 3.5, 5, 5.5, 5.5, 5.5, 5, 5, 5, 5, 5, 5, 5, 4.5, 4, 3.5, 3,
        2.5, 2],
    "violation": [0.5, 0.4, 0.3, 0.3, 0.3, 0.5, 2, 6, 8, 7, 7, 6.5, 6, 6, 6.5, 6.5, 7, 7.5, 6, 4,
        2.5, 1.5, 1, 0.7],
    # hotline (busiest 09-11, low at night; docs/DOMAIN.md 2.5)
    "hotline": [0.3, 0.2, 0.15, 0.12, 0.12, 0.2, 0.5, 1.5, 4.5, 8.5, 9, 8.2, 5, 5.5, 7, 7, 6.5, 5.5,
        4, 3.2, 2.6, 2, 1.3, 0.7],
    "heating": [0.6, 0.4, 0.3, 0.3, 0.3, 0.5, 1.5, 3.5, 6.5, 8, 8, 7, 5, 5, 5.5, 5.5, 5.5, 5.5, 5.5,
        5.5, 5, 4.5, 3, 1.5],
    # market: working hours (08:30-17:30, lunch dip), online submissions at night
    "market": [0.2, 0.1, 0.1, 0.1, 0.1, 0.1, 0.3, 1, 5, 9, 9.5, 8, 4, 6.5, 9, 9, 8.5, 5, 1.5, 1,
        0.8, 0.6, 0.4, 0.3],
    "office": [0, 0, 0, 0, 0, 0, 0, 0, 4, 9, 9.5, 8, 2, 6, 9, 9, 8, 2, 0, 0, 0, 0, 0, 0],
    # environment: PM2.5 / NO2 peak 20-23, O3 peaks 14-17 (docs/DOMAIN.md 2.3)
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
# monthly means (µg/m³ / relative), mid-month anchors; PM2.5 53 (Aug) .. 105 (Dec), docs/DOMAIN.md 2.3
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

_POLICE_SEV = {  # P(severity 1..5)
    "criminal": [0, 0.2, 0.55, 0.2, 0.05],
    "public_order": [0.1, 0.5, 0.3, 0.08, 0.02],
    "traffic": [0.2, 0.5, 0.25, 0.05, 0],
    "dispute": [0.35, 0.5, 0.13, 0.02, 0],
    "assistance": [0.4, 0.4, 0.15, 0.05, 0],
    "fire_disaster": [0, 0.1, 0.4, 0.35, 0.15],
    "other": [0.7, 0.25, 0.05, 0, 0],
}
_HOTLINE_TYPE_P = [0.50, 0.30, 0.15, 0.05]  # docs/DOMAIN.md 2.5 (other 3 % folded into consult)
_HEATING_TYPE_P = [0.25, 0.60, 0.05, 0.10]
_HOTLINE_CHANNEL_P = [0.70, 0.15, 0.10, 0.05]
_HOTLINE_ESCALATE = {"heating": 0.2, "utilities": 0.2, "labour": 0.15}
N_BUSINESSES = 1500
_FOOD_FAIL_RATE = 0.0286  # SAMR 2022 sampling (docs/DOMAIN.md 2.4)
_INSPECTION_PROBLEM_RATE = 0.10

# episodes: expected number per week city-wide
_EPISODE_RATES = {"pollution": (0.8, 0.15), "pileup": 1.0, "market_burst": 0.6, "police_burst": 1.0}
_POLLUTION_DAYS_P = [0.38, 0.35, 0.18, 0.09]  # 1..4 days (84 Beijing episodes, docs/DOMAIN.md 2.3)
_MAX_EPISODE_US = 5 * DAY_US
