"""The rules page (``/rules``, administrators): the warning rules, one rule's ``[[rule]]`` table
to edit as TOML, a backtest over a chosen past period (what the rule would have raised: counts per
level, per area, examples), then save. No SQL here; the callbacks hand plain values in."""

from __future__ import annotations

import dash_ag_grid as dag
from dash import dcc, html

from layouts import ids
from layouts.cases_page import OFFICE_GRID_THEME
from layouts.i18n import area_name, format_moment, t
from layouts.shell import framed, i18n_text

LEVEL_NAMES = ("blue", "yellow", "orange", "red")
NEW = "__new__"  # the dropdown's value for a new rule


def list_rows(rules: list[dict], lang: str) -> list[dict]:
    """Grid rows of the rules (records with id, kind, names, area_level, window_min, enabled)."""
    return [
        {
            "id": r["id"],
            "name": r["name_en"] if lang == "en" else r["name_zh"],
            "kind": r["kind"],
            "area_level": t(f"level.{r['area_level']}", lang),
            "window_min": r["window_min"],
            "enabled": t("rules.yes" if r["enabled"] else "rules.no", lang),
        }
        for r in rules
    ]


def list_columns(lang: str) -> list[dict]:
    """Column definitions of the rules list."""
    return [
        {"field": "id", "headerName": t("rules.col.id", lang), "flex": 2},
        {"field": "name", "headerName": t("rules.col.name", lang), "flex": 3},
        {"field": "kind", "headerName": t("rules.col.kind", lang), "flex": 1},
        {"field": "area_level", "headerName": t("rules.col.level", lang), "flex": 1},
        {"field": "window_min", "headerName": t("rules.col.window", lang), "flex": 1},
        {"field": "enabled", "headerName": t("rules.col.enabled", lang), "flex": 1},
    ]


def pick_options(rules: list[dict], lang: str) -> list[dict]:
    """The rule picker: every rule, then "new rule"."""
    opts = [
        {"label": f"{r['id']} · {r['name_en'] if lang == 'en' else r['name_zh']}", "value": r["id"]}
        for r in rules
    ]
    return [*opts, {"label": t("rules.new", lang), "value": NEW}]


def _area(row: dict, lang: str) -> str:
    name = area_name({"name_zh": row.get("name_zh"), "name_en": row.get("name_en")}, lang)
    return f"{name} · {row['subject']}" if row.get("subject") else name


def result(view: dict, lang: str, timezone: str) -> html.Div:
    """A backtest's result (from :func:`data.warnings.editing.result_view`): the totals line,
    counts per level, the busiest areas and example warnings."""
    s = view["summary"]
    totals = t("rules.bt.totals", lang).format(
        n=s["warnings"],
        rate=f"{s['per_1000_cells_day']:.2f}",
        evals=s["evaluations"],
        days=s["history_days"],
        secs=s["elapsed_s"],
    )
    levels = html.Ul(
        [
            html.Li(
                f"{t(f'warn.level.{lv}', lang)}: {s['per_level'].get(lv, 0)}",
                className=f"og-warn-{lv}",
            )
            for lv in LEVEL_NAMES
        ],
        className="og-rules-levels",
    )
    areas = html.Table(
        [
            html.Tr([html.Th(t("rules.bt.area", lang)), html.Th(t("rules.bt.count", lang))]),
            *[html.Tr([html.Td(_area(a, lang)), html.Td(str(a["n"]))]) for a in view["per_area"]],
        ],
        className="og-rules-areas",
    )
    examples = html.Table(
        [
            html.Tr(
                [
                    html.Th(t("rules.bt.raised", lang)),
                    html.Th(t("rules.bt.level", lang)),
                    html.Th(t("rules.bt.area", lang)),
                    html.Th(t("rules.bt.value", lang)),
                    html.Th(t("rules.bt.usual", lang)),
                ]
            ),
            *[
                html.Tr(
                    [
                        html.Td(format_moment(e["raised_at"], timezone, lang, "date_time")),
                        html.Td(t(f"warn.level.{LEVEL_NAMES[int(e['top_rank']) - 1]}", lang)),
                        html.Td(_area(e, lang)),
                        html.Td(f"{e['value']:g}" if e["value"] is not None else ""),
                        html.Td(f"{e['baseline']:.2f}" if e["baseline"] is not None else ""),
                    ]
                )
                for e in view["examples"]
            ],
        ],
        className="og-rules-examples",
    )
    return html.Div(
        [
            html.P(totals, className="og-rules-totals"),
            levels,
            html.H4(t("rules.bt.per_area", lang)),
            areas,
            html.H4(t("rules.bt.examples", lang)),
            examples,
        ]
    )


def _field(key: str, control) -> html.Label:
    return html.Label([i18n_text(key), control], className="og-field og-rules-field")


def page() -> html.Div:
    """The list, the editor, the backtest controls and result, save; the callbacks fill them."""
    return html.Div(
        className="og-rules",
        children=[
            i18n_text("rules.title", tag=html.H2),
            dcc.Store(id=ids.RULES_VERSION, data=0),
            dag.AgGrid(
                id=ids.RULES_LIST,
                rowData=[],
                columnDefs=[],
                dashGridOptions={"theme": {"function": OFFICE_GRID_THEME}},
                columnSize="responsiveSizeToFit",
                style={"height": "16rem", "width": "100%"},
            ),
            _field("rules.pick", dcc.Dropdown(id=ids.RULES_PICK, clearable=False)),
            _field(
                "rules.text",
                dcc.Textarea(
                    id=ids.RULES_TEXT,
                    className="og-rules-text",
                ),
            ),
            html.Div(
                className="og-filter-bar",
                children=[
                    _field("rules.since", dcc.Input(id=ids.RULES_SINCE, type="text", size="12")),
                    _field("rules.until", dcc.Input(id=ids.RULES_UNTIL, type="text", size="12")),
                    _field(
                        "rules.step",
                        dcc.Input(id=ids.RULES_STEP, type="number", value=10, min=1, max=360),
                    ),
                    html.Button(
                        i18n_text("rules.backtest"),
                        id=ids.RULES_BACKTEST,
                        n_clicks=0,
                        className="og-btn",
                    ),
                    html.Button(
                        i18n_text("rules.save"),
                        id=ids.RULES_SAVE,
                        n_clicks=0,
                        className="og-btn og-btn-primary",
                    ),
                ],
            ),
            html.Div(id=ids.RULES_MESSAGE, className="og-rules-message"),
            dcc.Loading(html.Div(id=ids.RULES_RESULT, className="og-rules-result")),
        ],
    )


layout = framed(page)
