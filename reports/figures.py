"""The figures builder's table as files: CSV, Excel (the table, and the request on a second
sheet) and Word (title, period, the table, each indicator's definition). Words come from the
translation tables through :mod:`layouts.figures_table`, the same words the page shows; numbers
in CSV and Excel are the table's own values (a share as 0.25, formatted as per cent in Excel),
in Word as the page shows them."""

from __future__ import annotations

import pandas as pd

from data import indicators
from data.figures import Figures
from layouts.figures_table import display_rows, fields, headers, indicator_name, period_text
from layouts.i18n import t
from reports.tables import csv_bytes, xlsx_bytes

FORMATS: tuple[str, ...] = ("csv", "xlsx", "docx")
_RAW = ("value", "compare_value", "change", "change_pct")


def _none(v):
    return None if v is None or pd.isna(v) else float(v)


def _raw_rows(figs: Figures, lang: str) -> tuple[list[str], list[list], list[dict[int, str]]]:
    """Header, rows with the table's exact values, and each row's Excel number formats."""
    compared = figs.periods.compare_since is not None
    cols = fields(compared)
    words = display_rows(figs.table, figs.names, lang)
    rows, formats = [], []
    for shown_row, (_, raw) in zip(words, figs.table.iterrows(), strict=True):
        row = []
        for f in cols:
            if f in _RAW:
                v = _none(raw[f])
                whole = raw["unit"] == "count" and f != "change_pct"
                row.append(int(v) if v is not None and whole else v)
            else:
                row.append(shown_row[f])
        rows.append(row)
        fmt = {}
        if raw["unit"] == "share":
            fmt |= {cols.index(f): "0.0%" for f in ("value", "compare_value") if f in cols}
            if "change" in cols:
                fmt[cols.index("change")] = "+0.0%;-0.0%;0.0%"
        if "change_pct" in cols:
            fmt[cols.index("change_pct")] = "+0.0;-0.0;0.0"
        formats.append(fmt)
    return headers(compared, lang), rows, formats


def _request_rows(figs: Figures, lang: str, timezone: str) -> list[list]:
    """The request behind the table, as (field, value) rows: what, where, when, compared with."""
    req, p, tab = figs.request, figs.periods, figs.table
    names = {}
    for r in tab.drop_duplicates("area").to_dict("records"):
        names[r["area"]] = (r["name_en"] if lang == "en" else r["name_zh"]) or r["area"]
    rows = [
        [
            t("figures.req.indicators", lang),
            "; ".join(f"{indicator_name(i, lang)} ({i})" for i in req.indicators),
        ],
        [
            t("figures.req.areas", lang),
            "; ".join(f"{names.get(c, c)} ({c})" for c in req.areas),
        ],
        [t("figures.req.period", lang), period_text(p.since, p.until, timezone, lang)],
        [t("figures.req.compare", lang), t(f"figures.compare.{req.compare}", lang)],
    ]
    if p.compare_since is not None:
        rows.append(
            [
                t("figures.req.compare_period", lang),
                period_text(p.compare_since, p.compare_until, timezone, lang),
            ]
        )
    rows.append([t("figures.req.since_until", lang), f"{req.since} – {req.until}"])
    return rows


def _docx(figs: Figures, lang: str, timezone: str) -> bytes:
    from reports.compose import Block, Document
    from reports.render_docx import render_docx

    p = figs.periods
    compared = p.compare_since is not None
    sub = t("figures.doc.period", lang).format(period=period_text(p.since, p.until, timezone, lang))
    if compared:
        sub += t("figures.doc.compare", lang).format(
            period=period_text(p.compare_since, p.compare_until, timezone, lang)
        )
    cols = fields(compared)
    rows = []
    for r in display_rows(figs.table, figs.names, lang):
        cells = []
        for f in cols:
            v = r[f]
            if f == "change_pct" and v is not None:
                v = f"{v:+.1f}%"
            elif f == "change" and v is not None:
                v = f"{v:+}"
            cells.append(["" if v is None else str(v)])
        rows.append(cells)
    blocks = [Block("table", header=[[h] for h in headers(compared, lang)], rows=rows)]
    blocks.append(Block("heading", [t("figures.doc.definitions", lang)]))
    for ind_id in figs.request.indicators:
        unit = t(f"unit.{indicators.get(ind_id).unit}", lang)
        text = t(f"indicator.{ind_id}.definition", lang)
        blocks.append(Block("para", [f"{indicator_name(ind_id, lang)} ({ind_id}, {unit}): {text}"]))
    doc = Document(t("figures.doc.title", lang), sub, lang, blocks)
    return render_docx(doc)


def render(figs: Figures, fmt: str, *, lang: str = "zh", timezone: str = "UTC") -> bytes:
    """``figs`` as a file of format ``fmt`` (csv, xlsx, docx) in ``lang``; ``timezone``: the
    region's, for the period's local days."""
    if fmt == "csv":
        header, rows, _ = _raw_rows(figs, lang)
        return csv_bytes(header, rows)
    if fmt == "xlsx":
        header, rows, formats = _raw_rows(figs, lang)
        table, request = t("figures.sheet.table", lang), t("figures.sheet.request", lang)
        head2 = [t("figures.req.field", lang), t("figures.req.value", lang)]
        return xlsx_bytes(
            [(table, header, rows), (request, head2, _request_rows(figs, lang, timezone))],
            {table: formats},
        )
    if fmt == "docx":
        return _docx(figs, lang, timezone)
    raise ValueError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
