"""Where the real public files are: the full files in ../shared/realdata (optional, tests that
need them carry the ``realdata`` marker) and the small committed samples in tests/samples/."""

from __future__ import annotations

from pathlib import Path

REALDATA = Path(__file__).resolve().parents[2].parent / "shared" / "realdata"
_NYC = REALDATA / "nyc"
SAMPLES = Path(__file__).resolve().parents[1] / "samples"

# the NYC file behind each shipped mapping (same name in ../shared and in tests/samples)
NYC_NAMES = {
    "nyc_311_2013": "nyc_311_service_requests_2013-12-25.csv",
    "nyc_311_2019": "nyc_311_service_requests_2019-12-31_evening.csv",
    "nypd_complaints": "nypd_complaints_2010_sample.csv",
    "nypd_arrests": "nypd_arrests_queens_2021_jan-sep.csv",
    "nypd_shootings": "nypd_shootings_2020_jan-sep.csv",
    "nyc_collisions": "nyc_motor_vehicle_collisions_2021_sample.csv",
    "nyc_restaurant_inspections": "nyc_restaurant_inspections_sample_2026-04.csv",
}
# the real NYC file behind each shipped mapping (read from ../shared, never copied whole)
NYC_FILES = {name: _NYC / file for name, file in NYC_NAMES.items()}
NYC_SAMPLES = {name: SAMPLES / "nyc" / file for name, file in NYC_NAMES.items()}
BEIJING_SAMPLE = SAMPLES / "beijing" / "prsa_air_quality"
# Reasons the mapper itself gives per file (tests/samples/SOURCES.md counts; the first reason wins, so the
# restaurants' 283 rows with empty or zero coordinates split into 141 + 63 once the 813
# placeholder-date rows, 79 of which also lack coordinates, are counted first).
MAPPER_REASONS = {
    "nyc_311_2013": {"missing coordinates": 82},
    "nyc_311_2019": {"missing coordinates": 13},
    "nypd_complaints": {"missing coordinates": 17},
    "nypd_arrests": {},
    "nypd_shootings": {},
    "nyc_collisions": {"missing coordinates": 1221, "coordinates (0, 0)": 73},
    "nyc_restaurant_inspections": {
        "placeholder date 1900-01-01": 813,
        "coordinates (0, 0)": 141,
        "missing coordinates": 63,
    },
}


def nyc_region(folder: Path) -> Path:
    """NYC's community districts (townships) under its boroughs (counties), 2 km cells, imported
    from ../shared into ``folder / "nyc"``; returns that region folder. Skips the test when the
    real polygons are absent."""
    import pytest

    from data.region_import import LevelSpec, ParentSpec, import_region

    polys = REALDATA / "nyc" / "polygons"
    if not (polys / "nyc_community_districts_2013.geojson").exists():
        pytest.skip("NYC real data absent")
    import_region(
        polys / "nyc_community_districts_2013.geojson",
        folder / "nyc",
        name="nyc",
        levels={"township": LevelSpec("BoroCD")},
        parent=ParentSpec(
            polys / "nyc_boroughs.geojson", "county", LevelSpec("BoroCode", "BoroName")
        ),
        cell_size_m=2000,
        timezone="America/New_York",
    )
    return folder / "nyc"


NYC_311_DAY = REALDATA / "nyc" / "nyc_311_service_requests_2013-12-25.csv"


def nyc_311_day_runtime(folder: Path):
    """A runtime on the NYC region (in ``folder``) holding the real 311 file of 2013-12-25,
    replayed unshifted through its mapping (events and cases); stop it when done."""
    from data.cases.history import replay_history
    from data.runtime import Runtime
    from data.settings import load_settings

    nyc_region(folder)
    rt = Runtime(
        load_settings(
            db=folder / "nyc.duckdb",
            region=str(folder / "nyc"),
            simulator=False,
            users_file=folder / "users.toml",
        )
    )
    replay_history(rt.pipeline, rt.cases, "nyc_311_2013", NYC_311_DAY)
    return rt
