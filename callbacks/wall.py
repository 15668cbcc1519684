"""Callbacks of the wall: thin functions between the shared view state and the layouts.

One request per refresh tick (issue 12): :func:`tick` answers every live part of the screen (map,
KPI tiles, ticker, breadcrumb and cell panel, warnings) from the view's shared state
(:class:`data.wallview.WallViews`, computed once per data version for every viewer of the view),
and sends only the parts whose signature differs from what the browser shows (the ``WALL_SHOWN``
store). The map is built whole only when the view or the language changes; on a tick only the
changed cells travel (``MAP_DIFF``: indices and values), applied in the browser by
``assets/wall.js`` as a ``dash_clientside.Patch`` of the figure's ``z``. Geometry never travels
again. The response metrics refresh on their own slower timer.
"""

from __future__ import annotations

import dash
from dash import ALL, ClientsideFunction, Input, Output, State

from callbacks.wiring import Wiring
from callbacks.wiring import runtime as _rt
from callbacks.wiring import scope as _scope
from data.areas import AreaScope
from data.catalogue import DEFAULT_CATALOGUE, Catalogue
from data.times import iso
from data.wallhistory import day_period
from data.wallview import LEVEL_ORDER, WallState
from layouts import figures, ids, wall
from layouts.i18n import (
    area_name,
    display_name,
    format_decimal,
    format_moment,
    normalise_language,
    t,
)
from layouts.response_panel import response_panel
from layouts.warnings_panel import warnings_panel

_wiring = Wiring(page="wall")
callback = _wiring.callback
clientside_callback = _wiring.clientside_callback
register = _wiring.register

PARTS = ("map", "kpi", "ticker", "crumb", "warnings")
_KPI_PROPS = (
    (ids.KPI_VALUE, "children"),
    (ids.KPI_DELTA, "children"),
    (ids.KPI_DELTA, "className"),
    (ids.KPI_RATE, "children"),
    (ids.KPI_STATE, "children"),
    (ids.KPI_TILE, "className"),
)
# the outputs of one tick, in order (also the body of a scripted refresh: refresh_request_body)
TICK_OUTPUTS = (
    (ids.CELL_MAP, "figure"),
    (ids.MAP_Z, "data"),
    (ids.MAP_DIFF, "data"),
    (ids.LEGEND, "children"),
    (ids.MAP_LABELS, "data"),
    *(({"type": i, "source": ALL}, p) for i, p in _KPI_PROPS),
    (ids.TICKER, "children"),
    (ids.BREADCRUMB, "children"),
    (ids.CELL_PANEL, "className"),
    (ids.CELL_TITLE, "children"),
    (ids.CELL_EVENTS, "rowData"),
    (ids.CELL_EVENTS, "columnDefs"),
    (ids.SUBTITLE, "children"),
    (ids.WARNINGS_BODY, "children"),
    (ids.WARN_MARKS, "data"),
    (ids.WALL_SHOWN, "data"),
)
_NU = dash.no_update


def _base(rt) -> AreaScope:
    """The signed-in user's scope (the whole region when the policy gives no narrower one)."""
    base = _scope()
    return rt.scope if base is None else base


def refresh_request_body(
    store: dict,
    view: dict,
    lang: str = "zh",
    n: int = 1,
    shown: dict | None = None,
    catalogue: Catalogue = DEFAULT_CATALOGUE,
) -> dict:
    """The JSON a browser posts to ``/_dash-update-component`` for one refresh tick of
    :func:`tick` (``store``: its copy of the map's values; ``shown``: its ``WALL_SHOWN``;
    ``catalogue``: the server's sources, one KPI tile each). For the benchmarks and the tests."""
    outputs, names = [], []
    for cid, prop in TICK_OUTPUTS:
        out = Output(cid, prop)
        names.append(f"{out.component_id_str()}.{prop}")
        if isinstance(cid, dict):
            outputs.append([{"id": dict(cid, source=s), "property": prop} for s in catalogue.ids])
        else:
            outputs.append({"id": cid, "property": prop})
    return {
        "output": ".." + "...".join(names) + "..",
        "outputs": outputs,
        "inputs": [
            {"id": ids.REFRESH, "property": "n_intervals", "value": n},
            {"id": ids.VIEW, "property": "data", "value": view},
            {"id": ids.LANG, "property": "data", "value": lang},
        ],
        "changedPropIds": [f"{ids.REFRESH}.n_intervals"],
        "state": [
            {"id": ids.MAP_Z, "property": "data", "value": store},
            {"id": ids.WALL_SHOWN, "property": "data", "value": shown},
        ],
    }


