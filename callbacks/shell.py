"""The desk pages' frame: the light / dark switch (clientside; nothing reaches the server).

The choice lives in a ``dcc.Store`` kept in the browser's localStorage (``ids.THEME``) and is
applied as ``data-theme`` on the document's root, where assets/tokens.css swaps the design
tokens; assets/theme.js applies the stored choice as the page loads, before the first paint. The
wall has neither the store nor the switch, so these callbacks never run there.
"""

from __future__ import annotations

from dash import Input, Output, State

from callbacks.wiring import Wiring
from layouts import ids

_wiring = Wiring(page=None)
register = _wiring.register

# the switch flips the stored theme
_wiring.clientside_callback(
    """
    function (n, theme) {
        return theme === 'light' ? 'dark' : 'light';
    }
    """,
    Output(ids.THEME, "data"),
    Input(ids.THEME_SWITCH, "n_clicks"),
    State(ids.THEME, "data"),
    prevent_initial_call=True,
)

# the stored theme on the document's root (also when the page opens); the switch shows its state
_wiring.clientside_callback(
    """
    function (theme) {
        const chosen = theme === 'light' ? 'light' : 'dark';
        document.documentElement.setAttribute('data-theme', chosen);
        return chosen === 'light' ? 'true' : 'false';
    }
    """,
    Output(ids.THEME_SWITCH, "aria-pressed"),
    Input(ids.THEME, "data"),
)
