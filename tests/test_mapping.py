"""Field mappings (data/feeds/mapping/, data/mappings/*.toml): format and real public files.

The full real files live outside the repo in ../shared/realdata (facts in tests/samples/SOURCES.md, part 2); tests that
need them carry the ``realdata`` marker and skip cleanly when the folder is absent (the same
checks run on committed samples in test_mapping_samples.py). Counts asserted here come from tests/samples/SOURCES.md or are
recomputed from the raw file with the csv module (independent of the pandas reader under test).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from data.events import CATEGORIES, normalise_frame, validate_frame
from data.feeds.mapping import (
    MappingError,
    apply_mapping,
    list_mappings,
    load_mapping,
    map_file,
    parse_mapping,
    read_records,
)
from tests.support.realdata import MAPPER_REASONS, NYC_FILES

REAL = Path(__file__).resolve().parents[1].parent / "shared" / "realdata"
NYC = REAL / "nyc"
BEIJING = REAL / "beijing"
FAR_FUTURE = pd.Timestamp("2100-01-01", tz="UTC")

FILES = NYC_FILES
EXPECTED_REASONS = MAPPER_REASONS
NY = "America/New_York"


def _need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"real data not available: {path}")
    return path


def _csv_rows(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.reader(fh))


def _mapped(name: str) -> pd.DataFrame:
    return pd.concat(list(map_file(name, _need(FILES[name]))), ignore_index=True)


def _attrs(frame: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame([json.loads(a) for a in frame["attributes"]], index=frame.index)


@pytest.fixture(scope="module")
def mapped() -> dict[str, pd.DataFrame]:
    cache: dict[str, pd.DataFrame] = {}

    class Lazy(dict):
        def __missing__(self, key: str) -> pd.DataFrame:
            cache[key] = _mapped(key)
            self[key] = cache[key]
            return cache[key]

    return Lazy()


# --------------------------------------------------------------------------------------------
# shipped mappings
# --------------------------------------------------------------------------------------------


def test_every_shipped_mapping_loads():
    names = list_mappings()
    assert set(names) >= set(FILES) | {"beijing_prsa"}
    for name in names:
        m = load_mapping(name)
        assert m.name == name
        assert m.source in CATEGORIES


def test_data_package_does_not_import_dash():
    root = Path(__file__).resolve().parents[1] / "data"
    for py in root.rglob("*.py"):
        text = py.read_text(encoding="utf-8")
        assert "import dash" not in text and "from dash" not in text, py


# --------------------------------------------------------------------------------------------
# real files: conservation, reasons, canonical validity
# --------------------------------------------------------------------------------------------


@pytest.mark.realdata
@pytest.mark.parametrize("name", sorted(FILES))
def test_real_file_rows_conserved_and_reasons(name, mapped):
    path = _need(FILES[name])
    out = mapped[name]
    n_input = len(_csv_rows(path)) - 1  # header
    assert len(out) == n_input, "every input row appears once, valid or with a reason"
    reasons = out["_reason"].dropna().value_counts().to_dict()
    assert reasons == EXPECTED_REASONS[name]
    assert out["_reason"].map(lambda r: r is None or isinstance(r, str)).all()
    assert out["_raw"].notna().all()
    # the rows the mapper accepts are canonical-valid (now far in the future: old data is fine)
    good = out[out["_reason"].isna()]
    bad = validate_frame(load_mapping(name).source, good, now=FAR_FUTURE)
    assert bad.isna().all(), bad.dropna().value_counts().head()
    # already canonical: normalising again changes nothing
    again = normalise_frame(out)
    assert list(again.dtypes.astype(str)) == list(out.dtypes.astype(str))
    assert str(out["time"].dtype) == "datetime64[us, UTC]"
    assert str(out["severity"].dtype) == "Int64"


@pytest.mark.realdata
def test_ids_are_publisher_keys(mapped):
    key_col = {
        "nyc_311_2013": "Unique Key",
        "nyc_311_2019": "unique_key",
        "nypd_complaints": "CMPLNT_NUM",
        "nypd_arrests": "ARREST_KEY",
        "nypd_shootings": "INCIDENT_KEY",
        "nyc_collisions": "COLLISION_ID",
    }
    for name, col in key_col.items():
        path = _need(FILES[name])
        rows = _csv_rows(path)
        i = rows[0].index(col)
        assert mapped[name]["id"].tolist() == [r[i] for r in rows[1:]], name


@pytest.mark.realdata
def test_bom_is_handled():
    path = _need(FILES["nypd_complaints"])
    assert path.read_bytes()[:3] == b"\xef\xbb\xbf"
    raw = next(read_records(load_mapping("nypd_complaints"), path))
    assert raw.columns[0] == "CMPLNT_NUM"
    assert not raw["_raw"].iloc[0].startswith("\ufeff")


@pytest.mark.realdata
def test_complaints_date_and_time_columns(mapped):
    out = mapped["nypd_complaints"]
    local = out["time"].dt.tz_convert(NY)
    assert (local.dt.date == pd.Timestamp("2010-01-01").date()).all()
    first = out.iloc[0]  # 01/01/2010 17:30:00 EST = 22:30 UTC
    assert first["time"] == pd.Timestamp("2010-01-01T22:30:00Z")
    attrs = _attrs(out)
    assert set(attrs["law_category"]) == {"FELONY", "MISDEMEANOR", "VIOLATION"}
    assert attrs["precinct"].notna().mean() > 0.99
    assert attrs["reported"].max() >= "2017-12-29"  # reported years later
    assert attrs.loc[0, "x_state_plane"] == 1035836  # "1,035,836" thousands separators
    assert (out.loc[attrs["law_category"] == "FELONY", "severity"] >= 4).all()


@pytest.mark.realdata
def test_311_2013_times_local_and_close_times(mapped):
    out = mapped["nyc_311_2013"]
    local = out["time"].dt.tz_convert(NY)
    assert (local.dt.strftime("%Y-%m-%d") == "2013-12-25").all()
    assert local.min().strftime("%H:%M:%S") == "00:00:00"
    assert local.max().strftime("%H:%M:%S") == "23:59:08"
    attrs = _attrs(out)
    assert attrs["closed"].notna().sum() == 2309
    assert attrs["status"].value_counts()["Closed"] == 2302
    # created / closed are ISO UTC; created equals the event time
    created = pd.to_datetime(attrs["created"], utc=True)
    assert (created == out["time"]).all()
    closed = pd.to_datetime(attrs["closed"], utc=True)
    hours = (closed - created).dt.total_seconds() / 3600
    assert (hours < 0).sum() == 1  # one closes before it was created (tests/samples/SOURCES.md)
    assert 40 < hours.median() < 56  # median about 48 h
    assert attrs["community_board"].iloc[0] == "18 BROOKLYN"
    assert {"agency", "borough", "complaint_type"} <= set(attrs.columns)
    assert (out.loc[attrs["complaint_type"] == "HEATING", "category"] == "heating").all()
    assert out["category"].value_counts()["heating"] >= 1201


@pytest.mark.realdata
def test_311_2019_iso_schema(mapped):
    out = mapped["nyc_311_2019"]
    local = out["time"].dt.tz_convert(NY)
    assert local.min() == pd.Timestamp("2019-12-31 18:52:55", tz=NY)
    assert local.max() == pd.Timestamp("2019-12-31 23:59:11", tz=NY)
    attrs = _attrs(out)
    assert attrs["police_precinct"].iloc[0] == "Precinct 61"
    assert attrs["closed"].notna().sum() == 998
    cats = out.set_index(attrs["complaint_type"])["category"]
    assert (cats.loc["HEAT/HOT WATER"] == "heating").all()
    assert (cats.loc["Noise - Residential"] == "noise").all()
    assert (cats.loc["Blocked Driveway"] == "traffic").all()
    assert out["category"].isin(CATEGORIES["hotline"]).all()


@pytest.mark.realdata
def test_arrests_date_only(mapped):
    out = mapped["nypd_arrests"]
    local = out["time"].dt.tz_convert(NY)
    assert (local.dt.strftime("%H:%M") == "00:00").all()
    assert local.min().date() == pd.Timestamp("2021-01-01").date()
    assert local.max().date() == pd.Timestamp("2021-09-30").date()
    attrs = _attrs(out)
    assert (attrs["time_precision"] == "day").all()
    assert attrs["precinct"].astype(int).between(100, 115).all()


@pytest.mark.realdata
def test_shootings_keep_repeated_incident_keys(mapped):
    out = mapped["nypd_shootings"]
    # one row per victim: 1,501 rows, 1,162 incidents -> 339 rows repeat an earlier key
    assert len(out) == 1501
    assert out["id"].nunique() == 1162
    assert out["id"].duplicated().sum() == 339
    assert out["_reason"].isna().all()  # repetition is for the pipeline's de-duplication
    assert (out["severity"] == 5).sum() == 289  # STATISTICAL_MURDER_FLAG true
    local = out["time"].dt.tz_convert(NY)
    assert local.iloc[0] == pd.Timestamp("2020-08-24 15:11:00", tz=NY)


@pytest.mark.realdata
def test_collisions_quirks(mapped):
    path = _need(FILES["nyc_collisions"])
    assert not path.read_bytes().endswith(b"\n")  # no trailing newline
    out = mapped["nyc_collisions"]
    rows = _csv_rows(path)
    assert out["id"].iloc[-1] == rows[-1][rows[0].index("COLLISION_ID")]
    assert out["id"].is_unique
    zero = out["_reason"] == "coordinates (0, 0)"
    assert (out.loc[zero, "lon"] == 0).all() and (out.loc[zero, "lat"] == 0).all()
    assert out["time"].notna().all()  # H:MM without a leading zero parses
    attrs = _attrs(out)
    assert attrs["injured"].sum() == 7157
    assert attrs["killed"].sum() == 46
    assert (attrs["injured"] > 0).sum() == 5253
    assert ((out["severity"] == 5) == (attrs["killed"] > 0)).all()
    assert (out.loc[attrs["injured"].between(1, 2) & (attrs["killed"] == 0), "severity"] == 3).all()
    assert attrs["borough"].isna().sum() == 5192
    assert (attrs["collision_id"] == out["id"]).all()


@pytest.mark.realdata
def test_restaurant_inspections(mapped):
    out = mapped["nyc_restaurant_inspections"]
    attrs = _attrs(out)
    assert out["id"].is_unique  # camis + inspection_date + violation_code
    assert attrs["camis"].nunique() == 4573  # camis itself repeats
    placeholder = out["_reason"] == "placeholder date 1900-01-01"
    assert placeholder.sum() == 813
    bad_xy = out["lon"].isna() | ((out["lon"] == 0) & (out["lat"] == 0))
    assert bad_xy.sum() == 283
    assert set(out["category"]) == {"food_safety", "inspection"}
    assert (out.loc[attrs["violation_code"].isna(), "category"] == "inspection").all()
    assert (out.loc[attrs["critical_flag"] == "Critical", "severity"] >= 4).all()
    assert (out.loc[attrs["grade"] == "C", "severity"] >= 4).all()
    assert attrs["grade"].value_counts().to_dict() == {
        "A": 1500,
        "B": 247,
        "C": 178,
        "N": 137,
        "Z": 61,
        "P": 19,
    }
    assert attrs.loc[out["_reason"].isna(), "nta"].notna().mean() > 0.99
    assert {"community_board", "boro"} <= set(attrs.columns)


# --------------------------------------------------------------------------------------------
# Beijing: melt + station lookup + Asia/Shanghai, the whole 420k-row set
# --------------------------------------------------------------------------------------------

POLLUTANT_NA = {"pm25": 8739, "pm10": 6449, "so2": 9021, "no2": 12116, "co": 20701, "o3": 13277}


@pytest.fixture(scope="module")
def beijing() -> pd.DataFrame:
    folder = _need(BEIJING / "prsa_air_quality")
    # its speed is a figure of bench/budgets.py (beijing_s), not a test's budget
    return pd.concat(list(map_file("beijing_prsa", folder)), ignore_index=True)


@pytest.mark.realdata
def test_beijing_whole_set(beijing):
    out = beijing
    assert len(out) == 420_768 * 6  # rows x pollutants
    missing = out["_reason"] == "missing value (NA)"
    assert out["_reason"].dropna().unique().tolist() == ["missing value (NA)"]
    assert out.loc[missing].groupby("category").size().to_dict() == POLLUTANT_NA
    assert out.loc[missing, "value"].isna().all()
    assert out.loc[~missing, "value"].notna().all()
    assert out["id"].is_unique
    good = out[~missing]
    assert validate_frame("environment", good, now=FAR_FUTURE).isna().all()


@pytest.mark.realdata
def test_beijing_first_row_and_lookup(beijing):
    out = beijing
    first = out.iloc[:6]
    assert first["category"].tolist() == ["pm25", "pm10", "so2", "no2", "co", "o3"]
    assert first["value"].tolist() == [4.0, 4.0, 4.0, 7.0, 300.0, 77.0]
    # 2013-03-01 00:00 Beijing time (UTC+8)
    assert (first["time"] == pd.Timestamp("2013-02-28T16:00:00Z")).all()
    assert first["id"].iloc[0] == "Aotizhongxin-2013-3-1-0-pm25"
    assert (first["lon"] == 116.397).all() and (first["lat"] == 39.982).all()
    attrs = json.loads(first["attributes"].iloc[0])
    assert attrs["station"] == "Aotizhongxin" and attrs["station_zh"] == "奥体中心"
    assert first["_raw"].nunique() == 1  # the six readings share their row's record
    local = out["time"].dt.tz_convert("Asia/Shanghai")
    assert local.min() == pd.Timestamp("2013-03-01 00:00", tz="Asia/Shanghai")
    assert local.max() == pd.Timestamp("2017-02-28 23:00", tz="Asia/Shanghai")


@pytest.mark.realdata
def test_beijing_runtime_lookup_and_missing_lookup(tmp_path):
    folder = _need(BEIJING / "prsa_air_quality")
    coords = BEIJING / "beijing_prsa_station_coords.csv"
    file = sorted(folder.glob("PRSA_Data_Dongsi_*.csv"))[0]
    m = load_mapping("beijing_prsa")
    chunks = list(map_file(m, file, lookups={"stations": coords}, chunksize=10_000))
    assert len(chunks) == 4
    assert sum(len(c) for c in chunks) == 35_064 * 6
    raw = next(read_records(m, file, chunksize=100))
    bare = raw.drop(columns=[c for c in raw.columns if c.startswith("stations.")])
    with pytest.raises(MappingError, match="needs lookup 'stations'"):
        apply_mapping(m, bare)
    table = pd.read_csv(coords, dtype=str)
    out = apply_mapping(m, bare, lookups={"stations": table[table["station"] != "Dongsi"]})
    assert (out["_reason"] == "no stations lookup entry for station 'Dongsi'").all()


# --------------------------------------------------------------------------------------------
# synthetic: the mapping format itself
# --------------------------------------------------------------------------------------------

BASE = {
    "name": "t",
    "source": "hotline",
    "format": "csv",
    "timezone": "America/New_York",
    "na_values": ["", "NA"],
    "id": {"column": "key"},
    "time": {"column": "when", "format": "%m/%d/%Y %H:%M"},
    "location": {"lon": "x", "lat": "y"},
    "category": {
        "column": "kind",
        "map": {"HEATING": "heating", "HEAT/HOT WATER": "heating", "Noise*": "noise"},
        "default": "other",
    },
}


def _mapping(**over):
    data = {**BASE, **over}
    return parse_mapping({k: v for k, v in data.items() if v is not None})


def _frame(rows: list[dict[str, str]]) -> pd.DataFrame:
    return pd.DataFrame(rows, dtype="str")


ROW = {"key": "1", "when": "12/25/2013 08:00", "x": "-73.9", "y": "40.7", "kind": "HEATING"}


def test_bad_mapping_file_errors_name_the_field(tmp_path):
    p = tmp_path / "bad.toml"
    p.write_text('source = "hotline"\nformat = "xls"\n[id]\ncolum = "k"\n', encoding="utf-8")
    with pytest.raises(MappingError) as exc:
        load_mapping(p)
    msg = str(exc.value)
    assert "bad.toml" in msg
    assert "format" in msg and "'csv'" in msg
    assert "id.colum: unknown key" in msg
    assert "time: Field required" in msg
    p.write_text("source = [", encoding="utf-8")
    with pytest.raises(MappingError, match="not valid TOML"):
        load_mapping(p)
    with pytest.raises(MappingError, match="no mapping named 'nope'"):
        load_mapping("nope")


@pytest.mark.parametrize(
    ("over", "needle"),
    [
        ({"source": "weather"}, "unknown source 'weather'"),
        ({"timezone": "Mars/Base"}, "unknown time zone 'Mars/Base'"),
        ({"category": {"column": "kind", "map": {"a": "noize"}}}, "['noize'] are not hotline"),
        ({"id": {"column": "a", "template": "{b}"}}, "id needs exactly one of"),
        ({"id": {"template": "{b:>3}"}}, "bad template"),
        ({"time": {"column": "when", "format": "MM/DD/YYYY"}}, "strptime format"),
        ({"severity": {"value": 9}}, "severity.value"),
        ({"severity": {"column": "s"}}, "needs a map"),
        ({"attributes": {"x": 3}}, "attributes.x: expected a column name or a table"),
        ({"attributes": {"c": {"column": "c", "type": "date"}}}, "attributes.c.type: Input"),
    ],
)
def test_bad_mapping_values(over, needle):
    with pytest.raises(MappingError) as exc:
        _mapping(**over)
    assert needle in str(exc.value)


def test_unknown_column_names_available_columns():
    m = _mapping(location={"lon": "lng", "lat": "y"})
    with pytest.raises(MappingError) as exc:
        apply_mapping(m, _frame([ROW]))
    msg = str(exc.value)
    assert "'lng'" in msg and "location" in msg
    assert "Available columns: key, when, x, y, kind" in msg


def test_value_maps_globs_defaults_and_case():
    kinds = ["HEATING", "heat/hot water", "Noise - Residential", "Rodent", "NA"]
    rows = [{**ROW, "key": str(i), "kind": k} for i, k in enumerate(kinds)]
    out = apply_mapping(_mapping(), _frame(rows))
    assert out["category"].tolist() == ["heating", "heating", "noise", "other", "other"]
    strict = _mapping(category={"column": "kind", "map": {"HEATING": "heating"}})
    out = apply_mapping(strict, _frame(rows))
    assert out["_reason"].tolist()[1:] == [
        "unmapped category 'heat/hot water'",
        "unmapped category 'Noise - Residential'",
        "unmapped category 'Rodent'",
        "missing category",
    ]
    const = _mapping(category={"value": "noise"})
    assert apply_mapping(const, _frame(rows))["category"].eq("noise").all()


def test_template_ids_text_join_and_attributes():
    m = _mapping(
        id={"template": "{key}-{kind}"},
        text={"join": ["kind", "note"], "sep": ": "},
        attributes={
            "kind": "kind",
            "n": {"column": "n", "type": "int"},
            "f": {"column": "n", "type": "float"},
            "closed": {"column": "closed", "type": "time", "format": "%m/%d/%Y %H:%M"},
            "flag": {"column": "flag", "type": "bool"},
            "const": {"value": "day"},
            "both": {"template": "{kind}/{note}"},
        },
    )
    rows = [
        {**ROW, "note": "No heat", "n": "3", "closed": "12/26/2013 01:15", "flag": "true"},
        {**ROW, "key": "2", "note": "NA", "n": "x", "closed": "", "flag": "N"},
    ]
    out = apply_mapping(m, _frame(rows))
    assert out["id"].tolist() == ["1-HEATING", "2-HEATING"]
    assert out["text"].tolist() == ["HEATING: No heat", "HEATING"]
    a0, a1 = (json.loads(a) for a in out["attributes"])
    assert a0 == {
        "kind": "HEATING",
        "n": 3,
        "f": 3.0,
        "closed": "2013-12-26T06:15:00Z",
        "flag": True,
        "const": "day",
        "both": "HEATING/No heat",
    }
    assert a1["n"] is None and a1["closed"] is None and a1["flag"] is False
    assert a1["both"] == "HEATING/"


def test_severity_map_clip_and_rules():
    rows = [
        {**ROW, "key": "1", "level": "FELONY", "hurt": "0", "dead": "0", "lvl": "7"},
        {**ROW, "key": "2", "level": "misdemeanor", "hurt": "4", "dead": "0", "lvl": "0.4"},
        {**ROW, "key": "3", "level": "other", "hurt": "1", "dead": "2", "lvl": ""},
    ]
    mapped = _mapping(severity={"column": "level", "map": {"FELONY": 4, "MISDEMEANOR": 3}})
    assert apply_mapping(mapped, _frame(rows))["severity"].tolist() == [4, 3, pd.NA]
    clipped = _mapping(severity={"column": "lvl", "clip": True})
    assert apply_mapping(clipped, _frame(rows))["severity"].tolist() == [5, 1, pd.NA]
    ruled = _mapping(
        severity={
            "default": 2,
            "rules": [
                {"column": "hurt", "min": 1, "value": 3},
                {"column": "hurt", "min": 3, "value": 4},
                {"column": "dead", "min": 1, "value": 5},
                {"column": "level", "in": ["fel*"], "value": 4},
            ],
        }
    )
    assert apply_mapping(ruled, _frame(rows))["severity"].tolist() == [4, 4, 5]


def test_time_rules_zones_reasons_and_placeholders():
    whens = [
        "12/25/2013 08:00",
        "25.12.2013",
        "",
        "01/01/1900 00:00",
        "11/03/2013 01:30",
        "03/10/2013 02:30",
    ]
    rows = [{**ROW, "key": str(i), "when": w} for i, w in enumerate(whens)]
    m = _mapping(
        time={"column": "when", "format": "%m/%d/%Y %H:%M", "placeholders": ["1900-01-01"]}
    )
    out = apply_mapping(m, _frame(rows))
    assert out["time"].iloc[0] == pd.Timestamp("2013-12-25T13:00:00Z")
    assert out["_reason"].tolist()[1:4] == [
        "unparseable time '25.12.2013'",
        "missing time",
        "placeholder date 1900-01-01",
    ]
    # the repeated hour when clocks go back is read as the first (EDT) occurrence
    assert out["time"].iloc[4] == pd.Timestamp("2013-11-03T05:30:00Z")
    # the skipped hour when clocks go forward is shifted to the first valid instant (03:00 EDT)
    assert out["time"].iloc[5] == pd.Timestamp("2013-03-10T07:00:00Z")
    iso = _mapping(time={"column": "when"})
    isos = ["2019-12-31T23:59:11.000", "2019-12-31T23:59:11Z", "2020-01-01T08:00:00+08:00"]
    out = apply_mapping(
        iso, _frame([{**ROW, "key": str(i), "when": w} for i, w in enumerate(isos)])
    )
    assert out["time"].tolist() == [
        pd.Timestamp("2020-01-01T04:59:11Z"),
        pd.Timestamp("2019-12-31T23:59:11Z"),
        pd.Timestamp("2020-01-01T00:00:00Z"),
    ]
    parts = _mapping(
        time={"parts": {"year": "y4", "month": "mo", "day": "d", "hour": "h"}},
        timezone="Asia/Shanghai",
    )
    rows = [
        {**ROW, "y4": "2013", "mo": "3", "d": "1", "h": "0"},
        {**ROW, "key": "2", "y4": "2013", "mo": "13", "d": "1", "h": "0"},
    ]
    out = apply_mapping(parts, _frame(rows))
    assert out["time"].iloc[0] == pd.Timestamp("2013-02-28T16:00:00Z")
    assert out["_reason"].iloc[1] == "unparseable time 'year=2013 month=13 day=1 hour=0'"


def test_date_and_time_columns_and_coordinates():
    m = _mapping(
        time={"date": "d", "time": "t", "date_format": "%m/%d/%Y", "time_format": "%H:%M"},
        thousands=",",
    )
    rows = [
        {**ROW, "d": "09/11/2021", "t": "2:39"},
        {**ROW, "key": "2", "d": "09/11/2021", "t": "2:39", "x": "0", "y": "0.0"},
        {**ROW, "key": "3", "d": "09/11/2021", "t": "2:39", "x": "", "y": "40.7"},
        {**ROW, "key": "4", "d": "09/11/2021", "t": "2:39", "x": "west", "y": "40.7"},
        {**ROW, "key": "5", "d": "09/11/2021", "t": "", "x": "-73.9", "y": "40.7"},
    ]
    out = apply_mapping(m, _frame(rows))
    assert out["time"].iloc[0] == pd.Timestamp("2021-09-11T06:39:00Z")
    assert out["_reason"].tolist() == [
        None,
        "coordinates (0, 0)",
        "missing coordinates",
        "unparseable coordinates 'west', '40.7'",
        "missing time",
    ]


def test_melt_with_lookup_dataframe_and_missing_values():
    m = parse_mapping(
        {
            "name": "wide",
            "source": "environment",
            "format": "csv",
            "na_values": ["", "NA"],
            "lookups": {"st": {"key": "station", "on": "station", "columns": ["lon", "lat"]}},
            "melt": {
                "columns": {"PM2.5": "pm25", "NO2": "no2"},
                "var_name": "pollutant",
                "value_name": "reading",
            },
            "id": {"template": "{station}-{hour}-{pollutant}"},
            "time": {"parts": {"year": "year", "month": "month", "day": "day", "hour": "hour"}},
            "location": {"lon": "st.lon", "lat": "st.lat"},
            "category": {"column": "pollutant"},
            "value": {"column": "reading", "required": True},
            "attributes": {"station": "station", "pollutant": "pollutant"},
        }
    )
    raw = _frame(
        [
            {
                "year": "2014",
                "month": "1",
                "day": "2",
                "hour": "3",
                "PM2.5": "80",
                "NO2": "NA",
                "station": "A",
            },
            {
                "year": "2014",
                "month": "1",
                "day": "2",
                "hour": "4",
                "PM2.5": "x",
                "NO2": "",
                "station": "B",
            },
        ]
    )
    table = pd.DataFrame({"station": ["A", "B"], "lon": ["116.4", "116.2"], "lat": ["39.9", "40"]})
    out = apply_mapping(m, raw, lookups={"st": table})
    assert out["id"].tolist() == ["A-3-pm25", "A-3-no2", "B-4-pm25", "B-4-no2"]
    assert out["category"].tolist() == ["pm25", "no2", "pm25", "no2"]
    assert out["value"].tolist()[0] == 80.0
    assert out["_reason"].tolist() == [
        None,
        "missing value (NA)",
        "unparseable value 'x'",
        "missing value (empty)",
    ]
    assert out["lat"].tolist() == [39.9, 39.9, 40.0, 40.0]
    assert json.loads(out["attributes"].iloc[1]) == {"station": "A", "pollutant": "no2"}
    assert len(out["_raw"].unique()) == 2


def test_jsonl_json_and_parquet_inputs(tmp_path):
    base = {k: v for k, v in BASE.items() if k != "name"}
    recs = [
        {"key": 1, "when": "12/25/2013 08:00", "x": -73.9, "y": 40.7, "kind": "HEATING"},
        {"key": 2, "when": "12/25/2013 09:00", "x": None, "y": None, "kind": "Noise - Park"},
    ]
    jl = tmp_path / "feed.jsonl"
    jl.write_text(
        "\n".join([json.dumps(r) for r in recs] + ["{not json", "[1, 2]"]) + "\n", encoding="utf-8"
    )
    m = parse_mapping({**base, "format": "jsonl"}, name="jl")
    out = pd.concat(list(map_file(m, jl, chunksize=3)), ignore_index=True)
    assert out["id"].tolist()[:2] == ["1", "2"]
    assert out["category"].tolist()[:2] == ["heating", "noise"]
    assert out["_reason"].iloc[1] == "missing coordinates"
    assert out["_reason"].iloc[2].startswith("unparseable JSON")
    assert out["_reason"].iloc[3] == "JSON record is not an object"
    assert out["_raw"].iloc[2] == "{not json"
    assert json.loads(out["_raw"].iloc[0])["key"] == 1

    js = tmp_path / "feed.json"
    js.write_text(json.dumps({"data": {"rows": recs}}), encoding="utf-8")
    m = parse_mapping({**base, "format": "json", "json": {"records_path": "data.rows"}}, name="js")
    out = pd.concat(list(map_file(m, js)), ignore_index=True)
    assert out["id"].tolist() == ["1", "2"] and out["lon"].iloc[0] == -73.9

    # 9 records in chunks of at most 4: 3, 3 and 3, not 4, 4 and 1 (DuckDB writes an insert of
    # fewer rows than a row group to the write-ahead log)
    nine = [dict(recs[0], key=k) for k in range(9)]
    more = tmp_path / "more.json"
    more.write_text(json.dumps({"data": {"rows": nine}}), encoding="utf-8")
    assert [len(c) for c in map_file(m, more, chunksize=4)] == [3, 3, 3]

    pq = tmp_path / "feed.parquet"
    pd.DataFrame(recs).to_parquet(pq)
    m = parse_mapping({**base, "format": "parquet"}, name="pq")
    pd.DataFrame(nine).to_parquet(tmp_path / "more.parquet")
    assert [len(c) for c in map_file(m, tmp_path / "more.parquet", chunksize=4)] == [3, 3, 3]
    out = pd.concat(list(map_file(m, pq)), ignore_index=True)
    assert out["id"].tolist() == ["1", "2"]
    assert out["time"].iloc[1] == pd.Timestamp("2013-12-25T14:00:00Z")
    assert out["_reason"].tolist() == [None, "missing coordinates"]
    assert json.loads(out["_raw"].iloc[0])["kind"] == "HEATING"


def test_csv_raw_reserialised_and_chunked(tmp_path):
    p = tmp_path / "feed.csv"
    p.write_bytes(
        b'\xef\xbb\xbfkey,when,x,y,kind\r\n1,12/25/2013 08:00,-73.9,40.7,"HEATING, ""old"""\r\n'
        b"2,12/25/2013 09:00,-73.9,40.7,Noise\r\n3,12/25/2013 10:00,-73.9,40.7,Snow"
    )
    m = parse_mapping({**BASE, "encoding": "utf-8-sig"})
    chunks = list(map_file(m, p, chunksize=2))
    assert [len(c) for c in chunks] == [2, 1]
    out = pd.concat(chunks, ignore_index=True)
    assert out["_raw"].tolist() == [
        '1,12/25/2013 08:00,-73.9,40.7,"HEATING, ""old"""',
        "2,12/25/2013 09:00,-73.9,40.7,Noise",
        "3,12/25/2013 10:00,-73.9,40.7,Snow",
    ]
    assert out["category"].tolist() == ["other", "noise", "other"]
    assert out["id"].tolist() == ["1", "2", "3"]
    assert np.isclose(out["lon"], -73.9).all()