# --- rendering the shared state for one viewer ---------------------------------------------------


def build_legend(
    st: WallState,
    lang: str,
    catalogue: Catalogue = DEFAULT_CATALOGUE,
    tz: str = "UTC",
    zmax: int | None = None,
) -> list:
    """The colour legend of the state's map: what the colour means over which window (on a
    period: its start to the moment shown), and the scale's stops."""
    resolved = st.view
    level, metric = resolved["level"], resolved["metric"]
    risk = metric == "risk"
    if zmax is None:
        zmax = figures.nice_max((st.z if st.scale_z is None else st.scale_z).tolist())
    window_text = t(f"wall.window.{resolved['window']}", lang)
    if resolved.get("period") is not None:  # a past period: its start to the moment shown
        window_text = t("wall.period.window", lang).format(
            since=format_moment(resolved["period"]["since"], tz, lang, "day_time"),
            at=format_moment(st.computed_at, tz, lang, "day_time"),
        )
    level_text = t(f"level.{level}", lang)
    if risk:
        title = t("wall.legend.risk", lang).format(window=window_text)
        note = t("wall.legend.risk_note", lang)
    elif metric in catalogue.categories:
        title = t("wall.legend.source", lang).format(
            source=display_name(f"source.{metric}", lang, catalogue),
            level=level_text,
            window=window_text,
        )
        note = t("wall.legend.events_note", lang)
    else:
        title = t("wall.legend.events", lang).format(level=level_text, window=window_text)
        note = t("wall.legend.events_note", lang)
    scale, ticks = figures.legend_stops(risk, zmax)
    return wall.legend(title, note, scale, ticks)


def build_map(
    st: WallState,
    lang: str,
    tile_url: str | None = None,
    catalogue: Catalogue = DEFAULT_CATALOGUE,
    tz: str = "UTC",
) -> dict:
    """Everything a new view needs: figure, values store, legend, labels and bounds."""
    resolved, frame = st.view, st.frame
    scope, level, metric = resolved["scope"], resolved["level"], resolved["metric"]
    z = st.z.tolist()
    risk = metric == "risk"
    zmax = figures.nice_max(z if st.scale_z is None else st.scale_z.tolist())
    names = [area_name(a, lang) if level != "grid" else a["code"] for a in frame.areas]
    center, zoom = figures.fit_view(frame.bounds)
    fig = figures.wall_map(
        level=level,
        keys=frame.keys,
        values=z,
        names=names,
        zmax=zmax,
        risk=risk,
        value_label=t("wall.map.value", lang),
        center=center,
        zoom=zoom,
        revision=resolved["map_sig"],
        outline_level=frame.outline_level,
        outline_keys=frame.outline_keys,
        selected=resolved["cell"]["key"] if resolved["cell"] else None,
        tile_url=tile_url,
    )
    legend = build_legend(st, lang, catalogue, tz, zmax)
    labels = [{"n": area_name(r, lang), "x": r["lon"], "y": r["lat"]} for r in frame.labels]
    return {
        "figure": fig,
        "store": {"sig": f"{resolved['map_sig']}|{lang}", "z": z},
        "legend": legend,
        "labels": {
            "sig": resolved["map_sig"],
            "lang": lang,
            "bounds": list(frame.bounds),
            "labels": labels,
            "big": scope.level == "city",
        },
    }


def _rendered(shared, part: str, lang: str, render):
    """``render()`` once per shared state, part and language: every screen showing the state
    gets the same components (a second render of a race is harmless)."""
    key = (part, lang)
    hit = shared.rendered.get(key)
    if hit is None:
        hit = shared.rendered[key] = render()
    return hit


