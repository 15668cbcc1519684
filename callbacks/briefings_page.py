"""Callback of the archived briefings page (``/briefings``): the archive's list inside the
signed-in user's scope (data.briefings.archive.listing); the files themselves are handed out by
``web.briefings``, which asks the policy again and logs each download."""

from __future__ import annotations

from dash import Input, Output

from callbacks.wiring import Wiring
from callbacks.wiring import runtime as _rt
from callbacks.wiring import scope as _scope
from data.briefings import archive
from layouts import ids
from layouts.briefings_page import listing_outputs
from layouts.i18n import normalise_language

_wiring = Wiring(page="briefings")
callback = _wiring.callback
register = _wiring.register


@callback(
    Output(ids.BRIEFINGS_GRID, "rowData"),
    Output(ids.BRIEFINGS_GRID, "columnDefs"),
    Output(ids.BRIEFINGS_COUNT, "children"),
    Output(ids.BRIEFINGS_SCHEDULE, "children"),
    Input(ids.LANG, "data"),
)
def show(lang):
    """The briefings the user may download, newest period first."""
    rt = _rt()
    frame = archive.listing(rt.db, _scope())
    return listing_outputs(frame, normalise_language(lang), rt.timezone, rt.settings.briefing_at)
