"""Callbacks of the audit trail page (``/audit``): administrators only, decided on the server."""

from __future__ import annotations

from urllib.parse import urlencode

import pandas as pd
from dash import Input, Output

from callbacks.wiring import Wiring
from callbacks.wiring import runtime as _rt
from data import audit, policy
from layouts import ids
from layouts.i18n import normalise_language, t
from web.session import current_user

_wiring = Wiring()
callback = _wiring.callback
register = _wiring.register
GRID_LIMIT = 2000  # rows shown; the CSV export has them all
_COLUMNS = (
    ("occurred_at", "audit.time"),
    ("actor", "audit.actor"),
    ("action", "audit.action"),
    ("object_type", "audit.object"),
    ("object_id", "audit.object"),
    ("address", "audit.address"),
    ("outcome", "audit.outcome"),
    ("detail", "audit.detail"),
)


def export_href(actor=None, action=None, period=None, obj=None) -> str:
    """The CSV export's address for these filters."""
    given = {"actor": actor, "action": action, "period": period, "object": obj}
    params = {k: v for k, v in given.items() if v}
    return "/audit/export.csv" + ("?" + urlencode(params) if params else "")


@callback(
    Output(ids.AUDIT_GRID, "rowData"),
    Output(ids.AUDIT_GRID, "columnDefs"),
    Output(ids.AUDIT_COUNT, "children"),
    Output(ids.AUDIT_EXPORT, "href"),
    Output(ids.AUDIT_ACTOR, "options"),
    Output(ids.AUDIT_ACTION, "options"),
    Output(ids.AUDIT_PERIOD, "options"),
    Output(ids.AUDIT_DENIED, "children"),
    Input(ids.AUDIT_ACTOR, "value"),
    Input(ids.AUDIT_ACTION, "value"),
    Input(ids.AUDIT_PERIOD, "value"),
    Input(ids.AUDIT_OBJECT, "value"),
    Input(ids.LANG, "data"),
)
def show(actor, action, period, obj, lang):
    """The rows matching the filters (newest first) with the export link for the same rows."""
    lang = normalise_language(lang)
    periods = [{"label": t(f"audit.period.{p}", lang), "value": p} for p in audit.PERIODS]
    if not policy.may(current_user(), "audit_view"):
        return [], [], "", "", [], [], periods, t("audit.denied", lang)
    rt = _rt()
    try:
        since = audit.since_for_period(period)
    except ValueError:
        since, period = audit.since_for_period("24h"), "24h"
    frame = audit.query(
        rt.db,
        actor=actor or None,
        action=action or None,
        object_text=(obj or "").strip() or None,
        since=since,
        limit=GRID_LIMIT,
    )
    if not frame.empty:
        frame["occurred_at"] = (
            pd.to_datetime(frame["occurred_at"], utc=True)
            .dt.tz_convert(rt.timezone)
            .dt.strftime("%Y-%m-%d %H:%M:%S")
        )
    rows = frame.astype(object).where(frame.notna(), None).to_dict("records")
    columns = [{"field": f, "headerName": t(key, lang)} for f, key in _COLUMNS]
    everyone = [{"label": t("audit.any", lang), "value": ""}]
    actors = everyone + [{"label": a, "value": a} for a in audit.actors(rt.db)]
    actions = everyone + [{"label": a, "value": a} for a in audit.actions(rt.db)]
    href = export_href(actor, action, period, (obj or "").strip() or None)
    count = t("audit.count", lang).format(n=len(rows))
    return rows, columns, count, href, actors, actions, periods, ""