def _map_part(
    st: WallState,
    lang: str,
    shown_z: dict | None,
    full: bool,
    tile_url,
    catalogue: Catalogue,
    tz: str = "UTC",
) -> list:
    sig = f"{st.view['map_sig']}|{lang}"
    if full or not shown_z or shown_z.get("sig") != sig or len(shown_z.get("z") or []) != len(st.z):
        built = build_map(st, lang, tile_url, catalogue, tz)
        return [built["figure"], built["store"], None, built["legend"], built["labels"]]
    diff = st.diff_from(shown_z["z"], sig)
    legend = _NU
    if st.view.get("period") is not None:  # a replay step: the legend names the moment shown
        legend = build_legend(st, lang, catalogue, tz)
    return [_NU, _NU, _NU if diff is None else diff, legend, _NU]


def _kpi_part(st: WallState, lang: str, catalogue: Catalogue) -> list:
    out = [[], [], [], [], [], []]
    for src in catalogue.ids:
        k = st.kpis[src]
        value, delta, direction = wall.kpi_texts(k["today"], k["last_week"], lang)
        out[0].append(value)
        out[1].append(delta)
        out[2].append(f"og-kpi-delta og-{direction}")
        if k.get("period"):  # a past moment: no feed health, the period's events
            out[3].append(
                t("wall.kpi.rate", lang).format(rate=format_decimal(k["hour"] / 60, lang))
            )
            out[4].append(t("wall.period.kpi", lang))
            out[5].append(f"og-kpi og-src-{src} og-period")
            continue
        if k["stale"] and k["silent_min"] is None:
            out[3].append(t("wall.kpi.never", lang))
        elif k["stale"]:
            out[3].append(t("wall.kpi.silent", lang).format(m=k["silent_min"]))
        else:
            out[3].append(
                t("wall.kpi.rate", lang).format(rate=format_decimal(k["hour"] / 60, lang))
            )
        out[4].append(t("wall.kpi.stale" if k["stale"] else "wall.kpi.live", lang))
        out[5].append(f"og-kpi og-src-{src} " + ("og-stale" if k["stale"] else "og-live"))
    return out


def _ticker_part(st: WallState, lang: str, tz: str, catalogue: Catalogue):
    return wall.ticker_items(
        st.ticker_events, lang, tz, warnings=st.ticker_warnings, catalogue=catalogue
    )


def _crumb_part(st: WallState, lang: str, tz: str, catalogue: Catalogue) -> list:
    resolved, cell = st.view, st.view["cell"]
    crumbs = wall.breadcrumb(resolved["path"] + ([cell] if cell else []), lang)
    region = area_name(resolved["path"][0], lang)
    if resolved.get("period") is not None:
        region = t("wall.period.subtitle", lang).format(
            region=region, at=format_moment(st.computed_at, tz, lang, "day_time")
        )
    if cell is None:
        return [crumbs, "og-cell-panel og-hidden", "", [], wall.event_columns(lang), region]
    return [
        crumbs,
        "og-cell-panel",
        wall.cell_title(cell["code"], *(iso(v) for v in st.cell_period or (None, None)), lang),
        wall.event_rows(st.cell_events or [], lang, tz, catalogue),
        wall.event_columns(lang),
        region,
    ]


def _warnings_part(st: WallState, lang: str, tz: str) -> list:
    if st.warnings is None:
        return [None, {"marks": []}]
    w = st.warnings
    body = warnings_panel(
        w["counts"], w["newest"], w["escalations"], lang, timezone=tz, learning=w.get("learning")
    )
    return [body, {"marks": w["marks"]}]


# --- callbacks -----------------------------------------------------------------------------------


