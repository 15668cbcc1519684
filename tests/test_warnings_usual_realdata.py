"""Real data: the shipped rules that compare each street with its own usual raise warnings on a
replayed real feed, and only where a street is far above its usual; the simulator-calibrated
threshold rule stays silent on the same feed (the defect of issue 13); a one-day file shows the
learning state. NYC collisions (four weeks of the published sample, April-May 2021) into NYC's
imported community districts. Skipped when ../shared/realdata is absent."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from data.feeds.replay import replay_file
from data.warnings import load_rules
from data.warnings.backtest import backtest
from data.warnings.learning import learning_state
from tests.support.realdata import NYC_FILES, nyc_region
from tests.support.stores import tiny_runtime

TZ = "America/New_York"
USUAL = ("police_above_usual", "traffic_above_usual", "hotline_above_usual")


def local(day: str) -> pd.Timestamp:
    return pd.Timestamp(day).tz_localize(TZ).tz_convert("UTC")


@pytest.fixture(scope="module")
def collisions(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("nyc_usual")
    region = nyc_region(tmp)  # skips when the real polygons are absent
    df = pd.read_csv(NYC_FILES["nyc_collisions"], dtype=str)
    t = pd.to_datetime(df["CRASH DATE"], format="%m/%d/%Y")
    df[(t >= "2021-04-12") & (t <= "2021-05-09")].to_csv(tmp / "c.csv", index=False)
    rt = tiny_runtime(tmp, region, warnings=False)
    res = replay_file(rt.pipeline, "data/mappings/nyc_collisions.toml", tmp / "c.csv")
    assert res.accepted > 6000
    yield rt
    rt.stop()


def _only(ids):
    rs = load_rules()
    return rs.model_copy(update={"rule": [r for r in rs.rule if r.id in ids], "fusion": []})


@pytest.mark.realdata
def test_streets_far_above_their_usual_are_warned_and_only_they(collisions):
    rt = collisions
    res = backtest(
        rt.db, _only(USUAL), local("2021-05-04"), local("2021-05-06"), step=pd.Timedelta(hours=1)
    )
    w = res.warnings
    assert len(w) >= 1, "no shipped rule fired on a replayed real feed"
    assert set(w["rule_id"]) == {"traffic_above_usual"} and set(w["area_level"]) == {"township"}
    for r in w.itertuples():
        d = json.loads(r.detail)
        assert d["n"] >= 6 and d["n"] >= 2.5 * d["baseline"], d  # far above its own usual
    # a few streets, not the whole city: at most a handful per 1,000 cells per day
    assert res.per_1000_cells_day < 10
    assert w["area_key"].nunique() <= 5


@pytest.mark.realdata
def test_simulator_calibrated_threshold_stays_silent_on_the_same_feed(collisions):
    res = backtest(
        collisions.db,
        _only(("traffic_accident_cell",)),
        local("2021-05-04"),
        local("2021-05-06"),
        step=pd.Timedelta(hours=1),
    )
    assert res.warnings.empty


@pytest.mark.realdata
def test_a_one_day_file_is_learning(tmp_path):
    region = nyc_region(tmp_path)
    rt = tiny_runtime(tmp_path, region, warnings=False)
    try:
        replay_file(rt.pipeline, "data/mappings/nyc_311_2013.toml", NYC_FILES["nyc_311_2013"])
        st = learning_state(rt.db, load_rules(), local("2013-12-26"))
        assert st["learning"] and not st["judging"] and st["days"] <= 1.0
        assert "hotline_above_usual" in st["rules"] and st["needed_days"] == 28
    finally:
        rt.stop()
