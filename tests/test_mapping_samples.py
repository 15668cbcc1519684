"""Every shipped mapping on the committed samples of its real file (tests/samples/, cut from the
full files with tests/samples/cut.py; licences in tests/samples/SOURCES.md). These run on a fresh
clone; the full-file tests in test_mapping.py carry the ``realdata`` marker.

Oracles come from the raw sample read with the csv module, never from the mapper under test.
"""

from __future__ import annotations

import csv
import json

import pandas as pd
import pytest

from data.events import normalise_frame, validate_frame
from data.feeds.mapping import MappingError, apply_mapping, load_mapping, map_file, read_records
from tests.support.realdata import BEIJING_SAMPLE, MAPPER_REASONS, NYC_SAMPLES

FAR_FUTURE = pd.Timestamp("2100-01-01", tz="UTC")
KEY_COLUMN = {
    "nyc_311_2013": "Unique Key",
    "nyc_311_2019": "unique_key",
    "nypd_complaints": "CMPLNT_NUM",
    "nypd_arrests": "ARREST_KEY",
    "nypd_shootings": "INCIDENT_KEY",
    "nyc_collisions": "COLLISION_ID",
}
# restaurant inspections have no key of their own: the id is a template over columns
POLLUTANTS = {"PM2.5": "pm25", "PM10": "pm10", "SO2": "so2", "NO2": "no2", "CO": "co", "O3": "o3"}
# Placeholder station coordinates: the sample tests check the lookup join, not the places (the
# published station list is not committed, see tests/samples/SOURCES.md).
STATIONS = pd.DataFrame(
    {
        "station": ["Dongsi", "Wanliu"],
        "lon": ["116.40", "116.30"],
        "lat": ["39.90", "39.98"],
        "station_zh": ["东四", "万柳"],
    }
)


def _rows(path) -> list[list[str]]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.reader(fh))


def test_every_mapping_has_a_sample():
    assert set(NYC_SAMPLES) | {"beijing_prsa"} == set(MAPPER_REASONS) | {"beijing_prsa"}
    for path in NYC_SAMPLES.values():
        assert path.is_file(), path
    assert len(list(BEIJING_SAMPLE.glob(load_mapping("beijing_prsa").spec.files))) == 2
    total = sum(p.stat().st_size for p in BEIJING_SAMPLE.parent.parent.rglob("*.csv"))
    assert total < 1_000_000


@pytest.mark.parametrize("name", sorted(NYC_SAMPLES))
def test_sample_rows_conserved_ids_and_reasons(name):
    path = NYC_SAMPLES[name]
    rows = _rows(path)
    out = pd.concat(list(map_file(name, path, chunksize=64)), ignore_index=True)
    assert len(out) == len(rows) - 1, "every input row appears once, valid or with a reason"
    template = load_mapping(name).spec.id.template
    if template:
        want = [
            template.format(**{k: v.strip() for k, v in zip(rows[0], r, strict=True)})
            for r in rows[1:]
        ]
    else:
        want = [r[rows[0].index(KEY_COLUMN[name])] for r in rows[1:]]
    assert out["id"].tolist() == want
    assert out["_raw"].notna().all()
    # the sample holds records of every reason the full file has, and no other reason
    reasons = set(out["_reason"].dropna())
    assert reasons == set(MAPPER_REASONS[name]), reasons
    good = out[out["_reason"].isna()]
    assert len(good) >= 100
    bad = validate_frame(load_mapping(name).source, good, now=FAR_FUTURE)
    assert bad.isna().all(), bad.dropna().value_counts().head()
    again = normalise_frame(out)
    assert list(again.dtypes.astype(str)) == list(out.dtypes.astype(str))
    assert str(out["time"].dtype) == "datetime64[us, UTC]"


