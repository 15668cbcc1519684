"""Citizen hotline (12345): requests by category, type, channel and dispatch."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from data.events import CATEGORIES
from data.feeds.simulator.frames import _dumps, _render
from data.feeds.simulator.parameters import (
    _CAT,
    _HEATING_TYPE_P,
    _HOTLINE_CHANNEL_P,
    _HOTLINE_ESCALATE,
    _HOTLINE_TYPE_P,
    _SRC,
)
from data.feeds.simulator.streams import _ST_POINT, _cum_table, _pick
from data.feeds.simulator.tables import (
    _HOTLINE_CHANNELS,
    _HOTLINE_TYPES,
    _HOTLINE_TYPES_ZH,
    _SUBTYPES,
)

if TYPE_CHECKING:
    from data.feeds.simulator.core import Simulator
    from data.feeds.simulator.episodes import Episode


def generate(
    sim: Simulator, slots: np.ndarray, cal: dict[str, np.ndarray], eps: list[Episode]
) -> tuple:
    """Columns of the hotline events in the slots (see ``frames.build_frame``)."""
    d = sim._draw("hotline", slots, sim._lambda("hotline", slots, cal), eps)
    cats = CATEGORIES["hotline"]
    u, cat = d["u"], d["cat"]
    cell = sim._cells_for("hotline", d, eps)
    lon, lat = sim._points(
        cell, u[:, 2], u[:, 3], (_ST_POINT, _SRC["hotline"], d["slot"], d["gen"])
    )
    sub = _pick(
        _cum_table([[p for _, _, p in _SUBTYPES["hotline"][c]] for c in cats]), cat, u[:, 4]
    )
    heat = _CAT["hotline"]["heating"]
    typ = _pick(
        _cum_table([_HOTLINE_TYPE_P, _HEATING_TYPE_P]), (cat == heat).astype(np.int64), u[:, 5]
    )
    chan = _pick(_cum_table([_HOTLINE_CHANNEL_P]), np.zeros(len(cat), dtype=np.int64), u[:, 6])
    dispatched = u[:, 7] < np.where(cat == heat, 0.6, 0.4)
    esc_p = np.array([_HOTLINE_ESCALATE.get(c, 0.05) for c in cats])[cat]
    escalate = ((u[:, 7] * 1024.0) % 1.0) < esc_p
    sev = np.where(typ % 2 == 1, 2, 1) + escalate  # help / complaint start at 2
    code = (((cat * 8 + sub) * 4 + typ) * 4 + chan) * 2 + dispatched

    def attrs(c: int) -> str:
        rest, disp = divmod(c, 2)
        rest, ch = divmod(rest, 4)
        rest, ty = divmod(rest, 4)
        ci, si = divmod(rest, 8)
        return _dumps(
            {
                "type": _HOTLINE_TYPES[ty],
                "subtype": _SUBTYPES["hotline"][cats[ci]][si][0],
                "channel": _HOTLINE_CHANNELS[ch],
                "dispatched": bool(disp),
            }
        )

    def text(c: int) -> str:
        ci, rest = divmod(c, 32)
        si, ty = divmod(rest, 4)
        return f"{_HOTLINE_TYPES_ZH[ty]}：{_SUBTYPES['hotline'][cats[ci]][si][1]}"

    tcode = (cat * 8 + sub) * 4 + typ
    return (
        d["slot"],
        d["time"],
        lon,
        lat,
        cat,
        sev,
        None,
        _render(tcode, text),
        _render(code, attrs),
    )
