"""The wall (page ``/``): the whole city live on one screen, readable from across the room.

Left: today's events per domain with the change against last week and each feed's health. Centre:
the live map with its breadcrumb, metric and window controls and the colour legend. Right: the
ticker of significant events, and the panels the warning and response issues fill in.

Layout functions only build component trees; the data arrives through ``callbacks/wall.py``.
"""

from __future__ import annotations

from urllib.parse import quote

import dash_ag_grid as dag
from dash import dcc, html

from data.catalogue import (
    CHANNEL_NAME,
    DEFAULT_CATALOGUE,
    DEFAULT_WALL_WINDOW,
    MAP_LEVELS,
    WALL_WINDOWS,
    Catalogue,
)
from layouts import ids
from layouts.desk_period import FORMATS, export_href
from layouts.i18n import (
    DEFAULT_LANGUAGE,
    area_name,
    format_moment,
    format_number,
    label,
    normalise_language,
    t,
)
from layouts.shell import frame, i18n_text

WINDOWS = WALL_WINDOWS
DEFAULT_WINDOW = DEFAULT_WALL_WINDOW
MAX_TOUR_S = 3600
# AG Grid's theming API (no stylesheet, nothing fetched): dark, large type, the wall's font stack.
GRID_THEME = (
    "themeQuartz.withParams({backgroundColor: '#0b1526', foregroundColor: '#e6edf7', "
    "headerBackgroundColor: '#13223b', borderColor: '#22324d', accentColor: '#38bdf8', "
    "fontSize: 17, headerFontSize: 17, rowHeight: 36, headerHeight: 40, "
    "fontFamily: ['Noto Sans CJK SC', 'WenQuanYi Zen Hei', 'Microsoft YaHei', 'sans-serif']})"
)

# the response metrics change slowly and read a month of cases: refreshed every 30 s
RESPONSE_REFRESH_MS = 30_000


def parse_view(query: dict, catalogue: Catalogue = DEFAULT_CATALOGUE) -> dict:
    """The view a URL prescribes (``?county=&township=&cell=&level=&metric=&window=&tour=``,
    and a past period: ``since=&until=`` with the replay's slider position ``at=``).

    Unknown values fall back to the defaults (a metric must be one of ``catalogue``'s); area
    codes and the period are checked against the store and the region's time zone later
    (:func:`data.wallview.resolve_view`).
    """

    def text(name: str) -> str | None:
        v = query.get(name)
        v = v[0] if isinstance(v, list) else v
        return str(v).strip() or None if v is not None else None

    metric = text("metric")
    window = text("window")
    level = text("level")
    try:
        tour = int(float(text("tour") or 0))
    except ValueError:
        tour = 0
    channel = (text("channel") or "").lower()
    return {
        "county": text("county"),
        "township": text("township"),
        "cell": text("cell"),
        "level": level if level in MAP_LEVELS else None,
        "metric": metric if metric in catalogue.wall_metrics else "all",
        "window": window if window in WINDOWS else DEFAULT_WINDOW,
        "tour": max(0, min(tour, MAX_TOUR_S)),
        # a channel of the hall's console this wall follows (data/console.py); None: its own
        "channel": channel if CHANNEL_NAME.fullmatch(channel) else None,
        # a past period (bare dates: local midnights; until exclusive) and the replay's position
        "since": text("since"),
        "until": text("until"),
        "at": text("at"),
    }


def view_query(view: dict, lang: str | None = None) -> str:
    """The URL query string that reproduces ``view`` (defaults left out)."""
    parts = []
    for name in ("county", "township", "cell", "level"):
        if view.get(name):
            parts.append(f"{name}={view[name]}")
    if view.get("metric", "all") != "all":
        parts.append(f"metric={view['metric']}")
    if view.get("window", DEFAULT_WINDOW) != DEFAULT_WINDOW:
        parts.append(f"window={view['window']}")
    if view.get("tour"):
        parts.append(f"tour={view['tour']}")
    if view.get("channel"):
        parts.append(f"channel={view['channel']}")
    for name in ("since", "until", "at"):
        if view.get(name) not in (None, ""):
            parts.append(f"{name}={quote(str(view[name]), safe='-:T')}")
    if lang:
        parts.append(f"lang={lang}")
    return "?" + "&".join(parts) if parts else ""


