"""Fixed places of a simulator: air and water stations, congestion segments and businesses,
drawn once per seed from the cell weights."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from data.feeds.simulator.parameters import (
    DEFAULT_RATES,
    N_AIR_STATIONS,
    N_BUSINESSES,
    N_SEGMENTS,
    N_WATER_SITES,
)
from data.feeds.simulator.streams import _ST_POINT
from data.feeds.simulator.tables import _SECTORS

if TYPE_CHECKING:
    from data.feeds.simulator.core import Simulator


def init_fixed_points(sim: Simulator) -> None:
    """Set ``sim.stations`` and the station, segment and business tables."""
    f_env = sim.rates["environment"] / DEFAULT_RATES["environment"]
    n_air = max(1, round(N_AIR_STATIONS * f_env)) if f_env > 0 else 0
    n_water = round(N_WATER_SITES * f_env) if f_env > 0 else 0
    rng = sim._rng(8000, 1)
    n_urban = round(0.7 * n_air) if sim.urban.any() else 0
    n_urban = min(n_urban, n_air)
    ind = sim._industrial[: min(len(sim._industrial), n_urban)]
    rest_w = np.where(sim.urban, sim.pop_eff, 0.0)
    rest_w[ind] = 0.0
    urban_st = np.concatenate([ind, sim._choose(rng, rest_w, n_urban - len(ind))])
    # rural: area-weighted, stratified by county so that each county gets a share
    rural_w = np.where(~sim.urban, sim.area_km2, 0.0)
    if rural_w.sum() <= 0:
        rural_w = sim.area_km2.copy()
    if (sim.county >= 0).any():
        tot = pd.Series(rural_w).groupby(sim.county).transform("sum").to_numpy()
        rural_w = np.where(tot > 0, rural_w / np.maximum(tot, 1e-12), 0.0)
    rural_st = sim._choose(rng, rural_w, n_air - len(urban_st))
    air = np.concatenate([urban_st, rural_st]).astype(np.int64)
    water = sim._choose(rng, sim.area_km2, n_water).astype(np.int64)
    ax, ay = sim._points(
        air, rng.random(len(air)), rng.random(len(air)), (_ST_POINT, 11, np.arange(len(air)))
    )
    wx, wy = sim._points(
        water,
        rng.random(len(water)),
        rng.random(len(water)),
        (_ST_POINT, 12, np.arange(len(water))),
    )
    st_factor = np.where(sim.urban[air], 1.0, 0.8) * np.exp(rng.normal(0, 0.08, len(air)))
    st_factor[np.isin(air, sim._industrial)] *= 1.3
    sim.stations = pd.DataFrame(
        {
            "station": [f"AQ{i + 1:03d}" for i in range(len(air))]
            + [f"WQ{i + 1:02d}" for i in range(len(water))],
            "kind": ["air"] * len(air) + ["water"] * len(water),
            "cell_key": np.concatenate([sim.keys[air], sim.keys[water]]),
            "lon": np.concatenate([ax, wx]),
            "lat": np.concatenate([ay, wy]),
        }
    )
    sim._air = {
        "cell": air,
        "lon": ax,
        "lat": ay,
        "factor": st_factor,
        "urban": sim.urban[air],
    }
    sim._water = {
        "cell": water,
        "lon": wx,
        "lat": wy,
        "factor": np.exp(rng.normal(0, 0.25, len(water))),
    }
    if len(water):
        sim._water["factor"][0] *= 1.8  # one polluted site downstream of the steel works
    # congestion segments: arterial cells first, then urban population, some rural
    f_tr = sim.rates["traffic"] / DEFAULT_RATES["traffic"]
    n_seg = max(1, round(N_SEGMENTS * f_tr)) if f_tr > 0 else 0
    rng = sim._rng(8000, 2)
    art = sim._arterial[: min(len(sim._arterial), n_seg)]
    n_rural = round(0.2 * (n_seg - len(art)))
    seg = np.concatenate(
        [
            art,
            sim._choose(
                rng, np.where(sim.urban, sim.pop_eff, 0.0), n_seg - len(art) - n_rural, True
            ),
            sim._choose(rng, np.where(~sim.urban, sim.area_km2, 0.0), n_rural, True),
        ]
    ).astype(np.int64)
    sx, sy = sim._points(
        seg, rng.random(len(seg)), rng.random(len(seg)), (_ST_POINT, 13, np.arange(len(seg)))
    )
    sf = np.where(sim.urban[seg], 1.0, 0.55) * np.exp(rng.normal(0, 0.1, len(seg)))
    sf[: len(art)] *= 1.25
    sim._seg = {
        "cell": seg,
        "lon": sx,
        "lat": sy,
        "factor": sf,
        "ids": np.array([f"R{i + 1:03d}" for i in range(len(seg))], dtype=object),
    }
    # businesses for the market feed (fixed points, Zipf-like popularity)
    rng = sim._rng(8000, 3)
    bc = sim._choose(rng, sim._weights["market"], N_BUSINESSES, True).astype(np.int64)
    bx, by = sim._points(
        bc, rng.random(len(bc)), rng.random(len(bc)), (_ST_POINT, 14, np.arange(len(bc)))
    )
    goods = np.array([g for _, _, g in _SECTORS])
    sec_p = np.where(goods, 0.57 / goods.sum(), 0.43 / (~goods).sum())
    sim._biz = {
        "cell": bc,
        "lon": bx,
        "lat": by,
        "sector": rng.choice(len(_SECTORS), size=len(bc), p=sec_p),
        "cum": np.cumsum(p := rng.lognormal(0.0, 1.0, len(bc))) / p.sum(),
    }
    sim._biz["food_sectors"] = np.array(
        [i for i, (code, _, _) in enumerate(_SECTORS) if code in ("food", "catering")]
    )
    sim._biz["food"] = np.flatnonzero(np.isin(sim._biz["sector"], sim._biz["food_sectors"]))
