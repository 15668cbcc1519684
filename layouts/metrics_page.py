"""Response metrics (page ``/metrics``): rankings per department and per county with trend, a
department's detail, the effect check, and the wall's response panel."""

from __future__ import annotations

import dash_ag_grid as dag
from dash import dcc, html

from layouts import ids
from layouts.cases_page import OFFICE_GRID_THEME
from layouts.shell import framed, i18n_text


def _grid(grid_id: str) -> dag.AgGrid:
    return dag.AgGrid(
        id=grid_id,
        rowData=[],
        columnDefs=[],
        dashGridOptions={"theme": {"function": OFFICE_GRID_THEME}},
        columnSize="responsiveSizeToFit",
        style={"height": "300px", "width": "100%"},
    )


def page() -> html.Div:
    return html.Div(
        className="og-metrics",
        children=[
            html.Div(id=ids.METRICS_HEAD, className="og-metrics-head"),
            html.Div(id=ids.METRICS_RESPONSE),
            i18n_text("metrics.by_department", tag=html.H3),
            _grid(ids.METRICS_DEPT_GRID),
            i18n_text("metrics.by_county", tag=html.H3),
            _grid(ids.METRICS_COUNTY_GRID),
            i18n_text("metrics.detail", tag=html.H3),
            dcc.Dropdown(id=ids.METRICS_DETAIL_DEPT, style={"maxWidth": "420px"}),
            html.Div(id=ids.METRICS_DETAIL),
        ],
    )


layout = framed(page)
