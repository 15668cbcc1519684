"""Market supervision (12315): complaints, reports and enquiries about businesses, inspections and
food-safety sampling."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from data.events import CATEGORIES
from data.feeds.simulator.frames import _dumps, _render
from data.feeds.simulator.parameters import (
    _CAT,
    _FOOD_FAIL_RATE,
    _INSPECTION_PROBLEM_RATE,
    _SRC,
    N_BUSINESSES,
)
from data.feeds.simulator.streams import _ST_POINT, _cum_table, _pick
from data.feeds.simulator.tables import _SECTORS, _SUBTYPES

if TYPE_CHECKING:
    from data.feeds.simulator.core import Simulator
    from data.feeds.simulator.episodes import Episode


def generate(
    sim: Simulator, slots: np.ndarray, cal: dict[str, np.ndarray], eps: list[Episode]
) -> tuple:
    """Columns of the market events in the slots (see ``frames.build_frame``)."""
    d = sim._draw("market", slots, sim._lambda("market", slots, cal), eps)
    cats = CATEGORIES["market"]
    u, cat, ep = d["u"], d["cat"], d["ep"]
    biz = np.minimum(np.searchsorted(sim._biz["cum"], u[:, 1]), N_BUSINESSES - 1)
    # food-safety sampling only at food shops and restaurants
    food_biz = sim._biz["food"]
    sampling = cat == _CAT["market"]["food_safety"]
    if len(food_biz) and sampling.any():
        biz[sampling] = food_biz[(u[sampling, 1] * len(food_biz)).astype(np.int64)]
    if (ep >= 0).any():
        ep_biz = np.array([int(e.business[1:]) - 1 if e.business else 0 for e in eps])
        biz[ep >= 0] = ep_biz[ep[ep >= 0]]
    cell = sim._biz["cell"][biz]
    lon, lat = sim._points(cell, u[:, 2], u[:, 3], (_ST_POINT, _SRC["market"], d["slot"], d["gen"]))
    at_business = cat != _CAT["market"]["enquiry"]
    lon = np.where(at_business, sim._biz["lon"][biz], lon)
    lat = np.where(at_business, sim._biz["lat"][biz], lat)
    sub_cum = _cum_table([[p for _, _, p in _SUBTYPES["market"][c]] for c in cats])
    sub = _pick(sub_cum, cat, u[:, 4])
    # food-safety violations are reported against food businesses; others: consumer rights
    not_food = ~np.isin(sim._biz["sector"][biz], sim._biz["food_sectors"])
    sub = np.where((cat == _CAT["market"]["violation_report"]) & (sub == 0) & not_food, 1, sub)
    fail_p = np.where(
        cat == _CAT["market"]["food_safety"], _FOOD_FAIL_RATE, _INSPECTION_PROBLEM_RATE
    )
    bad = (u[:, 5] < fail_p) & (cat >= _CAT["market"]["inspection"])
    sev = np.select(
        [
            cat == _CAT["market"]["complaint"],
            cat == _CAT["market"]["violation_report"],
            bad,
            cat == _CAT["market"]["food_safety"],
        ],
        [
            np.where((u[:, 6] < 0.1) | (ep >= 0), 3, 2),
            3,
            np.where(cat == _CAT["market"]["food_safety"], 4, 3),
            1,
        ],
        1,
    )
    sector = sim._biz["sector"][biz]
    nb = N_BUSINESSES + 1
    bcode = np.where(at_business, biz + 1, 0)
    code = ((cat * 8 + sub) * 2 + bad) * nb + bcode
    tcode = ((cat * 8 + sub) * 2 + bad) * 16 + np.where(at_business, sector + 1, 0)

    def parts(c: int, radix: int) -> tuple[str, str, int, int]:
        rest, b = divmod(c, radix)
        rest, flag = divmod(rest, 2)
        ci, si = divmod(rest, 8)
        return cats[ci], _SUBTYPES["market"][cats[ci]][si], flag, b

    def attrs(c: int) -> str:
        cat_, (scode, _, _), flag, b = parts(c, nb)
        out: dict[str, Any] = {}
        if b:
            out["business"] = f"B{b:04d}"
            out["sector"] = _SECTORS[int(sim._biz["sector"][b - 1])][0]
        if cat_ in ("complaint", "violation_report"):
            out["issue"] = scode
        elif cat_ == "enquiry":
            out["topic"] = scode
        elif cat_ == "inspection":
            out["result"] = "problem" if flag else "ok"
        else:
            out["result"] = "fail" if flag else "pass"
        return _dumps(out)

    def text(c: int) -> str:
        cat_, (_, zh, _), flag, s = parts(c, 16)
        sec = _SECTORS[s - 1][1] if s else ""
        if cat_ == "complaint":
            return f"消费者投诉{sec}商户：{zh}"
        if cat_ == "violation_report":
            return f"举报{sec}商户{zh}"
        if cat_ == "enquiry":
            return f"12315{zh}"
        if cat_ == "inspection":
            return f"{sec}商户{zh}：{'发现问题' if flag else '未发现问题'}"
        return f"{sec}{zh}：{'不合格' if flag else '合格'}"

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
