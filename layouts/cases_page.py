"""The case board (page ``/cases``): a department's cases, its actions, its inbox.

The department selector stands in for the signed-in user's department until the lead binds it.
Layout functions only build component trees; ``callbacks/cases_page.py`` fills them.
"""

from __future__ import annotations

import dash_ag_grid as dag
import plotly.graph_objects as go
from dash import dcc, html

from layouts import ids
from layouts.desk_period import export_links, period_picker
from layouts.figures import DESK_MAP_BACKGROUND, offline_style
from layouts.i18n import DEFAULT_LANGUAGE, display_name, format_moment, t
from layouts.shell import GRID_THEME, framed, i18n_text

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
    "instruct",
    "close",
)

# a warning's level rank (1 blue .. 4 red) -> its colour's name
LEVEL_NAMES = {1: "blue", 2: "yellow", 3: "orange", 4: "red"}

OFFICE_GRID_THEME = GRID_THEME  # the desk theme (layouts/shell.py)


BOARD_COLUMNS = (
    *("id", "state", "category", "title", "department"),
    *("deadline", "overdue", "urgent", "returns", "reworks"),
)
HISTORY_COLUMNS = ("time", "action", "actor", "department", "reason")


def category_name(category: str, lang: str, catalogue=None) -> str:
    """Display name of a case category (the code itself for warning rules without a name);
    ``catalogue``: the deployment's sources (configured sources' category names)."""
    try:
        return display_name(f"category.{category}", lang, catalogue)
    except KeyError:
        return category


def department_name(names: dict, department, lang: str) -> str:
    """A department's name in ``lang`` (``names``: id -> ``{"zh", "en"}``; else the id)."""
    if not isinstance(department, str) or not department:
        return ""
    if department == "*":  # data.cases.desk.ALL_CASES: every case of the reader's area
        return t("cases.all", lang)
    found = names.get(department)
    return found["en" if lang == "en" else "zh"] if found else department


def department_options(departments: list[str], names: dict, lang: str) -> list[dict]:
    """Dropdown options for ``departments``, labelled in ``lang``."""
    return [{"label": department_name(names, d, lang), "value": d} for d in departments]


def category_options(categories: list[str], lang: str, catalogue=None) -> list[dict]:
    """The new-case category dropdown: display name and code."""
    return [{"label": f"{category_name(c, lang, catalogue)} ({c})", "value": c} for c in categories]


def board_rows(view: dict, lang: str, timezone: str, catalogue=None) -> list[dict]:
    """The board grid's rows for ``view`` (from :func:`data.cases.desk.board_view`)."""
    rows = []
    for r in view["cases"].to_dict("records"):
        if r["department"]:
            dept = department_name(view["names"], r["department"], lang)
        else:
            dept = t("cases.needs_decision", lang) if r["needs_decision"] else ""
        rows.append(
            {
                "id": int(r["id"]),
                "state": t(f"case.state.{r['state']}", lang),
                "state_code": r["state"],
                "category": category_name(r["category"], lang, catalogue),
                "title": r["title"] or "",
                "department": dept,
                "deadline": format_moment(r["deadline_at"], timezone, lang, "day_time"),
                "overdue": t("cases.yes", lang) if r["overdue"] else "",
                "urgent": t("cases.yes", lang) if r["urgent"] else "",
                "returns": int(r["returns"]),
                "reworks": int(r["reworks"]),
                # not a column: any action on the case moves it (the detail is drawn again)
                "updated": str(r.get("updated_at")),
            }
        )
    return rows


def board_api_filters(
    department: str | None, since: str | None, until: str | None, open_states=()
) -> dict:
    """The read API's parameters (/api/cases) for the board of ``department`` (None: every
    case of the reader's area) so an export holds the board's cases: with a period
    (``since``/``until``, ISO text) the cases created in it, in every state; without one the
    open cases (``open_states``). The reader's area and department are the API's to apply
    (data.policy), as for the page."""
    period = {"since": since, "until": until}
    if not since and not until:
        period["state"] = sorted(open_states)
    return {"department": department, **period}


def board_columns(lang: str) -> list[dict]:
    """The board grid's column definitions in ``lang``."""
    return [{"field": c, "headerName": t(f"cases.col.{c}", lang)} for c in BOARD_COLUMNS]


def inbox_list(inbox, lang: str, timezone: str):
    """The department's inbox (a frame of due notes) as a list, or the empty-inbox line."""
    items = []
    for note in inbox.to_dict("records"):
        when = format_moment(note["deliver_at"], timezone, lang, "day_time")
        kind = t("note." + note["kind"], lang)
        items.append(html.Li(f"{when} · {kind} · #{note['case_id']} {note['title'] or ''}"))
    return html.Ul(items) if items else t("cases.inbox.empty", lang)


