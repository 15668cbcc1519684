"""Importing polygons as a region: synthetic polygons, the CLI, and real NYC/Anshan boundaries."""

from __future__ import annotations

import argparse
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from cli import add_import_region_parser as add_parser
from cli import run_import_region as run
from data.region import LEVELS, Region
from data.region_import import LevelSpec, ParentSpec, cut_cells, import_region

REALDATA = Path(__file__).resolve().parents[1].parent / "shared" / "realdata"
EQUAL_AREA = "EPSG:6933"


def assert_tiles(region: Region, rel: float = 1e-3) -> None:
    """Each level's children add up to their parent's area and do not overlap."""
    a = region.areas.to_crs(EQUAL_AREA)
    a["m2"] = a.area
    m2 = pd.Series(a["m2"].to_numpy(), index=a["key"].to_numpy())
    for child in LEVELS[1:]:
        kids = a[a["level"] == child]
        sums = kids.groupby(kids["parent_key"].astype(int))["m2"].sum()
        ratio = (sums / m2.loc[sums.index]).to_numpy()
        assert np.allclose(ratio, 1, atol=rel), f"{child}: {ratio.min()}..{ratio.max()}"
        union = shapely.union_all(kids.geometry.to_numpy()).area
        assert union == pytest.approx(kids["m2"].sum(), rel=rel), f"{child} areas overlap"
    assert a["code"].is_unique and a["key"].is_unique


@pytest.fixture
def squares_3857(tmp_path) -> Path:
    """Four 10 km squares in web-mercator metres near (10E, 50N): 2 counties x 2 townships."""
    x0, y0 = 1_113_195.0, 6_446_276.0
    boxes = [shapely.box(x0 + i * 10_000, y0, x0 + (i + 1) * 10_000, y0 + 10_000) for i in range(4)]
    gdf = gpd.GeoDataFrame(
        {
            "cty": ["A", "A", "B", "B"],
            "cty_name": ["Alpha", "Alpha", "Beta", "Beta"],
            "twp": [1, 2, 3, 4],
            "twp_name": ["one", "two", "three", "four"],
        },
        geometry=boxes,
        crs="EPSG:3857",
    )
    path = tmp_path / "squares.gpkg"
    gdf.to_file(path, driver="GPKG")
    return path


def test_cut_cells_tiles_polygon() -> None:
    poly = shapely.Point(0, 0).buffer(5000)
    for shape in ("square", "hex"):
        cells = cut_cells(poly, 1000, shape)
        assert shapely.area(cells).sum() == pytest.approx(poly.area, rel=1e-9)
        assert shapely.union_all(cells).area == pytest.approx(poly.area, rel=1e-6)
        # slivers were merged: no piece below the threshold unless isolated
        assert shapely.area(cells).min() >= 0.2 * 1e6 * 0.85


def test_import_synthetic_reprojects_and_tiles(squares_3857, tmp_path) -> None:
    messages: list[str] = []
    region = import_region(
        squares_3857,
        tmp_path / "out",
        name="sq",
        levels={"county": LevelSpec("cty", "cty_name"), "township": LevelSpec("twp", "twp_name")},
        cell_size_m=2000,
        cell_shape="hex",
        progress=messages.append,
    )
    a = region.areas
    assert a.crs.to_epsg() == 4326
    minx, miny, maxx, maxy = a.total_bounds
    assert 9.9 < minx < 10.1 and 49.9 < miny < 50.1  # lon/lat, not metres
    counts = a["level"].value_counts()
    assert (counts["county"], counts["township"], counts["community"]) == (2, 4, 4)
    assert set(region.level("county")["name_en"]) == {"Alpha", "Beta"}
    # the unmapped community level is a 1:1 copy of the township, code suffixed
    assert set(region.level("community")["code"]) == {"1-1", "2-1", "3-1", "4-1"}
    assert region.area("3-1")["name_en"] == "three"
    assert_tiles(region)
    assert any("cut" in m for m in messages)
    assert (tmp_path / "out" / "region.toml").exists()
    lin = region.lineage()
    assert len(lin) == counts["grid"]


def test_import_only_township_gives_one_county(squares_3857, tmp_path) -> None:
    region = import_region(
        squares_3857,
        tmp_path / "o",
        name="sq",
        levels={"township": LevelSpec("twp")},
        cell_size_m=None,
    )
    assert list(region.level("county")["code"]) == ["sq-1"]
    assert len(region.cells()) == 4  # no cell size: one cell per unit
    assert_tiles(region)


def test_import_field_division(squares_3857, tmp_path) -> None:
    region = import_region(
        squares_3857,
        tmp_path / "o",
        name="sq",
        levels={"county": LevelSpec("twp//3"), "township": LevelSpec("twp")},
        cell_size_m=5000,
    )
    assert sorted(region.level("county")["code"]) == ["0", "1"]


