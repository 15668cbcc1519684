"""The catalogue of event sources and their categories: plain values, no store.

Screens import these names to label and order things; :mod:`data.events` defines what a valid
event is in terms of them. Codes are stable identifiers; display names live in the translation
tables.
"""

from __future__ import annotations

import re

SOURCES: tuple[str, ...] = ("police", "traffic", "environment", "market", "hotline")

# Categories per source. Codes are stable identifiers; display names live in the translation tables.
CATEGORIES: dict[str, tuple[str, ...]] = {
    # 110 incidents (docs/DOMAIN.md 2.1)
    "police": (
        "criminal",
        "public_order",
        "traffic",
        "dispute",
        "assistance",
        "fire_disaster",
        "other",
    ),
    # accidents carry injuries in attributes; congestion readings carry the 0-10 index in value
    "traffic": ("accident", "congestion", "road_hazard", "violation"),
    # sensor readings: value is the measurement (AQI index, ug/m3, mg/m3, mg/L, dB)
    "environment": (
        "aqi",
        "pm25",
        "pm10",
        "so2",
        "no2",
        "co",
        "o3",
        "water_do",
        "water_codmn",
        "water_nh3n",
        "water_tp",
        "noise",
    ),
    # market supervision / 12315 (docs/DOMAIN.md 2.4)
    "market": ("complaint", "violation_report", "enquiry", "inspection", "food_safety"),
    # 12345 citizen hotline subjects (docs/DOMAIN.md 2.5); the request type goes to attributes.type
    "hotline": (
        "heating",
        "utilities",
        "property",
        "traffic",
        "noise",
        "labour",
        "illegal_construction",
        "city_appearance",
        "consumer",
        "education",
        "health",
        "other",
    ),
}

# Metrics the wall can colour the map by: every event, one source, or the combined risk index.
WALL_METRICS: tuple[str, ...] = ("all", *SOURCES, "risk")

# The wall's time windows (rolling, ending now) and the levels its map can colour.
WALL_WINDOWS: tuple[str, ...] = ("1h", "24h", "7d")
DEFAULT_WALL_WINDOW = "24h"
MAP_LEVELS: tuple[str, ...] = ("county", "township", "community", "grid")

# the hall console's channels (data/console.py): walls opened with ?channel=<name> follow one
CHANNEL_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,31}")
DEFAULT_CHANNEL = "hall"
