"""End to end on real public data: import the city's polygons, replay each publisher file, check.

For every real file in ../shared/realdata (facts in tests/samples/SOURCES.md, part 2) the file is replayed in bulk through
its shipped mapping into a fresh store on its own city's imported region, then:

1. conservation: accepted + duplicates + quarantined equals the records the mapping yields, and a
   second replay of the same file is all duplicates (de-duplication on (source, id));
2. the quarantine holds the expected reasons (tests/samples/SOURCES.md counts; "outside region" equal to an
   independent point-in-polygon count against the source polygons);
3. placement agrees with the publisher's own area code at least as often as tests/samples/SOURCES.md's PIP check
   found (minus a small tolerance).

Regions are imported once per session with coarse cells; each (file, region) replay runs once per
module and its results are kept as plain data, so every store is closed before the next opens.
"""

from __future__ import annotations

import csv
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from data.feeds.mapping import load_mapping, map_file
from data.feeds.replay import replay_file
from data.ingest import OUTSIDE_REASON, IngestResult
from data.region_import import LevelSpec, ParentSpec, import_region
from data.runtime import Runtime
from data.settings import load_settings
from tests.support.realdata import MAPPER_REASONS, NYC_FILES, REALDATA

pytestmark = pytest.mark.realdata

NYC = REALDATA / "nyc"
NYC_POLYS = NYC / "polygons"
BEIJING = REALDATA / "beijing"
PRSA_DIR = BEIJING / "prsa_air_quality"
STATIONS = BEIJING / "beijing_prsa_station_coords.csv"
NY = "America/New_York"

# repeated publisher keys, counted as duplicates on the first replay (tests/samples/SOURCES.md 1.5)
FIRST_DUPLICATES = {"nypd_shootings": 339}
# points outside all polygons of a layer, where tests/samples/SOURCES.md states it: (mapping, region) ->
# (attribute that must be filled for the row to count, or None; count). The collisions' 4 are
# among the rows with a BOROUGH; 23 more rows without one (FDR Drive, Harlem River Drive: roads
# over the water) also fall outside the borough shorelines.
SOURCES_OUTSIDE = {("nyc_collisions", "boro"): ("borough", 4), ("nypd_arrests", "pct"): (None, 1)}

# --- regions (once per session)

CELL_M = 2000  # NYC grid cells; coarse on purpose (the checks are at county/township/community)
BEIJING_CELL_M = 3000


@dataclass(frozen=True)
class RegionSpec:
    """How to import one test region, and the source polygons its outline comes from."""

    polygons: Path
    build: Callable[[Path], object]


def _nyc(path: Path, name: str, levels: dict, parent: ParentSpec | None = None):
    def build(out: Path):
        return import_region(
            path, out, name=name, levels=levels, parent=parent, cell_size_m=CELL_M, timezone=NY
        )

    return build


REGIONS = {
    # county = borough (from the borough file), township = community district (BoroCD)
    "cd": RegionSpec(
        NYC_POLYS / "nyc_community_districts_2013.geojson",
        _nyc(
            NYC_POLYS / "nyc_community_districts_2013.geojson",
            "nyc_cd",
            {"township": LevelSpec("BoroCD")},
            ParentSpec(
                NYC_POLYS / "nyc_boroughs.geojson", "county", LevelSpec("BoroCode", "BoroName")
            ),
        ),
    ),
    # county = borough (BoroCode), community = 2010 NTA (NTACode), detailed DCP layer
    "nta": RegionSpec(
        NYC_POLYS / "nyc_nta2010_nycplanning.geojson",
        _nyc(
            NYC_POLYS / "nyc_nta2010_nycplanning.geojson",
            "nyc_nta",
            {
                "county": LevelSpec("BoroCode", "BoroName"),
                "community": LevelSpec("NTACode", "NTAName"),
            },
        ),
    ),
    # county = police precinct (2013 layer)
    "pct": RegionSpec(
        NYC_POLYS / "nyc_police_precincts_2013.geojson",
        _nyc(
            NYC_POLYS / "nyc_police_precincts_2013.geojson",
            "nyc_pct",
            {"county": LevelSpec("Precinct")},
        ),
    ),
    # county = borough, detailed shoreline
    "boro": RegionSpec(
        NYC_POLYS / "nyc_boroughs.geojson",
        _nyc(
            NYC_POLYS / "nyc_boroughs.geojson",
            "nyc_boro",
            {"county": LevelSpec("BoroCode", "BoroName")},
        ),
    ),
    # county = Beijing district (adcode, name)
    "beijing": RegionSpec(
        BEIJING / "polygons" / "beijing_districts_110000_full.json",
        lambda out: import_region(
            BEIJING / "polygons" / "beijing_districts_110000_full.json",
            out,
            name="beijing_real",
            levels={"county": LevelSpec("adcode", "name")},
            cell_size_m=BEIJING_CELL_M,
            name_zh="北京市",
            timezone="Asia/Shanghai",
        ),
    ),
}


