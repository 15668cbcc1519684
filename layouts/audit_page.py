"""The audit trail (page ``/audit``, administrators only): who did what, when, from where, to
what; filtered by actor, action, period and object, and exported to CSV."""

from __future__ import annotations

import dash_ag_grid as dag
from dash import dcc, html

from layouts import ids
from layouts.cases_page import OFFICE_GRID_THEME
from layouts.shell import framed, i18n_text


def _filter(key: str, control) -> html.Label:
    return html.Label([i18n_text(key), control], className="og-audit-filter")


def page() -> html.Div:
    """Filters, the count, the export link and the grid; the callback fills them."""
    return html.Div(
        className="og-audit",
        style={"padding": "1rem", "display": "flex", "flexDirection": "column", "gap": "0.8rem"},
        children=[
            i18n_text("audit.title", tag=html.H2),
            html.Div(id=ids.AUDIT_DENIED),
            html.Div(
                style={"display": "flex", "gap": "1rem", "flexWrap": "wrap"},
                children=[
                    _filter(
                        "audit.actor",
                        dcc.Dropdown(id=ids.AUDIT_ACTOR, style={"minWidth": "14rem"}),
                    ),
                    _filter(
                        "audit.action",
                        dcc.Dropdown(id=ids.AUDIT_ACTION, style={"minWidth": "14rem"}),
                    ),
                    _filter(
                        "audit.period",
                        dcc.Dropdown(
                            id=ids.AUDIT_PERIOD,
                            value="24h",
                            clearable=False,
                            style={"minWidth": "12rem"},
                        ),
                    ),
                    _filter(
                        "audit.object",
                        dcc.Input(id=ids.AUDIT_OBJECT, type="text", debounce=True),
                    ),
                    html.A(
                        i18n_text("audit.export"),
                        id=ids.AUDIT_EXPORT,
                        href="/audit/export.csv",
                        className="og-lang",
                    ),
                    html.Span(id=ids.AUDIT_COUNT),
                ],
            ),
            dag.AgGrid(
                id=ids.AUDIT_GRID,
                rowData=[],
                columnDefs=[],
                dashGridOptions={"theme": {"function": OFFICE_GRID_THEME}},
                columnSize="responsiveSizeToFit",
                style={"height": "70vh", "width": "100%"},
            ),
        ],
    )


layout = framed(page)
