"""Drafting a feed's field mapping from a sample file (page ``/feeds/new``, administrators only):
upload a sample, see its columns and first rows, pick the columns, preview the reconciliation
(the ``check-mapping`` dry run) and save the mapping. The work is in data/feeds/mapping_draft.py.
"""

from __future__ import annotations

import dash_ag_grid as dag
from dash import dcc, html

from layouts import ids
from layouts.cases_page import OFFICE_GRID_THEME
from layouts.i18n import format_number, t
from layouts.shell import framed, i18n_text

# the browser refuses larger files before sending them; the server checks again
# (data.feeds.mapping_draft.MAX_SAMPLE_BYTES, tests/test_feeds_new.py keeps the two equal)
UPLOAD_MAX_BYTES = 2 * 1024 * 1024

# column pickers: component id, label key, whether the mapping needs it
PICKERS = (
    (ids.FEEDNEW_ID, "feednew.id", True),
    (ids.FEEDNEW_TIME, "feednew.time", True),
    (ids.FEEDNEW_LON, "feednew.lon", True),
    (ids.FEEDNEW_LAT, "feednew.lat", True),
    (ids.FEEDNEW_CATEGORY, "feednew.category", True),
    (ids.FEEDNEW_SEVERITY, "feednew.severity", False),
    (ids.FEEDNEW_VALUE, "feednew.value", False),
    (ids.FEEDNEW_TEXT, "feednew.text", False),
)


def _field(key: str, control) -> html.Label:
    return html.Label([i18n_text(key), control], className="og-field")


def _picker(component_id: str, key: str) -> html.Label:
    return _field(key, dcc.Dropdown(id=component_id, options=[]))


def page() -> html.Div:
    """Upload, sample grid, pickers, value table, preview and save; the callbacks fill them."""
    return html.Div(
        className="og-feednew",
        children=[
            i18n_text("feednew.title", tag=html.H2),
            dcc.Upload(
                id=ids.FEEDNEW_UPLOAD,
                max_size=UPLOAD_MAX_BYTES,
                multiple=False,
                children=html.Div(i18n_text("feednew.upload")),
                className="og-upload",
            ),
            html.Div(id=ids.FEEDNEW_INFO),
            dag.AgGrid(
                id=ids.FEEDNEW_GRID,
                rowData=[],
                columnDefs=[],
                dashGridOptions={"theme": {"function": OFFICE_GRID_THEME}},
                style={"height": "16rem", "width": "100%"},
            ),
            html.Div(
                className="og-filter-bar",
                children=[
                    _field("feednew.name", dcc.Input(id=ids.FEEDNEW_NAME, type="text")),
                    _field(
                        "feednew.source",
                        dcc.Dropdown(id=ids.FEEDNEW_SOURCE, options=[]),
                    ),
                    _field(
                        "feednew.time_format",
                        dcc.Input(id=ids.FEEDNEW_TIME_FORMAT, type="text", value="iso"),
                    ),
                    _field(
                        "feednew.timezone",
                        dcc.Input(id=ids.FEEDNEW_TIMEZONE, type="text", value="Asia/Shanghai"),
                    ),
                ],
            ),
            html.Div(
                className="og-filter-bar",
                children=[_picker(cid, key) for cid, key, _ in PICKERS],
            ),
            i18n_text("feednew.category_map", tag=html.H3),
            dag.AgGrid(
                id=ids.FEEDNEW_CATEGORY_MAP,
                rowData=[],
                columnDefs=[],
                dashGridOptions={
                    "theme": {"function": OFFICE_GRID_THEME},
                    "singleClickEdit": True,
                    "stopEditingWhenCellsLoseFocus": True,
                },
                style={"height": "14rem", "width": "100%"},
            ),
            html.Div(
                className="og-filter-bar",
                children=[
                    _field(
                        "feednew.category_default",
                        dcc.Dropdown(id=ids.FEEDNEW_CATEGORY_DEFAULT, options=[]),
                    ),
                    html.Button(
                        i18n_text("feednew.preview"),
                        id=ids.FEEDNEW_PREVIEW,
                        n_clicks=0,
                        className="og-btn",
                    ),
                    html.Button(
                        i18n_text("feednew.save"),
                        id=ids.FEEDNEW_SAVE,
                        n_clicks=0,
                        className="og-btn og-btn-primary",
                    ),
                    html.Span(id=ids.FEEDNEW_SAVED),
                ],
            ),
            html.Div(id=ids.FEEDNEW_RESULT),
        ],
    )


