"""The shipped warning rules on real files: each file replayed into its city's imported region,
then backtested (data/warnings/backtest.py: the real engine over the stored history).

Prints, per file: the period judged, cells, warnings raised, warnings per 1,000 cells per day,
per level, per rule, the busiest areas, and the learning state; for Beijing PM2.5, whether the
December 2016 smog episodes are among the warnings. Needs ../shared/realdata.

    python bench/warnings_realdata.py [--step 15] [--rules data/rules.toml]

Evaluations every --step minutes of event time (15), hourly for the date-only arrests file and
the hourly PM2.5 readings. About 10 minutes on a busy 2-core machine.
"""

from __future__ import annotations

import os
import sys

# run as a script, bench/ is first on the path and its warnings.py would shadow the standard one
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [os.path.dirname(_HERE)] + [p for p in sys.path if os.path.abspath(p or ".") != _HERE]

import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402

import pandas as pd  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]

from data.feeds.replay import replay_file  # noqa: E402
from data.region_import import LevelSpec, ParentSpec, import_region  # noqa: E402
from data.runtime import Runtime  # noqa: E402
from data.settings import load_settings  # noqa: E402
from data.warnings import load_rules  # noqa: E402
from data.warnings.backtest import backtest  # noqa: E402
from data.warnings.learning import learning_state  # noqa: E402

REAL = ROOT.parent / "shared" / "realdata"
NYC_TZ = "America/New_York"
BJ_TZ = "Asia/Shanghai"
# Beijing's heavy-smog episodes of December 2016 (daily means > 150 ug/m3 at Dongsi/Tiantan)
EPISODES = [
    ("2016-12-03 12:00", "2016-12-04 12:00"),
    ("2016-12-16 12:00", "2016-12-21 12:00"),
    ("2016-12-30 12:00", "2016-12-31 20:00"),
]

# name, mapping, file, (first, last) day kept, (since, until) local days judged
NYC_FILES = [
    (
        "collisions",
        "nyc_collisions",
        "nyc_motor_vehicle_collisions_2021_sample.csv",
        ("CRASH DATE", "2021-04-12", "2021-05-09"),
        ("2021-05-03", "2021-05-09"),
    ),
    (
        "complaints",
        "nypd_complaints",
        "nypd_complaints_2010_sample.csv",
        None,
        ("2010-01-01", "2010-01-01"),
    ),
    (
        "arrests (police, Queens)",
        "nypd_arrests",
        "nypd_arrests_queens_2021_jan-sep.csv",
        ("ARREST_DATE", "2021-07-01", "2021-08-31"),
        ("2021-08-18", "2021-08-31"),
    ),
    (
        "311 (2013-12-25)",
        "nyc_311_2013",
        "nyc_311_service_requests_2013-12-25.csv",
        None,
        ("2013-12-25", "2013-12-25"),
    ),
    (
        "311 (2019-12-31 evening)",
        "nyc_311_2019",
        "nyc_311_service_requests_2019-12-31_evening.csv",
        None,
        ("2019-12-31", "2019-12-31"),
    ),
]


def nyc_region(folder: Path) -> Path:
    polys = REAL / "nyc" / "polygons"
    import_region(
        polys / "nyc_community_districts_2013.geojson",
        folder / "nyc",
        name="nyc",
        levels={"township": LevelSpec("BoroCD")},
        parent=ParentSpec(
            polys / "nyc_boroughs.geojson", "county", LevelSpec("BoroCode", "BoroName")
        ),
        cell_size_m=2000,
        timezone=NYC_TZ,
    )
    return folder / "nyc"


def beijing_region(folder: Path) -> Path:
    import_region(
        REAL / "beijing" / "polygons" / "beijing_districts_110000_full.json",
        folder / "beijing",
        name="beijing",
        levels={"county": LevelSpec("adcode", "name")},
        cell_size_m=5000,
        cell_shape="hex",
        name_zh="北京市",
        timezone=BJ_TZ,
    )
    return folder / "beijing"


def day(d: str, tz: str, plus: int = 0) -> pd.Timestamp:
    return (pd.Timestamp(d) + pd.Timedelta(days=plus)).tz_localize(tz).tz_convert("UTC")


