"""Callbacks of the wall: thin functions between the data layer and the layouts.

The map is built whole only when the view (scope, level, metric, window) or the language changes.
On a refresh tick the server compares the values the browser shows (the ``MAP_Z`` store, sent as
State) with the current ones and answers only the changed cells (``MAP_DIFF``: indices and values,
about 10 bytes a cell); a clientside function in ``assets/wall.js`` applies them as a
``dash_clientside.Patch`` of the figure's ``z``. Geometry never travels again.
"""

from __future__ import annotations

import collections
import json
import threading
import time
import weakref

import dash
import numpy as np
import pandas as pd
from dash import ALL, ClientsideFunction, Input, Output, State

from callbacks.wiring import Wiring
from callbacks.wiring import runtime as _rt
from callbacks.wiring import scope as _scope
from data import queries
from data.areas import AreaScope
from data.events import SOURCES
from data.times import utc_now as _now
from layouts import figures, ids, wall
from layouts.i18n import area_name, format_decimal, normalise_language, t

_wiring = Wiring(page="wall")
callback = _wiring.callback
clientside_callback = _wiring.clientside_callback
register = _wiring.register

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


# --- the view ------------------------------------------------------------------------------------


def resolve_view(rt, view: dict | None, base: AreaScope | None = None) -> dict:
    """The view's scope, map level and path, checked against the store and the caller's scope.

    ``base``: the user's scope (default: the whole region); the view never leaves it.
    Unknown or out-of-scope codes are dropped (the view falls back to the level above).
    Returns: scope (AreaScope), level, path (list of area dicts city..current), cell (dict|None),
    metric, window, sig (the view's identity).
    """
    view = view or {}
    base = base or rt.scope
    path = [_area(rt, base.key)]
    scope = base
    cell = None
    for name in ("county", "township"):
        if LEVEL_ORDER.index(name) <= LEVEL_ORDER.index(base.level):
            continue  # the user's own area (or above): already the base
        code = view.get(name)
        if not code:
            break
        found = _find(rt, code, name, scope)
        if found is None:
            break
        scope = AreaScope(name, found["key"])
        path.append(found)
    if view.get("cell") and scope.level == "township":
        cell = _find(rt, view["cell"], "grid", scope)
    level = view.get("level")
    if level not in wall.MAP_LEVELS or LEVEL_ORDER.index(level) <= LEVEL_ORDER.index(scope.level):
        level = DEFAULT_LEVEL.get(scope.level, "grid")
    metric = view.get("metric") if view.get("metric") in queries.WALL_METRICS else "all"
    window = view.get("window") if view.get("window") in WINDOW_SPAN else wall.DEFAULT_WINDOW
    sig = f"{scope.level}:{scope.key}|{level}|{metric}|{window}"
    return {
        "scope": scope,
        "level": level,
        "path": path,
        "cell": cell,
        "metric": metric,
        "window": window,
        "sig": sig,
    }


class _TickViews:
    """The resolved views of the current tick, per runtime: the wall's callbacks of one tick
    (map, KPIs, ticker, breadcrumb, warnings, response) arrive as separate requests with the same
    view, and each needs the same resolution. An entry lives half a refresh period, so the first
    callback of a tick resolves and the rest reuse it. Areas do not change under a running wall,
    so reuse never shows a different view; a bounded size keeps many viewers cheap."""

    MAX_ENTRIES = 256

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_runtime: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    def get(self, rt, view: dict | None, base: AreaScope) -> dict:
        key = (json.dumps(view or {}, sort_keys=True, default=str), base.level, base.key)
        ttl = rt.settings.refresh_ms / 2000
        now = time.monotonic()
        with self._lock:
            cache = self._by_runtime.setdefault(rt, collections.OrderedDict())
            hit = cache.get(key)
            if hit is not None and now - hit[0] < ttl:
                return hit[1]
        resolved = resolve_view(rt, view, base)
        with self._lock:
            cache[key] = (now, resolved)
            cache.move_to_end(key)
            while len(cache) > self.MAX_ENTRIES:
                cache.popitem(last=False)
        return resolved


_tick_views = _TickViews()


