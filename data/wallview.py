"""The wall's state for one view, computed once and shared by every screen that shows it.

A command hall has many screens on few views: the city, each county, a township an analyst is
looking into. Each screen's refresh used to query the store itself (five requests, each with its
own queries), so the server's work grew with the number of screens. Here one computation of a view
serves every viewer of it:

* the **data version** moves when a batch of events is committed (a pipeline listener);
* a view's state is recomputed when the version moved, and at the latest after one refresh period
  (the windows slide with the clock, warnings and cases change on their own timers), but never
  more often than ``coalesce_s``: under a steady push every view is recomputed at most once per
  ``coalesce_s``, however many batches arrive and however many screens look at it;
* computations are single-flight: viewers arriving while a view is being computed wait for that
  computation instead of starting their own.

Everything here is plain values (no dash): the callbacks hand them to :mod:`layouts`.
Coordinates are WGS84 (lon, lat); times are UTC ``pd.Timestamp``.
"""

from __future__ import annotations

import collections
import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from data import priority, queries
from data.areas import AreaScope, scope_for_code
from data.catalogue import DEFAULT_CATALOGUE, DEFAULT_WALL_WINDOW, MAP_LEVELS, Catalogue
from data.store import Database
from data.times import utc_now
from data.wallhistory import moment, period_of, response_at, warnings_at

log = logging.getLogger(__name__)

WINDOW_SPAN = {
    "1h": pd.Timedelta(hours=1),
    "24h": pd.Timedelta(hours=24),
    "7d": pd.Timedelta(days=7),
}
DEFAULT_LEVEL = {"city": "grid", "county": "township", "township": "grid"}
LEVEL_ORDER = ("city", "county", "township", "community", "grid")
TICKER_SPAN = pd.Timedelta(hours=24)
CELL_EVENTS_SPAN = pd.Timedelta(days=7)
# above this share of changed cells the whole value array is cheaper than indices + values
FULL_DIFF_SHARE = 0.4
# the response metrics read a month of cases and move slowly: shared for this long
RESPONSE_TTL_S = 10.0
# a replay's colour scale (the period's values at its end) is shared by its steps this long
PERIOD_SCALE_TTL_S = 60.0


# --- the view ------------------------------------------------------------------------------------


def resolve_view(
    db: Database,
    view: dict | None,
    base: AreaScope,
    catalogue: Catalogue = DEFAULT_CATALOGUE,
    first_level: str | None = None,
    timezone: str = "UTC",
    now: pd.Timestamp | None = None,
) -> dict:
    """The view's scope, map level and path, checked against the store and the caller's scope.

    ``base``: the user's scope; the view never leaves it. Unknown or out-of-scope codes are
    dropped (the view falls back to the level above). A period (``since``/``until``, bare dates
    local midnights in ``timezone``, and the replay's slider position ``at``) makes the wall show
    that period (:func:`data.wallhistory.period_of`); a period that cannot be read is dropped
    (the live wall) and its reason kept in ``period_error``.
    Returns: scope (AreaScope), level, path (list of area dicts city..current), cell (dict|None),
    metric, window, period (dict|None), period_error (str|None), sig (the view's identity),
    map_sig (the map figure's identity: the same for every replay position of a period).
    """
    view = view or {}
    path = [_area(db, base.key)]
    scope = base
    cell = None
    for name in ("county", "township"):
        if LEVEL_ORDER.index(name) <= LEVEL_ORDER.index(base.level):
            continue  # the user's own area (or above): already the base
        code = view.get(name)
        if not code:
            break
        found = _find(db, code, name, scope)
        if found is None:
            break
        scope = AreaScope(name, found["key"])
        path.append(found)
    if view.get("cell") and scope.level == "township":
        cell = _find(db, view["cell"], "grid", scope)
    level = view.get("level")
    if level not in MAP_LEVELS or LEVEL_ORDER.index(level) <= LEVEL_ORDER.index(scope.level):
        level = DEFAULT_LEVEL.get(scope.level, "grid")
        if scope.level == "city" and first_level in MAP_LEVELS:
            # a region with one named level (region.toml first_level) opens on that level
            level = first_level
    metric = view.get("metric") if view.get("metric") in catalogue.wall_metrics else "all"
    window = view.get("window") if view.get("window") in WINDOW_SPAN else DEFAULT_WALL_WINDOW
    sig = f"{scope.level}:{scope.key}|{level}|{metric}|{window}"
    period, period_error = None, None
    try:
        period = period_of(view, timezone, utc_now(now))
    except ValueError as exc:
        period_error = str(exc)
    map_sig = sig  # the map's identity: a replay step changes its values, not its figure
    if period is not None:
        map_sig += f"|{period['since'].isoformat()}|{period['until'].isoformat()}"
        sig = f"{map_sig}|{period['index']}"
    return {
        "map_sig": map_sig,
        "period": period,
        "period_error": period_error,
        "scope": scope,
        "level": level,
        "path": path,
        "cell": cell,
        "metric": metric,
        "window": window,
        "sig": sig,
    }