def layout(chrome: dict | None = None, **query) -> html.Div:
    """The wall in the app frame; ``query`` is the URL's query string (a prescribed view).

    ``chrome``: keyword arguments of :func:`layouts.shell.frame` (refresh period, region names,
    time zone, the deployment's source ``catalogue``), bound when the page is registered.
    """
    chrome = chrome or {"refresh_ms": 5000}
    catalogue = chrome.get("catalogue") or DEFAULT_CATALOGUE
    view = parse_view(query, catalogue)
    url_lang = query.get("lang") if query.get("lang") in ("zh", "en") else None
    lang = normalise_language(url_lang or DEFAULT_LANGUAGE)
    return frame(
        wall(view, lang, catalogue, chrome["refresh_ms"]),
        **chrome,
        url_lang=url_lang,
        live_subtitle=True,
    )


def wall(
    view: dict, lang: str, catalogue: Catalogue = DEFAULT_CATALOGUE, refresh_ms: int = 5000
) -> html.Div:
    """The wall's three columns and its stores: a KPI tile and a metric button per source of
    ``catalogue``; ``refresh_ms``: how often a wall that follows a console channel asks for the
    channel's view (a wall that follows none never asks)."""
    return html.Div(
        className="og-wall",
        children=[
            dcc.Store(id=ids.VIEW, data=view),
            dcc.Store(id=ids.MAP_Z),
            dcc.Store(id=ids.MAP_DIFF),
            dcc.Store(id=ids.MAP_LABELS),
            dcc.Store(id=ids.WARN_MARKS),
            dcc.Store(id=ids.WALL_SHOWN),
            dcc.Store(id=ids.LABELS_SINK),
            dcc.Store(id=ids.URL_SINK),
            dcc.Interval(id=ids.RESPONSE_REFRESH, interval=RESPONSE_REFRESH_MS, n_intervals=0),
            dcc.Store(id=ids.CHANNEL_SEEN, data=0),
            dcc.Interval(
                id=ids.CHANNEL_POLL,
                interval=refresh_ms,
                disabled=not view.get("channel"),
                n_intervals=0,
            ),
            dcc.Interval(
                id=ids.TOUR,
                interval=max(view["tour"], 1) * 1000,
                disabled=not view["tour"],
                n_intervals=0,
            ),
            html.Section(className="og-col og-left", children=[kpi_panel(lang, catalogue)]),
            html.Section(
                className="og-col og-centre",
                children=[map_panel(view, lang, catalogue, refresh_ms)],
            ),
            html.Section(
                className="og-col og-right",
                children=[
                    html.Div(
                        className="og-panel og-ticker-panel",
                        children=[
                            i18n_text("wall.ticker.title", lang, tag=html.H2),
                            html.Ul(id=ids.TICKER, className="og-ticker"),
                        ],
                    ),
                    live_panel(ids.WARNINGS, ids.WARNINGS_BODY, "wall.warnings", lang),
                    live_panel(ids.RESPONSE, ids.RESPONSE_BODY, "wall.response", lang),
                ],
            ),
        ],
    )


def source_style(catalogue: Catalogue, source: str) -> dict:
    """The inline style giving an element its source's configured colour (``--src``)."""
    spec = catalogue.categories.get(source) and catalogue.source(source)
    return {"--src": spec.colour} if spec else {}


def kpi_panel(lang: str, catalogue: Catalogue = DEFAULT_CATALOGUE) -> html.Div:
    """One tile per source: events today, change against last week, the feed's health."""
    tiles = []
    for src in catalogue.ids:
        tiles.append(
            html.Div(
                id={"type": ids.KPI_TILE, "source": src},
                className=f"og-kpi og-src-{src}",
                style=source_style(catalogue, src),
                children=[
                    html.Div(
                        className="og-kpi-head",
                        children=[
                            i18n_text(
                                f"source.{src}",
                                lang,
                                className="og-kpi-name",
                                catalogue=catalogue,
                            ),
                            html.Span(
                                id={"type": ids.KPI_STATE, "source": src},
                                className="og-kpi-state",
                            ),
                        ],
                    ),
                    html.Div(
                        id={"type": ids.KPI_VALUE, "source": src},
                        className="og-kpi-value",
                        children="–",
                    ),
                    html.Div(
                        className="og-kpi-foot",
                        children=[
                            html.Span(
                                id={"type": ids.KPI_DELTA, "source": src}, className="og-kpi-delta"
                            ),
                            html.Span(
                                id={"type": ids.KPI_RATE, "source": src}, className="og-kpi-rate"
                            ),
                        ],
                    ),
                ],
            )
        )
    return html.Div(
        className="og-panel og-kpi-panel",
        children=[
            i18n_text("wall.kpi.title", lang, tag=html.H2),
            html.Div(tiles, id=ids.KPI_TILES),
        ],
    )


