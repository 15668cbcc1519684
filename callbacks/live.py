"""Callbacks of the live page: feed tiles and map values on every refresh tick."""

from __future__ import annotations

import dash
import pandas as pd
from dash import Input, Output, State, callback
from flask import current_app

from data import queries
from data.events import SOURCES
from layouts import figures, ids, live
from layouts.i18n import normalise_language, t


def _rt():
    return current_app.extensions["onegrid"]


def _local_midnight(rt) -> pd.Timestamp:
    return pd.Timestamp.now(tz=rt.timezone).normalize().tz_convert("UTC")


@callback(
    Output(ids.FEED_TILES, "children"), Input(ids.REFRESH, "n_intervals"), Input(ids.LANG, "data")
)
def refresh_feeds(_n, lang):
    """Feed tiles: today's events per source, rate, live or stale."""
    rt = _rt()
    lang = normalise_language(lang)
    health = queries.feed_health(
        rt.db,
        now=pd.Timestamp.now(tz="UTC"),
        stale_after={s: rt.settings.stale_after(s) for s in SOURCES},
    )
    today = queries.counts_by_source_since(rt.db, rt.scope, _local_midnight(rt))
    return live.feed_tiles(health, today, lang)


@callback(
    Output(ids.CELL_MAP, "figure"),
    Input(ids.REFRESH, "n_intervals"),
    Input(ids.LANG, "data"),
    State(ids.CELL_MAP, "figure"),
)
def refresh_map(n, lang, current):
    """The map: geometry by URL once, then only the per-cell values (a Patch)."""
    rt = _rt()
    lang = normalise_language(lang)
    since = pd.Timestamp.now(tz="UTC") - pd.Timedelta(hours=24)
    counts = queries.cell_counts_window(rt.db, rt.scope, since=since)
    keys = rt.cell_keys
    values = pd.Series(0, index=keys).add(counts.set_index("cell_key")["n"], fill_value=0)
    z = values.reindex(keys).astype(int).tolist()
    trigger = dash.ctx.triggered_id
    if current is None or trigger == ids.LANG:
        meta = rt.region.meta
        return figures.cell_map(
            "/geo/grid.json",
            keys,
            z,
            center={"lon": meta.get("center_lon"), "lat": meta.get("center_lat")},
            zoom=meta.get("zoom", 8),
            colorbar_title=t("map.events", lang),
            tile_url=rt.settings.tile_url,
        )
    patch = dash.Patch()
    patch["data"][0]["z"] = z
    return patch


@callback(
    Output(ids.LANG, "data"),
    Input(ids.LANG_SWITCH, "n_clicks"),
    State(ids.LANG, "data"),
    prevent_initial_call=True,
)
def switch_language(_n, lang):
    """Toggle zh <-> en."""
    return "en" if normalise_language(lang) == "zh" else "zh"


@callback(
    Output(ids.TITLE, "children"), Output(ids.LANG_SWITCH, "children"), Input(ids.LANG, "data")
)
def translate_shell(lang):
    """Header texts in the chosen language."""
    lang = normalise_language(lang)
    return t("app.title", lang), t("lang.switch", lang)


@callback(Output(ids.CLOCK, "children"), Input(ids.REFRESH, "n_intervals"), Input(ids.LANG, "data"))
def clock(_n, lang):
    """The city's local time."""
    rt = _rt()
    now = pd.Timestamp.now(tz=rt.timezone)
    return f"{t('clock.label', normalise_language(lang))} {now:%Y-%m-%d %H:%M:%S}"