def _area(db: Database, key: int) -> dict:
    info = queries.area_info(db, key)
    return {k: info[k] for k in ("key", "code", "level", "name_zh", "name_en")}


def _find(db: Database, code: str, level: str, within: AreaScope) -> dict | None:
    try:
        found = scope_for_code(db, code)
    except KeyError:
        return None
    if found.level != level or not within.contains(db, found.key):
        return None
    return _area(db, found.key)


# --- values --------------------------------------------------------------------------------------


def map_values(db: Database, resolved: dict, keys: list[int], now: pd.Timestamp) -> np.ndarray:
    """The metric's value (int) of every area in ``keys`` for the resolved view at ``now``
    (the window ending at ``now``; on a period, the period's events up to ``now``)."""
    scope, level = resolved["scope"], resolved["level"]
    span = WINDOW_SPAN[resolved["window"]]
    metric = resolved["metric"]
    period = resolved.get("period")
    source = metric if metric not in ("all", "risk") else None
    if period is not None and now <= period["since"]:
        df = pd.DataFrame({"key": [], "n": []})
    elif period is not None:
        # a past period: its events up to the moment shown, [since, now)
        if metric == "risk":
            df = queries.risk_between(db, scope, level=level, since=period["since"], until=now)
        else:
            df = queries.area_values(
                db, scope, level=level, since=period["since"], until=now, source=source
            )
    elif metric == "risk":
        df = queries.risk_values(db, scope, level=level, now=now, window=span)
    else:
        df = queries.area_values(db, scope, level=level, since=now - span, source=source)
    values = pd.Series(0, index=keys, dtype="int64")
    if len(df):
        s = df.set_index("key")["n"]
        s = s[s.index.isin(values.index)]
        values.loc[s.index] = s.to_numpy()
    return values.to_numpy(dtype="int64")


def checksum(z) -> int:
    """A checksum of a value array, computed the same way in ``assets/wall.js``."""
    arr = np.asarray(z, dtype="int64")
    weights = np.arange(len(arr)) % 97 + 1
    return int(np.dot(arr, weights) % 2147483647)


def value_diff(sig: str, previous: list[int], current: np.ndarray) -> dict | None:
    """The compact diff from ``previous`` to ``current`` (None when nothing changed)."""
    prev = np.asarray(previous, dtype="int64")
    changed = np.flatnonzero(prev != current)
    if not len(changed):
        return None
    if len(changed) > FULL_DIFF_SHARE * len(current):
        return {"sig": sig, "z": current.tolist()}
    return {
        "sig": sig,
        "base": checksum(prev),
        "i": changed.tolist(),
        "v": current[changed].tolist(),
    }


@dataclass(frozen=True)
class MapFrame:
    """What does not change while a view is shown: the areas coloured (in figure order), the
    outlines drawn over them, the view's bounds (lon/lat) and the labels' points."""

    keys: list[int]
    areas: list[dict]  # key, code, name_zh, name_en (figure order)
    outline_level: str | None
    outline_keys: list[int] | None
    bounds: tuple[float, float, float, float]
    labels: list[dict]  # name_zh, name_en, lon, lat


