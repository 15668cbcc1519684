"""The simulator: cells and their weights, points inside cells, the calendar, the counting
process and ``generate`` (one module per source builds the columns; see the package docstring)."""

from __future__ import annotations

import math
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from data.events import CATEGORIES, SOURCES, empty_frame
from data.feeds.simulator import environment, hotline, market, police, traffic
from data.feeds.simulator.episodes import Episode, episodes_between
from data.feeds.simulator.frames import build_frame
from data.feeds.simulator.parameters import (
    _CAT,
    _H,
    _HOTLINE,
    _MARKET,
    _POLICE,
    _SRC,
    _TRAFFIC,
    _WEEK,
    DEFAULT_RATES,
    HOUR_US,
    SLOT_US,
    _norm,
)
from data.feeds.simulator.places import init_fixed_points
from data.feeds.simulator.streams import _hu
from data.times import to_us

# the columns of each source's events, by source
_GENERATORS = {
    "police": police.generate,
    "traffic": traffic.generate,
    "environment": environment.generate,
    "market": market.generate,
    "hotline": hotline.generate,
}


class Simulator:
    """Deterministic, window-consistent generator of canonical event frames for a grid of cells."""

    def __init__(
        self,
        cells: gpd.GeoDataFrame,
        *,
        seed: int = 0,
        rates: dict[str, float] | None = None,
        episodes: bool = True,
        timezone: str = "Asia/Shanghai",
    ) -> None:
        if seed < 0:
            raise ValueError("seed must be a non-negative integer")
        if len(cells) == 0:
            raise ValueError("cells is empty")
        unknown = set(rates or {}) - set(SOURCES)
        if unknown:
            raise ValueError(f"unknown sources in rates: {sorted(unknown)}")
        self.seed = int(seed)
        self.rates: dict[str, float] = {
            **DEFAULT_RATES,
            **{k: float(v) for k, v in (rates or {}).items()},
        }
        if any(v < 0 or not math.isfinite(v) for v in self.rates.values()):
            raise ValueError("rates must be finite and >= 0")
        self.with_episodes = bool(episodes)
        self.timezone = timezone
        if cells.crs is not None and not cells.crs.equals("EPSG:4326"):
            cells = cells.to_crs("EPSG:4326")
        self.cells = cells.reset_index(drop=True)
        self._init_cells()
        self._init_weights()
        init_fixed_points(self)
        self._week_cache: dict[int, list[Episode]] = {}

    @classmethod
    def from_region(cls, region: Any, **kw: Any) -> Simulator:
        """Simulator for a ``data.region.Region`` (cells plus county keys from the lineage)."""
        cells = region.cells()
        try:
            lin = region.lineage()
        except Exception:  # noqa: BLE001  (a region without lineage still works)
            lin = None
        if lin is not None and "county_key" in lin and "county_key" not in cells:
            cells = cells.merge(
                lin[["cell_key", "county_key"]], left_on="key", right_on="cell_key", how="left"
            ).drop(columns="cell_key")
        if "timezone" not in kw:
            meta = getattr(region, "meta", None) or {}
            kw["timezone"] = meta.get("timezone") or "Asia/Shanghai"
        return cls(cells, **kw)

    # -- setup -----------------------------------------------------------------------------------

    def _init_cells(self) -> None:
        c = self.cells
        self.keys = c["key"].to_numpy(dtype=np.int64)
        geoms = np.asarray(c.geometry.array, dtype=object)
        shapely.prepare(geoms)
        self._geoms = geoms
        self._bounds = shapely.bounds(geoms)
        b = self._bounds
        box_area = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
        area_deg = shapely.area(geoms)
        self._is_box = np.abs(area_deg - box_area) <= 1e-9 * np.maximum(box_area, 1e-300)
        lat_mid = (b[:, 1] + b[:, 3]) / 2
        self.area_km2 = area_deg * 111.32**2 * np.cos(np.radians(lat_mid))
        pop = (
            pd.to_numeric(c["population"], errors="coerce").to_numpy(
                dtype="float64", na_value=np.nan
            )
            if "population" in c
            else np.full(len(c), np.nan)
        )
        known = np.isfinite(pop) & (pop > 0) & (self.area_km2 > 0)
        density = np.nanmedian(pop[known] / self.area_km2[known]) if known.any() else 1.0
        self.pop_eff = np.where(np.isfinite(pop), np.maximum(pop, 0), self.area_km2 * density)
        if "kind" in c and c["kind"].notna().any():
            self.urban = (c["kind"] == "urban").fillna(False).to_numpy(dtype=bool)
        else:
            dens = self.pop_eff / np.maximum(self.area_km2, 1e-9)
            self.urban = dens >= np.quantile(dens, 0.75)
        self.county = (
            pd.to_numeric(c["county_key"], errors="coerce").fillna(-1).to_numpy(dtype=np.int64)
            if "county_key" in c
            else np.full(len(c), -1, dtype=np.int64)
        )
        self._rep_points: np.ndarray | None = None

    def _rng(self, *parts: int) -> np.random.Generator:
        return np.random.default_rng([self.seed, *parts])

    @staticmethod
    def _choose(
        rng: np.random.Generator, w: np.ndarray, k: int, replace: bool = False
    ) -> np.ndarray:
        w = np.asarray(w, dtype="float64")
        if w.sum() <= 0:
            w = np.ones_like(w)
        k = int(k)
        if k <= 0:
            return np.empty(0, dtype=np.int64)
        if not replace and np.count_nonzero(w) < k:
            replace = True
        return rng.choice(len(w), size=k, replace=replace, p=w / w.sum())

    def _init_weights(self) -> None:
        n = len(self.keys)
        pop, area, urban = self.pop_eff, self.area_km2, self.urban
        people = pop if pop.sum() > 0 else area.copy()
        self.hotspots: dict[str, np.ndarray] = {}
        w: dict[str, np.ndarray] = {}
        n_hot = min(4, n)
        for src in ("police", "hotline", "market"):
            base = people * (np.where(urban, 1.5, 0.7) if src == "market" else 1.0)
            rng = self._rng(7000 + _SRC[src])
            hot = self._choose(rng, base, n_hot)
            mult = np.ones(n)
            mult[hot] = rng.uniform(4.0, 8.0, size=len(hot))
            self.hotspots[src] = self.keys[hot]
            w[src] = base * mult
        # traffic: urban population plus some area (rural roads), and a few arterial cells
        tw = people * np.where(urban, 2.0, 0.5)
        tw = 0.85 * tw / tw.sum() + 0.15 * area / max(area.sum(), 1e-12)
        rng = self._rng(7000 + _SRC["traffic"])
        self._arterial = self._choose(rng, np.where(urban, people, 0.0), min(6, n))
        mult = np.ones(n)
        mult[self._arterial] = rng.uniform(5.0, 9.0, size=len(self._arterial))
        w["traffic"] = tw * mult
        self.hotspots["traffic"] = self.keys[self._arterial]
        # environment: a few "industrial" cells next to the urban core with higher PM
        rng = self._rng(7000 + _SRC["environment"])
        self._industrial = self._choose(rng, np.where(urban, area, 0.0) + 1e-12 * area, min(3, n))
        self.hotspots["environment"] = self.keys[self._industrial]
        self._weights = w
        self._cum = {k: np.cumsum(v / v.sum()) for k, v in w.items()}

    def _pick_cells(self, src: str, u: np.ndarray) -> np.ndarray:
        cum = self._cum[src]
        return np.minimum(np.searchsorted(cum, u, side="right"), len(cum) - 1)

    # -- points ----------------------------------------------------------------------------------

    def _points(
        self, cell: np.ndarray, ux: np.ndarray, uy: np.ndarray, key: tuple[Any, ...]
    ) -> tuple[np.ndarray, np.ndarray]:
        """Uniform points inside the cells: bounds sampling, then hashed retries for misses."""
        cell = np.asarray(cell, dtype=np.int64)
        b = self._bounds[cell]
        x = b[:, 0] + ux * (b[:, 2] - b[:, 0])
        y = b[:, 1] + uy * (b[:, 3] - b[:, 1])
        todo = np.flatnonzero(~self._is_box[cell])
        if todo.size:
            bad = todo[~shapely.contains_xy(self._geoms[cell[todo]], x[todo], y[todo])]
            attempt = 0
            while bad.size and attempt < 64:
                attempt += 1
                kp = [k[bad] if isinstance(k, np.ndarray) and k.ndim else k for k in key]
                bb = b[bad]
                nx = bb[:, 0] + _hu(self.seed, *kp, attempt, 0) * (bb[:, 2] - bb[:, 0])
                ny = bb[:, 1] + _hu(self.seed, *kp, attempt, 1) * (bb[:, 3] - bb[:, 1])
                ok = shapely.contains_xy(self._geoms[cell[bad]], nx, ny)
                x[bad[ok]], y[bad[ok]] = nx[ok], ny[ok]
                bad = bad[~ok]
            if bad.size:  # slivers: fall back to a point on the surface
                if self._rep_points is None:
                    rp = shapely.point_on_surface(self._geoms)
                    self._rep_points = np.column_stack([shapely.get_x(rp), shapely.get_y(rp)])
                x[bad], y[bad] = self._rep_points[cell[bad], 0], self._rep_points[cell[bad], 1]
        return x, y

    # -- calendar --------------------------------------------------------------------------------

    def _calendar(self, slots: np.ndarray) -> dict[str, np.ndarray]:
        utc = pd.DatetimeIndex((slots * SLOT_US).astype("datetime64[us]")).tz_localize("UTC")
        loc = utc.tz_convert(self.timezone)
        offset_h = (loc.tz_localize(None) - utc.tz_localize(None)) / pd.Timedelta(hours=1)
        return {
            "hour": np.asarray(loc.hour, dtype=np.int64),
            "dow": np.asarray(loc.day_of_week, dtype=np.int64),
            "month": np.asarray(loc.month, dtype=np.int64),
            "day": np.asarray(loc.day, dtype=np.int64),
            "doy": np.asarray(loc.day_of_year, dtype=np.int64),
            "local_h": slots + np.asarray(offset_h, dtype="float64"),
        }

    @staticmethod
    def _heating_share(month: np.ndarray, day: np.ndarray) -> np.ndarray:
        """Target share of heating in hotline volume by local date (docs/DOMAIN.md 2.5, suggested)."""
        s = np.zeros(len(month))
        s = np.where(month == 11, 0.5 - 0.18 * (day - 1) / 29.0, s)
        s = np.where((month == 12) | (month <= 2), 0.2, s)
        s = np.where(month == 3, 0.12 - 0.07 * (day - 1) / 30.0, s)
        return s

    def _lambda(self, source: str, slots: np.ndarray, cal: dict[str, np.ndarray]) -> np.ndarray:
        """Expected events per slot and category (n_slots x n_categories)."""
        cats = CATEGORIES[source]
        lam = np.zeros((len(slots), len(cats)))
        rate = self.rates[source]
        h, dow, month = cal["hour"], cal["dow"], cal["month"]
        table = {"police": _POLICE, "market": _MARKET, "hotline": _HOTLINE, "traffic": _TRAFFIC}[
            source
        ]
        if source == "traffic":
            rate = rate / DEFAULT_RATES["traffic"]  # shares below are per-day counts at default
        for cat, (share, hp, wp) in table.items():
            j = _CAT[source][cat]
            lam[:, j] = rate * share / 24.0 * _norm(_H[hp])[h] * _norm(_WEEK[wp])[dow]
        if source == "traffic":
            winter = (month == 12) | (month <= 2)
            lam[:, _CAT[source]["accident"]] *= np.where(winter, 1.2, 1.0)  # snow and ice
            lam[:, _CAT[source]["road_hazard"]] *= np.where(winter, 1.6, 1.0)
        if source == "hotline":
            s = self._heating_share(month, cal["day"])
            base = _HOTLINE["heating"][0]
            extra = np.maximum(s - base, 0) / (1 - s)  # heating on top of the base volume
            lam[:, _CAT[source]["heating"]] += rate * extra / 24.0 * _norm(_H["heating"])[h]
        return lam

    # -- episodes (drawn in episodes.py) ---------------------------------------------------------

    def episodes(self, start: Any, end: Any) -> list[Episode]:
        """The injected episodes overlapping [start, end), sorted by start."""
        return episodes_between(self, to_us(start), to_us(end))

    # -- generation ------------------------------------------------------------------------------

    def generate(self, source: str, start: Any, end: Any) -> pd.DataFrame:
        """Canonical event frame of ``source``: events with start <= time < end, sorted by time.

        ``start`` / ``end``: anything ``pd.Timestamp`` accepts; naive times are taken as UTC.
        """
        if source not in _SRC:
            raise ValueError(f"unknown source {source!r}; expected one of {', '.join(SOURCES)}")
        start_us, end_us = to_us(start), to_us(end)
        if end_us <= start_us or self.rates[source] <= 0:
            return empty_frame()
        s0, s1 = start_us // SLOT_US, -(-end_us // SLOT_US)
        if s0 < 0:
            raise ValueError("times before 1970 are not supported")
        slots = np.arange(s0, s1, dtype=np.int64)
        eps = [e for e in episodes_between(self, s0 * SLOT_US, s1 * SLOT_US) if e.source == source]
        cal = self._calendar(slots)
        parts = _GENERATORS[source](self, slots, cal, eps)
        return build_frame(source, parts, start_us, end_us)

    def generate_all(self, start: Any, end: Any) -> dict[str, pd.DataFrame]:
        """One frame per source (all five, disabled sources give empty frames)."""
        return {s: self.generate(s, start, end) for s in SOURCES}

    def _draw(
        self, source: str, slots: np.ndarray, lam: np.ndarray, eps: list[Episode], k: int = 8
    ):
        """Counting process: per-slot RNG draws. Returns rows for the base and episode events."""
        src = _SRC[source]
        counts = np.empty(lam.shape, dtype=np.int64)
        us: list[np.ndarray] = []
        ep_rows: list[tuple[int, int, int, int, np.ndarray]] = []  # slot, ep index, t0, t1, u
        ep_slots: dict[int, list[int]] = {}
        for i, e in enumerate(eps):
            a, b = to_us(e.start), to_us(e.end)
            for s in range(
                max(a // SLOT_US, int(slots[0])), min((b - 1) // SLOT_US, int(slots[-1])) + 1
            ):
                ep_slots.setdefault(s, []).append(i)
        for j, s in enumerate(slots.tolist()):
            rng = np.random.default_rng([self.seed, src, s])
            counts[j] = rng.poisson(lam[j])
            us.append(rng.random((int(counts[j].sum()), k)))
            for i in ep_slots.get(s, ()):
                e = eps[i]
                t0 = max(to_us(e.start), s * SLOT_US)
                t1 = min(to_us(e.end), (s + 1) * SLOT_US)
                m = rng.poisson(e.factor * (t1 - t0) / HOUR_US)
                ep_rows.append((s, i, t0, t1, rng.random((m, k))))
        n_slot = counts.sum(axis=1)
        u = np.concatenate(us) if us else np.empty((0, k))
        slot = np.repeat(slots, n_slot)
        cat = np.repeat(np.tile(np.arange(lam.shape[1]), len(slots)), counts.ravel())
        t = slot * SLOT_US + (u[:, 0] * SLOT_US).astype(np.int64)
        first = np.repeat(np.cumsum(n_slot) - n_slot, n_slot)
        gen = np.arange(len(slot)) - first
        ep = np.full(len(slot), -1, dtype=np.int64)
        if ep_rows:
            e_u = np.concatenate([r[4] for r in ep_rows])
            sizes = np.array([len(r[4]) for r in ep_rows])
            e_slot = np.repeat([r[0] for r in ep_rows], sizes).astype(np.int64)
            e_idx = np.repeat([r[1] for r in ep_rows], sizes).astype(np.int64)
            t0 = np.repeat([r[2] for r in ep_rows], sizes).astype(np.int64)
            t1 = np.repeat([r[3] for r in ep_rows], sizes).astype(np.int64)
            e_cat = np.array([_CAT[source][eps[i].category] for i in e_idx], dtype=np.int64)
            e_gen = 1_000_000_000 + np.arange(len(e_slot))
            u = np.concatenate([u, e_u])
            slot = np.concatenate([slot, e_slot])
            cat = np.concatenate([cat, e_cat])
            t = np.concatenate([t, t0 + (e_u[:, 0] * (t1 - t0)).astype(np.int64)])
            gen = np.concatenate([gen, e_gen])
            ep = np.concatenate([ep, e_idx])
        return {"slot": slot, "time": t, "cat": cat, "u": u, "gen": gen, "ep": ep}

    def _cells_for(self, source: str, d: dict[str, np.ndarray], eps: list[Episode]) -> np.ndarray:
        cell = self._pick_cells(source, d["u"][:, 1])
        if len(eps) and (d["ep"] >= 0).any():
            key_to_idx = {int(k): i for i, k in enumerate(self.keys)}
            ep_cell = np.array([key_to_idx[e.cell_key] for e in eps], dtype=np.int64)
            m = d["ep"] >= 0
            cell[m] = ep_cell[d["ep"][m]]
        return cell
