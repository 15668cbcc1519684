"""Tables written out as files: CSV and Excel, shared by every export (the indicator API, the
figures builder, the inspection lists, the read API's listings), so a file of OneGrid figures is
written one way wherever it comes from.

The streaming writers serve the read API's exports (web/export.py): rows arrive from an
iterator and leave as chunks of bytes, so a million-row export never sits in memory. A CSV is
UTF-8 with a byte-order mark (spreadsheet programs then read Chinese names as UTF-8); text a
spreadsheet would run as a formula (CSV injection) is written with a leading quote.
"""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Iterable, Iterator, Sequence

# cell text a spreadsheet would run as a formula (CSV injection): written with a leading quote
_FORMULA = ("=", "+", "-", "@", "\t", "\r")
CHUNK_BYTES = 64 * 1024  # bytes handed to the server per chunk of a streamed file
XLSX_TEXT_MAX = 32_767  # Excel's limit on the characters of one cell


def _cell(v):
    if v is None:
        return ""
    if isinstance(v, str) and v.startswith(_FORMULA):
        return "'" + v
    return v


def csv_bytes(header: Sequence, rows: Iterable[Sequence]) -> bytes:
    """``header`` and ``rows`` as one CSV file in memory (:func:`csv_stream`'s chunks)."""
    return b"".join(csv_stream(header, rows))


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
            ws.append([_xlsx_cell(v) for v in row])
            for j, number_format in (fmts[i] if i < len(fmts) else {}).items():
                ws.cell(ws.max_row, j + 1).number_format = number_format
        ws.auto_filter.ref = ws.dimensions  # the header row filters and sorts
        for j, h in enumerate(header, start=1):  # wide enough for the header
            ws.column_dimensions[ws.cell(1, j).column_letter].width = max(10, len(str(h)) * 2 + 2)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def csv_stream(header: Sequence, rows: Iterable[Sequence]) -> Iterator[bytes]:
    """``header`` then ``rows`` as CSV chunks of about :data:`CHUNK_BYTES`, UTF-8 with a
    byte-order mark; None is an empty cell. Reads ``rows`` lazily."""
    out = io.StringIO()
    writer = csv.writer(out)
    out.write("\ufeff")
    writer.writerow(header)
    for row in rows:
        writer.writerow([_cell(v) for v in row])
        if out.tell() >= CHUNK_BYTES:
            yield out.getvalue().encode("utf-8")
            out.seek(0)
            out.truncate()
    yield out.getvalue().encode("utf-8")


def _xlsx_cell(v):
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    if isinstance(v, str):
        # control characters are not allowed in the file format; a cell holds 32,767 characters
        return _cell(ILLEGAL_CHARACTERS_RE.sub("", v)[:XLSX_TEXT_MAX])
    return v


def xlsx_stream(sheets: Sequence[tuple[str, Sequence, Iterable[Sequence]]]) -> Iterator[bytes]:
    """An Excel workbook, one sheet per (title, header, rows), header row bold and frozen, as
    chunks of bytes. openpyxl's write-only mode writes each row to a temporary file as it comes,
    so memory stays flat; the finished workbook is then read back in chunks (a zip file is only
    complete at its end, so the first byte leaves once every row is written)."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    wb = Workbook(write_only=True)
    bold = Font(bold=True)
    for title, header, rows in sheets:
        ws = wb.create_sheet(str(title)[:31])  # Excel's limit on a sheet name
        ws.freeze_panes = "A2"
        head = []
        for h in header:
            c = WriteOnlyCell(ws, value=str(h))
            c.font = bold
            head.append(c)
        ws.append(head)
        for row in rows:
            ws.append([_xlsx_cell(v) for v in row])
    with tempfile.TemporaryFile() as tmp:
        wb.save(tmp)
        tmp.seek(0)
        while chunk := tmp.read(CHUNK_BYTES):
            yield chunk