def report(name: str, rt, rules, since, until, step) -> pd.DataFrame:
    """Backtest ``rules`` over [since, until) on ``rt``'s store and print the figures."""
    learn = learning_state(rt.db, rules, until)
    res = backtest(rt.db, rules, since, until, step=step, stale_after=3600.0)
    s = res.summary()
    fired = {k: v for k, v in s["per_rule"].items() if v}
    print(
        f"{name}: {s['warnings']} warnings over {res.days:.0f} day(s), {s['cells']} cells ->"
        f" {s['per_1000_cells_day']:.2f} per 1,000 cells per day; levels {s['per_level']};"
        f" rules {fired}; history before {s['history_days']} d; {s['evaluations']} evaluations"
        f" in {s['elapsed_s']} s"
    )
    if learn and learn["learning"]:
        print(f"  learning: {learn['days']} days of history (rules {', '.join(learn['rules'])})")
    top = res.per_area(5)
    if len(top):
        areas = ", ".join(f"{a.name_en} ({a.area_level}) {a.n}" for a in top.itertuples())
        print(f"  busiest: {areas}")
    return res.warnings


def main(argv: list[str]) -> int:
    step = pd.Timedelta(minutes=float(argv[argv.index("--step") + 1]) if "--step" in argv else 15)
    rules = load_rules(argv[argv.index("--rules") + 1] if "--rules" in argv else None)
    rules = rules.model_copy(update={"fusion": []})
    if not REAL.is_dir():
        print(f"real data folder {REAL} is absent")
        return 1
    tmp = Path(tempfile.mkdtemp(prefix="og-real-"))
    region = nyc_region(tmp)
    for name, mapping, file, keep, (d0, d1) in NYC_FILES:
        path = REAL / "nyc" / file
        if keep is not None:  # a few weeks of the file, as published
            col, k0, k1 = keep
            df = pd.read_csv(path, dtype=str, encoding="utf-8-sig")
            t = pd.to_datetime(df[col], format="%m/%d/%Y")
            path = tmp / file
            df[(t >= k0) & (t <= k1)].to_csv(path, index=False)
        settings = load_settings(
            db=tmp / f"{mapping}.duckdb", region=str(region), simulator=False, warnings=False
        )
        rt = Runtime(settings)
        try:
            replay_file(rt.pipeline, ROOT / "data" / "mappings" / f"{mapping}.toml", path)
            # a file with dates only is judged hourly (its events all sit at local midnight)
            st = max(step, pd.Timedelta(hours=1)) if mapping == "nypd_arrests" else step
            report(name, rt, rules, day(d0, NYC_TZ), day(d1, NYC_TZ, 1), st)
        finally:
            rt.stop()
    # Beijing PM2.5: two central stations, Nov 2016 - Jan 2017, judged over December
    region = beijing_region(tmp)
    folder = tmp / "prsa"
    folder.mkdir()
    for st in ("Dongsi", "Tiantan"):
        src = next((REAL / "beijing" / "prsa_air_quality").glob(f"PRSA_Data_{st}_*.csv"))
        df = pd.read_csv(src)
        df[(df["year"] * 100 + df["month"]).between(201611, 201701)].to_csv(
            folder / src.name, index=False
        )
    settings = load_settings(
        db=tmp / "bj.duckdb", region=str(region), simulator=False, warnings=False
    )
    rt = Runtime(settings)
    try:
        replay_file(
            rt.pipeline,
            ROOT / "data" / "mappings" / "beijing_prsa.toml",
            folder,
            lookups={"stations": REAL / "beijing" / "beijing_prsa_station_coords.csv"},
        )
        w = report(
            "air quality (Beijing PM2.5, Dongsi + Tiantan)",
            rt,
            rules,
            day("2016-12-01", BJ_TZ),
            day("2016-12-31", BJ_TZ, 1),
            max(step, pd.Timedelta(hours=1)),  # hourly readings
        )
    finally:
        rt.stop()
    raised = pd.to_datetime(w["raised_at"], utc=True)
    cleared = pd.to_datetime(w["cleared_at"], utc=True)
    found = 0
    for a, b in EPISODES:
        t0, t1 = day(a, BJ_TZ), day(b, BJ_TZ)
        hit = w[(raised <= t1) & (cleared.isna() | (cleared >= t0))]
        stations = sorted(set(hit["subject"]))
        found += bool(len(hit))
        print(f"  episode {a[:10]}..{b[:10]}: {len(hit)} warnings active ({', '.join(stations)})")
    print(f"episodes found: {found}/{len(EPISODES)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
