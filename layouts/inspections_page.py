"""Targeted inspection lists (page ``/inspections``): the ranked list with each entry's reasons in
words and figures, the entities exempt this period, and the CSV / Excel exports.

The reasons' words are built here from the figures of :mod:`data.inspections` (the same
function writes the text column of the exports, web/inspections.py)."""

from __future__ import annotations

from urllib.parse import urlencode

import dash_ag_grid as dag
from dash import dcc, html

from layouts import ids
from layouts.cases_page import OFFICE_GRID_THEME, category_name
from layouts.i18n import (
    DEFAULT_LANGUAGE,
    format_decimal,
    format_moment,
    format_percent,
    label,
    t,
)
from layouts.shell import framed, i18n_text

LEVEL_CHOICES = ("county", "township", "community", "department")
LIST_COLUMNS = ("rank", "name", "level", "score", "reasons")
EXEMPT_COLUMNS = ("name", "level", "why")


def _num(v) -> str:
    return str(int(v)) if float(v).is_integer() else format_decimal(float(v), digits=1)


def _place(top: dict, lang: str) -> str:
    kind = top["kind"]
    category = category_name(top["category"], lang) if top.get("category") else ""
    return t(f"inspect.place.{kind}", lang).format(place=top["place"], category=category)


def reason_text(reason: dict, lang: str, catalogue=None) -> str:
    """One reason in words, with its figures and the threshold it reached (``catalogue``: the
    deployment's sources, for their configured names)."""
    code, f = reason["code"], reason["figures"]
    values: dict = {"threshold": _num(reason["threshold"])}
    if code == "repeat_complaints":
        top = f["top"][0]
        values |= {
            "places": f["places"],
            "complaints": f["complaints"],
            "top": _place(top, lang),
            "top_n": top["complaints"],
        }
    elif code == "feed_silent":
        values |= {
            "sources": t("inspect.and", lang).join(
                label(f"source.{s}", lang, catalogue) for s in f["sources"]
            ),
            "hours": format_decimal(f["hours"], lang),
            "expected": _num(round(f["expected"])),
        }
    elif code == "risk":
        values["risk"] = _num(f["risk"])
    else:
        values |= {k: _num(v) for k, v in f.items()}
    return t(f"inspect.reason.{code}", lang).format(**values)


def why_text(why: dict, lang: str) -> str:
    """One reason for an exemption in words."""
    f = why["figures"]
    if why["code"] == "on_time":
        return t("inspect.why.on_time", lang).format(
            rate=format_percent(f["on_time_rate"], lang),
            cases=f["cases"],
            threshold=format_percent(why["threshold"], lang, digits=0),
        )
    return t(f"inspect.why.{why['code']}", lang)


def _name(entry: dict, lang: str) -> str:
    return str(entry["name_en"] if lang == "en" else entry["name_zh"]) or entry["entity"]


def _level(level: str, lang: str) -> str:
    return t("inspect.level.department" if level == "department" else f"level.{level}", lang)


def list_rows(view: dict, lang: str, catalogue=None) -> list[dict]:
    """The list grid's rows (from :func:`data.inspections.build`)."""
    sep = t("inspect.sep", lang)
    return [
        {
            "rank": e["rank"],
            "entity": e["entity"],
            "name": _name(e, lang),
            "level": _level(e["level"], lang),
            "score": e["score"],
            "reasons": sep.join(reason_text(r, lang, catalogue) for r in e["reasons"]),
        }
        for e in view["entries"]
    ]


def exempt_rows(view: dict, lang: str) -> list[dict]:
    """The exempt grid's rows."""
    sep = t("inspect.sep", lang)
    return [
        {
            "entity": e["entity"],
            "name": _name(e, lang),
            "level": _level(e["level"], lang),
            "why": sep.join(why_text(w, lang) for w in e["why"]),
        }
        for e in view["exempt"]
    ]


