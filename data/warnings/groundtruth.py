"""Ground truth for the warnings engine: episodes of known place and time injected into simulated
traffic, the engine run over them on a simulated clock, and its warnings scored (recall, false
warnings per 1,000 cells per day).

The reusable part of the warnings benchmark: ``bench/warnings.py`` runs it at full size (and times
one evaluation on a large store), ``tests/test_warnings_accuracy.py`` runs it small.

An episode's ``start`` is the instant its reports first meet the rule's lowest (blue) condition on
their own: the last report of the opening burst, the k-th hourly reading over the limit, or the
moment a silent feed passes its stale limit. It counts as warned when a warning of an expected
rule covering its place is active at some point in [start, start + 2 evaluation intervals]: with
a pending period of 2 that is the earliest the engine can raise it.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable

import numpy as np
import pandas as pd

from data.feeds.simulator import Simulator
from data.ingest import Pipeline
from data.store import Database
from data.warnings.engine import WarningEngine
from data.warnings.rules import RuleSet

# the rule ids an episode of each kind should raise
EXPECTED_RULES = {
    "accident": {"traffic_accident_cell"},
    "disorder": {"public_order_cell"},
    "hotline_surge": {"hotline_surge_community"},
    "market_surge": {"market_surge_community"},
    "pm25": {"pm25_station"},
    "cross_domain": {"multi_domain_cell"},
    "silence": {"feed_silence"},
}
DEFAULT_MIX = {
    "accident": 6,
    "disorder": 4,
    "hotline_surge": 4,
    "market_surge": 2,
    "pm25": 3,
    "cross_domain": 3,
    "silence": 2,
}


@dataclasses.dataclass
class Injected:
    """One injected episode (ground truth)."""

    kind: str
    cell_key: int
    start: pd.Timestamp
    end: pd.Timestamp
    subject: str = ""  # station for pm25, source for silence


def _burst(rng, n, t0, spread_min, lon, lat, source, category, tag):
    times = t0 - pd.to_timedelta(np.sort(rng.uniform(0, spread_min * 60, n))[::-1], unit="s")
    return source, pd.DataFrame(
        {
            "id": [f"inj-{tag}-{i}" for i in range(n)],
            "time": pd.DatetimeIndex(times).astype("datetime64[us, UTC]"),
            "lon": lon,
            "lat": lat,
            "category": category,
            "severity": 3,
            "text": "injected",
        }
    )


def plan_episodes(
    sim: Simulator,
    start: pd.Timestamp,
    end: pd.Timestamp,
    mix: dict[str, int],
    seed: int,
    lineage: pd.DataFrame,
    station_cells: dict[str, int],
    stale_after: float = 300.0,
) -> tuple[list[Injected], list[tuple[str, pd.DataFrame]], list[dict]]:
    """Episodes spread over [start, end) (daytime, 8:00-20:00 local), the extra reports they add,
    and the edits (PM2.5 overrides, feed gaps) to apply to the simulated frames."""
    rng = np.random.default_rng([seed, 4242])
    cells = sim.cells
    weights = sim.pop_eff * np.where(sim.urban, 3.0, 1.0)
    weights = weights / weights.sum()
    rep = cells.geometry.representative_point()
    total = sum(mix.values())
    n_days = max(1, int((end - start) / pd.Timedelta(days=1)))
    per_day = -(-total // n_days)
    kinds = [k for k, n in mix.items() for _ in range(n)]
    rng.shuffle(kinds)
    used: set[int] = set()
    episodes, extra, edits = [], [], []
    stations = sorted(station_cells)
    day0 = start.tz_convert("Asia/Shanghai").normalize()
    for i, kind in enumerate(kinds):
        # busy hours of the city (09:00-18:00 local), spread over the days
        day, slot = i % n_days, i // n_days
        local_h = 9.0 + 9.0 * (slot + rng.uniform(0.1, 0.9)) / per_day
        t0 = (day0 + pd.Timedelta(days=day, hours=local_h)).tz_convert("UTC").floor("min")
        while True:
            idx = int(rng.choice(len(cells), p=weights))
            if idx not in used:
                used.add(idx)
                break
        key = int(sim.keys[idx])
        lon, lat = float(rep.x.iloc[idx]), float(rep.y.iloc[idx])
        tag = f"{i}"
        if kind == "accident":
            for src, cat, n in (
                ("police", "traffic", 2),
                ("traffic", "accident", 2),
                ("hotline", "traffic", 1),
            ):
                extra.append(_burst(rng, n, t0, 4, lon, lat, src, cat, f"{tag}{src}"))
            extra.append(
                _burst(
                    rng,
                    3,
                    t0 + pd.Timedelta(minutes=20),
                    15,
                    lon,
                    lat,
                    "police",
                    "traffic",
                    f"{tag}late",
                )
            )
            episodes.append(Injected(kind, key, t0, t0 + pd.Timedelta(minutes=50)))
        elif kind == "disorder":
            extra.append(_burst(rng, 5, t0, 10, lon, lat, "police", "public_order", tag))
            extra.append(
                _burst(
                    rng,
                    3,
                    t0 + pd.Timedelta(minutes=30),
                    25,
                    lon,
                    lat,
                    "police",
                    "public_order",
                    f"{tag}late",
                )
            )
            episodes.append(Injected(kind, key, t0, t0 + pd.Timedelta(minutes=90)))
        elif kind == "hotline_surge":
            extra.append(_burst(rng, 12, t0, 40, lon, lat, "hotline", "utilities", tag))
            episodes.append(Injected(kind, key, t0, t0 + pd.Timedelta(minutes=60)))
        elif kind == "market_surge":
            extra.append(_burst(rng, 7, t0, 90, lon, lat, "market", "complaint", tag))
            episodes.append(Injected(kind, key, t0, t0 + pd.Timedelta(minutes=180)))
        elif kind == "cross_domain":
            for src, cat in (("police", "dispute"), ("hotline", "noise"), ("market", "complaint")):
                extra.append(_burst(rng, 2, t0, 20, lon, lat, src, cat, f"{tag}{src}"))
            episodes.append(Injected(kind, key, t0, t0 + pd.Timedelta(minutes=60)))
        elif kind == "pm25":
            st = stations[int(rng.integers(len(stations)))]
            stations.remove(st)
            h0 = t0.floor("h")
            hours = 6
            edits.append(
                {
                    "kind": "pm25",
                    "station": st,
                    "from": h0,
                    "to": h0 + pd.Timedelta(hours=hours),
                    "values": rng.uniform(160, 230, hours),
                }
            )
            # the 3rd hourly reading over the limit completes the condition (readings come in
            # the first 5 minutes of the hour; the engine sees the reading once it has arrived)
            episodes.append(
                Injected(
                    kind,
                    station_cells[st],
                    h0 + pd.Timedelta(hours=2, minutes=5),
                    h0 + pd.Timedelta(hours=hours),
                    subject=st,
                )
            )
        elif kind == "silence":
            src = "hotline"
            # the hotline's busy morning (10:00-11:00 in the city), when its silence is news
            t0 = t0.normalize() + pd.Timedelta(hours=2, minutes=int(rng.integers(0, 60)))
            edits.append(
                {"kind": "gap", "source": src, "from": t0, "to": t0 + pd.Timedelta(minutes=40)}
            )
            # the feed passes its stale limit (5 minutes) at the latest 5 minutes after the gap opens
            episodes.append(
                Injected(
                    kind,
                    0,
                    t0 + pd.Timedelta(seconds=stale_after),
                    t0 + pd.Timedelta(minutes=40),
                    subject=src,
                )
            )
    return episodes, extra, edits


def _apply_edits(source: str, frame: pd.DataFrame, edits: list[dict]) -> pd.DataFrame:
    for e in edits:
        if e["kind"] == "gap" and e["source"] == source:
            frame = frame[(frame["time"] < e["from"]) | (frame["time"] >= e["to"])]
        if e["kind"] == "pm25" and source == "environment":
            st = frame["attributes"].str.contains(f'"station":"{e["station"]}"', regex=False)
            m = st & (frame["category"] == "pm25") & (frame["time"] >= e["from"])
            m &= frame["time"] < e["to"]
            frame = frame.copy()
            idx = np.flatnonzero(m.to_numpy())
            hours = ((frame["time"].iloc[idx] - e["from"]) / pd.Timedelta(hours=1)).astype(int)
            frame.iloc[idx, frame.columns.get_loc("value")] = np.round(
                e["values"][hours.to_numpy()]
            )
    return frame


def pm25_exceedances(frames: list[pd.DataFrame], limit: float, hours: int) -> pd.DataFrame:
    """Independent truth for the background: per station, the hours at which its PM2.5 had been
    above ``limit`` for ``hours`` consecutive hourly readings (computed with pandas, not SQL)."""
    env = pd.concat([f for f in frames if len(f)], ignore_index=True)
    env = env[env["category"] == "pm25"].copy()
    env["station"] = env["attributes"].str.extract(r'"station":"([^"]+)"')[0]
    env["hour"] = env["time"].dt.floor("h")
    out = []
    for st, d in env.groupby("station"):
        s = d.groupby("hour")["value"].max().sort_index()
        above = (s > limit).astype(int)
        run = above.groupby((above == 0).cumsum()).cumsum()
        for h in s.index[run >= hours]:
            out.append((st, h))
    return pd.DataFrame(out, columns=["station", "hour"])


def run_accuracy(
    region,
    db: Database,
    rules: RuleSet,
    *,
    start: pd.Timestamp,
    days: float = 7.0,
    history_weeks: int = 4,
    interval_s: float = 30.0,
    seed: int = 20261126,
    mix: dict[str, int] | None = None,
    stale_after: float = 300.0,
    progress: Callable[[str], None] | None = None,
) -> dict:
    """Simulate ``history_weeks`` of normal traffic then ``days`` with injected episodes, evaluate
    every ``interval_s`` over those days on a simulated clock, and score the warnings."""
    say = progress or (lambda _m: None)
    mix = mix or DEFAULT_MIX
    start = (
        pd.Timestamp(start).tz_convert("UTC")
        if pd.Timestamp(start).tzinfo
        else pd.Timestamp(start, tz="UTC")
    )
    end = start + pd.Timedelta(days=days)
    pipe = Pipeline.for_region(db, region)
    sim = Simulator.from_region(region, seed=seed, episodes=False)
    hist0 = start - pd.Timedelta(weeks=history_weeks)
    # stations' cells: where the pipeline places each air station
    probe = sim.generate("environment", start, start + pd.Timedelta(hours=1))
    probe = probe[probe["category"] == "pm25"]
    cells = pipe.placer.place(probe["lon"].to_numpy(), probe["lat"].to_numpy())
    station_cells = dict(
        zip(probe["attributes"].str.extract(r'"station":"([^"]+)"')[0], cells.tolist(), strict=True)
    )
    lineage = region.lineage()
    episodes, extra, edits = plan_episodes(
        sim, start, end, mix, seed, lineage, station_cells, stale_after
    )
    say(f"{len(episodes)} episodes injected")
    env_frames = []

    def batches():
        day = hist0
        while day < end:
            nxt = min(day + pd.Timedelta(days=1), end)
            for source, frame in sim.generate_all(day, nxt).items():
                frame = (
                    _apply_edits(source, frame, edits)
                    if day >= start - pd.Timedelta(days=1)
                    else frame
                )
                if source == "environment" and nxt > start - pd.Timedelta(days=1):
                    env_frames.append(frame)
                if len(frame):
                    yield source, frame
            day = nxt
        yield from extra

    t0 = time.perf_counter()
    pipe.ingest_frames(batches(), feed="simulator")
    say(
        f"ingested {db.query_one('SELECT count(*) FROM events')[0]:,} events in "
        f"{time.perf_counter() - t0:.1f} s"
    )
    engine = WarningEngine(db, rules, stale_after=stale_after)
    clock = start
    step = pd.Timedelta(seconds=interval_s)
    n_eval, slowest, total_s = 0, 0.0, 0.0
    t0 = time.perf_counter()
    while clock <= end:
        r = engine.evaluate(clock)
        n_eval += 1
        slowest = max(slowest, r.elapsed_s)
        total_s += r.elapsed_s
        clock += step
        if n_eval % 2000 == 0:
            say(f"  {n_eval} evaluations, sim time {clock}")
    say(
        f"{n_eval} evaluations in {time.perf_counter() - t0:.1f} s "
        f"(mean {total_s / n_eval * 1000:.1f} ms, slowest {slowest * 1000:.1f} ms)"
    )
    return score(db, region, rules, episodes, env_frames, start, end, interval_s, n_eval)


def score(db, region, rules, episodes, env_frames, start, end, interval_s, n_eval) -> dict:
    """Recall, false warnings per 1,000 cells per day, and what explains the rest."""
    w = db.query_df(
        "SELECT id, rule_id, kind, area_key, area_level, subject, cell_key, community_key,"
        " level_rank, raised_at, cleared_at FROM warnings"
    )
    w["raised_at"] = pd.to_datetime(w["raised_at"], utc=True)
    w["cleared_at"] = pd.to_datetime(w["cleared_at"], utc=True)
    lin = region.lineage().set_index("cell_key")
    grace = pd.Timedelta(seconds=2 * interval_s)
    warned = []
    explained = set()
    for ep in episodes:
        rules_ok = EXPECTED_RULES[ep.kind]
        m = w["rule_id"].isin(rules_ok)
        if ep.kind == "silence" or ep.kind == "pm25":
            m &= w["subject"] == ep.subject
        else:
            comm = int(lin.loc[ep.cell_key, "community_key"])
            m &= (w["area_key"] == ep.cell_key) | (
                (w["area_level"] == "community") & (w["area_key"] == comm)
            )
        cand = w[m]
        hit = cand[
            (cand["raised_at"] <= ep.start + grace)
            & (cand["cleared_at"].isna() | (cand["cleared_at"] >= ep.start))
        ]
        warned.append(len(hit) > 0)
        near = cand[
            (cand["raised_at"] >= ep.start - pd.Timedelta(hours=2))
            & (cand["raised_at"] <= ep.end + pd.Timedelta(hours=1))
        ]
        explained |= set(near["id"].tolist()) | set(hit["id"].tolist())
    in_week = w[(w["raised_at"] >= start) & (w["raised_at"] <= end)]
    # background PM2.5: warnings the sensor data justify on their own (true, not injected)
    pm_rule = rules.get("pm25_station")
    real_pm = set()
    if pm_rule is not None and env_frames:
        ex = pm25_exceedances(env_frames, pm_rule.levels.items()[0][1], pm_rule.hours)
        ex_set = set(zip(ex["station"], ex["hour"], strict=True))
        for r in in_week[in_week["rule_id"] == pm_rule.id].itertuples():
            h = r.raised_at.floor("h")
            if any((r.subject, h - pd.Timedelta(hours=d)) in ex_set for d in range(0, 3)):
                real_pm.add(r.id)
    unexplained = in_week[~in_week["id"].isin(explained | real_pm)]
    n_cells = len(region.cells())
    days = (end - start) / pd.Timedelta(days=1)
    recall = float(np.mean(warned)) if warned else 0.0
    per_kind = {}
    for ep, ok in zip(episodes, warned, strict=True):
        a, b = per_kind.get(ep.kind, (0, 0))
        per_kind[ep.kind] = (a + int(ok), b + 1)
    return {
        "episodes": len(episodes),
        "recall": recall,
        "per_kind": per_kind,
        "missed": [dataclasses.asdict(e) for e, ok in zip(episodes, warned, strict=True) if not ok],
        "warnings": int(len(in_week)),
        "background_pm25": len(real_pm),
        "false": int(len(unexplained)),
        "false_by_rule": unexplained["rule_id"].value_counts().to_dict(),
        "false_per_1000_cells_day": len(unexplained) / (n_cells / 1000.0) / days,
        "cells": n_cells,
        "days": days,
        "evaluations": n_eval,
        "incidents": int(db.query_one("SELECT count(*) FROM incidents")[0]),
        "accident_fused": _fused(db, episodes),
    }


def _fused(db, episodes) -> str:
    acc = [e for e in episodes if e.kind == "accident"]
    got = 0
    for e in acc:
        row = db.query_one(
            "SELECT count(*) FROM incidents WHERE cell_key = ? AND first_time <= ? AND last_time >= ?",
            [
                e.cell_key,
                e.start.to_pydatetime(),
                (e.start - pd.Timedelta(minutes=30)).to_pydatetime(),
            ],
        )
        got += int(row[0] > 0)
    return f"{got}/{len(acc)}"