@callback(
    *(Output(cid, prop) for cid, prop in TICK_OUTPUTS),
    Input(ids.REFRESH, "n_intervals"),
    Input(ids.VIEW, "data"),
    Input(ids.LANG, "data"),
    State(ids.MAP_Z, "data"),
    State(ids.WALL_SHOWN, "data"),
)
def tick(_n, view, lang, shown_z, shown):
    """One refresh of the wall: the parts that changed since the browser's last answer.

    A new view or language gets every part whole; a tick gets the map's changed cells and the
    other parts only when their signature moved (nothing changed: no body at all, 204)."""
    rt = _rt()
    lang = normalise_language(lang)
    st = rt.wall.state(view, _base(rt))
    shown = shown if isinstance(shown, dict) else {}
    cell = st.view["cell"]["code"] if st.view["cell"] else ""
    base = f"{st.view['map_sig']}|{cell}|{lang}"
    # a new view or language is sent whole; a replay step (the same map at another moment of
    # its period) only what changed, like a tick
    full = dash.ctx.triggered_id != ids.REFRESH and shown.get("base") != base
    now_shown = {part: f"{st.sigs[part]}|{lang}" for part in PARTS}
    now_shown["base"] = base
    fresh = {p for p in PARTS if full or shown.get(p) != now_shown[p]}
    cat = rt.catalogue
    tz = rt.timezone
    out = _map_part(st, lang, shown_z, full or "map" in fresh, rt.settings.tile_url, cat, tz)
    if "kpi" in fresh:
        out += _rendered(st, "kpi", lang, lambda: _kpi_part(st, lang, cat))
    else:  # a wildcard output's "no update" is one per matched component
        out += [[_NU] * len(cat.ids)] * len(_KPI_PROPS)
    if "ticker" in fresh:
        out += _rendered(st, "ticker", lang, lambda: [_ticker_part(st, lang, tz, cat)])
    else:
        out += [_NU]
    out += (
        _rendered(st, "crumb", lang, lambda: _crumb_part(st, lang, tz, cat))
        if "crumb" in fresh
        else [_NU] * 6
    )
    if "warnings" in fresh:
        out += _rendered(st, "warnings", lang, lambda: _warnings_part(st, lang, tz))
    else:
        out += [_NU] * 2
    if not fresh and all(o is _NU for o in out[:5]):  # no part, no cell changed
        raise dash.exceptions.PreventUpdate
    out.append(now_shown if fresh else _NU)
    return tuple(out)


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
    point = click["points"][0]
    if point.get("curveNumber", 0) != 0 or point.get("location") is None:
        raise dash.exceptions.PreventUpdate
    rt = _rt()
    new = rt.wall.drill(view, _base(rt), int(point["location"]))
    if new is None:
        raise dash.exceptions.PreventUpdate
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
    if view.get("since"):  # a past period: the live windows do not apply
        window = None
    return (
        ["og-seg og-on" if m == metric else "og-seg" for m in _rt().catalogue.wall_metrics],
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
    return rt.wall.tour_next(view, _base(rt))


@callback(
    Output(ids.VIEW, "data", allow_duplicate=True),
    Output(ids.CHANNEL_SEEN, "data"),
    Input(ids.CHANNEL_POLL, "n_intervals"),
    State(ids.VIEW, "data"),
    State(ids.CHANNEL_SEEN, "data"),
    prevent_initial_call=True,  # a following wall takes its channel's view at its first tick
)
def follow_channel(_n, view, seen):
    """A wall opened with ``?channel=``: takes the console channel's view when it has changed
    (its poll runs only on such walls; the view is resolved against this viewer's scope)."""
    update = _rt().channels.update_for(view, seen)
    if update is None:
        raise dash.exceptions.PreventUpdate
    return update


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
    """Every static display string in the chosen language (configured sources' own names)."""
    lang = normalise_language(lang)
    catalogue = _rt().catalogue
    return [display_name(k["key"], lang, catalogue) for k in keys]


# --- the response panel, and warning marks on the map -------------------------------------------


@callback(
    Output(ids.RESPONSE_BODY, "children"),
    Input(ids.RESPONSE_REFRESH, "n_intervals"),
    Input(ids.VIEW, "data"),
    Input(ids.LANG, "data"),
)
def refresh_response(_n, view, lang):
    """The response metrics (on-time gauge, overdue by county, worst cases). They move slowly
    and read every case of 30 days, so they refresh on their own, slower timer."""
    rt = _rt()
    lang = normalise_language(lang)
    shared = rt.wall.response(view, _base(rt))
    return _rendered(shared, "response", lang, lambda: response_panel(shared.value, lang))


# the marks pulse over the map as HTML (assets/wall.js), like the area names
clientside_callback(
    ClientsideFunction("onegrid", "setMarks"),
    Output(ids.WARN_MARK_LAYER, "title"),
    Input(ids.WARN_MARKS, "data"),
    prevent_initial_call=True,
)


# --- a past period and its replay (after-action review) ---------------------------------------------------------


@callback(
    Output(ids.VIEW, "data", allow_duplicate=True),
    Output(ids.REPLAY_TICK, "disabled", allow_duplicate=True),
    Input(ids.PERIOD_GO, "n_clicks"),
    Input(ids.PERIOD_LIVE, "n_clicks"),
    State(ids.PERIOD_DAY, "value"),
    State(ids.PERIOD_KIND, "value"),
    State(ids.VIEW, "data"),
    prevent_initial_call=True,
)
def pick_period(_go, _live, day, kind, view):
    """The period picker: a day or a week from the chosen day (bare dates: the region's local
    midnights, ``until`` exclusive), or back to the live wall. The replay starts at the
    period's end, paused."""
    if not dash.ctx.triggered or not dash.ctx.triggered[0].get("value"):
        raise dash.exceptions.PreventUpdate
    new = dict(view or {}, at=None)
    if dash.ctx.triggered_id == ids.PERIOD_LIVE:
        new.update(since=None, until=None)
        return new, True
    period = day_period(day, kind)
    if period is None:
        raise dash.exceptions.PreventUpdate
    new.update(since=period[0], until=period[1], cell=None)
    return new, True


@callback(
    Output(ids.REPLAY, "className"),
    Output(ids.REPLAY_SLIDER, "max"),
    Output(ids.REPLAY_SLIDER, "value"),
    Output(ids.REPLAY_SLIDER, "marks"),
    Output(ids.REPLAY_TIME, "children"),
    Output(ids.PERIOD_NOTE, "children"),
    Input(ids.VIEW, "data"),
    Input(ids.LANG, "data"),
)
def replay_bar(view, lang):
    """The replay bar of a period: the slider's range (steps over the period) and position, the
    moment shown; hidden on the live wall; why a period in the URL could not be shown."""
    rt = _rt()
    lang = normalise_language(lang)
    resolved = rt.wall.resolve(view, _base(rt))
    return wall.replay_bar_state(resolved, lang, rt.timezone)


@callback(
    Output(ids.VIEW, "data", allow_duplicate=True),
    Output(ids.REPLAY_TICK, "disabled", allow_duplicate=True),
    Input(ids.REPLAY_TICK, "n_intervals"),
    Input(ids.REPLAY_SLIDER, "value"),
    State(ids.REPLAY_SLIDER, "max"),
    State(ids.REPLAY_SPEED, "value"),
    State(ids.VIEW, "data"),
    prevent_initial_call=True,
)
def replay_step(_n, position, last, speed, view):
    """The slider moved, or a play step (``speed`` steps per refresh): the wall shows the
    period as it was at the new position; playing stops at the period's end."""
    view = view or {}
    if not view.get("since") or position is None or last is None:
        raise dash.exceptions.PreventUpdate
    current = wall.replay_position(view, last)
    if dash.ctx.triggered_id == ids.REPLAY_TICK:
        new = min(current + max(1, int(speed or 1)), int(last))
    else:
        new = max(0, min(int(position), int(last)))
    at_end = new >= int(last)
    if new == current:
        if dash.ctx.triggered_id == ids.REPLAY_TICK and at_end:
            return dash.no_update, True
        raise dash.exceptions.PreventUpdate
    return dict(view, at=str(new)), True if at_end else dash.no_update


@callback(
    Output(ids.REPLAY_TICK, "disabled"),
    Output(ids.VIEW, "data", allow_duplicate=True),
    Input(ids.REPLAY_PLAY, "n_clicks"),
    State(ids.REPLAY_TICK, "disabled"),
    State(ids.REPLAY_SLIDER, "max"),
    State(ids.VIEW, "data"),
    prevent_initial_call=True,
)
def play_pause(_n, paused, last, view):
    """Play or pause the replay; playing from the period's end starts over from its start."""
    view = view or {}
    if not view.get("since"):
        raise dash.exceptions.PreventUpdate
    if paused and last is not None and wall.replay_position(view, last) >= int(last):
        return False, dict(view, at="0")
    return not paused, dash.no_update


@callback(
    Output(ids.REPLAY_PLAY, "children"),
    Input(ids.REPLAY_TICK, "disabled"),
    Input(ids.LANG, "data"),
)
def play_label(paused, lang):
    """The play button says what it does: play when paused, pause when playing."""
    return t("wall.period.play" if paused is not False else "wall.period.pause", lang)
