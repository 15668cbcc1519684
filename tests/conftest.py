"""Shared fixtures: each builds its own small data (a tiny region, a fresh store)."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from data.region import Region, write_region
from data.runtime import Runtime
from data.settings import load_settings

REALDATA = Path(__file__).resolve().parents[1].parent / "shared" / "realdata"
_NYC = REALDATA / "nyc"
# the real NYC file behind each shipped mapping (read from ../shared, never copied)
NYC_FILES = {
    "nyc_311_2013": _NYC / "nyc_311_service_requests_2013-12-25.csv",
    "nyc_311_2019": _NYC / "nyc_311_service_requests_2019-12-31_evening.csv",
    "nypd_complaints": _NYC / "nypd_complaints_2010_sample.csv",
    "nypd_arrests": _NYC / "nypd_arrests_queens_2021_jan-sep.csv",
    "nypd_shootings": _NYC / "nypd_shootings_2020_jan-sep.csv",
    "nyc_collisions": _NYC / "nyc_motor_vehicle_collisions_2021_sample.csv",
    "nyc_restaurant_inspections": _NYC / "nyc_restaurant_inspections_sample_2026-04.csv",
}
# Reasons the mapper itself gives per file (SOURCES.md counts; the first reason wins, so the
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

# The tiny region: two counties side by side, each one township > one community > 4 x 4 cells of
# 0.01 degree, between 123.00-123.08 E and 41.00-41.04 N.
TINY_X0, TINY_Y0, TINY_STEP = 123.0, 41.0, 0.01


def tiny_areas() -> gpd.GeoDataFrame:
    """Areas of the tiny test region (EPSG:4326)."""
    rows = []
    city = shapely.box(TINY_X0, TINY_Y0, TINY_X0 + 8 * TINY_STEP, TINY_Y0 + 4 * TINY_STEP)
    rows.append(("T", "city", None, "测试市", "Test City", 2000, "urban", city))
    key = {"T": 1}
    for c in range(2):
        x0 = TINY_X0 + c * 4 * TINY_STEP
        box = shapely.box(x0, TINY_Y0, x0 + 4 * TINY_STEP, TINY_Y0 + 4 * TINY_STEP)
        county, town, comm = f"T0{c + 1}", f"T0{c + 1}001", f"T0{c + 1}001001"
        rows.append(
            (county, "county", "T", f"第{c + 1}区", f"District {c + 1}", 1000, "urban", box)
        )
        rows.append(
            (town, "township", county, f"第{c + 1}街道", f"Street {c + 1}", 1000, "urban", box)
        )
        rows.append(
            (comm, "community", town, f"第{c + 1}社区", f"Community {c + 1}", 1000, "urban", box)
        )
        for i in range(4):
            for j in range(4):
                cell = shapely.box(
                    x0 + i * TINY_STEP,
                    TINY_Y0 + j * TINY_STEP,
                    x0 + (i + 1) * TINY_STEP,
                    TINY_Y0 + (j + 1) * TINY_STEP,
                )
                code = f"{comm}{i * 4 + j + 1:03d}"
                rows.append(
                    (code, "grid", comm, f"网格{code[-3:]}", f"Grid {code[-3:]}", 60, "urban", cell)
                )
    codes = [r[0] for r in rows]
    key = {code: i + 1 for i, code in enumerate(codes)}
    return gpd.GeoDataFrame(
        {
            "key": [key[r[0]] for r in rows],
            "code": codes,
            "level": [r[1] for r in rows],
            "parent_key": pd.array([key.get(r[2]) for r in rows], dtype="Int32"),
            "name_zh": [r[3] for r in rows],
            "name_en": [r[4] for r in rows],
            "population": [r[5] for r in rows],
            "kind": [r[6] for r in rows],
        },
        geometry=[r[7] for r in rows],
        crs="EPSG:4326",
    )


def tiny_cell_center(county: int, i: int, j: int) -> tuple[float, float]:
    """lon, lat of the centre of cell (i, j) of county 1 or 2 in the tiny region."""
    x0 = TINY_X0 + (county - 1) * 4 * TINY_STEP
    return x0 + (i + 0.5) * TINY_STEP, TINY_Y0 + (j + 0.5) * TINY_STEP


def tiny_cell_code(county: int, i: int, j: int) -> str:
    """Public id of cell (i, j) of county 1 or 2 in the tiny region."""
    return f"T0{county}001001{i * 4 + j + 1:03d}"


@pytest.fixture(scope="session")
def tiny_region_dir(tmp_path_factory) -> Path:
    """A folder holding the tiny region's files."""
    out = tmp_path_factory.mktemp("regions") / "tiny"
    write_region(out, tiny_areas(), {"name": "tiny", "timezone": "Asia/Shanghai", "zoom": 12.0})
    return out


@pytest.fixture
def tiny_region() -> Region:
    """The tiny region, in memory."""
    return Region("tiny", {"name": "tiny", "timezone": "Asia/Shanghai"}, tiny_areas())


@pytest.fixture
def settings(tmp_path, tiny_region_dir):
    """Settings for a fresh store on the tiny region, simulator off, token 'test-token'."""
    return load_settings(
        db=tmp_path / "onegrid.duckdb",
        region=str(tiny_region_dir),
        simulator=False,
        ingest_token="test-token",
        users_file=tmp_path / "users.toml",
        secret_key="test-secret",
        # sign-in is exercised by tests/test_auth.py and the browser tests' sign-in fixture
        auth=False,
    )


@pytest.fixture
def runtime(settings):
    """A running OneGrid data layer (no web server) on a fresh store."""
    rt = Runtime(settings)
    yield rt
    rt.stop()


@pytest.fixture
def realdata() -> Path:
    """The shared real-data folder; skips the test when it is absent."""
    if not REALDATA.is_dir():
        pytest.skip(f"real data folder {REALDATA} is absent")
    return REALDATA


TEST_PASSWORD = "correct-horse-battery"


def form_token(client, path: str = "/login") -> str:
    """The CSRF token of the sign-in form (or of a page's sign-out form) at ``path``."""
    import re

    page = client.get(path).get_data(as_text=True)
    found = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    assert found, f"no CSRF token on {path}"
    return found.group(1)


def post_login(client, username: str, password: str, **extra):
    """Post the sign-in form as a browser does (with its CSRF token); returns the response."""
    data = {"username": username, "password": password, "csrf_token": form_token(client)}
    return client.post("/login", data=data | extra)


def sign_in(client, runtime, username: str = "op", role: str = "operator", **kw) -> None:
    """Create a user in the runtime's user file and sign the Flask test client in as them."""
    runtime.settings.auth = True
    runtime.users.add(username, TEST_PASSWORD, role, **kw)
    resp = post_login(client, username, TEST_PASSWORD)
    assert resp.status_code == 302, resp.data
