"""Real data: Beijing PRSA hourly PM2.5 (UCI, 2013-2017) replayed into an imported Beijing region;
the PM2.5 persistence warnings of data/rules.toml, evaluated hour by hour, must rise and clear with
the real heavy-smog episodes. Skipped when ../shared/realdata is absent.

Episodes checked (Dongsi and Tiantan stations, Dongcheng district; daily means from the data):
- 2016-12-03..04: 236 and 310 ug/m3 at Dongsi; clean air (38) on 12-05
- 2016-12-16..21: 140-405 ug/m3 (Beijing's red alert week); 76 on 12-22, 37 on 12-23
- 2016-12-30..2017-01-07: 181-487 ug/m3; 33 on 01-08
"""

from __future__ import annotations

import pandas as pd
import pytest

from data.region_import import LevelSpec, import_region
from data.runtime import Runtime
from data.settings import load_settings
from data.warnings import WarningEngine, load_rules

STATIONS = ("Dongsi", "Tiantan")
TZ = "Asia/Shanghai"


def local(ts: str) -> pd.Timestamp:
    return pd.Timestamp(ts, tz=TZ).tz_convert("UTC")


# the latest time any test below looks at (the last episode's "after")
LAST_CHECKED = local("2017-01-08 18:00")


@pytest.fixture(scope="module")
def beijing(tmp_path_factory):
    from tests.support.realdata import REALDATA

    if not REALDATA.is_dir():
        pytest.skip(f"real data folder {REALDATA} is absent")
    from data.feeds.replay import replay_file

    tmp = tmp_path_factory.mktemp("beijing")
    region = import_region(
        REALDATA / "beijing" / "polygons" / "beijing_districts_110000_full.json",
        tmp / "region",
        name="beijing",
        levels={"county": LevelSpec("adcode", "name")},
        cell_size_m=5000,
        cell_shape="hex",
        name_zh="北京市",
        timezone=TZ,
    )
    del region
    # a few months of two stations' files, cut from the published CSVs and replayed as they are
    folder = tmp / "prsa"
    folder.mkdir()
    for st in STATIONS:
        src = next((REALDATA / "beijing" / "prsa_air_quality").glob(f"PRSA_Data_{st}_*.csv"))
        df = pd.read_csv(src)
        keep = (df["year"] * 100 + df["month"]).between(201611, 201701)
        df[keep].to_csv(folder / src.name, index=False)
    settings = load_settings(db=tmp / "bj.duckdb", region=str(tmp / "region"), simulator=False)
    rt = Runtime(settings)
    res = replay_file(
        rt.pipeline,
        "data/mappings/beijing_prsa.toml",
        folder,
        lookups={"stations": REALDATA / "beijing" / "beijing_prsa_station_coords.csv"},
    )
    assert res.accepted > 20_000
    rules = load_rules()
    # only the rule under test; no fusion groups either: they pair police, traffic and hotline
    # reports, and this store holds air readings only (each hour would read them for nothing)
    pm25 = [r for r in rules.rule if r.id == "pm25_station"]
    rules = rules.model_copy(update={"rule": pm25, "fusion": []})
    engine = WarningEngine(rt.db, rules)
    # hour by hour up to the last hour a test looks at: the engine stamps every change with the
    # hour it evaluates, so later hours could only add rows after every checked time
    for now in pd.date_range(local("2016-11-01 01:00"), LAST_CHECKED, freq="1h"):
        engine.evaluate(now)
    w = rt.db.query_df(
        "SELECT id, subject, level_rank, raised_at, cleared_at FROM warnings ORDER BY raised_at"
    )
    hist = rt.db.query_df(
        "SELECT h.warning_id, h.changed_at, h.to_rank FROM warning_history h ORDER BY h.id"
    )
    yield rt, w, hist
    rt.stop()


def active_at(w: pd.DataFrame, station: str, ts: pd.Timestamp) -> pd.DataFrame:
    raised = pd.to_datetime(w["raised_at"], utc=True)
    cleared = pd.to_datetime(w["cleared_at"], utc=True)
    m = (w["subject"] == station) & (raised <= ts) & (cleared.isna() | (cleared > ts))
    return w[m]


def top_rank(w, hist, station, start, end) -> int:
    """The highest level any warning of ``station`` reached in [start, end]."""
    ids = set(w[w["subject"] == station]["id"])
    t = pd.to_datetime(hist["changed_at"], utc=True)
    h = hist[hist["warning_id"].isin(ids) & (t >= start) & (t <= end)]
    return int(h["to_rank"].max()) if len(h) else 0


@pytest.mark.realdata
@pytest.mark.slow
@pytest.mark.parametrize("station", STATIONS)
@pytest.mark.parametrize(
    ("during", "after", "peak_from", "peak_to", "min_top"),
    [
        ("2016-12-04 12:00", "2016-12-05 18:00", "2016-12-03", "2016-12-05", 3),
        ("2016-12-20 12:00", "2016-12-23 12:00", "2016-12-16", "2016-12-22", 4),
        ("2017-01-01 12:00", "2017-01-08 18:00", "2016-12-30", "2017-01-08", 4),
    ],
)
def test_pm25_warnings_rise_and_clear_with_real_episodes(
    beijing, station, during, after, peak_from, peak_to, min_top
):
    rt, w, hist = beijing
    assert len(active_at(w, station, local(during))) == 1, f"no warning at {station} on {during}"
    assert top_rank(w, hist, station, local(peak_from), local(peak_to)) >= min_top
    assert active_at(w, station, local(after)).empty, f"still warned at {station} on {after}"
    # every warning placed on the station's own cell
    cells = rt.db.query(
        "SELECT DISTINCT cell_key FROM events WHERE json_extract_string(attributes, '$.station') = ?",
        [station],
    )
    assert set(w[w["subject"] == station]["id"]) and len(cells) == 1


@pytest.mark.realdata
def test_clean_days_have_no_pm25_warning(beijing):
    _rt, w, _hist = beijing
    # 2016-11-21..23: daily means 12-16 ug/m3 at Dongsi
    for st in STATIONS:
        assert active_at(w, st, local("2016-11-22 12:00")).empty