def map_panel(
    view: dict, lang: str, catalogue: Catalogue = DEFAULT_CATALOGUE, refresh_ms: int = 5000
) -> html.Div:
    """The map with breadcrumb, metric and window switches, the period picker and replay bar
    (one play step per ``refresh_ms`` at 1x), legend and the cell's events."""
    metric_buttons = [
        html.Button(
            i18n_text(
                f"source.{m}" if m in catalogue.categories else f"wall.metric.{m}",
                lang,
                place="metric",
                catalogue=catalogue,
            ),
            id={"type": ids.METRIC, "value": m},
            className="og-seg" + (" og-on" if m == view["metric"] else ""),
            n_clicks=0,
        )
        for m in catalogue.wall_metrics
    ]
    window_buttons = [
        html.Button(
            i18n_text(f"wall.window.{w}", lang),
            id={"type": ids.WINDOW, "value": w},
            className="og-seg" + (" og-on" if w == view["window"] else ""),
            n_clicks=0,
        )
        for w in WINDOWS
    ]
    return html.Div(
        className="og-panel og-map-panel",
        children=[
            html.Div(
                className="og-toolbar",
                children=[
                    html.Nav(id=ids.BREADCRUMB, className="og-crumbs"),
                    html.Div(metric_buttons, className="og-segs og-metrics"),
                    html.Div(window_buttons, className="og-segs og-windows"),
                ],
            ),
            period_bar(view, lang, refresh_ms),
            html.Div(
                className="og-map-box",
                children=[
                    dcc.Graph(
                        id=ids.CELL_MAP,
                        className="og-map",
                        config={"displaylogo": False, "displayModeBar": False, "scrollZoom": True},
                        style={"height": "100%", "width": "100%"},
                    ),
                    html.Div(id=ids.MAP_LABEL_LAYER, className="og-map-labels"),
                    html.Div(id=ids.WARN_MARK_LAYER, className="og-warn-marks"),
                    html.Div(id=ids.LEGEND, className="og-legend"),
                    html.Div(
                        id=ids.CELL_PANEL,
                        className="og-cell-panel og-hidden",
                        children=[
                            html.Div(
                                className="og-cell-head",
                                children=[
                                    html.H3(id=ids.CELL_TITLE),
                                    html.Button(
                                        i18n_text("wall.cell.close", lang),
                                        id=ids.CELL_CLOSE,
                                        className="og-close",
                                        n_clicks=0,
                                    ),
                                ],
                            ),
                            dag.AgGrid(
                                id=ids.CELL_EVENTS,
                                className="og-grid",
                                columnDefs=event_columns(lang),
                                rowData=[],
                                defaultColDef={"resizable": True, "sortable": True},
                                dashGridOptions={"theme": {"function": GRID_THEME}},
                                style={"height": "100%"},
                            ),
                        ],
                    ),
                ],
            ),
        ],
    )


REPLAY_SPEEDS = (1, 4, 16)


def period_bar(view: dict, lang: str, refresh_ms: int = 5000) -> html.Div:
    """The period picker (a day or a week from a chosen day; back to live) and the replay bar
    (the after-action review: a slider over the period, play/pause and a speed in steps per refresh), shown on a
    period; the callbacks set the slider's range from the resolved period."""
    on_period = bool(view.get("since"))
    return html.Div(
        className="og-period",
        children=[
            html.Div(
                className="og-period-pick",
                children=[
                    i18n_text("wall.period.label", lang, className="og-period-label"),
                    dcc.Input(
                        id=ids.PERIOD_DAY,
                        type="date",
                        value=(view.get("since") or "")[:10] or None,
                        className="og-period-day",
                        debounce=True,
                    ),
                    dcc.RadioItems(
                        id=ids.PERIOD_KIND,
                        options=[
                            {"label": i18n_text("wall.period.day", lang), "value": "day"},
                            {"label": i18n_text("wall.period.week", lang), "value": "week"},
                        ],
                        value="day",
                        inline=True,
                        className="og-period-kind",
                    ),
                    html.Button(
                        i18n_text("wall.period.show", lang),
                        id=ids.PERIOD_GO,
                        className="og-seg",
                        n_clicks=0,
                    ),
                    html.Button(
                        i18n_text("wall.period.live", lang),
                        id=ids.PERIOD_LIVE,
                        className="og-seg",
                        n_clicks=0,
                    ),
                    html.Span(id=ids.PERIOD_NOTE, className="og-period-note"),
                ],
            ),
            html.Div(
                id=ids.REPLAY,
                className="og-replay" + ("" if on_period else " og-hidden"),
                children=[
                    html.Button(
                        t("wall.period.play", lang), id=ids.REPLAY_PLAY, className="og-seg"
                    ),
                    html.Div(
                        dcc.Slider(
                            id=ids.REPLAY_SLIDER,
                            min=0,
                            max=1,
                            step=1,
                            value=1,
                            marks=None,
                            updatemode="mouseup",
                            allow_direct_input=False,
                        ),
                        className="og-replay-slider",
                    ),
                    html.Span(id=ids.REPLAY_TIME, className="og-replay-time"),
                    i18n_text("wall.period.speed", lang, className="og-period-label"),
                    dcc.RadioItems(
                        id=ids.REPLAY_SPEED,
                        options=[{"label": f"{x}x", "value": x} for x in REPLAY_SPEEDS],
                        value=REPLAY_SPEEDS[0],
                        inline=True,
                        className="og-period-kind",
                    ),
                    dcc.Interval(id=ids.REPLAY_TICK, interval=refresh_ms, disabled=True),
                ],
            ),
        ],
    )