def map_frame(db: Database, region, resolved: dict) -> MapFrame:
    """The static part of the resolved view's map (``region``: the loaded Region)."""
    scope, level = resolved["scope"], resolved["level"]
    areas = queries.areas_at(db, scope, level)
    above = {"city": "county", "county": "township", "township": "community"}.get(scope.level)
    outline_level = outline_keys = None
    if above is not None and LEVEL_ORDER.index(above) < LEVEL_ORDER.index(level):
        outline_level, outline_keys = above, queries.area_keys(db, scope, above)
    label_level = {"city": "county", "county": "township"}.get(scope.level)
    labels = []
    if label_level:
        for r in queries.areas_at(db, scope, label_level).to_dict("records"):
            labels.append(
                {"name_zh": r["name_zh"], "name_en": r["name_en"], "lon": r["lon"], "lat": r["lat"]}
            )
    return MapFrame(
        keys=areas["key"].astype(int).tolist(),
        areas=[
            {k: r[k] for k in ("key", "code", "name_zh", "name_en")}
            for r in areas.to_dict("records")
        ],
        outline_level=outline_level,
        outline_keys=outline_keys,
        bounds=tuple(float(b) for b in region.by_key(scope.key).geometry.bounds),
        labels=labels,
    )


# --- the shared state of one view ----------------------------------------------------------------


@dataclass(frozen=True)
class WallState:
    """One view's state at one data version; shared by every viewer: treat as read-only.

    ``sigs``: a signature per part of the screen (map, kpi, ticker, crumb, warnings): a viewer
    whose shown signature equals it needs nothing new for that part.
    """

    view: dict  # resolve_view's result
    frame: MapFrame
    version: int
    computed_at: pd.Timestamp
    z: np.ndarray
    kpis: dict[str, dict]  # source -> today, last_week, hour, stale, silent_s
    ticker_events: list[dict]
    ticker_warnings: list[dict]
    warnings: dict | None  # counts, newest, escalations, marks (None: no warnings engine)
    cell_events: list[dict] | None  # the selected cell's recent events
    sigs: dict[str, str] = field(default_factory=dict)
    # the values the colour scale is fitted to: the map's own, or on a period its values at the
    # period's end, so the scale stays put while the replay moves through it
    scale_z: np.ndarray | None = None
    warnings_made: float = 0.0  # time.monotonic() of the warnings part's computation
    # the selected cell's events' period (since, until or None: up to now), for its export
    cell_period: tuple[pd.Timestamp, pd.Timestamp | None] | None = None
    # what the screens render from this state (per part and language), shared like the state
    # itself: filled by the UI layer, opaque here
    rendered: dict = field(default_factory=dict, compare=False, repr=False)

    def diff_from(self, previous: list[int], sig: str) -> dict | None:
        """The map's change from the values a screen shows (:func:`value_diff`)."""
        return value_diff(sig, previous, self.z)


@dataclass(frozen=True)
class Shared:
    """A value shared by every screen for a while, with room for what they render from it."""

    value: dict
    rendered: dict = field(default_factory=dict, compare=False, repr=False)