@pytest.mark.parametrize("name", sorted(NYC_SAMPLES))
def test_sample_coordinates_reasons_match_the_raw_cells(name):
    """A row gets a coordinates reason exactly when its raw cells are empty or (0, 0)."""
    m = load_mapping(name)
    rows = _rows(NYC_SAMPLES[name])
    lon, lat = rows[0].index(m.spec.location.lon), rows[0].index(m.spec.location.lat)
    out = pd.concat(list(map_file(m, NYC_SAMPLES[name])), ignore_index=True)
    reason = out["_reason"].fillna("")
    placeholder = reason.str.startswith("placeholder date")
    for r, why, skip in zip(rows[1:], reason, placeholder, strict=True):
        if skip:  # an earlier reason wins
            continue
        x, y = r[lon].strip(), r[lat].strip()
        if not x or not y:
            assert why == "missing coordinates", r
        elif float(x.replace(",", "")) == 0 and float(y.replace(",", "")) == 0:
            assert why == "coordinates (0, 0)", r
        else:
            assert "coordinates" not in why, r


def test_sample_bom_is_handled():
    path = NYC_SAMPLES["nypd_complaints"]
    assert path.read_bytes()[:3] == b"\xef\xbb\xbf"
    raw = next(read_records(load_mapping("nypd_complaints"), path))
    assert raw.columns[0] == "CMPLNT_NUM"
    assert not raw["_raw"].iloc[0].startswith("\ufeff")


def test_sample_complaints_local_date_and_time():
    rows = _rows(NYC_SAMPLES["nypd_complaints"])
    out = pd.concat(list(map_file("nypd_complaints", NYC_SAMPLES["nypd_complaints"])))
    first = rows[1]
    local = pd.Timestamp(
        f"{first[rows[0].index('CMPLNT_FR_DT')]} {first[rows[0].index('CMPLNT_FR_TM')]}",
        tz="America/New_York",
    )
    assert out["time"].iloc[0] == local.tz_convert("UTC")


def test_sample_beijing_melt_lookup_and_na():
    m = load_mapping("beijing_prsa")
    out = pd.concat(
        list(map_file(m, BEIJING_SAMPLE, lookups={"stations": STATIONS})), ignore_index=True
    )
    files = sorted(BEIJING_SAMPLE.glob(m.spec.files))
    rows = [r for f in files for r in _rows(f)[1:]]
    header = _rows(files[0])[0]
    assert len(out) == len(rows) * 6  # rows x pollutants, row-major
    na = sum(r[header.index(c)] == "NA" for r in rows for c in POLLUTANTS)
    assert na > 0
    assert (out["_reason"] == "missing value (NA)").sum() == na
    assert out["_reason"].dropna().unique().tolist() == ["missing value (NA)"]
    first = out.iloc[:6]
    assert first["category"].tolist() == list(POLLUTANTS.values())
    r0 = rows[0]
    want = [float(r0[header.index(c)]) for c in POLLUTANTS]
    assert first["value"].tolist() == want
    local = pd.Timestamp(
        year=int(r0[1]), month=int(r0[2]), day=int(r0[3]), hour=int(r0[4]), tz="Asia/Shanghai"
    )
    assert (first["time"] == local.tz_convert("UTC")).all()
    assert first["id"].iloc[0] == f"{r0[-1]}-{r0[1]}-{r0[2]}-{r0[3]}-{r0[4]}-pm25"
    station = STATIONS.set_index("station").loc[r0[-1]]
    assert (first["lon"] == float(station["lon"])).all()
    attrs = json.loads(first["attributes"].iloc[0])
    assert attrs["station_zh"] == station["station_zh"]
    assert first["_raw"].nunique() == 1
    good = out[out["_reason"].isna()]
    assert validate_frame("environment", good, now=FAR_FUTURE).isna().all()


def test_sample_beijing_lookup_missing_or_without_entry():
    m = load_mapping("beijing_prsa")
    file = sorted(BEIJING_SAMPLE.glob("PRSA_Data_Dongsi_*.csv"))[0]
    raw = next(read_records(m, file, chunksize=50))
    bare = raw.drop(columns=[c for c in raw.columns if c.startswith("stations.")])
    with pytest.raises(MappingError, match="needs lookup 'stations'"):
        apply_mapping(m, bare)
    out = apply_mapping(m, bare, lookups={"stations": STATIONS[STATIONS["station"] != "Dongsi"]})
    assert (out["_reason"] == "no stations lookup entry for station 'Dongsi'").all()
