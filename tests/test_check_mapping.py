"""check-mapping (a dry run of a mapping on a file) and the replay's reconciliation: rows read =
accepted + duplicates + quarantined by reason + outside region, with three example rows per
reason; nothing written; paths in a mapping relative to the mapping file; hotline requests
without a location become city-level cases in the command-line replay."""

from __future__ import annotations

import csv
import hashlib
import json
import shutil

import pandas as pd
import pytest

import cli
from data.feeds.mapping import MappingError, load_mapping, map_file
from data.feeds.mapping.spec import MAPPINGS_DIR
from data.feeds.reconcile import check_mapping
from data.region import load_region
from data.runtime import Runtime
from tests.support.realdata import (
    BEIJING_SAMPLE,
    MAPPER_REASONS,
    NYC_FILES,
    NYC_SAMPLES,
    REALDATA,
    nyc_region,
)
from tests.support.region import tiny_cell_center

MAPPING = """
source = "hotline"
format = "csv"
timezone = "UTC"
[id]
column = "ref"
[time]
column = "at"
[location]
lon = "lon"
lat = "lat"
[category]
column = "kind"
map = { "heat" = "heating", "noise" = "noise" }
[text]
column = "kind"
[attributes]
agency = "agency"
"""
T = "2025-06-01T08:00:00Z"


def _csv(path, rows):
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["ref", "at", "lon", "lat", "kind", "agency"])
        w.writerows(rows)
    return path


def _inside(i=0, j=0):
    return tiny_cell_center(1, i, j)


@pytest.fixture
def mapping_path(tmp_path):
    p = tmp_path / "hotline_test.toml"
    p.write_text(MAPPING, encoding="utf-8")
    return p


@pytest.fixture
def bad_file(tmp_path):
    lon, lat = _inside()
    return _csv(
        tmp_path / "bad.csv",
        [
            ("r1", T, lon, lat, "heat", "HPD"),  # row 1: accepted
            ("r2", "yesterday", lon, lat, "heat", "HPD"),  # bad time
            ("r3", T, "east", lat, "heat", "HPD"),  # bad coordinates
            ("r4", T, lon, lat, "meteor", "HPD"),  # unknown category
            ("r1", T, lon, lat, "noise", "NYPD"),  # duplicate id of row 1
            ("r6", T, 10.0, 10.0, "heat", "HPD"),  # outside the region
            ("r7", T, lon, lat, "noise", "NYPD"),  # accepted
        ],
    )


def test_crafted_bad_file_counts_every_reason_with_examples(mapping_path, bad_file, tiny_region):
    r = check_mapping(mapping_path, bad_file, region=tiny_region)
    assert (r.rows_read, r.accepted, r.duplicates, r.outside) == (7, 2, 1, 1)
    assert r.quarantined == {
        "unparseable time": 1,
        "unparseable coordinates": 1,
        "unmapped category": 1,
    }
    assert r.adds_up()

    def ex(kind):
        (e,) = r.examples[kind]
        return e.row, e.fields

    assert ex("unparseable time") == (2, {"ref": "r2", "at": "yesterday"})
    lon, lat = _inside()
    assert ex("unparseable coordinates") == (3, {"ref": "r3", "lat": str(lat), "lon": "east"})
    assert ex("unmapped category") == (4, {"ref": "r4", "kind": "meteor"})
    assert ex("duplicate id") == (5, {"ref": "r1"})
    assert ex("outside region") == (6, {"ref": "r6", "lat": "10.0", "lon": "10.0"})
    assert r.duplicates_checked.startswith("within the file only")


def test_three_examples_per_reason_and_every_row_counted(mapping_path, tmp_path, tiny_region):
    """More than the pipeline's 100 reported reasons: every row is counted, 3 are shown."""
    lon, lat = _inside()
    rows = [(f"t{i}", f"bad{i}", lon, lat, "heat", "HPD") for i in range(150)]
    rows += [(f"c{i}", T, "", "", "heat", "HPD") for i in range(5)]
    r = check_mapping(mapping_path, _csv(tmp_path / "many.csv", rows), region=tiny_region)
    assert r.quarantined == {"unparseable time": 150, "missing coordinates": 5}
    assert [e.row for e in r.examples["unparseable time"]] == [1, 2, 3]
    assert [e.row for e in r.examples["missing coordinates"]] == [151, 152, 153]
    assert r.adds_up() and r.rows_read == 155


