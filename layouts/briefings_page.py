"""The archived briefings (page ``/briefings``): the scheduled daily, weekly and monthly
briefings a reader may download (a county leader: their own county's), newest first."""

from __future__ import annotations

import dash_ag_grid as dag
import pandas as pd
from dash import html

from layouts import ids
from layouts.cases_page import OFFICE_GRID_THEME
from layouts.i18n import format_moment, format_number, t
from layouts.shell import framed, i18n_text

# the grid's columns and the translation key of each one's header
COLUMNS = (
    ("period", "briefings.col.period"),
    ("day", "briefings.col.day"),
    ("area", "briefings.col.area"),
    ("lang", "briefings.col.lang"),
    ("events", "briefings.col.events"),
    ("generated_at", "briefings.col.generated"),
    ("file", "briefings.col.file"),
)


def listing_outputs(frame: pd.DataFrame, lang: str, timezone: str, at: str) -> tuple:
    """The page's outputs for the archive's rows (data.briefings.archive.listing): grid rows
    (one per period, area and language, with a download link per format), columns, the count
    line and the schedule line (``at``: the local time briefings are written)."""
    rows: dict[tuple, dict] = {}
    for r in frame.itertuples():
        key = (r.period, r.day, r.area_code, r.lang)
        row = rows.get(key)
        if row is None:
            row = rows[key] = {
                "period": t(f"briefings.period.{r.period}", lang),
                "day": format_moment(r.day, timezone, lang, "date"),
                "area": (r.name_en if lang == "en" else r.name_zh) or r.area_code,
                "lang": t(f"lang.name.{r.lang}", lang),
                "events": format_number(int(r.events), lang),
                "generated_at": format_moment(r.generated_at, timezone, lang, "date_time"),
                "links": [],
            }
        row["links"].append(f"[{r.fmt.upper()}](/briefings/file/{int(r.id)})")
    out = [{**row, "file": " · ".join(row.pop("links"))} for row in rows.values()]
    columns = [{"field": f, "headerName": t(key, lang)} for f, key in COLUMNS]
    columns[-1].update(cellRenderer="markdown")
    count = t("briefings.count", lang).format(n=len(out))
    return out, columns, count, t("briefings.schedule", lang).format(at=at)


def page() -> html.Div:
    """Title, schedule line, count and the grid; the callback fills them."""
    return html.Div(
        className="og-audit og-briefings",
        children=[
            i18n_text("briefings.title", tag=html.H2),
            html.P(id=ids.BRIEFINGS_SCHEDULE, className="og-lead"),
            html.Span(id=ids.BRIEFINGS_COUNT, className="og-count"),
            dag.AgGrid(
                id=ids.BRIEFINGS_GRID,
                rowData=[],
                columnDefs=[],
                dashGridOptions={"theme": {"function": OFFICE_GRID_THEME}},
                columnSize="responsiveSizeToFit",
                style={"height": "70vh", "width": "100%"},
            ),
        ],
    )


layout = framed(page)