def _need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"real data not available: {path}")
    return path


@pytest.fixture(scope="session")
def region_dirs(tmp_path_factory) -> Callable[[str], Path]:
    """``region_dirs(name)`` -> folder of that imported region, built on first use."""
    if not REALDATA.is_dir():
        pytest.skip(f"real data folder {REALDATA} is absent")
    root = tmp_path_factory.mktemp("real_regions")
    built: dict[str, Path] = {}

    def get(name: str) -> Path:
        if name not in built:
            spec = REGIONS[name]
            _need(spec.polygons)
            spec.build(root / name)
            built[name] = root / name
        return built[name]

    return get


# --- replays (once per module)

LEVEL_KEYS = ("county", "township", "community")


@dataclass
class Run:
    """What one replay of a file into a fresh store on one region left behind (plain data)."""

    records: int  # records the mapping yields (rows, or rows x pollutants)
    first: IngestResult
    again: IngestResult
    stored: int  # rows in the events table after the first replay
    reasons: dict[str, int]  # quarantine reasons after the first replay
    outside_ids: list[str]  # ids quarantined as outside the region after the first replay
    placed: pd.DataFrame  # default: one row per stored event: id, attributes, each level's code
    seconds: float  # the first replay's wall time


def _csv_records(path: Path) -> int:
    """Data rows of a CSV file (header excluded), counted by the csv module."""
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return sum(1 for _ in csv.reader(fh)) - 1


def _replay(
    region_dir: Path,
    db: Path,
    mapping: str,
    path: Path,
    records: int,
    lookups=None,
    placed_sql: str | None = None,
) -> Run:
    """Replay ``path`` twice into a fresh store at ``db``; keep what the checks need, then stop.

    ``placed_sql`` replaces the default events query; it may use ``{levels}`` (each level's area
    code as a column named after the level) and must read ``events e``.
    """
    settings = load_settings(db=db, region=str(region_dir), simulator=False)
    rt = Runtime(settings)
    try:
        t0 = time.perf_counter()
        first = replay_file(rt.pipeline, mapping, path, speed=None, lookups=lookups)
        seconds = time.perf_counter() - t0
        reasons = dict(rt.db.query("SELECT reason, count(*) FROM quarantine GROUP BY reason"))
        stored = rt.db.query_one("SELECT count(*) FROM events")[0]
        outside_ids = [
            r[0]
            for r in rt.db.query(
                "SELECT source_event_id FROM quarantine WHERE reason = ?", [OUTSIDE_REASON]
            )
        ]
        levels = ", ".join(
            f"(SELECT code FROM areas WHERE key = e.{lv}_key) AS {lv}" for lv in LEVEL_KEYS
        )
        sql = placed_sql or "SELECT e.source_event_id AS id, e.attributes, {levels} FROM events e"
        placed = rt.db.query_df(sql.format(levels=levels))
        again = replay_file(rt.pipeline, mapping, path, speed=None, lookups=lookups)
    finally:
        rt.stop()
    reasons = {k: int(v) for k, v in reasons.items()}
    return Run(records, first, again, stored, reasons, outside_ids, placed, seconds)


@pytest.fixture(scope="module")
def nyc_runs(region_dirs, tmp_path_factory) -> Callable[[str, str], Run]:
    """``nyc_runs(mapping, region)`` -> the Run of that NYC file on that region (cached)."""
    root = tmp_path_factory.mktemp("real_stores")
    cache: dict[tuple[str, str], Run] = {}

    def get(mapping: str, region: str) -> Run:
        if (mapping, region) not in cache:
            path = _need(NYC_FILES[mapping])
            db = root / f"{mapping}-{region}.duckdb"
            records = _csv_records(path)
            cache[mapping, region] = _replay(region_dirs(region), db, mapping, path, records)
        return cache[mapping, region]

    return get