def _config(tmp_path, db, region_dir):
    config = tmp_path / "onegrid.toml"
    config.write_text(f'db = "{db}"\nregion = "{region_dir}"\nsimulator = false\n', "utf-8")
    return config


def _store_files(db):
    """The database file and its companions (WAL), by name, with a digest of their bytes."""
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in db.parent.glob(db.name + "*")
        if p.is_file()
    }


def test_cli_writes_nothing_and_reads_an_existing_store(
    mapping_path, bad_file, tmp_path, tiny_region_dir, settings, capsys
):
    db = tmp_path / "absent" / "onegrid.duckdb"
    config = _config(tmp_path, db, tiny_region_dir)
    argv = ["--config", str(config), "check-mapping", "--mapping", str(mapping_path)]
    assert cli.main([*argv, "--file", str(bad_file)], serve=None) == 0
    out = capsys.readouterr().out
    assert "0 + 0" not in out and "2 + 1 + 3 + 1 = 7 of 7 rows read (adds up)" in out
    assert "row 2 of bad.csv: ref='r2', at='yesterday'" in out
    assert not db.exists() and not db.parent.exists()

    # a store holding r7 already: r7 is a duplicate, found read-only, and the file is untouched
    rt = Runtime(settings)
    try:
        lon, lat = _inside()
        first = _csv(tmp_path / "first.csv", [("r7", T, lon, lat, "noise", "NYPD")])
        frame = pd.concat(list(map_file(load_mapping(mapping_path), first)))
        assert rt.pipeline.ingest_frame("hotline", frame).accepted == 1
    finally:
        rt.stop()
    config = _config(tmp_path, settings.db, tiny_region_dir)
    before = _store_files(settings.db)
    assert settings.db.name in before
    argv = ["--config", str(config), "check-mapping", "--mapping", str(mapping_path)]
    assert cli.main([*argv, "--file", str(bad_file), "--json"], serve=None) == 0
    got = json.loads(capsys.readouterr().out)
    assert (got["accepted"], got["duplicates"], got["adds_up"]) == (1, 2, True)
    assert "read-only" in got["duplicates_checked"]
    assert _store_files(settings.db) == before  # same files (no .wal), same bytes


def test_cli_bad_paths_fail_clearly(mapping_path, tmp_path, capsys):
    assert cli.main(["check-mapping", "--mapping", "nope", "--file", "x.csv"], serve=None) == 2
    assert "no mapping named 'nope'" in capsys.readouterr().err
    args = ["check-mapping", "--mapping", str(mapping_path), "--file", str(tmp_path / "no.csv")]
    assert cli.main(args, serve=None) == 2
    assert "not found" in capsys.readouterr().err


def _csv_rows(path) -> int:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return sum(1 for _ in csv.reader(fh)) - 1


@pytest.mark.parametrize("name", sorted(NYC_SAMPLES))
def test_reconciliation_adds_up_on_the_samples(name, tiny_region):
    path = NYC_SAMPLES[name]
    r = check_mapping(name, path, region=tiny_region)
    assert r.adds_up() and r.rows_read == _csv_rows(path)


def test_reconciliation_adds_up_on_the_beijing_sample(tmp_path, tiny_region):
    coords = tmp_path / "coords.csv"
    coords.write_text("station,lon,lat,station_zh\nDongsi,116.4,39.9,东四\n", encoding="utf-8")
    r = check_mapping(
        "beijing_prsa", BEIJING_SAMPLE, region=tiny_region, lookups={"stations": coords}
    )
    files = sorted(BEIJING_SAMPLE.glob("PRSA_Data_*.csv"))
    assert r.adds_up() and r.rows_read == 6 * sum(_csv_rows(f) for f in files)
    # Wanliu has no entry: every reading of its file says so, shown by its station field
    assert r.quarantined.get("no stations lookup entry for station", 0) > 0
    (e, *_rest) = r.examples["no stations lookup entry for station"]
    assert e.fields["station"] != "Dongsi"


