"""Police incidents (110): a counting process per category, subtypes and severities."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from data.events import CATEGORIES
from data.feeds.simulator.frames import _dumps, _render
from data.feeds.simulator.parameters import _POLICE_SEV, _SRC
from data.feeds.simulator.streams import _ST_POINT, _cum_table, _pick
from data.feeds.simulator.tables import _SUBTYPES

if TYPE_CHECKING:
    from data.feeds.simulator.core import Simulator
    from data.feeds.simulator.episodes import Episode


def generate(
    sim: Simulator, slots: np.ndarray, cal: dict[str, np.ndarray], eps: list[Episode]
) -> tuple:
    """Columns of the police events in the slots (see ``frames.build_frame``)."""
    d = sim._draw("police", slots, sim._lambda("police", slots, cal), eps)
    cats = CATEGORIES["police"]
    sub_cum = _cum_table([[p for _, _, p in _SUBTYPES["police"][c]] for c in cats])
    sev_cum = _cum_table([_POLICE_SEV[c] for c in cats])
    u, cat = d["u"], d["cat"]
    cell = sim._cells_for("police", d, eps)
    lon, lat = sim._points(cell, u[:, 2], u[:, 3], (_ST_POINT, _SRC["police"], d["slot"], d["gen"]))
    sub = _pick(sub_cum, cat, u[:, 4])
    sev = _pick(sev_cum, cat, u[:, 5]) + 1
    sev = np.where(d["ep"] >= 0, np.maximum(sev, 2), sev)
    code = cat * 16 + sub

    def text(c: int) -> str:
        return _SUBTYPES["police"][cats[c // 16]][c % 16][1]

    def attrs(c: int) -> str:
        return _dumps({"subtype": _SUBTYPES["police"][cats[c // 16]][c % 16][0]})

    return (
        d["slot"],
        d["time"],
        lon,
        lat,
        cat,
        sev,
        None,
        _render(code, text),
        _render(code, attrs),
    )