def test_folder_input_uses_files_glob(tmp_path):
    for i in range(2):
        (tmp_path / f"part{i}.csv").write_text(
            f"key,when,x,y,kind\n{i},12/25/2013 08:00,-73.9,40.7,HEATING\n", encoding="utf-8"
        )
    (tmp_path / "notes.txt").write_text("ignore me", encoding="utf-8")
    m = parse_mapping({**BASE, "files": "part*.csv"})
    out = pd.concat(list(map_file(m, tmp_path)), ignore_index=True)
    assert out["id"].tolist() == ["0", "1"]


def test_a_shared_vocabulary_file_and_own_entries_win(tmp_path):
    (tmp_path / "vocab.toml").write_text('[map]\n"Noise*" = "noise"\n"HEATING" = "other"\n')
    (tmp_path / "m.toml").write_text(
        'source = "hotline"\nformat = "csv"\n[id]\ncolumn = "id"\n[time]\ncolumn = "t"\n'
        '[location]\nlon = "x"\nlat = "y"\n[category]\ncolumn = "kind"\n'
        'map_file = "vocab.toml"\ndefault = "other"\n[category.map]\n"HEATING" = "heating"\n'
    )
    m = load_mapping(tmp_path / "m.toml")
    assert m.category.map == {"Noise*": "noise", "HEATING": "heating"}
    (tmp_path / "bad.toml").write_text(
        (tmp_path / "m.toml").read_text().replace("vocab.toml", "nope.toml")
    )
    with pytest.raises(MappingError, match="vocabulary file .*nope.toml not found"):
        load_mapping(tmp_path / "bad.toml")