def tick_view(rt, view: dict | None) -> dict:
    """:func:`resolve_view` for the signed-in user's scope, resolved once per tick and view (the
    callbacks of one tick share it; treat the result as read-only)."""
    base = _scope()
    return _tick_views.get(rt, view, rt.scope if base is None else base)


def _area(rt, key: int) -> dict:
    info = queries.area_info(rt.db, key)
    return {k: info[k] for k in ("key", "code", "level", "name_zh", "name_en")}


def _find(rt, code: str, level: str, within: AreaScope) -> dict | None:
    from data.areas import scope_for_code

    try:
        found = scope_for_code(rt.db, code)
    except KeyError:
        return None
    if found.level != level or not within.contains(rt.db, found.key):
        return None
    return _area(rt, found.key)


def map_values(rt, resolved: dict, keys: list[int], now: pd.Timestamp) -> np.ndarray:
    """The metric's value (int) of every area in ``keys`` for the resolved view."""
    scope, level = resolved["scope"], resolved["level"]
    span = WINDOW_SPAN[resolved["window"]]
    metric = resolved["metric"]
    if metric == "risk":
        df = queries.risk_values(rt.db, scope, level=level, now=now, window=span)
    else:
        source = metric if metric in SOURCES else None
        df = queries.area_values(rt.db, scope, level=level, since=now - span, source=source)
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


def refresh_request_body(store: dict, view: dict, lang: str = "zh", n: int = 1) -> dict:
    """The JSON a browser posts to ``/_dash-update-component`` for one map refresh tick of
    :func:`refresh_map` (``store``: its copy of the values). For the benchmark and the tests."""
    outputs = [
        (ids.CELL_MAP, "figure"),
        (ids.MAP_Z, "data"),
        (ids.MAP_DIFF, "data"),
        (ids.LEGEND, "children"),
        (ids.MAP_LABELS, "data"),
    ]
    return {
        "output": ".." + "...".join(f"{i}.{p}" for i, p in outputs) + "..",
        "outputs": [{"id": i, "property": p} for i, p in outputs],
        "inputs": [
            {"id": ids.REFRESH, "property": "n_intervals", "value": n},
            {"id": ids.VIEW, "property": "data", "value": view},
            {"id": ids.LANG, "property": "data", "value": lang},
        ],
        "changedPropIds": [f"{ids.REFRESH}.n_intervals"],
        "state": [{"id": ids.MAP_Z, "property": "data", "value": store}],
    }


def build_map(rt, resolved: dict, lang: str, now: pd.Timestamp) -> dict:
    """Everything a new view needs: figure, values store, legend, labels and bounds."""
    scope, level, metric = resolved["scope"], resolved["level"], resolved["metric"]
    areas = queries.areas_at(rt.db, scope, level)
    keys = areas["key"].astype(int).tolist()
    z = map_values(rt, resolved, keys, now)
    risk = metric == "risk"
    zmax = figures.nice_max(z.tolist())
    names = [area_name(r, lang) if level != "grid" else r["code"] for r in areas.to_dict("records")]
    outline_level, outline_keys = _outline(rt, scope, level)
    bounds = tuple(float(b) for b in rt.region.by_key(scope.key).geometry.bounds)
    center, zoom = figures.fit_view(bounds)
    selected = resolved["cell"]["key"] if resolved["cell"] else None
    fig = figures.wall_map(
        level=level,
        keys=keys,
        values=z.tolist(),
        names=names,
        zmax=zmax,
        risk=risk,
        value_label=t("wall.map.value", lang),
        center=center,
        zoom=zoom,
        revision=resolved["sig"],
        outline_level=outline_level,
        outline_keys=outline_keys,
        selected=selected,
        tile_url=rt.settings.tile_url,
    )
    window_text = t(f"wall.window.{resolved['window']}", lang)
    level_text = t(f"level.{level}", lang)
    if risk:
        title = t("wall.legend.risk", lang).format(window=window_text)
        note = t("wall.legend.risk_note", lang)
    elif metric in SOURCES:
        title = t("wall.legend.source", lang).format(
            source=t(f"source.{metric}", lang), level=level_text, window=window_text
        )
        note = t("wall.legend.events_note", lang)
    else:
        title = t("wall.legend.events", lang).format(level=level_text, window=window_text)
        note = t("wall.legend.events_note", lang)
    scale, ticks = figures.legend_stops(risk, zmax)
    label_level = {"city": "county", "county": "township"}.get(scope.level)
    labels = []
    if label_level:
        for r in queries.areas_at(rt.db, scope, label_level).to_dict("records"):
            labels.append({"n": area_name(r, lang), "x": r["lon"], "y": r["lat"]})
    return {
        "figure": fig,
        "store": {"sig": f"{resolved['sig']}|{lang}", "z": z.tolist()},
        "legend": wall.legend(title, note, scale, ticks),
        "labels": {
            "sig": resolved["sig"],
            "lang": lang,
            "bounds": list(bounds),
            "labels": labels,
            "big": scope.level == "city",
        },
    }


