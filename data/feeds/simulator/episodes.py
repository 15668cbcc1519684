"""Injected episodes (ground truth): pollution episodes, traffic pile-ups, market complaint bursts
and police disturbance bursts, drawn per seed and per week (see the package docstring)."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from data.feeds.simulator.parameters import (
    _EPISODE_RATES,
    _EPOCH_MONDAY_US,
    _MAX_EPISODE_US,
    _POLLUTION_DAYS_P,
    DAY_US,
    HOUR_US,
    N_BUSINESSES,
    WEEK_US,
)
from data.feeds.simulator.streams import _ST_POINT
from data.times import from_us, to_us

if TYPE_CHECKING:
    from data.feeds.simulator.core import Simulator


@dataclasses.dataclass(frozen=True)
class Episode:
    """An injected episode (ground truth for tests and the warnings benchmark).

    ``factor``: for ``pollution`` the PM2.5 multiplier at the affected stations (``stations``);
    for ``pileup``, ``market_burst`` and ``police_burst`` the extra events per hour in the cell.
    """

    kind: str
    source: str
    category: str
    cell_key: int
    lon: float
    lat: float
    start: pd.Timestamp
    end: pd.Timestamp
    factor: float
    stations: tuple[str, ...] = ()
    business: str | None = None


def week_episodes(sim: Simulator, week: int) -> list[Episode]:
    """The episodes of one week (Monday 00:00 UTC onwards), sorted by start; cached per simulator."""
    if week in sim._week_cache:
        return sim._week_cache[week]
    rng = sim._rng(9000, week + 10_000)  # non-negative for weeks after 1778
    w0 = _EPOCH_MONDAY_US + week * WEEK_US
    mid_month = from_us(w0 + WEEK_US // 2).tz_convert(sim.timezone).month
    heating = mid_month >= 11 or mid_month <= 3
    out: list[Episode] = []
    # pollution: several stations' PM2.5 raised for 1-4 days
    n = rng.poisson(_EPISODE_RATES["pollution"][0 if heating else 1])
    for _ in range(n):
        start = w0 + int(rng.integers(0, 7 * 24)) * HOUR_US
        days = 1 + int(rng.choice(4, p=_POLLUTION_DAYS_P))
        dur = days * DAY_US + int(rng.integers(-6, 7)) * HOUR_US
        factor = float(rng.uniform(2.0, 3.5))
        uc, k = rng.random(), int(rng.integers(4, 11))
        na = len(sim._air["cell"])
        if na == 0:
            continue
        c = min(int(uc * na), na - 1)
        d = np.hypot(sim._air["lon"] - sim._air["lon"][c], sim._air["lat"] - sim._air["lat"][c])
        near = np.argsort(d, kind="stable")[: min(k, na)]
        out.append(
            Episode(
                "pollution",
                "environment",
                "pm25",
                int(sim.keys[sim._air["cell"][c]]),
                float(sim._air["lon"][c]),
                float(sim._air["lat"][c]),
                from_us(start),
                from_us(start + dur),
                round(factor, 3),
                stations=tuple(f"AQ{i + 1:03d}" for i in sorted(near)),
            )
        )
    # traffic pile-up: burst of accidents + congestion in one cell over 1-2.5 hours
    for _ in range(rng.poisson(_EPISODE_RATES["pileup"])):
        start = w0 + int(rng.integers(0, 7 * 24 * 60)) * 60_000_000
        dur = int(rng.uniform(3600, 9000)) * 1_000_000
        factor = float(rng.uniform(3.0, 6.0))
        out.append(
            _cell_episode(
                sim,
                ("pileup", "traffic", "accident"),
                rng,
                (_ST_POINT, 21, week),
                start,
                dur,
                factor,
            )
        )
    # market: burst of complaints about one business over about a day
    for _ in range(rng.poisson(_EPISODE_RATES["market_burst"])):
        start = w0 + int(rng.integers(0, 7 * 24)) * HOUR_US
        dur = int(rng.uniform(12, 30) * 60) * 60_000_000
        factor = float(rng.uniform(1.0, 2.5))
        b = min(int(np.searchsorted(sim._biz["cum"], rng.random())), N_BUSINESSES - 1)
        cell = int(sim._biz["cell"][b])
        out.append(
            Episode(
                "market_burst",
                "market",
                "complaint",
                int(sim.keys[cell]),
                float(sim._biz["lon"][b]),
                float(sim._biz["lat"][b]),
                from_us(start),
                from_us(start + dur),
                round(factor, 3),
                business=f"B{b + 1:04d}",
            )
        )
    # police: disturbance burst in one cell, late evening (local 20:00-01:00 start)
    for _ in range(rng.poisson(_EPISODE_RATES["police_burst"])):
        day = int(rng.integers(0, 7))
        local_day = from_us(w0 + day * DAY_US).tz_convert(sim.timezone).normalize()
        start = to_us(local_day) + int(rng.uniform(20.0, 25.0) * HOUR_US)
        start -= start % 60_000_000
        dur = int(rng.uniform(2, 5) * 60) * 60_000_000
        factor = float(rng.uniform(3.0, 8.0))
        out.append(
            _cell_episode(
                sim,
                ("police_burst", "police", "public_order"),
                rng,
                (_ST_POINT, 22, week),
                start,
                dur,
                factor,
            )
        )
    out.sort(key=lambda e: (e.start, e.kind))
    sim._week_cache[week] = out
    return out


def _cell_episode(
    sim: Simulator, what, rng, stream, start: int, dur: int, factor: float
) -> Episode:
    """An episode at a random point of a cell drawn by the source's weights.

    ``what``: (kind, source, category); ``stream``: the point sampler's stream key. Draws
    from ``rng`` in a fixed order (cell, then point), so episodes stay reproducible.
    """
    kind, source, category = what
    cell = int(sim._pick_cells(source, np.array([rng.random()]))[0])
    x, y = sim._points(np.array([cell]), np.array([rng.random()]), np.array([rng.random()]), stream)
    return Episode(
        kind,
        source,
        category,
        int(sim.keys[cell]),
        float(x[0]),
        float(y[0]),
        from_us(start),
        from_us(start + dur),
        round(factor, 3),
    )


def episodes_between(sim: Simulator, start_us: int, end_us: int) -> list[Episode]:
    """The episodes of enabled sources overlapping [start_us, end_us) (microseconds, UTC)."""
    if not sim.with_episodes or end_us <= start_us:
        return []
    w0 = (start_us - _MAX_EPISODE_US - _EPOCH_MONDAY_US) // WEEK_US
    w1 = (end_us - _EPOCH_MONDAY_US) // WEEK_US
    out = []
    for w in range(int(w0), int(w1) + 1):
        for e in week_episodes(sim, w):
            if sim.rates[e.source] <= 0:
                continue
            if to_us(e.start) < end_us and to_us(e.end) > start_us:
                out.append(e)
    return out
