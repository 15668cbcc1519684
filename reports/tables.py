"""Tables written out as files: CSV and Excel, shared by every export (the indicator API, the
figures builder), so a file of OneGrid figures is written one way wherever it comes from."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

# cell text a spreadsheet would run as a formula (CSV injection): written with a leading quote
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def _cell(v):
    if v is None:
        return ""
    if isinstance(v, str) and v.startswith(_FORMULA):
        return "'" + v
    return v


def csv_bytes(header: Sequence, rows: Iterable[Sequence]) -> bytes:
    """``header`` and ``rows`` as CSV, UTF-8 with a byte-order mark (so spreadsheet programs
    read Chinese names as UTF-8); None is an empty cell."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    for row in rows:
        writer.writerow([_cell(v) for v in row])
    return out.getvalue().encode("utf-8-sig")


def xlsx_bytes(
    sheets: Sequence[tuple[str, Sequence, Iterable[Sequence]]],
    formats: dict[str, Sequence[dict[int, str]]] | None = None,
) -> bytes:
    """An Excel workbook (openpyxl): one sheet per (title, header, rows), the header row bold,
    frozen and with filter buttons. ``formats``: sheet title -> per row, {column index: Excel number format} (a
    share written as 0.25 shows as 25.0 %)."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    wb.remove(wb.active)
    for title, header, rows in sheets:
        ws = wb.create_sheet(str(title)[:31])  # Excel's limit on a sheet name
        ws.append(list(header))
        for c in ws[1]:
            c.font = Font(bold=True)
        ws.freeze_panes = "A2"
        fmts = list((formats or {}).get(title, ()))
        for i, row in enumerate(rows):
            ws.append([_cell(v) if isinstance(v, str) else v for v in row])
            for j, number_format in (fmts[i] if i < len(fmts) else {}).items():
                ws.cell(ws.max_row, j + 1).number_format = number_format
        ws.auto_filter.ref = ws.dimensions  # the header row filters and sorts
        for j, h in enumerate(header, start=1):  # wide enough for the header
            ws.column_dimensions[ws.cell(1, j).column_letter].width = max(10, len(str(h)) * 2 + 2)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
