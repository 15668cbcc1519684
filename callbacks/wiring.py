"""How the callback modules attach themselves to an app, and what every callback asks first.

Dash hands its global ``@dash.callback`` list to the first app built in a process only, and tests
and tools build several apps in one process. So each module records its callbacks at import in a
:class:`Wiring` (filled once, never changed afterwards) and ``create_app`` calls its
``register(app)``.
"""

from __future__ import annotations

import dash

from data.areas import AreaScope
from data.session import current_scope, current_user
from data.session import runtime as runtime


class Wiring:
    """The server and clientside callbacks of one module, attached to each app by ``register``."""

    def __init__(self) -> None:
        self._items: list[tuple[str, tuple, dict, object]] = []

    def callback(self, *args, **kwargs):
        """Record a server callback (same arguments as ``dash.callback``)."""

        def record(func):
            self._items.append(("server", args, kwargs, func))
            return func

        return record

    def clientside_callback(self, function, *args, **kwargs) -> None:
        """Record a clientside callback (same arguments as ``dash.clientside_callback``)."""
        self._items.append(("client", (function, *args), kwargs, None))

    def register(self, app: dash.Dash) -> None:
        """Attach every recorded callback to ``app``."""
        for kind, args, kwargs, func in self._items:
            if kind == "server":
                app.callback(*args, **kwargs)(func)
            else:
                app.clientside_callback(*args, **kwargs)


def scope() -> AreaScope:
    """The signed-in user's area, decided on the server (data.session)."""
    return current_scope()


def actor() -> str:
    """The signed-in user's name, for the records of who did what."""
    user = current_user()
    return getattr(user, "username", None) or "anonymous"
