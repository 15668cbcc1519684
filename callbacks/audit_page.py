"""Callbacks of the audit trail page (``/audit``): administrators only, decided on the server.

The page's guard (``Wiring(page="audit")``, :mod:`callbacks.wiring`) refuses everyone else with
403 before the callback runs, as on every other page; the page itself shows them the common
refusal (``layouts.shell.forbidden``).
"""

from __future__ import annotations

from dash import Input, Output

from callbacks.wiring import Wiring
from callbacks.wiring import runtime as _rt
from data import audit, policy
from data.times import iso, query_bounds
from layouts import ids
from layouts.audit_page import trail_outputs
from layouts.i18n import normalise_language
from web.session import current_user

_wiring = Wiring(page="audit")
callback = _wiring.callback
register = _wiring.register
GRID_LIMIT = 2000  # rows shown; the CSV export has them all


@callback(
    Output(ids.AUDIT_GRID, "rowData"),
    Output(ids.AUDIT_GRID, "columnDefs"),
    Output(ids.AUDIT_COUNT, "children"),
    Output(ids.AUDIT_EXPORT, "href"),
    Output(ids.AUDIT_EXPORT_XLSX, "href"),
    Output(ids.AUDIT_ACTOR, "options"),
    Output(ids.AUDIT_ACTION, "options"),
    Output(ids.AUDIT_PERIOD, "options"),
    Input(ids.AUDIT_ACTOR, "value"),
    Input(ids.AUDIT_ACTION, "value"),
    Input(ids.AUDIT_PERIOD, "value"),
    Input(ids.AUDIT_OBJECT, "value"),
    Input(ids.LANG, "data"),
    Input(ids.URL, "search"),
)
def show(actor, action, period, obj, lang, query):
    """The rows matching the filters (newest first) with the export links for the same rows;
    the address's ``since``/``until`` (a shared link) stand for the named period."""
    # defence in depth: the page guard already refused; a refusal here answers 403 the same way
    policy.require(current_user(), "audit_view")
    rt = _rt()
    since, until = query_bounds(query if isinstance(query, str) else "", rt.timezone)
    view = audit.trail_view(
        rt.db,
        actor=actor,
        action=action,
        period=period,
        object_text=obj,
        limit=GRID_LIMIT,
        since=since,
        until=until,
    )
    filters = {"actor": actor, "action": action, "object": obj}
    if since is not None or until is not None:
        filters["bounds"] = {"since": iso(since), "until": iso(until)}
    return trail_outputs(view, filters, normalise_language(lang), rt.timezone)