def _outside_rows(mapping: str, polygons: Path) -> pd.DataFrame:
    """Rows the mapper accepts whose point no polygon of the source file covers (shapely PIP,
    independent of the pipeline's Placer and of the imported region's cells)."""
    frame = pd.concat(list(map_file(mapping, NYC_FILES[mapping])), ignore_index=True)
    good = frame[frame["_reason"].isna()]
    geoms = shapely.make_valid(gpd.read_file(polygons).to_crs("EPSG:4326").geometry.to_numpy())
    pts = shapely.points(good["lon"].to_numpy(dtype=float), good["lat"].to_numpy(dtype=float))
    inside = np.zeros(len(good), dtype=bool)
    inside[shapely.STRtree(geoms).query(pts, predicate="intersects")[0]] = True
    return good.loc[~inside, ["id", "attributes"]]


# --- code translation helpers

BOROUGHS = {"MANHATTAN": "1", "BRONX": "2", "BROOKLYN": "3", "QUEENS": "4", "STATEN ISLAND": "5"}


def borough_code(value: object) -> str | None:
    """A borough name in any case ("BROOKLYN", "Staten Island") -> BoroCode text; else None."""
    if not isinstance(value, str):
        return None
    return BOROUGHS.get(value.strip().upper())


def cd_code(value: object) -> str | None:
    """A community board -> BoroCD text: "12 MANHATTAN" -> "112", "105" -> "105"; else None."""
    if not isinstance(value, str):
        return None
    value = value.strip()
    m = re.fullmatch(r"(\d{1,2}) (.+)", value)
    if m:
        boro = BOROUGHS.get(m.group(2).upper())
        return None if boro is None or m.group(1) == "0" else str(int(boro) * 100 + int(m.group(1)))
    return value if re.fullmatch(r"[1-5]\d\d", value) else None


def precinct_code(value: object) -> str | None:
    """A precinct -> its number as text: "Precinct 70" -> "70", "70" -> "70"; else None."""
    if not isinstance(value, str):
        return None
    m = re.fullmatch(r"(?:Precinct\s+)?(\d+)(?:\.0)?", value.strip(), flags=re.IGNORECASE)
    return str(int(m.group(1))) if m else None


def nta_code(value: object) -> str | None:
    """A 2010 NTA code ("MN24") as is; else None."""
    if not isinstance(value, str) or not re.fullmatch(r"[A-Z]{2}\d\d", value.strip()):
        return None
    return value.strip()


def agreement(run: Run, attribute: str, level: str, translate) -> tuple[float, int]:
    """(share of stored events whose translated publisher code equals the placed area's code, n).

    Events whose publisher code is missing or unusable ("Unspecified") are left out.
    """
    given = run.placed["attributes"].map(lambda a: translate(json.loads(a).get(attribute)))
    known = given.notna()
    n = int(known.sum())
    assert n > 0, f"no usable {attribute!r} codes"
    return float((given[known] == run.placed.loc[known, level]).mean()), n


# --- NYC: conservation, reasons

NYC_RUNS = [
    ("nyc_311_2013", "cd"),
    ("nyc_311_2013", "boro"),
    ("nyc_311_2019", "pct"),
    ("nyc_311_2019", "cd"),
    ("nypd_complaints", "pct"),
    ("nypd_complaints", "boro"),
    ("nypd_arrests", "pct"),
    ("nypd_shootings", "pct"),
    ("nyc_collisions", "boro"),
    ("nyc_restaurant_inspections", "nta"),
    ("nyc_restaurant_inspections", "cd"),
]


@pytest.mark.parametrize(("mapping", "region"), NYC_RUNS)
def test_nyc_replay_conserves_and_deduplicates(nyc_runs, mapping, region):
    run = nyc_runs(mapping, region)
    r = run.first
    assert r.accepted + r.duplicates + r.quarantined == run.records, "nothing silently dropped"
    assert r.duplicates == FIRST_DUPLICATES.get(mapping, 0)
    assert run.stored == r.accepted
    assert r.accepted > 0.7 * run.records
    # the same file again: every event is already stored; invalid rows are quarantined again
    a = run.again
    assert a.accepted == 0
    assert a.duplicates == r.accepted + r.duplicates
    assert a.quarantined == r.quarantined


