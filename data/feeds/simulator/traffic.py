"""Traffic: accidents, road hazards and violations (counting), congestion index readings of the
segments every 30 minutes, and the scene detector of a pile-up every 10 minutes."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from data.events import CATEGORIES
from data.feeds.simulator.frames import _dumps, _render, concat
from data.feeds.simulator.parameters import _CAT, _SRC, _TPI_WEEKDAY, _TPI_WEEKEND, SLOT_US
from data.feeds.simulator.streams import (
    _ST_EPTPI,
    _ST_OFFSET,
    _ST_POINT,
    _ST_TPI,
    _ST_TPIDAY,
    _cum_table,
    _hn,
    _hu,
    _pick,
)
from data.feeds.simulator.tables import _SUBTYPES
from data.times import to_us

if TYPE_CHECKING:
    from data.feeds.simulator.core import Simulator
    from data.feeds.simulator.episodes import Episode


def _tpi_sev(v: np.ndarray) -> np.ndarray:
    return np.minimum(np.floor(v / 2.0).astype(np.int64) + 1, 5)


def generate(
    sim: Simulator, slots: np.ndarray, cal: dict[str, np.ndarray], eps: list[Episode]
) -> tuple:
    """Columns of the traffic events in the slots (see ``frames.build_frame``)."""
    cats = CATEGORIES["traffic"]
    C = _CAT["traffic"]
    d = sim._draw("traffic", slots, sim._lambda("traffic", slots, cal), eps)
    u, cat, ep = d["u"], d["cat"], d["ep"]
    cell = sim._cells_for("traffic", d, eps)
    lon, lat = sim._points(
        cell, u[:, 2], u[:, 3], (_ST_POINT, _SRC["traffic"], d["slot"], d["gen"])
    )
    sub = _pick(
        _cum_table([[p for _, _, p in _SUBTYPES["traffic"][c]] for c in cats]), cat, u[:, 4]
    )
    # accidents: vehicles and injuries, heavier for pile-ups
    pile = ep >= 0
    veh = np.where(
        pile,
        3 + (u[:, 5] * 4).astype(np.int64),
        _pick(_cum_table([[0.15, 0.7, 0.1, 0.05]]), np.zeros(len(cat), np.int64), u[:, 5]) + 1,
    )
    inj = _pick(
        _cum_table([[0.72, 0.18, 0.06, 0.025, 0.015], [0.4, 0.3, 0.15, 0.1, 0.05]]),
        pile.astype(np.int64),
        u[:, 6],
    )
    acc_sev = np.select([inj >= 4, inj >= 2, inj == 1, veh >= 3], [5, 4, 3, 2], 1)
    other_sev = np.where(
        cat == C["road_hazard"], 2 + (u[:, 5] < 0.3), np.where(sub == 3, 2, 1)
    )  # wrong-way driving is 2
    sev = np.where(cat == C["accident"], acc_sev, other_sev)
    is_acc = cat == C["accident"]
    code = np.where(is_acc, 1000 + veh * 10 + inj, cat * 8 + sub)

    def attrs(c: int) -> str:
        if c >= 1000:
            v, i = divmod(c - 1000, 10)
            return _dumps({"injured": i, "vehicles": v})
        ci, si = divmod(c, 8)
        return _dumps({"subtype": _SUBTYPES["traffic"][cats[ci]][si][0]})

    def text(c: int) -> str:
        if c >= 1000:
            v, i = divmod(c - 1000, 10)
            vz = {1: "单车", 2: "两车", 3: "三车"}.get(v, "多车追尾")
            return f"{vz}事故，{f'{i}人受伤' if i else '无人员受伤'}"
        ci, si = divmod(c, 8)
        return _SUBTYPES["traffic"][cats[ci]][si][1]

    cols = [
        d["slot"],
        d["time"],
        lon,
        lat,
        cat,
        sev,
        np.full(len(cat), np.nan),
        _render(code, text),
        _render(code, attrs),
    ]
    # congestion readings: every segment every 30 minutes
    seg = sim._seg
    ns = len(seg["cell"])
    if ns:
        half = np.arange(2)
        S, G, Hh = np.meshgrid(slots, np.arange(ns), half, indexing="ij")
        S, G, Hh = S.ravel(), G.ravel(), Hh.ravel()
        j = np.repeat(np.arange(len(slots)), ns * 2)
        offset = (_hu(sim.seed, _ST_OFFSET, 3, G) * 60_000_000).astype(np.int64)
        t = S * SLOT_US + Hh * (SLOT_US // 2) + offset
        hour = cal["hour"][j] + 0.5 * Hh
        weekend = cal["dow"][j] >= 5
        prof_wd = np.interp(hour, np.arange(25), _TPI_WEEKDAY + _TPI_WEEKDAY[:1])
        prof_we = np.interp(hour, np.arange(25), _TPI_WEEKEND + _TPI_WEEKEND[:1])
        day = np.floor(cal["local_h"][j] / 24).astype(np.int64)
        v = (
            np.where(weekend, prof_we, prof_wd)
            * seg["factor"][G]
            * np.exp(0.08 * _hn(sim.seed, _ST_TPIDAY, day))
            * np.exp(0.12 * _hn(sim.seed, _ST_TPI, S * 2 + Hh, G))
        )
        for e in eps:  # pile-up: segments in the cell jam
            m = sim.keys[seg["cell"][G]] == e.cell_key
            m &= (t >= to_us(e.start)) & (t < to_us(e.end))
            v = np.where(m, v + 4.0, v)
        v = np.round(np.clip(v, 0.0, 10.0), 1)
        tcode = G
        cols = concat(
            cols,
            [
                S,
                t,
                seg["lon"][G],
                seg["lat"][G],
                np.full(len(S), C["congestion"]),
                _tpi_sev(v),
                v,
                _render(tcode, lambda g: f"路段{seg['ids'][g]}拥堵指数"),
                _render(tcode, lambda g: _dumps({"segment": seg["ids"][g]})),
            ],
        )
    # pile-up: detector at the scene every 10 minutes, severe congestion
    t_list, e_list = [], []
    for i, e in enumerate(eps):
        a, b = to_us(e.start), to_us(e.end)
        tt = np.arange(a, b, 600_000_000, dtype=np.int64)
        tt = tt[(tt >= slots[0] * SLOT_US) & (tt < (slots[-1] + 1) * SLOT_US)]
        t_list.append(tt)
        e_list.append(np.full(len(tt), i))
    if t_list and sum(len(x) for x in t_list):
        tt, ei = np.concatenate(t_list), np.concatenate(e_list)
        v = np.round(8.0 + 1.8 * _hu(sim.seed, _ST_EPTPI, tt // 1_000_000), 1)
        elon = np.array([e.lon for e in eps])[ei]
        elat = np.array([e.lat for e in eps])[ei]
        cols = concat(
            cols,
            [
                tt // SLOT_US,
                tt,
                elon,
                elat,
                np.full(len(tt), C["congestion"]),
                _tpi_sev(v),
                v,
                np.full(len(tt), "事故现场严重拥堵", dtype=object),
                np.full(len(tt), _dumps({"segment": "incident"}), dtype=object),
            ],
        )
    return tuple(cols)