def test_import_errors(squares_3857, tmp_path) -> None:
    with pytest.raises(ValueError, match=r"\['nope'\] not in .*available fields: cty, cty_name"):
        import_region(squares_3857, tmp_path / "o", name="x", levels={"county": LevelSpec("nope")})
    with pytest.raises(FileNotFoundError, match="not found"):
        import_region(
            tmp_path / "missing.geojson",
            tmp_path / "o",
            name="x",
            levels={"county": LevelSpec("a")},
        )
    with pytest.raises(ValueError, match="levels must map"):
        import_region(squares_3857, tmp_path / "o", name="x", levels={"city": LevelSpec("cty")})
    with pytest.raises(ValueError, match="cell shape"):
        import_region(
            squares_3857,
            tmp_path / "o",
            name="x",
            levels={"county": LevelSpec("cty")},
            cell_size_m=100,
            cell_shape="triangle",
        )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="app.py")
    add_parser(parser.add_subparsers(dest="command"))
    return parser


def test_cli(squares_3857, tmp_path, capsys) -> None:
    parser = _parser()
    out = tmp_path / "cli"
    args = parser.parse_args(
        [
            "import-region",
            "--input",
            str(squares_3857),
            "--name",
            "sq",
            "--out",
            str(out),
            "--county-id",
            "cty",
            "--county-name",
            "cty_name",
            "--township-id",
            "twp",
            "--cell-size",
            "2500",
            "--cell-shape",
            "square",
            "--timezone",
            "Europe/Berlin",
        ]
    )
    assert args.handler is run
    assert run(args) == 0
    text = capsys.readouterr().out
    assert "cut 4/4 polygons" in text and "Region('sq'" in text
    assert "Europe/Berlin" in (out / "region.toml").read_text()
    bad = parser.parse_args(
        [
            "import-region",
            "--input",
            str(squares_3857),
            "--name",
            "sq",
            "--out",
            str(out),
            "--county-id",
            "missing",
        ]
    )
    assert run(bad) == 2
    assert "available fields" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        parser.parse_args(["import-region", "--help"])
    assert "--parent-file" in capsys.readouterr().out


# ---------------------------------------------------------------- real boundaries (tests only)


def realdata(*parts: str) -> Path:
    path = REALDATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} not available")
    return path


@pytest.mark.realdata
def test_nyc_community_districts_with_borough_parent(tmp_path) -> None:
    polys = realdata("nyc", "polygons")
    region = import_region(
        polys / "nyc_community_districts_2013.geojson",
        tmp_path / "nyc",
        name="nyc",
        levels={"township": LevelSpec("BoroCD")},
        parent=ParentSpec(
            polys / "nyc_boroughs.geojson", "county", LevelSpec("BoroCode", "BoroName")
        ),
        cell_size_m=1000,
        timezone="America/New_York",
    )
    counts = region.areas["level"].value_counts()
    assert counts["county"] == 5
    assert 69 <= counts["township"] <= 72
    assert counts["community"] == counts["township"]
    assert 500 <= counts["grid"] <= 5000
    assert set(region.level("county")["name_en"]) == {
        "Manhattan",
        "Bronx",
        "Brooklyn",
        "Queens",
        "Staten Island",
    }
    # membership from the parent file agrees with BoroCD's first digit
    lin = region.lineage().drop_duplicates("township_key")
    code = region.areas.set_index("key")["code"]
    assert (code.loc[lin["township_key"]].str[0].to_numpy() == code.loc[lin["county_key"]]).all()
    assert_tiles(region)


@pytest.mark.realdata
def test_nyc_ntas_with_borough_field(tmp_path) -> None:
    path = realdata("nyc", "polygons", "nyc_nta2010_nycplanning.geojson")
    region = import_region(
        path,
        tmp_path / "nta",
        name="nyc_nta",
        levels={
            "county": LevelSpec("BoroCode", "BoroName"),
            "community": LevelSpec("NTACode", "NTAName"),
        },
        cell_size_m=1500,
        cell_shape="hex",
    )
    counts = region.areas["level"].value_counts()
    assert counts["county"] == 5
    assert counts["township"] == 5  # unmapped: a copy of each borough
    assert 190 <= counts["community"] <= 196
    assert_tiles(region)


@pytest.mark.realdata
def test_anshan_districts_hex(tmp_path) -> None:
    path = realdata("anshan", "polygons", "anshan_districts_210300_full.json")
    region = import_region(
        path,
        tmp_path / "an",
        name="anshan_real",
        levels={"county": LevelSpec("adcode", "name")},
        cell_size_m=3000,
        cell_shape="hex",
        name_zh="鞍山市",
        timezone="Asia/Shanghai",
    )
    counties = region.level("county")
    assert len(counties) == 7
    assert "210302" in set(counties["code"])
    assert "铁东区" in set(counties["name_zh"])
    assert_tiles(region)