def replay_position(view: dict, last: int) -> int:
    """The slider position a view shows (``at``; the period's end when absent or unreadable)."""
    try:
        return max(0, min(int(view.get("at")), int(last)))
    except (TypeError, ValueError):
        return int(last)


def replay_bar_state(resolved: dict, lang: str, tz: str) -> tuple:
    """The replay bar for a resolved view: class, slider max, value and marks (the period's
    start and end, local time), the moment shown, and the reason a period was not shown."""
    note = (
        t("wall.period.error", lang).format(reason=resolved["period_error"])
        if resolved.get("period_error")
        else ""
    )
    period = resolved.get("period")
    if period is None:
        return "og-replay og-hidden", 1, 1, None, "", note
    steps = period["steps"]
    marks = {
        0: format_moment(period["since"], tz, lang, "day_time"),
        steps: format_moment(period["since"] + period["step"] * steps, tz, lang, "day_time"),
    }
    at = format_moment(period["at"], tz, lang, "day_time")
    return "og-replay", steps, period["index"], marks, at, note


def live_panel(panel_id: str, body_id: str, key: str, lang: str) -> html.Div:
    """A titled panel whose body the refresh callback fills (warnings, response metrics)."""
    return html.Div(
        id=panel_id,
        className="og-panel og-live-panel",
        children=[i18n_text(f"{key}.title", lang, tag=html.H2), html.Div(id=body_id)],
    )


def event_columns(lang: str) -> list[dict]:
    """Column definitions of the cell's events table."""
    return [
        {"field": "time", "headerName": t("wall.col.time", lang), "width": 150},
        {"field": "source", "headerName": t("wall.col.source", lang), "width": 140},
        {"field": "category", "headerName": t("wall.col.category", lang), "width": 160},
        {"field": "severity", "headerName": t("wall.col.severity", lang), "width": 90},
        {"field": "text", "headerName": t("wall.col.text", lang), "flex": 1},
    ]


def cell_title(code: str, since: str | None, until: str | None, lang: str) -> list:
    """The drill-down panel's title: the cell's code, and "CSV" / "Excel" links to the read
    API's file of the events the panel lists (``since``/``until``: their period as ISO text,
    UTC; ``until`` None: up to now); the API applies the reader's own scope to the file."""
    params = {"area": code, "since": since, "until": until}
    links = [
        html.A(
            t(f"desk.export.{fmt}", lang).format(place=""),
            href=export_href("/api/events", fmt, params),
            download="",
            className="og-lang og-cell-export",
        )
        for fmt in FORMATS
    ]
    return [
        t("wall.cell.title", lang).format(code=code),
        html.Span(links, className="og-cell-exports"),
    ]


def event_rows(
    events: list[dict], lang: str, tz: str, catalogue: Catalogue = DEFAULT_CATALOGUE
) -> list[dict]:
    """Rows of the cell's events table (local time, translated domain and category)."""
    rows = []
    for ev in events:
        rows.append(
            {
                "time": format_moment(ev["event_time"], tz, lang, "day_time"),
                "source": label(f"source.{ev['source']}", lang, catalogue),
                "category": label(f"category.{ev['source']}.{ev['category']}", lang, catalogue),
                "severity": ev.get("severity"),
                "text": ev.get("text") or "",
            }
        )
    return rows


