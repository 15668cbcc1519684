"""Environment: air stations (PM2.5, PM10, NO2, O3 and AQI every hour) and water stations (four
parameters every 4 hours), with the AQI functions of HJ 633-2012 and the GB 3838-2002 classes."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from data.feeds.simulator.frames import _dumps, _render, concat
from data.feeds.simulator.parameters import (
    _CAT,
    _H,
    _NO2_MONTH,
    _O3_MONTH,
    _PM25_MONTH,
    _PM_COARSE,
    AIR_POLLUTANTS,
    HOUR_US,
    SLOT_US,
    WATER_EVERY_H,
    WATER_PARAMS,
    _norm,
)
from data.feeds.simulator.streams import _ST_AIR, _ST_OFFSET, _ST_PMDAY, _ST_WATER, _hn, _hu
from data.times import to_us

if TYPE_CHECKING:
    from data.feeds.simulator.core import Simulator
    from data.feeds.simulator.episodes import Episode

# --- AQI (HJ 633-2012, docs/DOMAIN.md 2.3) ------------------------------------------------------------

_IAQI_STEPS = (0.0, 50.0, 100.0, 150.0, 200.0, 300.0, 400.0, 500.0)
AQI_BREAKPOINTS: dict[str, tuple[float, ...]] = {
    "pm25_24h": (0, 35, 75, 115, 150, 250, 350, 500),
    "pm10_24h": (0, 50, 150, 250, 350, 420, 500, 600),
    "so2_24h": (0, 50, 150, 475, 800, 1600, 2100, 2620),
    "so2_1h": (0, 150, 500, 650, 800),  # above 800: the 24h IAQI applies
    "no2_24h": (0, 40, 80, 180, 280, 565, 750, 940),
    "no2_1h": (0, 100, 200, 700, 1200, 2340, 3090, 3840),
    "co_24h": (0, 2, 4, 14, 24, 36, 48, 60),
    "co_1h": (0, 5, 10, 35, 60, 90, 120, 150),
    "o3_1h": (0, 160, 200, 300, 400, 800, 1000, 1200),
    "o3_8h": (0, 100, 160, 215, 265, 800),  # above 800: the 1h IAQI applies
}
# Hourly dashboards apply the PM 24h breakpoints to hourly values; gases default to 1h.
_AQI_ALIASES = {
    "pm25": "pm25_24h",
    "pm2.5": "pm25_24h",
    "pm10": "pm10_24h",
    "so2": "so2_1h",
    "no2": "no2_1h",
    "co": "co_1h",
    "o3": "o3_1h",
}
_AQI_FALLBACK = {"so2_1h": "so2_24h", "o3_8h": "o3_1h"}


def iaqi(pollutant: str, concentration: Any) -> Any:
    """Individual AQI of one pollutant (HJ 633-2012 linear interpolation between breakpoints).

    ``pollutant`` is a key of :data:`AQI_BREAKPOINTS` or an alias (pm25, pm10, so2, no2, co, o3;
    PM use the 24h table, gases the 1h table). Units µg/m³ (CO mg/m³). Returns a float for a scalar
    and a float array otherwise; missing or negative concentrations give NaN, values above the top
    breakpoint give 500 (SO2 1h above 800 and O3 8h above 800 use the 24h / 1h tables).
    """
    key = _AQI_ALIASES.get(pollutant, pollutant)
    if key not in AQI_BREAKPOINTS:
        raise ValueError(f"unknown pollutant {pollutant!r}")
    c = np.asarray(concentration, dtype="float64")
    bp = np.asarray(AQI_BREAKPOINTS[key], dtype="float64")
    steps = np.asarray(_IAQI_STEPS[: len(bp)])
    out = np.interp(c, bp, steps, right=500.0)
    if key in _AQI_FALLBACK:
        over = c > bp[-1]
        if np.any(over):
            out = np.where(over, iaqi(_AQI_FALLBACK[key], c), out)
    out = np.where(np.isnan(c) | (c < 0), np.nan, out)
    return float(out) if out.ndim == 0 else out


def aqi(**concentrations: Any) -> Any:
    """AQI = the largest IAQI, rounded up to an integer (HJ 633-2012).

    Keyword arguments are pollutant names as in :func:`iaqi`, e.g. ``aqi(pm25=80, pm10=100)``.
    Missing concentrations (None / NaN) are ignored; all missing gives NaN.
    """
    parts = [iaqi(k, v) for k, v in concentrations.items() if v is not None]
    if not parts:
        return float("nan")
    stacked = np.stack(np.broadcast_arrays(*[np.asarray(p, dtype="float64") for p in parts]))
    with np.errstate(invalid="ignore"):
        best = np.fmax.reduce(stacked, axis=0)
    out = np.ceil(np.round(best, 6))
    return float(out) if out.ndim == 0 else out


def aqi_level(value: Any) -> Any:
    """AQI level 1 (优) .. 6 (严重污染) for an AQI / IAQI value; 0 for NaN."""
    v = np.asarray(value, dtype="float64")
    lvl = np.searchsorted(np.array([50.0, 100.0, 150.0, 200.0, 300.0]), np.ceil(v), side="left") + 1
    lvl = np.where(np.isnan(v), 0, lvl)
    return int(lvl) if lvl.ndim == 0 else lvl


def _pm_level(sim: Simulator, local_h: np.ndarray) -> np.ndarray:
    """City-wide log PM level (unit variance, multi-day persistence), smooth in time."""
    day = np.floor(local_h / 24.0).astype(np.int64)
    frac = (local_h - day * 24.0) / 24.0
    days = np.unique(np.concatenate([day, day + 1]))
    lo = days.min() - 2
    zz = _hn(sim.seed, _ST_PMDAY, np.arange(lo, days.max() + 1))
    z = (zz[2:] + 0.7 * zz[1:-1] + 0.4 * zz[:-2]) / math.sqrt(1 + 0.49 + 0.16)  # index d-lo-2
    a, b = z[day - lo - 2], z[day + 1 - lo - 2]
    rho = (0.7 + 0.7 * 0.4) / (1 + 0.49 + 0.16)  # lag-1 correlation of z
    return ((1 - frac) * a + frac * b) / np.sqrt(
        (1 - frac) ** 2 + frac**2 + 2 * rho * frac * (1 - frac)
    )


def generate(
    sim: Simulator, slots: np.ndarray, cal: dict[str, np.ndarray], eps: list[Episode]
) -> tuple:
    """Columns of the environment readings in the slots (see ``frames.build_frame``)."""
    air, wat = sim._air, sim._water
    na, nw = len(air["cell"]), len(wat["cell"])
    cols: list | None = None
    month_anchor = np.array([15.5 + 30.4 * i for i in range(-1, 13)])

    def seasonal(tbl: list[float]) -> np.ndarray:
        vals = np.array([tbl[-1], *tbl, tbl[0]], dtype="float64")
        return np.interp(cal["doy"], month_anchor, vals)

    if na:
        ns = len(slots)
        S = np.repeat(slots, na)
        st = np.tile(np.arange(na), ns)
        j = np.repeat(np.arange(ns), na)
        hour = cal["hour"][j]
        heating = np.isin(cal["month"][j], (11, 12, 1, 2, 3))
        sigma = np.where(heating, 0.75, 0.6)
        level = _pm_level(sim, cal["local_h"])[j]
        n = [_hn(sim.seed, _ST_AIR, S, st, k) for k in range(4)]
        pm25 = (
            seasonal(_PM25_MONTH)[j]
            * np.exp(sigma * level - sigma**2 / 2)
            * _norm(_H["pm25"])[hour]
            * air["factor"][st]
            * np.exp(0.15 * n[0] - 0.011)
        )
        for e in eps:  # pollution episodes: trapezoid with 6-hour ramps
            a, b = to_us(e.start), to_us(e.end)
            t = S * SLOT_US
            ramp = np.clip(np.minimum(t - a, b - t) / (6 * HOUR_US), 0.0, 1.0)
            hit = np.isin(st, [int(s[2:]) - 1 for s in e.stations])
            pm25 = pm25 * np.where(hit, 1 + (e.factor - 1) * ramp, 1.0)
        pm25 = np.round(np.clip(pm25, 2.0, 900.0))
        pm10 = np.round(
            np.clip(pm25 * seasonal(_PM_COARSE)[j] * np.exp(0.1 * n[1]), pm25 + 1, 1200.0)
        )
        urban = air["urban"][st]
        no2 = np.round(
            np.clip(
                seasonal(_NO2_MONTH)[j]
                * np.exp(0.4 * level)
                * _norm(_H["no2"])[hour]
                * np.where(urban, 1.2, 0.6)
                * np.exp(0.2 * n[2]),
                1.0,
                1000.0,
            )
        )
        o3 = np.round(
            np.clip(
                seasonal(_O3_MONTH)[j]
                * np.exp(-0.15 * level)
                * _norm(_H["o3"])[hour]
                * np.where(urban, 0.9, 1.05)
                * np.exp(0.15 * n[3]),
                1.0,
                1000.0,
            )
        )
        ia = np.stack([iaqi("pm25", pm25), iaqi("pm10", pm10), iaqi("no2", no2), iaqi("o3", o3)])
        a_val = np.ceil(np.round(ia.max(axis=0), 6))
        primary = np.where(a_val > 50, ia.argmax(axis=0), -1)
        offset = (_hu(sim.seed, _ST_OFFSET, 1, st) * 300_000_000).astype(np.int64)
        t = S * SLOT_US + offset
        vals = [pm25, pm10, no2, o3, a_val]
        lv = [aqi_level(x) for x in (*ia, a_val)]
        k = len(AIR_POLLUTANTS)
        # interleave: per (slot, station) the five readings in AIR_POLLUTANTS order
        value = np.stack(vals, axis=1).ravel()
        level_ = np.stack(lv, axis=1).ravel()
        pidx = np.tile(np.arange(k), len(S))
        st_r = np.repeat(st, k)
        prim_r = np.repeat(primary, k)
        cat = np.array([_CAT["environment"][p] for p in AIR_POLLUTANTS])[pidx]
        code = ((st_r * k + pidx) * 7 + level_) * 5 + np.where(pidx == k - 1, prim_r + 1, 0)
        names = list(sim.stations["station"])
        units = {"aqi": None, "pm25": "ug/m3", "pm10": "ug/m3", "no2": "ug/m3", "o3": "ug/m3"}
        labels = {"aqi": "AQI", "pm25": "PM2.5", "pm10": "PM10", "no2": "NO2", "o3": "O3"}
        prim_names = ("pm25", "pm10", "no2", "o3")

        def attrs(c: int) -> str:
            rest, pr = divmod(c, 5)
            rest, lvl = divmod(rest, 7)
            s, p = divmod(rest, k)
            pol = AIR_POLLUTANTS[p]
            out: dict[str, Any] = {"station": names[s]}
            if pol == "aqi":
                out["level"] = lvl
                out["primary"] = prim_names[pr - 1] if pr else None
            else:
                out["unit"] = units[pol]
            return _dumps(out)

        def text(c: int) -> str:
            s, p = divmod(c, k)
            return f"空气自动监测站{names[s]} {labels[AIR_POLLUTANTS[p]]}"

        cols = [
            np.repeat(S, k),
            np.repeat(t, k),
            air["lon"][st_r],
            air["lat"][st_r],
            cat,
            np.clip(level_, 1, 5),
            value,
            _render(st_r * k + pidx, text),
            _render(code, attrs),
        ]
    if nw:
        sel = np.flatnonzero(cal["hour"] % WATER_EVERY_H == 0)
        if len(sel):
            S = np.repeat(slots[sel], nw * 4)
            site = np.tile(np.repeat(np.arange(nw), 4), len(sel))
            par = np.tile(np.arange(4), len(sel) * nw)
            j = np.repeat(sel, nw * 4)
            summer = np.cos(2 * np.pi * (cal["doy"][j] - 200) / 365.0)  # 1 in July
            f = wat["factor"][site]
            nz = _hn(sim.seed, _ST_WATER, S, site, par)
            val = np.select(
                [par == 0, par == 1, par == 2],
                [
                    np.clip(8.2 - 1.6 * summer - 1.2 * (f - 1) + 0.5 * nz, 1.0, 14.0),
                    4.2 * f * np.exp(0.18 * nz),
                    (0.55 + 0.25 * (1 - summer) / 2) * f * np.exp(0.3 * nz),
                ],
                0.14 * f * np.exp(0.25 * nz),
            )
            val = np.round(val, 3)
            cls = _water_class(par, val)
            offset = (_hu(sim.seed, _ST_OFFSET, 2, site) * 300_000_000).astype(np.int64)
            t = S * SLOT_US + offset
            wcat = np.array([_CAT["environment"][p] for p in WATER_PARAMS])[par]
            wnames = list(sim.stations["station"][na:])
            code = (site * 4 + par) * 6 + cls
            roman = ("I", "II", "III", "IV", "V", "劣V")
            zh = ("溶解氧", "高锰酸盐指数", "氨氮", "总磷")

            def wattrs(c: int) -> str:
                rest, cl = divmod(c, 6)
                s, _ = divmod(rest, 4)
                return _dumps({"station": wnames[s], "unit": "mg/L", "class": roman[cl]})

            def wtext(c: int) -> str:
                s, p = divmod(c, 4)
                return f"水质自动监测站{wnames[s]} {zh[p]}"

            wcols = [
                S,
                t,
                wat["lon"][site],
                wat["lat"][site],
                wcat,
                np.array([1, 1, 2, 3, 4, 5])[cls],
                val,
                _render(site * 4 + par, wtext),
                _render(code, wattrs),
            ]
            cols = wcols if cols is None else concat(cols, wcols)
    if cols is None:
        e = np.empty(0)
        return (
            e.astype(np.int64),
            e.astype(np.int64),
            e,
            e,
            e.astype(np.int64),
            e.astype(np.int64),
            e,
            e.astype(object),
            e.astype(object),
        )
    return tuple(cols)


def _water_class(par: np.ndarray, val: np.ndarray) -> np.ndarray:
    """GB 3838-2002 class index 0..5 (I..V, 劣V) for each parameter value."""
    do_lim = np.array([7.5, 6, 5, 3, 2])  # DO: higher is better
    lim = {1: [2, 4, 6, 10, 15], 2: [0.15, 0.5, 1.0, 1.5, 2.0], 3: [0.02, 0.1, 0.2, 0.3, 0.4]}
    out = np.zeros(len(par), dtype=np.int64)
    m = par == 0
    out[m] = (val[m][:, None] < do_lim).sum(axis=1)
    for p, lv in lim.items():
        m = par == p
        out[m] = np.searchsorted(np.array(lv, dtype="float64"), val[m], side="left")
    return out
