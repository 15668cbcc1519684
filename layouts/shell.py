"""The app shell around every page: header, language switch, clock, refresh timer."""

from __future__ import annotations

import dash
from dash import dcc, html

from layouts import ids
from layouts.i18n import DEFAULT_LANGUAGE, t


def shell(refresh_ms: int) -> html.Div:
    """The outer layout: a header and the page container. ``refresh_ms``: live refresh period."""
    return html.Div(
        className="og-app",
        children=[
            dcc.Location(id=ids.URL, refresh=False),
            dcc.Store(id=ids.LANG, storage_type="local", data=DEFAULT_LANGUAGE),
            dcc.Interval(id=ids.REFRESH, interval=refresh_ms, n_intervals=0),
            html.Header(
                className="og-header",
                children=[
                    html.H1(t("app.title"), id=ids.TITLE, className="og-title"),
                    html.Div(id=ids.CLOCK, className="og-clock"),
                    html.Button(
                        t("lang.switch"), id=ids.LANG_SWITCH, className="og-lang", n_clicks=0
                    ),
                ],
            ),
            html.Main(dash.page_container, className="og-main"),
        ],
    )