@pytest.mark.parametrize(("mapping", "region"), NYC_RUNS)
def test_nyc_quarantine_reasons(nyc_runs, mapping, region):
    run = nyc_runs(mapping, region)
    outside = run.reasons.get(OUTSIDE_REASON, 0)
    expected = dict(MAPPER_REASONS[mapping])
    if outside:
        expected[OUTSIDE_REASON] = outside
    assert run.reasons == expected
    assert sum(run.reasons.values()) == run.first.quarantined
    # "outside region" is exactly what an independent point-in-polygon test on the source
    # polygons finds (the region's cells tile those polygons), row for row
    independent = _outside_rows(mapping, REGIONS[region].polygons)
    assert sorted(run.outside_ids) == sorted(independent["id"])
    if (mapping, region) in SOURCES_OUTSIDE:
        attribute, count = SOURCES_OUTSIDE[mapping, region]
        if attribute:
            filled = independent["attributes"].map(lambda a: json.loads(a)[attribute] is not None)
            independent = independent[filled]
        assert len(independent) == count
    assert outside <= 0.01 * run.records


def test_shootings_repeated_incident_keys_are_duplicates(nyc_runs):
    run = nyc_runs("nypd_shootings", "pct")
    with NYC_FILES["nypd_shootings"].open(encoding="utf-8-sig", newline="") as fh:
        keys = [row["INCIDENT_KEY"] for row in csv.DictReader(fh)]
    assert len(keys) - len(set(keys)) == 339
    assert run.first.duplicates == 339
    assert run.stored == len(set(keys))
    assert run.placed["id"].is_unique


def test_complaints_bom_handled(nyc_runs):
    assert NYC_FILES["nypd_complaints"].read_bytes()[:3] == b"\xef\xbb\xbf"
    run = nyc_runs("nypd_complaints", "pct")
    # the first column (CMPLNT_NUM) was found, so ids are the publisher's numbers
    assert run.placed["id"].str.fullmatch(r"\d+").all()
    attrs = run.placed["attributes"].map(json.loads)
    assert attrs.map(lambda a: a["precinct"] is not None).mean() > 0.99


# --- NYC: placement agreement

# (mapping, region, attribute, level, translate, minimum); tests/samples/SOURCES.md's PIP rate in the comment
AGREEMENT = [
    ("nyc_311_2013", "cd", "community_board", "township", cd_code, 0.98),  # 98.9%
    ("nyc_311_2013", "boro", "borough", "county", borough_code, 0.995),  # 99.9%
    ("nyc_311_2019", "pct", "police_precinct", "county", precinct_code, 0.985),  # 99.2%
    ("nyc_311_2019", "cd", "community_board", "township", cd_code, 0.99),  # 99.6%
    ("nypd_complaints", "pct", "precinct", "county", precinct_code, 0.96),  # 96.9%
    ("nypd_complaints", "boro", "borough", "county", borough_code, 0.99),  # 99.7%
    ("nypd_arrests", "pct", "precinct", "county", precinct_code, 0.98),  # 98.7%
    ("nypd_shootings", "pct", "precinct", "county", precinct_code, 0.945),  # 95.4%
    ("nyc_collisions", "boro", "borough", "county", borough_code, 0.995),  # 99.8%
    ("nyc_restaurant_inspections", "nta", "nta", "community", nta_code, 0.99),  # 99.5%
    ("nyc_restaurant_inspections", "cd", "community_board", "township", cd_code, 0.995),  # 99.9%
]


@pytest.mark.parametrize(
    ("mapping", "region", "attribute", "level", "translate", "minimum"),
    AGREEMENT,
    ids=[f"{m}-{a}" for m, _, a, *_ in AGREEMENT],
)
def test_nyc_placement_agrees_with_publisher_codes(
    nyc_runs, mapping, region, attribute, level, translate, minimum
):
    run = nyc_runs(mapping, region)
    rate, n = agreement(run, attribute, level, translate)
    assert rate >= minimum, f"{mapping} {attribute}: {rate:.4f} of {n} agree (< {minimum})"