def _sig(value) -> str:
    text = json.dumps(value, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


class _Slot:
    __slots__ = ("lock", "state", "made", "renewing")

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.state: WallState | None = None
        self.made = 0.0
        self.renewing = False  # a background recomputation is under way


class WallViews:
    """The wall's views, each computed once per data version and shared by its viewers.

    ``warnings``: a callable returning the warnings engine (or None while there is none);
    ``refresh_s``: the screens' refresh period (a state is never older than this);
    ``coalesce_s``: the shortest time between two computations of one view;
    ``nice``: the background renewals' thread priority (:mod:`data.priority`).
    """

    MAX_VIEWS = 512

    def __init__(
        self,
        db: Database,
        region,
        *,
        timezone: str,
        stale_after: Callable[[str], float],
        warnings: Callable[[], object | None],
        refresh_s: float,
        coalesce_s: float,
        clock: Callable[[], pd.Timestamp] = utc_now,
        catalogue: Catalogue = DEFAULT_CATALOGUE,
        nice: int = 0,
    ) -> None:
        self.db = db
        self.catalogue = catalogue
        self.region = region
        self.timezone = timezone
        self._stale_after = stale_after
        self._warnings = warnings
        self.refresh_s = float(refresh_s)
        self.coalesce_s = min(float(coalesce_s), self.refresh_s)
        self._clock = clock
        self._lock = threading.Lock()
        self._version = 0
        self._slots: collections.OrderedDict = collections.OrderedDict()
        self._resolved: collections.OrderedDict = collections.OrderedDict()
        self._frames: collections.OrderedDict = collections.OrderedDict()
        self._response: dict = {}
        self._response_running: dict[tuple, threading.Event] = {}
        self._health: tuple[float, dict] | None = None
        self.computations = 0  # states computed so far (for tests and benchmarks)
        # a state older than this is recomputed before it is served (a view nobody watched)
        self.max_stale_s = 2 * self.refresh_s
        # renewals serve screens: they wait when ingest needs the CPU (data/priority.py)
        self._renewer = priority.screen_pool(2, "wall-views", nice)

    # -- the data version --

    @property
    def version(self) -> int:
        """The data version: moves with every committed batch of events."""
        return self._version

    def bump(self, *_args) -> None:
        """A new batch was committed (a pipeline listener: ``fn(source, result)``)."""
        with self._lock:
            self._version += 1

    # -- views --

    def resolve(self, view: dict | None, base: AreaScope) -> dict:
        """:func:`resolve_view`, remembered: areas do not change under a running server."""
        key = (json.dumps(view or {}, sort_keys=True, default=str), base.level, base.key)
        with self._lock:
            hit = self._resolved.get(key)
        if hit is None:
            hit = resolve_view(
                self.db,
                view,
                base,
                self.catalogue,
                self.region.meta.get("first_level"),
                self.timezone,
                self._clock(),
            )
            self._remember(self._resolved, key, hit)
        return hit

    def frame(self, resolved: dict) -> MapFrame:
        """The static part of the view's map (remembered per view)."""
        key = (resolved["scope"].level, resolved["scope"].key, resolved["level"])
        with self._lock:
            hit = self._frames.get(key)
        if hit is None:
            hit = map_frame(self.db, self.region, resolved)
            self._remember(self._frames, key, hit)
        return hit

    def state(self, view: dict | None, base: AreaScope, *, fresh: bool = False) -> WallState:
        """The view's current state for a user whose scope is ``base`` (shared, read-only).

        ``fresh``: holding every batch committed so far, computed now if need be (benchmarks, and
        a screen right after its own action); otherwise a state up to one refresh period old."""
        resolved = self.resolve(view, base)
        cell = resolved["cell"]["key"] if resolved["cell"] else None
        key = (resolved["sig"], cell, base.level, base.key)
        with self._lock:
            slot = self._slots.get(key)
            if slot is None:
                slot = self._slots[key] = _Slot()
                while len(self._slots) > self.MAX_VIEWS:
                    self._slots.popitem(last=False)
            else:
                self._slots.move_to_end(key)
        with slot.lock:
            if fresh and slot.state is not None and slot.state.version == self._version:
                return slot.state
            if not fresh and slot.state is not None and self._fresh(slot):
                return slot.state
            age = time.monotonic() - slot.made
            if not fresh and slot.state is not None and age < self.max_stale_s:
                # out of date but recent: every screen gets it at once while one background
                # computation renews it (a screen never waits for a computation on a tick)
                if not slot.renewing:
                    slot.renewing = True
                    self._renewer.submit(self._renew, slot, resolved, base)
                return slot.state
            # the first screen on a view (or one long unwatched): computed now, single flight
            self._store(slot, resolved, base)
            return slot.state

    def _store(self, slot: _Slot, resolved: dict, base: AreaScope) -> None:
        version = self._version  # read first: a batch committed meanwhile renews again
        slot.state = self._compute(resolved, base, version, slot.state)
        slot.made = time.monotonic()
        with self._lock:
            self.computations += 1

    def _renew(self, slot: _Slot, resolved: dict, base: AreaScope) -> None:
        try:
            state = self._compute(resolved, base, self._version, slot.state)
            with slot.lock:
                slot.state, slot.made = state, time.monotonic()
            with self._lock:
                self.computations += 1
        except Exception:  # noqa: BLE001 - the next tick tries again; the screens keep the last
            log.exception("renewing a wall view failed")
        finally:
            slot.renewing = False

    def close(self) -> None:
        """Stop the background renewals (the runtime's stop)."""
        self._renewer.shutdown(wait=True, cancel_futures=True)

    def _fresh(self, slot: _Slot) -> bool:
        age = time.monotonic() - slot.made
        if age < self.coalesce_s:
            return True
        return slot.state.version == self._version and age < self.refresh_s

    def _compute(
        self, resolved: dict, base: AreaScope, version: int, previous: WallState | None
    ) -> WallState:
        now = self._clock()
        period = resolved.get("period")
        start = None  # nothing before the period's start is shown on a period
        if period is not None:
            now, start = moment(period, now), period["since"]
        frame = self.frame(resolved)
        scope = resolved["scope"]
        z = map_values(self.db, resolved, frame.keys, now)
        scale_z = z if period is None else self._period_end_values(resolved, frame)
        kpis = self._kpis(scope, now, period)
        events = queries.significant_events(
            self.db,
            scope,
            since=now - TICKER_SPAN if start is None else max(start, now - TICKER_SPAN),
            until=None if period is None else now,
            sources=self.catalogue.significant_sources,
            place_level=self.region.meta.get("place_level", "township"),
        )
        # warnings change with their engine's evaluations and with actions on them, not with
        # event batches: their part is recomputed once per refresh period, not per version
        if previous is not None and time.monotonic() - previous.warnings_made < self.refresh_s:
            summary, warns = previous.warnings, previous.ticker_warnings
            warnings_made = previous.warnings_made
        else:
            summary = self._warnings_summary(
                self._warnings(), scope, None if period is None else now
            )
            warns = self._ticker_warnings(summary, now)
            warnings_made = time.monotonic()
        cell_events, cell_period = None, None
        if resolved["cell"] is not None:
            cell_since = now - CELL_EVENTS_SPAN
            cell_period = (
                cell_since if start is None else max(start, cell_since),
                None if period is None else now,
            )
            cell_events = queries.list_events(
                self.db,
                base,
                area=AreaScope("grid", resolved["cell"]["key"]),
                since=cell_period[0],
                until=cell_period[1],
                limit=200,
            )
        ticker_ids = [f"{e['source']}:{e['id']}" for e in events] + [
            f"w{w['id']}:{w['level']}:{w['state']}" for w in warns
        ]
        crumb = [resolved["sig"], resolved["cell"]["code"] if resolved["cell"] else ""]
        if cell_events is not None:
            crumb.append(_sig(cell_events))
        return WallState(
            view=resolved,
            frame=frame,
            version=version,
            computed_at=now,
            z=z,
            scale_z=scale_z,
            kpis=kpis,
            ticker_events=events,
            ticker_warnings=warns,
            warnings=summary,
            cell_events=cell_events,
            cell_period=cell_period,
            warnings_made=warnings_made,
            sigs={
                "map": resolved["map_sig"],
                "kpi": _sig(kpis),
                "ticker": f"{scope.level}:{scope.key}|" + ",".join(ticker_ids),
                "crumb": "|".join(str(c) for c in crumb),
                "warnings": _sig(summary),
            },
        )

    def _period_end_values(self, resolved: dict, frame: MapFrame) -> np.ndarray:
        """The map's values at the end of the resolved period (the replay's colour scale),
        shared by every replay step of the period for ``PERIOD_SCALE_TTL_S`` (they change only
        when data lands inside the period, and only the scale's top depends on them)."""
        key = ("period-end", resolved["map_sig"])
        with self._lock:
            hit = self._frames.get(key)
        if hit is None or time.monotonic() - hit[0] > PERIOD_SCALE_TTL_S:
            end = moment(dict(resolved["period"], at=resolved["period"]["until"]), self._clock())
            hit = (time.monotonic(), map_values(self.db, resolved, frame.keys, end))
            self._remember(self._frames, key, hit)
        return hit[1]

    def _kpis(self, scope: AreaScope, now: pd.Timestamp, period: dict | None) -> dict[str, dict]:
        """Today's events per source (local calendar day), the same span a week ago, the last
        hour, and the feed's health. On a period: the period's events up to ``now`` (the moment
        shown), the same span a week before, the hour before ``now``; no feed health (a past
        moment has none to show)."""
        week = pd.Timedelta(days=7)
        if period is None:
            start, end = now.tz_convert(self.timezone).normalize().tz_convert("UTC"), now
            health = self._feed_health(now)
        else:
            # the spans' ends are exclusive: the bucket that starts at ``now`` is not counted
            start, end = period["since"], max(period["since"], now - pd.Timedelta(microseconds=1))
            health = {s: {"stale": False, "silent_s": None} for s in self.catalogue.ids}
        today, last, hour = queries.counts_by_source_spans(
            self.db,
            scope,
            [(start, end), (start - week, end - week), (now - pd.Timedelta(hours=1), end)],
            self.catalogue.ids,
        )
        if period is not None and end <= start:
            today = {s: 0 for s in self.catalogue.ids}
        return {
            s: {
                "period": period is not None,
                "today": today[s],
                "last_week": last[s],
                "hour": hour[s],
                "stale": health[s]["stale"],
                # whole minutes: the screen shows minutes, and seconds would change every tick
                "silent_min": None
                if health[s]["silent_s"] is None
                else int(health[s]["silent_s"] // 60),
            }
            for s in self.catalogue.ids
        }

    def _feed_health(self, now: pd.Timestamp) -> dict[str, dict]:
        """Every feed's health (the same for every view): shared for ``coalesce_s``."""
        with self._lock:
            hit = self._health
        if hit is not None and time.monotonic() - hit[0] < max(self.coalesce_s, 0.5):
            return hit[1]
        ids = self.catalogue.ids
        stale_after = {s: self._stale_after(s) for s in ids}
        value = {
            h["source"]: h
            for h in queries.feed_health(self.db, now=now, stale_after=stale_after, sources=ids)
        }
        with self._lock:
            self._health = (time.monotonic(), value)
        return value

    @staticmethod
    def _ticker_warnings(summary: dict | None, now: pd.Timestamp) -> list[dict]:
        """The ticker's warnings: the newest active ones raised in its span (from the summary)."""
        if summary is None:
            return []
        since = now - TICKER_SPAN
        return [w for w in summary["newest"][:5] if pd.Timestamp(w["raised_at"]) >= since]

    def _warnings_summary(self, engine, scope: AreaScope, at: pd.Timestamp | None) -> dict | None:
        """Warnings by colour, the newest, escalations, and marks (a point inside each cell with
        an active red or orange warning); ``at``: as they stood then (a period), None: now."""
        if engine is None:
            return None
        from data.warnings import queries as wq

        if at is None:
            summary = wq.wall_summary(self.db, scope, engine.rules)
        else:
            summary = warnings_at(self.db, scope, at)
            wq._named(summary["newest"], wq.rule_names(engine.rules))
            wq._named(summary["escalations"], wq.rule_names(engine.rules))
        cells = summary["map_cells"]
        points = queries.area_points(self.db, [c["cell_key"] for c in cells])
        marks = [
            {
                "x": points[c["cell_key"]][0],
                "y": points[c["cell_key"]][1],
                "level": c["level"],
                "key": c["cell_key"],
            }
            for c in cells
            if c["cell_key"] in points
        ]
        return {
            "counts": summary["counts"],
            "newest": summary["newest"],
            "escalations": summary["escalations"],
            "learning": summary.get("learning"),
            "marks": marks,
        }

    def response(self, view: dict | None, base: AreaScope) -> Shared:
        """The response metrics of the view's area (on-time gauge, overdue by county, worst
        cases), shared for ``RESPONSE_TTL_S`` seconds: they move slowly and read a month of
        cases."""
        resolved = self.resolve(view, base)
        scope, period = resolved["scope"], resolved.get("period")
        at = None if period is None else moment(period, self._clock())
        key = (scope.level, scope.key, at)
        # single flight: one computation renews an expired value while every screen is served
        # the one before it (for a new key, they wait for that one computation); without this
        # every screen arriving in the same second read a month of cases again
        with self._lock:
            hit = self._response.get(key)
            if hit is not None and time.monotonic() - hit[0] < RESPONSE_TTL_S:
                return hit[1]
            running = self._response_running.get(key)
            if running is None:
                self._response_running[key] = threading.Event()
        if running is not None:
            if hit is not None:
                return hit[1]
            running.wait(timeout=60)
            with self._lock:
                hit = self._response.get(key)
            if hit is not None:
                return hit[1]
            return self.response(view, base)  # the computation failed: try it here
        if hit is not None:
            # expired: this screen gets the value before at once while one background
            # computation renews it (computed on the tick, it held that screen for seconds
            # while a bulk load kept the machine busy)
            try:
                self._renewer.submit(self._response_value, key, scope, at)
            except RuntimeError:  # shutting down: nothing renews, the next look computes
                self._response_value(key, scope, at)
            return hit[1]
        return self._response_value(key, scope, at)

    def _response_value(self, key: tuple, scope: AreaScope, at) -> Shared | None:
        """Compute and share one response value (its single flight is already marked)."""
        from data.cases import metrics

        try:
            if at is None:
                value = Shared(metrics.wall(self.db, scope, now=self._clock()))
            else:  # the cases as they stood at the moment shown
                value = Shared(response_at(self.db, scope, at))
            with self._lock:
                self._response[key] = (time.monotonic(), value)
                while len(self._response) > self.MAX_VIEWS:  # a replay makes a key per moment
                    self._response.pop(next(iter(self._response)))
            return value
        except Exception:
            log.exception("computing the response metrics failed")
            raise
        finally:
            with self._lock:
                self._response_running.pop(key).set()

    # -- actions on a view --

    def drill(self, view: dict | None, base: AreaScope, location: int) -> dict | None:
        """The view after a click on area ``location`` of the map (None: nothing to do):
        city -> the county, county -> the township, township -> the cell."""
        resolved = self.resolve(view, base)
        found = queries.area_lineage(self.db, resolved["scope"], int(location))
        if found is None:
            return None
        new = dict(view or {}, level=None, cell=None)
        current = resolved["scope"].level
        if current == "city":
            new.update(county=found["county"], township=None)
        elif current == "county":
            new.update(township=found["township"])
        elif found["level"] == "grid":
            new.update(cell=found["code"], level=resolved["level"])
        else:
            new.update(level="grid")
        return new

    def tour_next(self, view: dict | None, base: AreaScope) -> dict:
        """Tour mode's next stop: the next county, and the whole city between rounds."""
        counties = self._counties(base)
        stops = [None, *counties]
        current = (view or {}).get("county")
        idx = stops.index(current) if current in stops else 0
        nxt = stops[(idx + 1) % len(stops)]
        return dict(view or {}, county=nxt, township=None, cell=None, level=None)

    def _counties(self, base: AreaScope) -> list[str]:
        key = ("counties", base.level, base.key)
        with self._lock:
            hit = self._frames.get(key)
        if hit is None:
            hit = queries.areas_at(self.db, base, "county")["code"].tolist()
            self._remember(self._frames, key, hit)
        return hit

    def _remember(self, cache: collections.OrderedDict, key, value) -> None:
        with self._lock:
            cache[key] = value
            cache.move_to_end(key)
            while len(cache) > self.MAX_VIEWS:
                cache.popitem(last=False)