def history_table(view: dict | None, lang: str, timezone: str):
    """A case's desk (from :func:`data.cases.desk.history_view`): the case in one line, its place
    on a map, its evidence (the warning and the events it came from), its photos and its
    timeline (every transition: when, what, who, which department, why); "" for none."""
    if view is None:
        return ""
    head = html.Tr([html.Th(t(f"cases.col.{c}", lang)) for c in HISTORY_COLUMNS])
    body = [
        html.Tr(
            [
                html.Td(format_moment(r["occurred_at"], timezone, lang, "day_time")),
                html.Td(t(f"case.action.{r['action']}", lang)),
                html.Td(r["actor"]),
                html.Td(department_name(view["names"], r["department"], lang)),
                html.Td(r["reason"] if isinstance(r["reason"], str) else ""),
            ],
            className="og-instruction" if r["action"] == "instruct" else None,
        )
        for r in view["transitions"].to_dict("records")
    ]
    parts = []
    case = view.get("case")
    if case is not None:
        parts += _case_head(case, view["names"], lang, timezone)
    parts += _evidence(view, lang, timezone)
    parts += _photos(view.get("photos"), lang)
    parts += [html.H4(t("cases.timeline", lang)), html.Table([head, *body], className="og-history")]
    return html.Div(parts, className="og-case-desk")


def _case_head(case: dict, names: dict, lang: str, timezone: str) -> list:
    line = " · ".join(
        x
        for x in (
            f"#{int(case['id'])} {case.get('title') or ''}".strip(),
            category_name(str(case["category"]), lang),
            t(f"case.state.{case['state']}", lang),
            department_name(names, case.get("department"), lang) if case.get("department") else "",
            t("cases.deadline", lang).format(
                at=format_moment(case["deadline_at"], timezone, lang, "day_time")
            )
            if case.get("deadline_at") is not None and str(case.get("deadline_at")) != "NaT"
            else "",
        )
        if x
    )
    out = [html.H4(line, className="og-case-head")]
    lon, lat = case.get("lon"), case.get("lat")
    if lon is not None and lat is not None and lon == lon and lat == lat:
        out.append(
            dcc.Graph(
                figure=case_place_map(float(lon), float(lat)),
                config={"displayModeBar": False, "staticPlot": True},
                className="og-case-map",
                style={"height": "180px"},
            )
        )
    return out


def case_place_map(lon: float, lat: float) -> go.Figure:
    """A small offline map of a case's place (WGS84 lon/lat): a marker on the empty style."""
    fig = go.Figure(
        go.Scattermap(lon=[lon], lat=[lat], mode="markers", marker={"size": 16, "color": "#f78c3a"})
    )
    fig.update_layout(
        map={
            "style": offline_style(DESK_MAP_BACKGROUND),
            "center": {"lon": lon, "lat": lat},
            "zoom": 13,
        },
        margin={"l": 0, "r": 0, "t": 0, "b": 0},
        paper_bgcolor=DESK_MAP_BACKGROUND,
        showlegend=False,
    )
    return fig


def _evidence(view: dict, lang: str, timezone: str) -> list:
    out = []
    warning = view.get("warning")
    if warning:
        out.append(
            html.P(
                [
                    t("cases.from_warning", lang).format(
                        id=warning["id"],
                        level=t(
                            f"warn.level.{LEVEL_NAMES.get(int(warning['level_rank']), 'blue')}",
                            lang,
                        ),
                        at=format_moment(warning["raised_at"], timezone, lang, "day_time"),
                    ),
                    " ",
                    dcc.Link(
                        t("cases.open_warning", lang), href=f"/warnings?warning={warning['id']}"
                    ),
                ]
            )
        )
    events = view.get("events")
    if events is not None and len(events):
        items = [
            html.Li(
                f"{format_moment(e['event_time'], timezone, lang, 'day_time')} · "
                f"{category_name(str(e['source']) + '.' + str(e['category']), lang)} · "
                f"{e['text'] or e['id']}"
            )
            for e in events.to_dict("records")
        ]
        out += [html.H4(t("cases.evidence", lang)), html.Ul(items, className="og-evidence")]
    return out


def _photos(photos, lang: str) -> list:
    if photos is None or not len(photos):
        return []
    links = [
        html.A(
            html.Img(src=f"/cases/attachment/{int(p['id'])}", alt=p["name"] or "", loading="lazy"),
            href=f"/cases/attachment/{int(p['id'])}",
            target="_blank",
            className="og-case-photo",
        )
        for p in photos.to_dict("records")
    ]
    return [html.H4(t("cases.photos", lang)), html.Div(links, className="og-photos")]


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
            dcc.Store(id=ids.CASES_SHOWN),
            dcc.Store(id=ids.CASES_QUERY),
            dcc.Store(id=ids.CASES_URL_SYNC),
            html.Div(
                className="og-cases-bar",
                children=[
                    i18n_text("cases.department", tag=html.Label),
                    dcc.Dropdown(id=ids.CASES_DEPT, clearable=False, style={"minWidth": "320px"}),
                    period_picker(ids.CASES_PERIOD),
                    *export_links(ids.CASES_CSV, ids.CASES_XLSX),
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