def columns(fields: tuple[str, ...], lang: str) -> list[dict]:
    """Column definitions with headers in ``lang`` (the reasons column wraps)."""
    out = []
    for f in fields:
        col = {"field": f, "headerName": t(f"inspect.col.{f}", lang)}
        if f in ("reasons", "why"):
            col |= {"flex": 4, "wrapText": True, "autoHeight": True}
        elif f == "name":
            col["flex"] = 1
        else:
            col["width"] = 150 if f == "level" else 100
        out.append(col)
    return out


def level_options(lang: str) -> list[dict]:
    """The level dropdown's choices in ``lang``."""
    return [{"label": _level(v, lang), "value": v} for v in LEVEL_CHOICES]


def period_placeholders(lang: str) -> tuple[str, str]:
    """The period picker's empty-field texts in ``lang`` (empty: the last 7 days)."""
    return t("inspect.since", lang), t("inspect.until", lang)


def export_href(fmt: str, level: str, since: str | None, until: str | None, lang: str) -> str:
    """The read API's URL for this list as a file (``since``/``until``: bounds as the API reads
    them, a date or a time with offset; none: the API's default period)."""
    query = {"level": level, "format": fmt, "lang": lang}
    query |= {k: v for k, v in (("since", since), ("until", until)) if v}
    return "/api/inspections?" + urlencode(query)


def summary(view: dict, lang: str, timezone: str) -> str:
    """The line above the list: the period and how many are listed and exempt."""
    line = t("inspect.summary", lang).format(
        since=format_moment(view["since"], timezone, lang, "day_time"),
        until=format_moment(view["until"], timezone, lang, "day_time"),
        listed=len(view["entries"]),
        exempt=len(view["exempt"]),
    )
    notes = [t(f"inspect.note.{n}", lang) for n in view.get("notes", [])]
    return t("inspect.sep", lang).join([line, *notes])


def _grid(grid_id: str, height: str) -> dag.AgGrid:
    return dag.AgGrid(
        id=grid_id,
        rowData=[],
        columnDefs=[],
        dashGridOptions={"theme": {"function": OFFICE_GRID_THEME}},
        style={"height": height, "width": "100%"},
    )


def page() -> html.Div:
    return html.Div(
        className="og-inspections",
        children=[
            dcc.Store(id=ids.INSPECT_QUERY),
            dcc.Store(id=ids.INSPECT_URL_SYNC),
            i18n_text("inspect.title", tag=html.H2),
            html.Div(
                className="og-filter-bar",
                children=[
                    i18n_text("inspect.period"),
                    html.Div(
                        dcc.DatePickerRange(
                            id=ids.INSPECT_PERIOD,
                            display_format="YYYY-MM-DD",
                            clearable=True,
                            start_date_placeholder_text=t("inspect.since"),
                            end_date_placeholder_text=t("inspect.until"),
                        ),
                        className="og-period",
                    ),
                    i18n_text("inspect.level"),
                    dcc.Dropdown(
                        id=ids.INSPECT_LEVEL,
                        options=level_options(DEFAULT_LANGUAGE),
                        value="county",
                        clearable=False,
                    ),
                    html.A(
                        i18n_text("inspect.export.csv"),
                        id=ids.INSPECT_CSV,
                        href="",
                        download="",
                        className="og-lang",
                    ),
                    html.A(
                        i18n_text("inspect.export.xlsx"),
                        id=ids.INSPECT_XLSX,
                        href="",
                        download="",
                        className="og-lang",
                    ),
                ],
            ),
            html.P(id=ids.INSPECT_SUMMARY, className="og-lead"),
            i18n_text("inspect.list", tag=html.H3),
            _grid(ids.INSPECT_GRID, "420px"),
            i18n_text("inspect.exempt", tag=html.H3),
            _grid(ids.INSPECT_EXEMPT_GRID, "260px"),
        ],
    )


layout = framed(page)