def test_translation_helpers():
    assert cd_code("12 MANHATTAN") == "112"
    assert cd_code("05 STATEN ISLAND") == "505"
    assert cd_code("0 Unspecified") is None and cd_code("Unspecified QUEENS") is None
    assert cd_code("105") == "105" and cd_code(None) is None
    assert precinct_code("Precinct 70") == "70" and precinct_code("070") == "70"
    assert precinct_code("Unspecified") is None
    assert borough_code("Staten Island") == "5" and borough_code("Unspecified") is None
    assert nta_code("MN24") == "MN24" and nta_code("0") is None


# --- Beijing PRSA

# tests/samples/SOURCES.md 3.2: the district of each station (DataV names)
STATION_DISTRICT = {
    "Aotizhongxin": "朝阳区",
    "Nongzhanguan": "朝阳区",
    "Dongsi": "东城区",
    "Tiantan": "东城区",
    "Guanyuan": "西城区",
    "Wanshouxigong": "西城区",
    "Wanliu": "海淀区",
    "Gucheng": "石景山区",
    "Changping": "昌平区",
    "Dingling": "昌平区",
    "Huairou": "怀柔区",
    "Shunyi": "顺义区",
}
# tests/samples/SOURCES.md 3.1: "NA" cells per pollutant over all 12 files (the mapping's codes as keys)
PRSA_NA = {"pm25": 8739, "pm10": 6449, "so2": 9021, "no2": 12116, "co": 20701, "o3": 13277}
PRSA_HOURS = 35_064  # hourly rows per station file


@pytest.fixture(scope="module")
def beijing_run(region_dirs, tmp_path_factory) -> Run:
    """All 12 station files (2.5 M readings) replayed on the Beijing district region."""
    _need(STATIONS)
    files = sorted(_need(PRSA_DIR).glob("PRSA_Data_*.csv"))
    assert len(files) == 12
    records = sum(_csv_records(f) for f in files) * len(PRSA_NA)
    root = tmp_path_factory.mktemp("beijing")
    # one row per (station, district, pollutant): the readings are too many to fetch one by one
    placed_sql = (
        "SELECT json_extract_string(e.attributes, '$.station') AS station, {levels}, "
        "e.category AS pollutant, count(*) AS n FROM events e GROUP BY ALL"
    )
    db = root / "bj.duckdb"
    lookups = {"stations": STATIONS}
    return _replay(
        region_dirs("beijing"), db, "beijing_prsa", PRSA_DIR, records, lookups, placed_sql
    )


def test_beijing_lookup_name_matches_mapping():
    assert "stations" in load_mapping("beijing_prsa").lookups


def test_beijing_replay_conserves_and_deduplicates(beijing_run):
    run = beijing_run
    assert run.records == 12 * PRSA_HOURS * len(PRSA_NA)  # the melt: rows x 6 pollutants
    r = run.first
    assert r.accepted + r.duplicates + r.quarantined == run.records
    assert r.duplicates == 0
    assert run.stored == r.accepted == run.placed["n"].sum()
    a = run.again
    assert (a.accepted, a.duplicates, a.quarantined) == (0, r.accepted, r.quarantined)


def test_beijing_na_quarantined(beijing_run):
    run = beijing_run
    # every station lies inside a district: the NA readings are the only quarantined records
    assert run.reasons == {"missing value (NA)": sum(PRSA_NA.values())}
    # per pollutant, stored readings + NA readings = every hour of every station
    stored = run.placed.groupby("pollutant")["n"].sum().to_dict()
    assert {p: 12 * PRSA_HOURS - n for p, n in stored.items()} == PRSA_NA


def test_beijing_stations_in_their_districts(beijing_run, region_dirs):
    from data.region import load_region

    names = load_region(region_dirs("beijing")).areas.set_index("code")["name_zh"]
    per_station = beijing_run.placed.assign(district=lambda d: d["county"].map(names))
    per_station = per_station[["station", "district"]].drop_duplicates()
    assert per_station["station"].is_unique, "a station's readings all land in one district"
    got = dict(zip(per_station["station"], per_station["district"], strict=True))
    assert got == STATION_DISTRICT
    # tests/samples/SOURCES.md 3.2 calls this "an 11-district-hit test oracle", but its own list names 8
    # districts for the 12 stations (two each in 朝阳, 东城, 西城, 昌平)
    assert per_station["district"].nunique() == len(set(STATION_DISTRICT.values())) == 8
