"""Tests for the simulated live feeds (data/feeds/simulator.py)."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from data.events import CATEGORIES, SOURCES, empty_frame, normalise_frame, validate_frame
from data.feeds.simulator import (
    AQI_BREAKPOINTS,
    DEFAULT_RATES,
    Episode,
    Simulator,
    SimulatorFeed,
    aqi,
    aqi_level,
    iaqi,
)

TZ = "Asia/Shanghai"
D = 0.005  # cell size in degrees


@pytest.fixture(scope="module")
def cells() -> gpd.GeoDataFrame:
    """10 x 10 grid of 0.005-degree cells near Anshan; urban core in the middle, two counties.

    Cell 1 is a triangle (half its bounding box) to exercise rejection sampling, and a few cells
    have no population (area fallback).
    """
    rows = []
    key = 0
    for i in range(10):
        for j in range(10):
            key += 1
            x0, y0 = 123.0 + i * D, 41.1 + j * D
            geom = shapely.box(x0, y0, x0 + D, y0 + D)
            if key == 1:
                geom = shapely.Polygon([(x0, y0), (x0 + D, y0), (x0, y0 + D)])
            urban = abs(i - 4.5) < 3 and abs(j - 4.5) < 3
            rows.append(
                {
                    "key": key,
                    "code": f"210302{key:09d}",
                    "geometry": geom,
                    "population": None if key % 23 == 0 else (4000 if urban else 300),
                    "kind": "urban" if urban else "rural",
                    "county_key": 1000 + (i >= 5),
                }
            )
    g = gpd.GeoDataFrame(rows, geometry="geometry", crs="EPSG:4326")
    g["population"] = g["population"].astype("Int64")
    return g


@pytest.fixture(scope="module")
def sim(cells) -> Simulator:
    return Simulator(cells, seed=7)


START = pd.Timestamp("2026-11-23 00:00", tz=TZ).tz_convert("UTC")  # a Monday in heating season


def local(frame: pd.DataFrame) -> pd.Series:
    return frame["time"].dt.tz_convert(TZ)


def cell_of(frame: pd.DataFrame, cells: gpd.GeoDataFrame) -> pd.Series:
    pts = gpd.GeoDataFrame(
        frame[["id"]], geometry=gpd.points_from_xy(frame["lon"], frame["lat"]), crs="EPSG:4326"
    )
    joined = gpd.sjoin(pts, cells[["key", "geometry"]], predicate="within", how="left")
    joined = joined[~joined.index.duplicated()]
    return joined["key"].reindex(frame.index)


# --- determinism, windows, ids ------------------------------------------------------------------


def test_deterministic_per_seed(cells):
    a = Simulator(cells, seed=3).generate_all(START, START + pd.Timedelta(days=2))
    b = Simulator(cells, seed=3).generate_all(START, START + pd.Timedelta(days=2))
    c = Simulator(cells, seed=4).generate_all(START, START + pd.Timedelta(days=2))
    for s in SOURCES:
        assert len(a[s]) > 0
        pd.testing.assert_frame_equal(a[s], b[s])
        assert not a[s].equals(c[s])


@pytest.mark.parametrize("source", SOURCES)
def test_window_consistency(sim, source):
    a, c = START, START + pd.Timedelta(days=3)
    cuts = [a + pd.Timedelta(hours=7, minutes=13, seconds=5), a + pd.Timedelta(hours=31)]
    whole = sim.generate(source, a, c)
    parts = [sim.generate(source, x, y) for x, y in zip([a, *cuts], [*cuts, c], strict=True)]
    joined = pd.concat(parts, ignore_index=True)
    pd.testing.assert_frame_equal(whole.reset_index(drop=True), joined)
    # tiny windows as the live feed produces them
    t, pieces = a, []
    while t < a + pd.Timedelta(hours=3):
        pieces.append(sim.generate(source, t, t + pd.Timedelta(seconds=97)))
        t += pd.Timedelta(seconds=97)
    small = pd.concat(pieces, ignore_index=True)
    ref = sim.generate(source, a, t).reset_index(drop=True)
    pd.testing.assert_frame_equal(ref, small)


def test_ids_unique_and_sorted(sim):
    frames = sim.generate_all(START, START + pd.Timedelta(days=4))
    all_ids = pd.concat([f["id"] for f in frames.values()])
    assert all_ids.is_unique
    for s, f in frames.items():
        assert f["time"].is_monotonic_increasing
        assert f["id"].str.startswith(f"{s}-").all()
        assert (f["time"] >= START).all() and (f["time"] < START + pd.Timedelta(days=4)).all()


@pytest.mark.parametrize("source", SOURCES)
def test_every_row_valid(sim, source):
    end = START + pd.Timedelta(days=3)
    frame = sim.generate(source, START, end)
    assert len(frame) > 0
    assert list(frame.columns) == list(empty_frame().columns)
    assert frame.dtypes.to_dict() == empty_frame().dtypes.to_dict()
    reasons = validate_frame(source, normalise_frame(frame), now=end + pd.Timedelta(minutes=1))
    assert reasons.isna().all(), reasons.value_counts().to_dict()
    assert set(frame["category"]) <= set(CATEGORIES[source])
    assert frame["severity"].notna().all()
    assert frame["severity"].between(1, 5).all()
    assert frame["attributes"].map(lambda s: isinstance(json.loads(s), dict)).all()
    assert frame["text"].notna().all()


def test_points_inside_their_cells(sim, cells):
    frames = sim.generate_all(START, START + pd.Timedelta(days=2))
    for s, f in frames.items():
        keys = cell_of(f, cells)
        assert keys.notna().all(), s
    # the triangle cell still receives events, all inside the triangle
    big = Simulator(cells, seed=1, rates={"police": 200_000}).generate(
        "police", START, START + pd.Timedelta(hours=6)
    )
    keys = cell_of(big, cells)
    assert keys.notna().all()
    assert (keys == 1).sum() > 0


def test_people_feeds_follow_population(sim, cells):
    f = sim.generate("hotline", START, START + pd.Timedelta(days=7))
    keys = cell_of(f, cells)
    urban = set(cells.loc[cells["kind"] == "urban", "key"])
    urban_share = keys.isin(urban).mean()
    pop = cells["population"].fillna(0).astype(float)
    expected = pop[cells["kind"] == "urban"].sum() / pop.sum()
    assert urban_share > 0.7 and urban_share > expected - 0.15
    hot = set(sim.hotspots["hotline"])
    per_cell = keys.value_counts()
    assert per_cell[list(hot)].mean() > 2 * per_cell.median()


# --- rhythms ------------------------------------------------------------------------------------


def test_hotline_daily_cycle(sim):
    f = sim.generate("hotline", START, START + pd.Timedelta(days=14))
    h = local(f).dt.hour
    night = h.between(0, 5).sum() / 6
    peak = h.between(9, 10).sum() / 2
    assert night < 0.1 * peak


def test_police_public_order_at_night(sim):
    f = sim.generate("police", START, START + pd.Timedelta(days=14))
    po = f[f["category"] == "public_order"]
    h = local(po).dt.hour
    evening = h.isin([20, 21, 22, 23, 0, 1]).sum() / 6
    morning = h.between(6, 9).sum() / 4
    assert evening > 4 * morning
    shares = f["category"].value_counts(normalize=True)
    assert 0.22 < shares["traffic"] < 0.34 and 0.2 < shares["assistance"] < 0.3
    assert 400 < len(f) / 14 < 600


def test_traffic_rush_hours_and_accidents(sim):
    f = sim.generate("traffic", START, START + pd.Timedelta(days=7))
    lt = local(f)
    weekday = lt.dt.day_of_week < 5
    cong = f[(f["category"] == "congestion") & weekday]
    by_hour = cong.groupby(local(cong).dt.hour)["value"].mean()
    assert by_hour[8] > 2 * by_hour[3] and by_hour[18] > 2 * by_hour[3]
    assert by_hour[8] > by_hour[12] and by_hour[18] > by_hour[12]
    assert f.loc[f["category"] == "congestion", "value"].between(0, 10).all()
    acc = f[f["category"] == "accident"]
    attrs = acc["attributes"].map(json.loads)
    injured = attrs.map(lambda a: a["injured"])
    assert (acc.loc[injured >= 4, "severity"] == 5).all()
    assert (acc.loc[injured == 1, "severity"] == 3).all()
    assert (acc.loc[injured == 0, "severity"] <= 2).all()
    ah = local(acc).dt.hour
    assert ah.between(14, 17).sum() / 4 > 2 * ah.between(3, 4).sum() / 2


def test_market_working_hours_weekdays(sim):
    f = sim.generate("market", START, START + pd.Timedelta(days=14))
    lt = local(f)
    weekday = lt.dt.day_of_week < 5
    assert weekday.sum() / 10 > 2.5 * (~weekday).sum() / 4
    office = lt.dt.hour.between(9, 16)
    assert office.mean() > 0.7
    types = f["category"].value_counts(normalize=True)
    assert types["enquiry"] > types["complaint"] > types["violation_report"]
    complaints = f[f["category"] == "complaint"]["attributes"].map(json.loads)
    assert complaints.map(lambda a: a["business"].startswith("B")).all()


def test_heating_share_in_november_and_winter(cells):
    s = Simulator(cells, seed=11, episodes=False)
    nov = s.generate(
        "hotline", pd.Timestamp("2026-11-01", tz=TZ), pd.Timestamp("2026-12-01", tz=TZ)
    )
    share = (nov["category"] == "heating").mean()
    assert 0.3 <= share <= 0.5
    jan = s.generate(
        "hotline", pd.Timestamp("2027-01-10", tz=TZ), pd.Timestamp("2027-01-24", tz=TZ)
    )
    assert 0.15 <= (jan["category"] == "heating").mean() <= 0.25
    jul = s.generate(
        "hotline", pd.Timestamp("2026-07-06", tz=TZ), pd.Timestamp("2026-07-13", tz=TZ)
    )
    assert (jul["category"] == "heating").mean() < 0.03
    assert 1500 < len(jul) / 7 < 2500
    types = jul["attributes"].map(lambda a: json.loads(a)["type"]).value_counts(normalize=True)
    assert set(types.index) <= {"consult", "help", "suggestion", "complaint"}
    assert types["consult"] > types["help"] > types["suggestion"] > types["complaint"]


def test_environment_readings(sim):
    f = sim.generate("environment", START, START + pd.Timedelta(days=7))
    attrs = f["attributes"].map(json.loads)
    stations = attrs.map(lambda a: a["station"])
    air = f[stations.str.startswith("AQ")]
    n_st = stations[stations.str.startswith("AQ")].nunique()
    assert 35 <= n_st <= 45
    # one reading per station, pollutant and hour
    assert len(air) == n_st * 7 * 24 * 5
    assert set(air["category"]) == {"aqi", "pm25", "pm10", "no2", "o3"}
    water = f[stations.str.startswith("WQ")]
    assert set(water["category"]) == {"water_do", "water_codmn", "water_nh3n", "water_tp"}
    # each station is a fixed point
    assert (air.groupby(stations[air.index])[["lon", "lat"]].nunique() == 1).all().all()
    # AQI is consistent with the pollutant readings of the same station and hour
    wide = air.assign(st=stations[air.index]).pivot_table(
        index=["time", "st"], columns="category", values="value"
    )
    expected = aqi(pm25=wide["pm25"], pm10=wide["pm10"], no2=wide["no2"], o3=wide["o3"])
    np.testing.assert_allclose(wide["aqi"].to_numpy(), expected)
    # PM2.5 higher in the evening (20-23) than in the afternoon (13-16)
    pm = air[air["category"] == "pm25"]
    h = local(pm).dt.hour
    assert pm.loc[h.between(20, 23), "value"].mean() > pm.loc[h.between(13, 16), "value"].mean()
    assert (f["value"] > 0).all()


def test_environment_winter_higher_than_summer(cells):
    s = Simulator(cells, seed=5, episodes=False)
    means = []
    for m in (1, 8):
        f = s.generate(
            "environment",
            pd.Timestamp(f"2026-{m:02d}-01", tz=TZ),
            pd.Timestamp(f"2026-{m:02d}-28", tz=TZ),
        )
        means.append(f.loc[f["category"] == "pm25", "value"].mean())
    assert means[0] > means[1]


# --- episodes -----------------------------------------------------------------------------------

EP_WINDOW = (START - pd.Timedelta(weeks=6), START + pd.Timedelta(weeks=2))


def test_episodes_deterministic_and_in_window(cells, sim):
    eps = sim.episodes(*EP_WINDOW)
    assert eps == Simulator(cells, seed=7).episodes(*EP_WINDOW)
    assert all(isinstance(e, Episode) for e in eps)
    assert all(e.start < EP_WINDOW[1] and e.end > EP_WINDOW[0] for e in eps)
    per_week = len(eps) / 8
    assert 1 <= per_week <= 8
    kinds = {e.kind for e in eps}
    assert {"pileup", "police_burst"} <= kinds
    assert Simulator(cells, seed=7, episodes=False).episodes(*EP_WINDOW) == []
    no_police = Simulator(cells, seed=7, rates={"police": 0}).episodes(*EP_WINDOW)
    assert all(e.source != "police" for e in no_police)
    assert set(cells["key"]) >= {e.cell_key for e in eps}


def _episode_of(sim: Simulator, kind: str) -> Episode:
    for seed in range(7, 40):
        s = Simulator(sim.cells, seed=seed)
        eps = [e for e in s.episodes(*EP_WINDOW) if e.kind == kind]
        if eps:
            return s, eps[0]
    raise AssertionError(f"no {kind} episode found")


@pytest.mark.parametrize("kind", ["police_burst", "pileup", "market_burst"])
def test_burst_episodes_raise_counts_in_their_cell(sim, cells, kind):
    s, ep = _episode_of(sim, kind)
    quiet = Simulator(cells, seed=s.seed, episodes=False)
    with_ep = s.generate(ep.source, ep.start, ep.end)
    without = quiet.generate(ep.source, ep.start, ep.end)
    # the base events are the same: the episode only adds events (ids are re-ranked per slot)
    assert set(without["time"]) <= set(with_ep["time"]) and len(with_ep) > len(without)
    cat = with_ep[with_ep["category"] == ep.category]
    cat0 = without[without["category"] == ep.category]
    n_with = (cell_of(cat, cells) == ep.cell_key).sum()
    n_without = (cell_of(cat0, cells) == ep.cell_key).sum()
    hours = (ep.end - ep.start) / pd.Timedelta(hours=1)
    assert n_with - n_without >= max(2, 0.3 * ep.factor * hours)
    if kind == "market_burst":
        biz = cat["attributes"].map(lambda a: json.loads(a).get("business"))
        assert (biz == ep.business).sum() >= n_with - n_without
    if kind == "pileup":
        cong = with_ep[with_ep["category"] == "congestion"]
        scene = cong[cong["attributes"].str.contains('"incident"')]
        assert len(scene) >= 3 and (scene["value"] >= 8).all()


def test_pollution_episode_raises_pm25_at_its_stations(sim, cells):
    s, ep = _episode_of(sim, "pollution")
    quiet = Simulator(cells, seed=s.seed, episodes=False)
    a, b = ep.start + pd.Timedelta(hours=6), ep.end - pd.Timedelta(hours=6)
    f1, f0 = s.generate("environment", a, b), quiet.generate("environment", a, b)
    pm1, pm0 = f1[f1["category"] == "pm25"], f0[f0["category"] == "pm25"]
    st1 = pm1["attributes"].map(lambda x: json.loads(x)["station"])
    hit = st1.isin(ep.stations)
    assert 4 <= len(ep.stations) <= 10
    ratio = pm1.loc[hit, "value"].mean() / pm0.loc[hit.to_numpy(), "value"].mean()
    assert ratio > 0.8 * ep.factor
    np.testing.assert_array_equal(pm1.loc[~hit, "value"], pm0.loc[~hit.to_numpy(), "value"])


# --- AQI ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("table", list(AQI_BREAKPOINTS))
def test_iaqi_breakpoints(table):
    steps = [0, 50, 100, 150, 200, 300, 400, 500]
    for c, expected in zip(AQI_BREAKPOINTS[table], steps, strict=False):
        assert iaqi(table, c) == pytest.approx(expected)


def test_iaqi_interpolation_and_edges():
    assert iaqi("pm25", 55) == pytest.approx(75)
    assert iaqi("pm2.5", 35) == pytest.approx(50)
    assert iaqi("pm10", 100) == pytest.approx(75)
    assert iaqi("pm25", 200) == pytest.approx(250)
    assert iaqi("o3", 180) == pytest.approx(75)  # 1h table by default
    assert iaqi("co_24h", 3) == pytest.approx(75)
    assert iaqi("so2_1h", 900) == pytest.approx(iaqi("so2_24h", 900))  # note (a)
    assert iaqi("so2_24h", 900) == pytest.approx(212.5)
    assert iaqi("o3_8h", 900) == pytest.approx(iaqi("o3_1h", 900))  # note (b)
    assert iaqi("pm25", 700) == 500
    assert np.isnan(iaqi("pm25", float("nan")))
    arr = iaqi("pm25", np.array([0, 35, 75, 115]))
    np.testing.assert_allclose(arr, [0, 50, 100, 150])
    with pytest.raises(ValueError):
        iaqi("lead", 1)


def test_aqi_is_max_iaqi_rounded_up():
    assert aqi(pm25=80, pm10=100) == 107  # IAQI pm25 = 106.25
    assert aqi(pm25=35, pm10=50) == 50
    assert aqi(pm25=20, pm10=300) == 175  # PM10 sets it
    assert aqi(pm25=None, pm10=150) == 100
    assert np.isnan(aqi())
    np.testing.assert_allclose(aqi(pm25=np.array([10, 80]), pm10=np.array([60, 10])), [55, 107])
    assert [aqi_level(v) for v in (0, 50, 51, 100, 101, 150, 151, 200, 201, 300, 301, 500)] == [
        1,
        1,
        2,
        2,
        3,
        3,
        4,
        4,
        5,
        5,
        6,
        6,
    ]


# --- rates and performance ----------------------------------------------------------------------


def test_rates_override_and_disable(cells):
    s = Simulator(cells, seed=2, rates={"police": 1000, "market": 0})
    assert s.generate("market", START, START + pd.Timedelta(days=1)).empty
    assert s.generate_all(START, START + pd.Timedelta(days=1))["market"].empty
    n = len(s.generate("police", START, START + pd.Timedelta(days=7))) / 7
    assert 850 < n < 1150
    with pytest.raises(ValueError):
        Simulator(cells, rates={"weather": 1})
    with pytest.raises(ValueError):
        s.generate("weather", START, START + pd.Timedelta(hours=1))
    assert s.generate("police", START, START).empty
    assert set(DEFAULT_RATES) == set(SOURCES)


def test_many_events_vectorised(cells):
    """A smaller version of the 1M-event benchmark (its speed: bench/budgets.py simulator_s)."""
    s = Simulator(cells, seed=9, rates={"police": 200_000, "environment": 100_000})
    frames = s.generate_all(START, START + pd.Timedelta(days=1))
    total = sum(len(f) for f in frames.values())
    assert total > 250_000
    assert frames["police"]["id"].is_unique


# --- live feed ----------------------------------------------------------------------------------


class FakeClock:
    def __init__(self, start: pd.Timestamp, step: pd.Timedelta):
        self.t, self.step, self.lock = start, step, threading.Lock()

    def __call__(self) -> pd.Timestamp:
        with self.lock:
            self.t += self.step
            return self.t


def test_feed_delivers_window_consistent_batches(sim):
    got: list[tuple[str, pd.DataFrame]] = []
    clock = FakeClock(START, pd.Timedelta(minutes=7, seconds=3))
    feed = SimulatorFeed(sim, lambda s, f: got.append((s, f)), interval_s=0.01, clock=clock)
    feed.start()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and len({s for s, _ in got}) < len(SOURCES):
        time.sleep(0.02)
    feed.stop()
    assert not feed.running
    stats = feed.stats
    assert {s for s, _ in got} == set(SOURCES)
    for src in SOURCES:
        frames = [f for s, f in got if s == src]
        joined = pd.concat(frames, ignore_index=True)
        assert joined["id"].is_unique
        assert stats[src]["events"] == len(joined)
        assert stats[src]["errors"] == 0
        last = stats[src]["last_tick"]
        ref = sim.generate(
            src, feed.started_at + pd.Timedelta(microseconds=1), last + pd.Timedelta(microseconds=1)
        )
        pd.testing.assert_frame_equal(ref.reset_index(drop=True), joined)


def test_feed_stops_promptly_and_survives_sink_errors(sim):
    def bad_sink(source, frame):
        raise RuntimeError("store down")

    clock = FakeClock(START, pd.Timedelta(minutes=30))
    feed = SimulatorFeed(sim, bad_sink, interval_s=0.01, clock=clock)
    feed.start()
    time.sleep(0.2)
    assert feed.running
    feed.stop()
    assert feed.stats["hotline"]["errors"] > 0
    assert "store down" in feed.stats["hotline"]["last_error"]
    slow = SimulatorFeed(sim, lambda s, f: None, interval_s=60)
    slow.start()
    t0 = time.monotonic()
    slow.stop()
    assert time.monotonic() - t0 < 1.0
    assert not slow.running


def test_feed_speed_compresses_time(sim):
    got: list[tuple[str, pd.DataFrame]] = []
    feed = SimulatorFeed(sim, lambda s, f: got.append((s, f)), interval_s=0.05, speed=36_000.0)
    feed.start()
    # 5 simulated hours take 0.5 s of wall time; wait for them (bounded) rather than sleep a fixed
    # time, so a busy machine slows the test instead of failing it
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        tick = feed.stats.get("environment", {}).get("last_tick")
        if tick is not None and tick - feed.started_at >= pd.Timedelta(hours=5):
            break
        time.sleep(0.05)
    feed.stop()
    # >= 5 simulated hours: every air station reported at least 4 times
    n = sum(len(f) for s, f in got if s == "environment")
    assert n >= 40 * 5 * 4
    assert feed.stats["environment"]["last_tick"] - feed.started_at >= pd.Timedelta(hours=5)


# --- the default region (optional) --------------------------------------------------------------

ANSHAN = Path(__file__).resolve().parents[1] / "data" / "regions" / "anshan" / "areas.parquet"


@pytest.mark.skipif(not ANSHAN.exists(), reason="default region not generated yet")
def test_from_default_region():
    from data.region import load_region

    s = Simulator.from_region(load_region("anshan"), seed=1)
    frames = s.generate_all(START, START + pd.Timedelta(hours=6))
    for src, f in frames.items():
        assert len(f) > 0
        reasons = validate_frame(src, normalise_frame(f), now=START + pd.Timedelta(days=1))
        assert reasons.isna().all()