def _outline(rt, scope: AreaScope, level: str) -> tuple[str | None, list[int] | None]:
    """Boundaries drawn over the map: counties over the city, townships over a county."""
    above = {"city": "county", "county": "township", "township": "community"}.get(scope.level)
    if above is None or LEVEL_ORDER.index(above) >= LEVEL_ORDER.index(level):
        return None, None
    return above, queries.area_keys(rt.db, scope, above)


# --- callbacks -----------------------------------------------------------------------------------


@callback(
    Output(ids.CELL_MAP, "figure"),
    Output(ids.MAP_Z, "data"),
    Output(ids.MAP_DIFF, "data"),
    Output(ids.LEGEND, "children"),
    Output(ids.MAP_LABELS, "data"),
    Input(ids.REFRESH, "n_intervals"),
    Input(ids.VIEW, "data"),
    Input(ids.LANG, "data"),
    State(ids.MAP_Z, "data"),
)
def refresh_map(_n, view, lang, shown):
    """A new view: the whole figure (geometry by URL). A tick: only the changed cells."""
    rt = _rt()
    lang = normalise_language(lang)
    resolved = tick_view(rt, view)
    now = _now()
    trigger = dash.ctx.triggered_id
    sig = f"{resolved['sig']}|{lang}"
    if trigger != ids.REFRESH or not shown or shown.get("sig") != sig:
        built = build_map(rt, resolved, lang, now)
        return built["figure"], built["store"], None, built["legend"], built["labels"]
    keys = queries.area_keys(rt.db, resolved["scope"], resolved["level"])
    if len(keys) != len(shown.get("z") or []):
        built = build_map(rt, resolved, lang, now)
        return built["figure"], built["store"], None, built["legend"], built["labels"]
    diff = value_diff(sig, shown["z"], map_values(rt, resolved, keys, now))
    if diff is None:
        raise dash.exceptions.PreventUpdate
    nu = dash.no_update
    return nu, nu, diff, nu, nu


# the browser applies a diff to the figure and to its copy of the values (assets/wall.js)
clientside_callback(
    ClientsideFunction("onegrid", "applyDiff"),
    Output(ids.CELL_MAP, "figure", allow_duplicate=True),
    Output(ids.MAP_Z, "data", allow_duplicate=True),
    Input(ids.MAP_DIFF, "data"),
    State(ids.MAP_Z, "data"),
    prevent_initial_call=True,
)

# area names over the map and fitting the view to the area (assets/wall.js)
clientside_callback(
    ClientsideFunction("onegrid", "setLabels"),
    Output(ids.LABELS_SINK, "data"),
    Input(ids.MAP_LABELS, "data"),
    prevent_initial_call=True,
)

# the city's local time, ticking in the browser without a server round trip
clientside_callback(
    ClientsideFunction("onegrid", "clock"),
    Output(ids.CLOCK, "children"),
    Input(ids.CLOCK_TICK, "n_intervals"),
    State(ids.TIMEZONE, "data"),
)

# the address bar always reproduces the view shown (without reloading the page)
clientside_callback(
    ClientsideFunction("onegrid", "syncUrl"),
    Output(ids.URL_SINK, "data"),
    Input(ids.VIEW, "data"),
    Input(ids.LANG, "data"),
    prevent_initial_call=True,
)