def sample_outputs(columns: list[str], rows: list[dict], info: dict, lang: str) -> tuple:
    """Grid rows and columns, the info line and the pickers' options for a read sample."""
    defs = [{"field": c, "headerName": c} for c in columns]
    line = t("feednew.sample", lang).format(
        file=info["filename"], format=info["format"], columns=len(columns), rows=info["rows"]
    )
    options = [{"label": c, "value": c} for c in columns]
    return rows, defs, html.Span(line), options


def category_table(values: list[dict], codes: list[str], lang: str) -> tuple[list, list]:
    """The value -> category table: the sample's values with their counts, a code to pick."""
    rows = [{"value": v["value"], "count": v["count"], "code": ""} for v in values]
    defs = [
        {"field": "value", "headerName": t("feednew.map_value", lang)},
        {"field": "count", "headerName": t("feednew.map_count", lang), "maxWidth": 110},
        {
            "field": "code",
            "headerName": t("feednew.map_code", lang),
            "editable": True,
            "cellEditor": "agSelectCellEditor",
            "cellEditorParams": {"values": ["", *codes]},
        },
    ]
    return rows, defs


def error(text: str) -> html.Div:
    """A refusal or problem, as the administrator reads it."""
    return html.Div(text, className="og-error")


def draft_error(key: str, params: dict, lang: str) -> html.Div:
    """A problem of the sample or the draft (``DraftError``), in the page's language."""
    return error(t(f"feednew.err.{key}", lang).format(**params))


def reconciliation(recon: dict, toml_text: str, lang: str) -> html.Div:
    """The dry run's numbers (rows read = accepted + duplicates + quarantined + outside), each
    quarantine reason with its examples, and the mapping file's text."""

    def line(key: str, n: int, test_id: str) -> html.Li:
        return html.Li([t(key, lang), " ", html.B(format_number(n, lang), id=test_id)])

    reasons = []
    for reason, n in recon["quarantined_by_reason"].items():
        examples = [
            html.Li(f"{e['file']} #{e['row']}: {e['fields']}")
            for e in recon["examples"].get(reason, [])
        ]
        reasons.append(html.Li([f"{format_number(n, lang)} × {reason}", html.Ul(examples)]))
    verdict = t("feednew.adds_up" if recon["adds_up"] else "feednew.not_adds_up", lang)
    return html.Div(
        [
            html.H3(t("feednew.result", lang)),
            html.Ul(
                [
                    line("feednew.rows_read", recon["rows_read"], ids.FEEDNEW_N_READ),
                    line("feednew.accepted", recon["accepted"], ids.FEEDNEW_N_ACCEPTED),
                    line("feednew.duplicates", recon["duplicates"], ids.FEEDNEW_N_DUPLICATES),
                    line("feednew.quarantined", recon["quarantined"], ids.FEEDNEW_N_QUARANTINED),
                    line("feednew.outside", recon["outside_region"], ids.FEEDNEW_N_OUTSIDE),
                ]
            ),
            html.Ul(reasons),
            html.P(f"{verdict} ({recon['duplicates_checked']})"),
            html.H3(t("feednew.toml", lang)),
            html.Pre(toml_text, id=ids.FEEDNEW_TOML, className="og-pre"),
        ]
    )


layout = framed(page)
