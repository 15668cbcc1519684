"""The hall's console (page ``/console``): an operator at a tablet chooses what the walls show.

A channel is a name; every wall opened with ``?channel=<name>`` takes the channel's view (county,
map level, metric, window, or a past period to review) at its next refresh (data/console.py). Large touch targets: the page
is made for a tablet held in the hall, 768 px wide and up.
"""

from __future__ import annotations

from dash import dcc, html

from data.catalogue import DEFAULT_CATALOGUE, DEFAULT_CHANNEL, MAP_LEVELS, WALL_WINDOWS, Catalogue
from layouts import ids
from layouts.i18n import DEFAULT_LANGUAGE, area_name, format_moment, label, t
from layouts.shell import framed, i18n_text

WHOLE = ""  # the county choice meaning "the whole area the console's user sees"
AUTO = ""  # the level choice meaning "the wall's default level for the chosen area"


def metric_label(metric: str, lang: str, catalogue: Catalogue = DEFAULT_CATALOGUE) -> str:
    """A wall metric's name (a source's configured name, all events, or the risk index)."""
    if metric in ("all", "risk"):
        return t(f"wall.metric.{metric}", lang)
    return label(f"source.{metric}", lang, catalogue)


def choice_options(
    counties: list[dict], lang: str, catalogue: Catalogue = DEFAULT_CATALOGUE
) -> tuple[list, list, list, list]:
    """The options of the county, level, metric and window choices in ``lang``
    (``counties``: dicts with code, name_zh, name_en; ``catalogue``: the deployment's sources)."""
    county = [{"label": t("console.whole", lang), "value": WHOLE}] + [
        {"label": area_name(c, lang), "value": c["code"]} for c in counties
    ]
    levels = [{"label": t("console.level.auto", lang), "value": AUTO}] + [
        {"label": t(f"level.{lv}", lang), "value": lv} for lv in MAP_LEVELS
    ]
    metrics = [
        {"label": metric_label(m, lang, catalogue), "value": m} for m in catalogue.wall_metrics
    ]
    windows = [{"label": t(f"wall.window.{w}", lang), "value": w} for w in WALL_WINDOWS]
    return county, levels, metrics, windows


def state_text(
    channel,
    county_names: dict[str, str],
    timezone: str,
    lang: str,
    catalogue: Catalogue = DEFAULT_CATALOGUE,
) -> str:
    """One line on what ``channel`` (a data.console.Channel or None) shows now."""
    if channel is None:
        return t("console.state.none", lang)
    v = channel.view
    window = t(f"wall.window.{v['window']}", lang)
    if v.get("since"):  # a review: the period replaces the live window on the walls
        window = t("console.state.period", lang).format(since=v["since"], until=v["until"])
    return t("console.state", lang).format(
        area=county_names.get(v.get("county") or "", t("console.whole", lang)),
        level=t(f"level.{v['level']}", lang) if v.get("level") else t("console.level.auto", lang),
        metric=metric_label(v["metric"], lang, catalogue),
        window=window,
        by=channel.updated_by,
        at=format_moment(channel.updated_at, timezone, lang, "date_time"),
        version=channel.version,
    )


def _choice(label_key: str, cid: str, value: str) -> html.Div:
    return html.Div(
        className="og-console-row",
        children=[
            i18n_text(label_key, tag=html.H3),
            dcc.RadioItems(
                id=cid,
                options=[],
                value=value,
                className="og-console-choice",
                inputClassName="og-console-input",
                labelClassName="og-console-option",
            ),
        ],
    )


def _period() -> html.Div:
    """The review period: since and until as the wall's address takes them; empty is live."""
    field = {"type": "text", "maxLength": 40, "className": "og-console-date"}
    return html.Div(
        className="og-console-row",
        children=[
            i18n_text("console.period", tag=html.H3),
            html.Div(
                className="og-console-period",
                children=[
                    html.Label(
                        [i18n_text("console.since"), dcc.Input(id=ids.CONSOLE_SINCE, **field)]
                    ),
                    html.Label(
                        [i18n_text("console.until"), dcc.Input(id=ids.CONSOLE_UNTIL, **field)]
                    ),
                    html.Button(
                        i18n_text("console.live", DEFAULT_LANGUAGE),
                        id=ids.CONSOLE_LIVE,
                        n_clicks=0,
                        className="og-console-live",
                    ),
                ],
            ),
            i18n_text("console.period.hint", tag=html.P, className="og-console-hint"),
        ],
    )


def page() -> html.Div:
    """The channel, the choices (county, level, metric, window, review period), the send
    button and what the channel shows now."""
    return html.Div(
        className="og-console",
        children=[
            i18n_text("console.title", tag=html.H2),
            i18n_text("console.lead", tag=html.P, className="og-console-lead"),
            html.Div(
                className="og-console-row",
                children=[
                    i18n_text("console.channel", tag=html.H3),
                    dcc.Input(
                        id=ids.CONSOLE_CHANNEL,
                        value=DEFAULT_CHANNEL,
                        list=ids.CONSOLE_CHANNELS,
                        maxLength=32,
                        debounce=True,
                        className="og-console-name",
                    ),
                    html.Datalist(id=ids.CONSOLE_CHANNELS),
                    html.A(id=ids.CONSOLE_LINK, className="og-console-link", target="_blank"),
                ],
            ),
            _choice("console.county", ids.CONSOLE_COUNTY, WHOLE),
            _choice("console.level", ids.CONSOLE_LEVEL, AUTO),
            _choice("console.metric", ids.CONSOLE_METRIC, "all"),
            _choice("console.window", ids.CONSOLE_WINDOW, WALL_WINDOWS[1]),
            _period(),
            html.Button(
                i18n_text("console.send", DEFAULT_LANGUAGE),
                id=ids.CONSOLE_SEND,
                n_clicks=0,
                className="og-console-send",
            ),
            html.P(id=ids.CONSOLE_MSG, className="og-console-msg", role="status"),
            html.P(id=ids.CONSOLE_STATE, className="og-console-state"),
        ],
    )


layout = framed(page)