@callback(
    Output({"type": ids.KPI_VALUE, "source": ALL}, "children"),
    Output({"type": ids.KPI_DELTA, "source": ALL}, "children"),
    Output({"type": ids.KPI_DELTA, "source": ALL}, "className"),
    Output({"type": ids.KPI_RATE, "source": ALL}, "children"),
    Output({"type": ids.KPI_STATE, "source": ALL}, "children"),
    Output({"type": ids.KPI_TILE, "source": ALL}, "className"),
    Input(ids.REFRESH, "n_intervals"),
    Input(ids.VIEW, "data"),
    Input(ids.LANG, "data"),
)
def refresh_kpis(_n, view, lang):
    """Today's events per domain in the view's area, the change against last week, feed health."""
    rt = _rt()
    lang = normalise_language(lang)
    scope = tick_view(rt, view)["scope"]
    now = _now()
    midnight = now.tz_convert(rt.timezone).normalize().tz_convert("UTC")
    week = pd.Timedelta(days=7)
    today = queries.counts_by_source_between(rt.db, scope, midnight, now)
    last = queries.counts_by_source_between(rt.db, scope, midnight - week, now - week)
    hour = queries.counts_by_source_between(rt.db, scope, now - pd.Timedelta(hours=1), now)
    health = {
        h["source"]: h
        for h in queries.feed_health(
            rt.db, now=now, stale_after={s: rt.settings.stale_after(s) for s in SOURCES}
        )
    }
    out = [[], [], [], [], [], []]
    for src in SOURCES:
        value, delta, direction = wall.kpi_texts(today[src], last[src], lang)
        h = health[src]
        stale = h["stale"]
        out[0].append(value)
        out[1].append(delta)
        out[2].append(f"og-kpi-delta og-{direction}")
        if stale and h["silent_s"] is None:
            out[3].append(t("wall.kpi.never", lang))
        elif stale:
            out[3].append(t("wall.kpi.silent", lang).format(m=int(h["silent_s"] // 60)))
        else:
            out[3].append(
                t("wall.kpi.rate", lang).format(rate=format_decimal(hour[src] / 60, lang))
            )
        out[4].append(t("wall.kpi.stale" if stale else "wall.kpi.live", lang))
        out[5].append(f"og-kpi og-src-{src} " + ("og-stale" if stale else "og-live"))
    return tuple(out)


@callback(
    Output(ids.TICKER, "children"),
    Output(ids.TICKER_SIG, "data"),
    Input(ids.REFRESH, "n_intervals"),
    Input(ids.VIEW, "data"),
    Input(ids.LANG, "data"),
    State(ids.TICKER_SIG, "data"),
)
def refresh_ticker(_n, view, lang, shown):
    """The newest significant events in the view's area; sent only when they changed."""
    rt = _rt()
    lang = normalise_language(lang)
    scope = tick_view(rt, view)["scope"]
    events = queries.significant_events(rt.db, scope, since=_now() - TICKER_SPAN)
    warns = ticker_warnings(rt, scope)
    sig = f"{lang}|{scope.level}:{scope.key}|" + ",".join(
        [f"{e['source']}:{e['id']}" for e in events]
        + [f"w{w['id']}:{w['level']}:{w['state']}" for w in warns]
    )
    if sig == shown and dash.ctx.triggered_id == ids.REFRESH:
        raise dash.exceptions.PreventUpdate
    return wall.ticker_items(events, lang, rt.timezone, warnings=warns), sig


def ticker_warnings(rt, scope: AreaScope) -> list[dict]:
    """Active warnings raised in the ticker's span, newest first, with their rule names."""
    if rt.warnings is None:
        return []
    from data.warnings import queries as wq

    since = _now() - TICKER_SPAN
    names = wq.rule_names(rt.warnings.rules)
    out = []
    for w in wq.newest(rt.db, scope, limit=5):
        if pd.Timestamp(w["raised_at"]) >= since:
            out.append(
                dict(
                    w,
                    rule_name_zh=names.get(w["rule_id"], {}).get("zh"),
                    rule_name_en=names.get(w["rule_id"], {}).get("en"),
                )
            )
    return out


@callback(
    Output(ids.BREADCRUMB, "children"),
    Output(ids.CELL_PANEL, "className"),
    Output(ids.CELL_TITLE, "children"),
    Output(ids.CELL_EVENTS, "rowData"),
    Output(ids.CELL_EVENTS, "columnDefs"),
    Output(ids.SUBTITLE, "children"),
    Output(ids.CRUMB_SIG, "data"),
    Input(ids.VIEW, "data"),
    Input(ids.LANG, "data"),
    Input(ids.REFRESH, "n_intervals"),
    State(ids.CRUMB_SIG, "data"),
)
def show_view(view, lang, _n, shown):
    """Breadcrumb, and the selected cell's recent events (refreshed while it is open)."""
    rt = _rt()
    lang = normalise_language(lang)
    resolved = tick_view(rt, view)
    cell = resolved["cell"]
    sig = f"{resolved['sig']}|{lang}|{cell['code'] if cell else ''}"
    if dash.ctx.triggered_id == ids.REFRESH and cell is None and shown == sig:
        raise dash.exceptions.PreventUpdate
    path = resolved["path"] + ([cell] if cell else [])
    crumbs = wall.breadcrumb(path, lang)
    region = area_name(resolved["path"][0], lang)
    if cell is None:
        return crumbs, "og-cell-panel og-hidden", "", [], wall.event_columns(lang), region, sig
    events = queries.list_events(
        rt.db,
        _scope(),
        area=AreaScope("grid", cell["key"]),
        since=_now() - CELL_EVENTS_SPAN,
        limit=200,
    )
    return (
        crumbs,
        "og-cell-panel",
        t("wall.cell.title", lang).format(code=cell["code"]),
        wall.event_rows(events, lang, rt.timezone),
        wall.event_columns(lang),
        region,
        sig,
    )


@callback(
    Output(ids.VIEW, "data", allow_duplicate=True),
    Output(ids.CELL_MAP, "clickData"),
    Input(ids.CELL_MAP, "clickData"),
    State(ids.VIEW, "data"),
    prevent_initial_call=True,
)
def drill_down(click, view):
    """A click on the map: city -> the county, county -> the township, township -> the cell."""
    if not click or not click.get("points"):
        raise dash.exceptions.PreventUpdate
    rt = _rt()
    point = click["points"][0]
    if point.get("curveNumber", 0) != 0 or point.get("location") is None:
        raise dash.exceptions.PreventUpdate
    resolved = tick_view(rt, view)
    found = queries.area_lineage(rt.db, resolved["scope"], int(point["location"]))
    if found is None:
        raise dash.exceptions.PreventUpdate
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
    return new, None


@callback(
    Output(ids.VIEW, "data", allow_duplicate=True),
    Input({"type": ids.CRUMB, "level": ALL}, "n_clicks"),
    Input(ids.CELL_CLOSE, "n_clicks"),
    Input({"type": ids.METRIC, "value": ALL}, "n_clicks"),
    Input({"type": ids.WINDOW, "value": ALL}, "n_clicks"),
    State(ids.VIEW, "data"),
    prevent_initial_call=True,
)
def change_view(_crumbs, _close, _metrics, _windows, view):
    """Breadcrumb (back up), closing the cell, and the metric and window switches."""
    trig = dash.ctx.triggered_id
    if trig is None or not dash.ctx.triggered or not dash.ctx.triggered[0].get("value"):
        raise dash.exceptions.PreventUpdate
    new = dict(view or {})
    if trig == ids.CELL_CLOSE:
        new["cell"] = None
    elif trig["type"] == ids.CRUMB:
        keep = LEVEL_ORDER[: LEVEL_ORDER.index(trig["level"]) + 1]
        for name in ("county", "township"):
            if name not in keep:
                new[name] = None
        new.update(cell=None, level=None)
    elif trig["type"] == ids.METRIC:
        new["metric"] = trig["value"]
    elif trig["type"] == ids.WINDOW:
        new["window"] = trig["value"]
    return new


@callback(
    Output({"type": ids.METRIC, "value": ALL}, "className"),
    Output({"type": ids.WINDOW, "value": ALL}, "className"),
    Input(ids.VIEW, "data"),
)
def mark_switches(view):
    """Highlight the metric and window shown."""
    view = view or {}
    metric, window = view.get("metric", "all"), view.get("window", wall.DEFAULT_WINDOW)
    return (
        ["og-seg og-on" if m == metric else "og-seg" for m in queries.WALL_METRICS],
        ["og-seg og-on" if w == window else "og-seg" for w in wall.WINDOWS],
    )


@callback(
    Output(ids.VIEW, "data", allow_duplicate=True),
    Input(ids.TOUR, "n_intervals"),
    State(ids.VIEW, "data"),
    prevent_initial_call=True,
)
def tour(n, view):
    """Tour mode: the next county every N seconds, and the whole city between rounds."""
    rt = _rt()
    counties = queries.areas_at(rt.db, _scope(), "county")["code"].tolist()
    stops = [None, *counties]
    current = (view or {}).get("county")
    idx = stops.index(current) if current in stops else 0
    nxt = stops[(idx + 1) % len(stops)]
    return dict(view or {}, county=nxt, township=None, cell=None, level=None)


@callback(
    Output(ids.LANG, "data", allow_duplicate=True),
    Input(ids.URL_LANG, "data"),
    prevent_initial_call="initial_duplicate",
    page=None,  # the app's frame, on every page
)
def language_from_url(url_lang):
    """``?lang=en`` in the address wins over the stored choice."""
    if url_lang not in ("zh", "en"):
        raise dash.exceptions.PreventUpdate
    return url_lang


@callback(
    Output(ids.LANG, "data"),
    Input(ids.LANG_SWITCH, "n_clicks"),
    State(ids.LANG, "data"),
    prevent_initial_call=True,
    page=None,  # the app's frame, on every page
)
def switch_language(_n, lang):
    """Toggle zh <-> en."""
    return "en" if normalise_language(lang) == "zh" else "zh"


@callback(
    Output({"type": ids.I18N, "key": ALL, "place": ALL}, "children"),
    Input(ids.LANG, "data"),
    State({"type": ids.I18N, "key": ALL, "place": ALL}, "id"),
    page=None,  # the app's frame, on every page
)
def translate(lang, keys):
    """Every static display string in the chosen language."""
    lang = normalise_language(lang)
    return [t(k["key"], lang) for k in keys]


# --- warnings and response panels, warning marks on the map --------------------------------------


@callback(
    Output(ids.WARNINGS_BODY, "children"),
    Output(ids.WARN_MARKS, "data"),
    Input(ids.REFRESH, "n_intervals"),
    Input(ids.VIEW, "data"),
    Input(ids.LANG, "data"),
)
def refresh_warnings(_n, view, lang):
    """Warnings by colour, the newest, escalations, and the red/orange marks for the map."""
    from data.warnings import queries as wq
    from layouts.warnings_panel import warnings_panel

    rt = _rt()
    if rt.warnings is None:
        return None, {"marks": []}
    lang = normalise_language(lang)
    scope = tick_view(rt, view)["scope"]
    summary = wq.wall_summary(rt.db, scope, rt.warnings.rules)
    body = warnings_panel(
        summary["counts"], summary["newest"], summary["escalations"], lang, timezone=rt.timezone
    )
    return body, {"marks": warning_marks(rt, summary["map_cells"])}


@callback(
    Output(ids.RESPONSE_BODY, "children"),
    Input(ids.RESPONSE_REFRESH, "n_intervals"),
    Input(ids.VIEW, "data"),
    Input(ids.LANG, "data"),
)
def refresh_response(_n, view, lang):
    """The response metrics (on-time gauge, overdue by county, worst cases). They move slowly
    and read every case of 30 days, so they refresh on their own, slower timer."""
    from data.cases import metrics
    from layouts.response_panel import response_panel

    rt = _rt()
    scope = tick_view(rt, view)["scope"]
    return response_panel(metrics.wall(rt.db, scope, now=_now()), normalise_language(lang))


def warning_marks(rt, cells: list[dict]) -> list[dict]:
    """Marks for cells with an active red or orange warning: a point inside each (WGS84)."""
    points = queries.area_points(rt.db, [c["cell_key"] for c in cells])
    return [
        {
            "x": points[c["cell_key"]][0],
            "y": points[c["cell_key"]][1],
            "level": c["level"],
            "key": c["cell_key"],
        }
        for c in cells
        if c["cell_key"] in points
    ]


# the marks pulse over the map as HTML (assets/wall.js), like the area names
clientside_callback(
    ClientsideFunction("onegrid", "setMarks"),
    Output(ids.WARN_MARK_LAYER, "title"),
    Input(ids.WARN_MARKS, "data"),
    prevent_initial_call=True,
)
