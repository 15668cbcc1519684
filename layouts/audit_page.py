"""The audit trail (page ``/audit``, administrators only): who did what, when, from where, to
what; filtered by actor, action, period and object, and exported to CSV."""

from __future__ import annotations

from urllib.parse import urlencode

import dash_ag_grid as dag
from dash import dcc, html

from layouts import ids
from layouts.cases_page import OFFICE_GRID_THEME
from layouts.i18n import format_moment, t
from layouts.shell import framed, i18n_text

# the grid's columns and the translation key of each one's header
COLUMNS = (
    ("occurred_at", "audit.time"),
    ("actor", "audit.actor"),
    ("action", "audit.action"),
    ("object_type", "audit.object"),
    ("object_id", "audit.object"),
    ("address", "audit.address"),
    ("outcome", "audit.outcome"),
    ("detail", "audit.detail"),
)


def export_href(actor=None, action=None, period=None, obj=None, fmt="csv", bounds=None) -> str:
    """The export's address (``fmt``: csv or xlsx) for these filters; ``bounds``: the
    address's ``since``/``until`` (ISO text), used instead of the named ``period``."""
    given = {"actor": actor, "action": action, "object": obj}
    given |= dict(bounds) if bounds else {"period": period}
    params = {k: v for k, v in given.items() if v}
    return f"/audit/export.{fmt}" + ("?" + urlencode(params) if params else "")


def trail_outputs(view: dict, filters: dict, lang: str, timezone: str) -> tuple:
    """The page's outputs for ``view`` (from :func:`data.audit.trail_view`): grid rows (times
    in the region's zone, the language's way), columns, the count line, the export link for the
    same ``filters`` (actor, action, object), and the three filters' options."""
    frame = view["rows"]
    rows = frame.astype(object).where(frame.notna(), None).to_dict("records")
    for row in rows:
        row["occurred_at"] = format_moment(row["occurred_at"], timezone, lang, "date_time_seconds")
    columns = [{"field": f, "headerName": t(key, lang)} for f, key in COLUMNS]
    everyone = [{"label": t("audit.any", lang), "value": ""}]
    actors = everyone + [{"label": a, "value": a} for a in view["actors"]]
    actions = everyone + [{"label": a, "value": a} for a in view["actions"]]
    periods = [{"label": t(f"audit.period.{p}", lang), "value": p} for p in view["periods"]]
    obj = (filters.get("object") or "").strip() or None
    bounds = filters.get("bounds")
    href, xlsx = (
        export_href(filters.get("actor"), filters.get("action"), view["period"], obj, fmt, bounds)
        for fmt in ("csv", "xlsx")
    )
    count = t("audit.count", lang).format(n=len(rows))
    if bounds:
        count = t("audit.count_period", lang).format(
            n=len(rows),
            since=format_moment(view["since"], timezone, lang, "day_time")
            if view["since"]
            else "…",
            until=format_moment(view["until"], timezone, lang, "day_time")
            if view["until"]
            else "…",
        )
    return rows, columns, count, href, xlsx, actors, actions, periods


def _filter(key: str, control) -> html.Label:
    return html.Label([i18n_text(key), control], className="og-field og-audit-filter")


def page() -> html.Div:
    """Filters, the count, the export link and the grid; the callback fills them."""
    return html.Div(
        className="og-audit",
        children=[
            i18n_text("audit.title", tag=html.H2),
            html.Div(
                className="og-filter-bar",
                children=[
                    _filter(
                        "audit.actor",
                        dcc.Dropdown(id=ids.AUDIT_ACTOR),
                    ),
                    _filter(
                        "audit.action",
                        dcc.Dropdown(id=ids.AUDIT_ACTION),
                    ),
                    _filter(
                        "audit.period",
                        dcc.Dropdown(
                            id=ids.AUDIT_PERIOD,
                            value="24h",
                            clearable=False,
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
                    html.A(
                        i18n_text("audit.export_xlsx"),
                        id=ids.AUDIT_EXPORT_XLSX,
                        href="/audit/export.xlsx",
                        className="og-lang",
                    ),
                    html.Span(id=ids.AUDIT_COUNT, className="og-count"),
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
