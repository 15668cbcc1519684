"""Importing a region with one named level (issue 13, item 4): the wall opens on that level and
events are labelled with its names; an imported region starts with a hall-only responsibility
list (not the default region's), and ``responsibilities`` writes the region's own."""

from __future__ import annotations

import argparse
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyproj
import pytest
import shapely

from cli import add_import_region_parser, add_responsibilities_parser
from data.cases.responsibility import DEFAULT_PATH, Responsibilities
from data.region import load_region
from tests.support.stores import tiny_runtime

X0, Y0, SIDE = 1_113_195.0, 6_446_276.0, 10_000.0
NAMES = ["one", "two", "three", "four"]


@pytest.fixture
def squares(tmp_path) -> Path:
    """Four 10 km squares (web-mercator metres near 10E, 50N), each a named community."""
    boxes = [shapely.box(X0 + i * SIDE, Y0, X0 + (i + 1) * SIDE, Y0 + SIDE) for i in range(4)]
    gdf = gpd.GeoDataFrame(
        {"cid": [11, 12, 13, 14], "cname": NAMES}, geometry=boxes, crs="EPSG:3857"
    )
    path = tmp_path / "communities.gpkg"
    gdf.to_file(path, driver="GPKG")
    return path


def _centre(i: int) -> tuple[float, float]:
    to_ll = pyproj.Transformer.from_crs("EPSG:3857", "EPSG:4326", always_xy=True)
    return to_ll.transform(X0 + (i + 0.5) * SIDE, Y0 + SIDE / 2)


def _cli(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="app.py")
    sub = parser.add_subparsers(dest="command")
    add_import_region_parser(sub)
    add_responsibilities_parser(sub)
    args = parser.parse_args(list(argv))
    return args.handler(args)


@pytest.fixture
def imported(squares, tmp_path, capsys) -> tuple[Path, str]:
    """The squares imported with only the community level named; (folder, printed text)."""
    out = tmp_path / "city"
    code = _cli(
        "import-region",
        "--input",
        str(squares),
        "--name",
        "sqcity",
        "--out",
        str(out),
        "--community-id",
        "cid",
        "--community-name",
        "cname",
        "--timezone",
        "Europe/Berlin",
    )
    assert code == 0
    return out, capsys.readouterr().out


def test_a_single_named_level_is_the_first_view_and_says_so(imported):
    folder, said = imported
    assert "only the community level is named" in said
    assert "the wall opens on the community map" in said
    region = load_region(folder)
    assert region.meta["first_level"] == "community"
    assert region.meta["place_level"] == "community"
    # the levels above are copies: one county, one township, both named after the city
    assert len(region.level("county")) == 1 and len(region.level("township")) == 1


def test_the_wall_opens_on_the_named_level_and_labels_events_with_it(imported, tmp_path):
    folder, _ = imported
    rt = tiny_runtime(tmp_path / "store", folder, warnings=False)
    try:
        st = rt.wall.state({}, rt.scope, fresh=True)
        assert st.view["level"] == "community"
        assert len(st.frame.keys) == 4  # the four communities, not one county polygon
        names = sorted(a["name_en"] for a in st.frame.areas)
        assert names == sorted(NAMES)
        lon, lat = _centre(1)
        frame = pd.DataFrame(
            {
                "id": ["e1"],
                "time": [pd.Timestamp.now(tz="UTC") - pd.Timedelta(minutes=1)],
                "lon": [lon],
                "lat": [lat],
                "category": ["criminal"],
                "severity": [4],
            }
        )
        assert rt.pipeline.ingest_frame("police", frame).accepted == 1
        st = rt.wall.state({}, rt.scope, fresh=True)
        [ev] = st.ticker_events
        # the community's name, not the city's (the township is a copy of the city)
        assert (ev["township_zh"], ev["township_en"]) == ("two", "two")
        # a view that asks for a level still gets it
        assert rt.wall.state({"level": "grid"}, rt.scope, fresh=True).view["level"] == "grid"
    finally:
        rt.stop()


def test_an_imported_region_starts_with_a_hall_only_list(imported, tmp_path):
    folder, said = imported
    assert (folder / "responsibilities.toml").is_file()
    assert "hall-only responsibility list" in said and "python app.py responsibilities" in said
    rt = tiny_runtime(tmp_path / "store", folder, warnings=False)
    try:
        rules = rt.cases.rules
        assert list(rules.departments) == ["hall"]
        assert rules.rule_table().empty
        # the default region's area rules are not applied, so nothing is reported missing
        assert rules.unresolved_areas == []
        assert rules.route("hotline.heating").needs_decision
    finally:
        rt.stop()


def test_the_responsibilities_command_writes_the_regions_own_list(imported, tmp_path, capsys):
    folder, _ = imported
    # the region's list is not replaced by accident
    assert _cli("responsibilities", "--region", str(folder), "--from", str(DEFAULT_PATH)) == 2
    assert "exists" in capsys.readouterr().err
    code = _cli("responsibilities", "--region", str(folder), "--from", str(DEFAULT_PATH), "--force")
    assert code == 0
    said = capsys.readouterr().out
    assert "left out the rules of 2 areas" in said and "210323" in said
    default = Responsibilities.load(DEFAULT_PATH)
    own = Responsibilities.load(folder / "responsibilities.toml")
    assert set(own.departments) == set(default.departments)
    assert own.route("hotline.heating").department == default.route("hotline.heating").department
    assert not [r for r in own.spec.rules if r.area]
    rt = tiny_runtime(tmp_path / "store", folder, warnings=False)
    try:
        assert rt.cases.rules.route("hotline.heating").department == "city.housing"
        assert rt.cases.rules.unresolved_areas == []
    finally:
        rt.stop()
    # hall only again, on request
    assert _cli("responsibilities", "--region", str(folder), "--force") == 0
    assert list(Responsibilities.load(folder / "responsibilities.toml").departments) == ["hall"]


def test_a_region_without_its_own_list_keeps_the_default(tiny_region_dir, tmp_path):
    rt = tiny_runtime(tmp_path / "store", tiny_region_dir, warnings=False)
    try:
        assert set(rt.cases.rules.departments) == set(
            Responsibilities.load(DEFAULT_PATH).departments
        )
    finally:
        rt.stop()


def test_an_imported_region_without_a_list_does_not_take_the_default_regions(
    imported, tmp_path, caplog
):
    folder, _ = imported
    (folder / "responsibilities.toml").unlink()  # e.g. imported before regions had their own
    rt = tiny_runtime(tmp_path / "store", folder, warnings=False)
    try:
        assert list(rt.cases.rules.departments) == ["hall"]
        assert rt.cases.rules.unresolved_areas == []
        assert "python app.py responsibilities --region" in caplog.text
    finally:
        rt.stop()