def test_map_file_is_read_next_to_the_mapping_wherever_it_is_copied(tmp_path, monkeypatch):
    other = tmp_path / "elsewhere"
    (other / "vocabularies").mkdir(parents=True)
    shutil.copy(MAPPINGS_DIR / "nyc_311_2013.toml", other / "mine.toml")
    vocab = (MAPPINGS_DIR / "vocabularies" / "nyc_311_complaint_types.toml").read_text("utf-8")
    (other / "vocabularies" / "nyc_311_complaint_types.toml").write_text(
        vocab + '\n"MY OWN TYPE" = "labour"\n', encoding="utf-8"
    )
    monkeypatch.chdir(tmp_path)  # neither the repository nor the mapping's folder
    m = load_mapping("elsewhere/mine.toml")
    assert m.category.map["MY OWN TYPE"] == "labour"  # the copy's vocabulary, not the shipped one
    (tmp_path / "alone").mkdir()
    shutil.copy(MAPPINGS_DIR / "nyc_311_2013.toml", tmp_path / "alone" / "mine.toml")
    with pytest.raises(MappingError, match="mapping file's folder"):
        load_mapping(tmp_path / "alone" / "mine.toml")


def test_a_lookup_file_next_to_the_mapping_is_found(tmp_path, tiny_region):
    (tmp_path / "maps").mkdir()
    (tmp_path / "data").mkdir()
    lon, lat = _inside()
    (tmp_path / "maps" / "places.csv").write_text(f"place,x,y\nA,{lon},{lat}\n", "utf-8")
    text = MAPPING.replace('lon = "lon"\nlat = "lat"', 'lon = "places.x"\nlat = "places.y"')
    text += '[lookups.places]\nkey = "place"\non = "place"\ncolumns = ["x", "y"]\n'
    text += 'file = "places.csv"\n'
    (tmp_path / "maps" / "m.toml").write_text(text, "utf-8")
    data = tmp_path / "data" / "d.csv"
    data.write_text(f"ref,at,place,kind,agency\nq1,{T},A,heat,HPD\nq2,{T},B,heat,HPD\n", "utf-8")
    r = check_mapping(tmp_path / "maps" / "m.toml", data, region=tiny_region)
    assert (r.accepted, r.quarantined) == (1, {"no places lookup entry for place": 1})


def _replay(config, mapping, path, capsys) -> str:
    argv = ["--config", str(config), "replay", "--mapping", str(mapping), "--file", str(path)]
    assert cli.main(argv, serve=None) == 0
    return capsys.readouterr().out


def _city_level_cases(settings) -> int:
    rt = Runtime(settings)
    try:
        return rt.db.query_one(
            "SELECT count(*) FROM cases WHERE origin_ref LIKE 'hotline:%' AND cell_key IS NULL"
        )[0]
    finally:
        rt.stop()


def test_cli_replay_makes_city_level_cases_and_prints_every_reason(
    mapping_path, tmp_path, settings, tiny_region_dir, capsys
):
    lon, lat = _inside()
    rows = [(f"t{i}", f"bad{i}", lon, lat, "heat", "HPD") for i in range(120)]
    rows += [
        ("p1", T, lon, lat, "heat", "HPD"),  # placed: a case in its cell
        ("u1", T, "", "", "heat", "HPD"),  # no coordinates: a city-level case
        ("u2", T, "0", "0", "noise", "NYPD"),  # (0, 0): a city-level case
        ("u3", T, 10.0, 10.0, "noise", "NYPD"),  # outside the region: a city-level case
        ("u1", T, "", "", "heat", "HPD"),  # the same request again: still one case
        ("x1", T, "", "", "meteor", "HPD"),  # no coordinates and no category: not a case
        ("x2", "never", "", "", "heat", "HPD"),  # no coordinates and no time: not a case
    ]
    path = _csv(tmp_path / "hotline.csv", rows)
    out = _replay(_config(tmp_path, settings.db, tiny_region_dir), mapping_path, path, capsys)
    assert "121  unparseable time" in out  # not "among the first 100"
    assert "3  missing coordinates" in out and "1  coordinates (0, 0)" in out
    assert "1 + 0 + 125 + 1 = 127 of 127 rows read (adds up)" in out
    assert "cases: 1 placed, 3 at city level" in out
    assert _city_level_cases(settings) == 3