def kpi_texts(today: int, last_week: int, lang: str) -> tuple[str, str, str]:
    """The big number, the change against last week and its direction class (up, down, flat)."""
    value = format_number(today, lang)
    if last_week <= 0:
        return value, (t("wall.kpi.new", lang) if today else "±0"), "flat"
    pct = (today - last_week) / last_week * 100
    arrow = "▲" if pct > 0.5 else ("▼" if pct < -0.5 else "■")
    direction = "up" if pct > 0.5 else ("down" if pct < -0.5 else "flat")
    return value, f"{arrow} {pct:+.0f}% {t('wall.kpi.vs_week', lang)}", direction


def warning_tick(w: dict, lang: str, tz: str) -> html.Li:
    """A warning in the ticker: its colour, rule and area, marked like the map's marks."""
    local = format_moment(w["raised_at"], tz, lang, "time")
    place = area_name(
        {
            "name_zh": w.get("area_name_zh"),
            "name_en": w.get("area_name_en"),
            "code": w.get("area_code"),
        },
        lang,
    )
    rule = w.get("rule_name_en" if lang == "en" else "rule_name_zh") or w.get("rule_id", "")
    state = t(f"warn.state.{w['state']}", lang)
    return html.Li(
        className=f"og-tick og-tick-warn og-warn-{w['level']}",
        children=[
            html.Span(local, className="og-tick-time"),
            html.Span(t(f"warn.level.{w['level']}", lang), className="og-tick-sev og-warn-badge"),
            html.Div(
                className="og-tick-body",
                children=[
                    html.Div(rule, className="og-tick-cat"),
                    html.Div(f"{place} · {state}", className="og-tick-place"),
                ],
            ),
        ],
    )


def ticker_items(
    events: list[dict],
    lang: str,
    tz: str,
    *,
    warnings: list[dict] | None = None,
    catalogue: Catalogue = DEFAULT_CATALOGUE,
) -> list:
    """The ticker's rows: active warnings first (newest first), then significant events (local
    time, domain, category, place, severity), each in its source's colour."""
    warn_items = [warning_tick(w, lang, tz) for w in (warnings or [])]
    if not events:
        return warn_items or [html.Li(t("wall.ticker.empty", lang), className="og-tick og-empty")]
    items = warn_items
    for ev in events:
        local = format_moment(ev["event_time"], tz, lang, "time")
        place = area_name(
            {"name_zh": ev.get("township_zh"), "name_en": ev.get("township_en")}, lang
        )
        items.append(
            html.Li(
                className=f"og-tick og-src-{ev['source']} og-sev-{ev['severity']}",
                style=source_style(catalogue, ev["source"]),
                children=[
                    html.Span(local, className="og-tick-time"),
                    html.Span(
                        t("wall.ticker.severity", lang).format(n=ev["severity"]),
                        className="og-tick-sev",
                    ),
                    html.Div(
                        className="og-tick-body",
                        children=[
                            html.Div(
                                label(f"category.{ev['source']}.{ev['category']}", lang, catalogue),
                                className="og-tick-cat",
                            ),
                            html.Div(
                                label("source." + ev["source"], lang, catalogue) + " · " + place,
                                className="og-tick-place",
                            ),
                        ],
                    ),
                ],
            )
        )
    return items


def breadcrumb(path: list[dict], lang: str) -> list:
    """Breadcrumb buttons: one per level above the current view, then the current area's name."""
    out = []
    for i, step in enumerate(path):
        name = area_name(step, lang)
        if i < len(path) - 1:
            out.append(
                html.Button(
                    name,
                    id={"type": ids.CRUMB, "level": step["level"]},
                    className="og-crumb",
                    n_clicks=0,
                )
            )
            out.append(html.Span("›", className="og-crumb-sep"))
        else:
            out.append(html.Span(name, className="og-crumb og-here"))
    return out


def legend(title: str, note: str, scale: list[list], ticks: list[tuple[float, str]]) -> list:
    """The HTML colour legend: what the colour means, a gradient bar and its ticks."""
    stops = ", ".join(f"{c} {p * 100:.0f}%" for p, c in scale)
    return [
        html.Div(title, className="og-legend-title"),
        html.Div(
            className="og-legend-bar", style={"background": f"linear-gradient(90deg, {stops})"}
        ),
        html.Div(
            [
                html.Span(label, className="og-legend-tick", style={"left": f"{p * 100:.1f}%"})
                for p, label in ticks
            ],
            className="og-legend-ticks",
        ),
        html.Div(note, className="og-legend-note"),
    ]
