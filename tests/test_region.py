"""The default (generated, Anshan-like) region meets the spec, and the Region API works."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from data.region import LEVELS, REGIONS_DIR, Region, load_region, write_region
from data.region_gen import COUNTIES, generate

EQUAL_AREA = "EPSG:6933"


@pytest.fixture(scope="module")
def region() -> Region:
    return load_region("anshan")


@pytest.fixture(scope="module")
def areas_m(region: Region) -> gpd.GeoDataFrame:
    """The areas in an equal-area CRS with an ``m2`` column."""
    out = region.areas.to_crs(EQUAL_AREA)
    out["m2"] = out.area
    return out


def assert_tiles(areas_m: gpd.GeoDataFrame, rel: float = 1e-3) -> None:
    """Each level's children cover their parent's area and do not overlap (within rel)."""
    m2 = pd.Series(areas_m["m2"].to_numpy(), index=areas_m["key"].to_numpy())
    for child in LEVELS[1:]:
        kids = areas_m[areas_m["level"] == child]
        sums = kids.groupby(kids["parent_key"].astype(int))["m2"].sum()
        ratio = sums / m2.loc[sums.index]
        assert np.allclose(ratio, 1, atol=rel), f"{child} areas do not add up: {ratio.describe()}"
        union = shapely.union_all(kids.geometry.to_numpy()).area
        assert union == pytest.approx(kids["m2"].sum(), rel=rel), f"{child} areas overlap"
        parents = areas_m.set_index("key").geometry.loc[kids["parent_key"].astype(int)].to_numpy()
        inside = shapely.within(shapely.point_on_surface(kids.geometry.to_numpy()), parents)
        assert inside.all(), f"{(~inside).sum()} {child} areas lie outside their parent"


def test_counts_and_codes(region: Region) -> None:
    counts = region.areas["level"].value_counts()
    assert counts["city"] == 1
    counties = region.level("county")
    assert sorted(counties["code"]) == sorted(str(c.adcode) for c in COUNTIES)
    assert 60 <= counts["township"] <= 100
    assert counts["township"] == 96  # docs/DOMAIN.md: Anshan's real count
    assert 400 <= counts["community"] <= 900
    assert 3000 <= counts["grid"] <= 6000
    assert region.area("210300")["level"] == "city"
    lengths = {"county": 6, "township": 9, "community": 12, "grid": 15}
    for level, n in lengths.items():
        codes = region.level(level)["code"]
        assert codes.str.fullmatch(rf"\d{{{n}}}").all(), level
    # a child's code extends its parent's
    parent_code = region.areas.set_index("key")["code"]
    rest = region.areas[region.areas["level"].isin(["township", "community", "grid"])]
    pcodes = parent_code.loc[rest["parent_key"].astype(int)].to_numpy()
    assert all(c.startswith(p) for c, p in zip(rest["code"], pcodes, strict=True))


def test_township_counts_per_county(region: Region) -> None:
    towns = region.level("township")
    per = towns["code"].str[:6].value_counts()
    for c in COUNTIES:
        assert per[str(c.adcode)] == c.streets + c.towns + c.xiang + c.special, c.name_en


def test_children_tile_parents(areas_m: gpd.GeoDataFrame) -> None:
    assert_tiles(areas_m)


def test_county_areas_roughly_real(areas_m: gpd.GeoDataFrame) -> None:
    counties = areas_m[areas_m["level"] == "county"].set_index("code")
    for c in COUNTIES:
        assert counties.loc[str(c.adcode), "m2"] / 1e6 == pytest.approx(c.area_km2, rel=0.1)
    city = areas_m[areas_m["level"] == "city"]["m2"].iloc[0] / 1e6
    assert city == pytest.approx(9266.9, rel=0.01)


def test_cell_sizes(areas_m: gpd.GeoDataFrame) -> None:
    cells = areas_m[areas_m["level"] == "grid"]
    side = np.sqrt(cells["m2"])
    urban = side[cells["kind"] == "urban"]
    rural = side[cells["kind"] == "rural"]
    assert 300 <= urban.median() <= 500
    assert rural.median() > 3 * urban.median()


def test_populations(region: Region) -> None:
    a = region.areas
    counties = region.level("county").set_index("code")["population"]
    for c in COUNTIES:
        assert counties[str(c.adcode)] == c.population
    # census total without the two functional zones (docs/DOMAIN.md section 1)
    assert region.area("210300")["population"] == 3_325_372 - 122_595 - 98_721
    kids = a[a["level"] != "city"]
    sums = kids.groupby(kids["parent_key"].astype(int))["population"].sum()
    own = a.set_index("key")["population"].loc[sums.index]
    assert (sums.to_numpy() == own.to_numpy()).all()
    assert (region.cells()["population"] >= 0).all()


def test_kinds(region: Region) -> None:
    counties = region.level("county").set_index("code")["kind"]
    assert set(counties[counties == "urban"].index) == {"210302", "210303", "210304", "210311"}
    assert set(region.cells()["kind"]) == {"urban", "rural"}


def test_file_size_and_meta(region: Region) -> None:
    folder = REGIONS_DIR / "anshan"
    assert (folder / "areas.parquet").stat().st_size <= 10 * 1024 * 1024
    assert region.name == "anshan"
    assert region.meta["name_zh"] == "鞍山市"
    assert region.meta["timezone"] == "Asia/Shanghai"
    assert "illustrative" in region.meta["source"]
    assert 122.5 < region.meta["center_lon"] < 123.5
    assert 40.4 < region.meta["center_lat"] < 41.3
    assert region.areas.crs.to_epsg() == 4326
    assert shapely.is_valid(region.areas.geometry.to_numpy()).all()


def test_lineage(region: Region) -> None:
    lin = region.lineage()
    cells = region.cells()
    assert len(lin) == len(cells)
    assert list(lin.columns) == [
        "cell_key",
        "community_key",
        "township_key",
        "county_key",
        "city_key",
    ]
    code = region.areas.set_index("key")["code"]
    cell_codes = code.loc[lin["cell_key"]].to_numpy()
    for col, n in (("community_key", 12), ("township_key", 9), ("county_key", 6)):
        assert (code.loc[lin[col]].str.len() == n).all()
        assert (code.loc[lin[col]].to_numpy() == np.array([c[:n] for c in cell_codes])).all()
    assert (lin["city_key"] == region.area("210300")["key"]).all()


def test_area_descendants_children(region: Region) -> None:
    town = region.level("township").iloc[0]
    desc = region.descendants(int(town["key"]))
    assert desc[0] == town["key"]
    lin = region.lineage()
    cells = lin.loc[lin["township_key"] == town["key"], "cell_key"]
    comms = region.children(int(town["key"]))
    assert set(cells) | set(comms) | {town["key"]} == set(desc)
    city_key = int(region.area("210300")["key"])
    assert len(region.descendants(city_key)) == len(region.areas)
    assert len(region.children(city_key)) == 7
    with pytest.raises(KeyError, match="no area with code"):
        region.area("999")
    with pytest.raises(KeyError):
        region.descendants(10**8)


def test_generation_is_deterministic(region: Region) -> None:
    areas, meta = generate()
    stored = region.areas
    assert list(areas["code"]) == list(stored["code"])
    assert shapely.equals_exact(areas.geometry.to_numpy(), stored.geometry.to_numpy(), 1e-9).all()
    assert (areas["population"].to_numpy() == stored["population"].to_numpy()).all()
    assert meta["source"] == region.meta["source"]


def test_write_and_load_roundtrip(tmp_path, region: Region) -> None:
    small = region.areas[region.areas["level"] != "grid"]
    # keep one cell per community so the grid level exists
    cells = region.cells().drop_duplicates("parent_key")
    comms = small[small["level"] == "community"]
    small = small[small["level"] != "community"]
    sub = pd.concat([small, comms[comms["key"].isin(cells["parent_key"])], cells])
    write_region(tmp_path / "r", gpd.GeoDataFrame(sub, crs=region.areas.crs), {"name": "mini"})
    loaded = load_region(tmp_path / "r")
    assert loaded.name == "mini"
    assert len(loaded.cells()) == len(cells)
    assert loaded.areas["key"].dtype == "int32"


def _broken(region: Region, change) -> gpd.GeoDataFrame:
    areas = region.areas.copy()
    change(areas)
    return areas


def test_validation_errors(tmp_path, region: Region) -> None:
    def dup_code(a):
        a.loc[5, "code"] = a.loc[6, "code"]

    def bad_level(a):
        a.loc[5, "level"] = "district"

    def bad_parent(a):
        a.loc[5, "parent_key"] = 10**7

    def skip_level(a):
        a.loc[a["level"] == "grid", "parent_key"] = int(a.loc[1, "key"])

    cases = [
        (dup_code, "duplicate codes"),
        (bad_level, "unknown levels"),
        (bad_parent, "parent_key does not exist"),
        (skip_level, "not one level up"),
    ]
    for change, message in cases:
        with pytest.raises(ValueError, match=message):
            Region("x", {}, _broken(region, change))
    with pytest.raises(ValueError, match="no 'grid' areas"):
        Region("x", {}, region.areas[region.areas["level"] != "grid"])
    with pytest.raises(FileNotFoundError, match="available"):
        load_region("no-such-region")