@pytest.mark.realdata
def test_nyc_311_rows_without_coordinates_become_city_level_cases(tmp_path, capsys):
    """Against the NYC region: every otherwise valid 311 row without coordinates, and every one
    outside the community districts, is a city-level case."""
    from data.settings import load_settings

    region = nyc_region(tmp_path)
    db = tmp_path / "nyc.duckdb"
    settings = load_settings(db=db, region=str(region), simulator=False)
    path = NYC_FILES["nyc_311_2013"]
    out = _replay(_config(tmp_path, db, region), "nyc_311_2013", path, capsys)
    with path.open(encoding="utf-8-sig", newline="") as fh:
        no_coords = sum(1 for row in csv.DictReader(fh) if not row["Latitude"].strip())
    assert no_coords == 82  # tests/samples/SOURCES.md 1.1
    outside = int(out.split("outside region")[1].split()[0])
    assert f"{no_coords}  missing coordinates" in out and "(adds up)" in out
    assert _city_level_cases(settings) == no_coords + outside


@pytest.fixture(scope="module")
def nyc_region_loaded(tmp_path_factory):
    return load_region(nyc_region(tmp_path_factory.mktemp("nyc-check")))


@pytest.mark.realdata
@pytest.mark.parametrize("name", sorted(NYC_FILES))
def test_check_mapping_adds_up_on_each_real_nyc_file(name, nyc_region_loaded):
    path = NYC_FILES[name]
    if not path.exists():
        pytest.skip("NYC real data absent")
    r = check_mapping(name, path, region=nyc_region_loaded)
    assert r.adds_up() and r.rows_read == _csv_rows(path)
    for reason, n in MAPPER_REASONS[name].items():
        assert r.quarantined[reason] == n
    assert r.accepted > 0.9 * (r.rows_read - r.quarantined_total - r.duplicates)


@pytest.mark.realdata
def test_check_mapping_adds_up_on_the_real_beijing_set(tiny_region):
    folder = REALDATA / "beijing" / "prsa_air_quality"
    if not folder.exists():
        pytest.skip("Beijing real data absent")
    # the station table is found next to the data folder (the mapping's default lookup file)
    r = check_mapping("beijing_prsa", folder, region=tiny_region)
    assert r.adds_up() and r.rows_read == 12 * 35_064 * 6
    assert r.outside == r.rows_read - r.quarantined_total  # Beijing is not in the tiny region


@pytest.mark.parametrize("speed", [None, 3600.0])
def test_replay_reconciliation_matches_the_dry_run(
    speed, mapping_path, bad_file, runtime, tiny_region
):
    """Bulk and paced replays count like check-mapping, settled with what the store took."""
    from data.feeds.reconcile import Reconciliation
    from data.feeds.replay import replay_file

    dry = check_mapping(mapping_path, bad_file, region=tiny_region)
    recon = Reconciliation()
    result = replay_file(
        runtime.pipeline, mapping_path, bad_file, speed=speed, reconciliation=recon, sleep=id
    )
    assert (recon.accepted, recon.duplicates, recon.outside) == (result.accepted, 1, 1)
    assert recon.as_dict()["quarantined_by_reason"] == dry.as_dict()["quarantined_by_reason"]
    assert recon.adds_up() and not recon.notes
    again = Reconciliation()
    replay_file(runtime.pipeline, mapping_path, bad_file, speed=speed, reconciliation=again)
    # the second time the store holds both valid rows: duplicates found by the pipeline
    assert (again.accepted, again.duplicates) == (0, 3) and again.adds_up()
    assert "against the store" in again.duplicates_checked
