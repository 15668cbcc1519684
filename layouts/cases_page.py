"""The case board (page ``/cases``): a department's cases, its actions, its inbox.

The department selector stands in for the signed-in user's department until the lead binds it.
Layout functions only build component trees; ``callbacks/cases_page.py`` fills them.
"""

from __future__ import annotations

import dash_ag_grid as dag
from dash import dcc, html

from layouts import ids
from layouts.i18n import DEFAULT_LANGUAGE
from layouts.shell import framed, i18n_text

# the buttons of the action bar, in the order of the case flow (each one an action of the case
# state machine, data/cases/states.py: tests/test_cases_pages.py checks it)
ACTION_BUTTONS: tuple[str, ...] = (
    "dispatch",
    "joint_dispatch",
    "accept",
    "return",
    "request_extension",
    "report_handled",
    "verify_pass",
    "rework",
    "approve_extension",
    "refuse_extension",
    "reassign",
    "set_urgent",
    "close",
)

OFFICE_GRID_THEME = (
    "themeQuartz.withParams({backgroundColor: '#0b1526', foregroundColor: '#e6edf7', "
    "headerBackgroundColor: '#13223b', borderColor: '#22324d', accentColor: '#38bdf8', "
    "fontSize: 15, headerFontSize: 15, rowHeight: 32, headerHeight: 36})"
)


def board_grid() -> dag.AgGrid:
    return dag.AgGrid(
        id=ids.CASES_GRID,
        rowData=[],
        columnDefs=[],
        getRowId="params.data.id",
        dashGridOptions={
            "rowSelection": {"mode": "singleRow"},
            "theme": {"function": OFFICE_GRID_THEME},
        },
        columnSize="responsiveSizeToFit",
        style={"height": "420px", "width": "100%"},
    )


def page() -> html.Div:
    return html.Div(
        className="og-cases",
        children=[
            dcc.Store(id=ids.CASES_VERSION, data=0),
            html.Div(
                className="og-cases-bar",
                children=[
                    i18n_text("cases.department", tag=html.Label),
                    dcc.Dropdown(id=ids.CASES_DEPT, clearable=False, style={"minWidth": "320px"}),
                ],
            ),
            html.Div(
                className="og-cases-new",
                children=[
                    i18n_text("cases.new", tag=html.H3),
                    dcc.Dropdown(id=ids.CASES_NEW_CATEGORY, style={"minWidth": "240px"}),
                    dcc.Input(id=ids.CASES_NEW_CELL, type="text", debounce=False),
                    dcc.Input(id=ids.CASES_NEW_TITLE, type="text", debounce=False),
                    html.Button(i18n_text("cases.new.submit"), id=ids.CASES_NEW_BTN, n_clicks=0),
                ],
            ),
            i18n_text("cases.board", tag=html.H3),
            board_grid(),
            html.Div(
                className="og-cases-actions",
                children=[
                    i18n_text("cases.reason", tag=html.Label),
                    dcc.Input(id=ids.CASES_REASON, type="text", debounce=False),
                    i18n_text("cases.target", tag=html.Label),
                    dcc.Dropdown(id=ids.CASES_TARGET, multi=True, style={"minWidth": "320px"}),
                    i18n_text("cases.extension", tag=html.Label),
                    dcc.Input(id=ids.CASES_EXTENSION, type="text", value="24h", debounce=False),
                    html.Div(
                        [
                            html.Button(
                                i18n_text(f"case.action.{a}"),
                                id={"type": ids.CASE_ACTION, "action": a},
                                n_clicks=0,
                                className="og-case-btn",
                            )
                            for a in ACTION_BUTTONS
                        ],
                        className="og-case-btns",
                    ),
                ],
            ),
            html.Div(id=ids.CASES_MSG, className="og-cases-msg", role="status"),
            html.Div(
                className="og-cases-side",
                children=[
                    i18n_text("cases.history", tag=html.H3),
                    html.Div(id=ids.CASES_HISTORY),
                    i18n_text("cases.inbox", tag=html.H3),
                    html.Div(id=ids.CASES_INBOX),
                ],
            ),
        ],
    )


layout = framed(page)


__all__ = ["ACTION_BUTTONS", "DEFAULT_LANGUAGE", "layout", "page"]
