"""Shared fixtures: each builds its own small data (a tiny region, a fresh store)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from data.region import Region, write_region
from data.runtime import Runtime
from data.settings import load_settings
from tests.support.realdata import REALDATA
from tests.support.region import tiny_areas
from tests.support.serial import is_serial

# Scheduled briefings write files in the background of every started server; the tests that
# are about them turn them on (tests/test_briefings_schedule.py), the rest need not pay for it.
os.environ.setdefault("ONEGRID_BRIEFINGS", "off")


def pytest_collection_modifyitems(items):
    # test.sh runs these alone after the parallel pass (tests/support/serial.py says why each)
    for item in items:
        if is_serial(item.nodeid):
            item.add_marker(pytest.mark.serial)


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
