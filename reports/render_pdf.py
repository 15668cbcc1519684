"""A briefing as PDF (fpdf2) with a Chinese font embedded (a subset of WenQuanYi Zen Hei, read
from the system's fonts: fonts-wqy-zenhei), so it prints and reads the same anywhere."""

from __future__ import annotations

import io
import logging
import os
from pathlib import Path

from fpdf import FPDF
from fpdf.fonts import FontFace

from reports.compose import Document, Fig, Segment

# where Debian's fonts-wqy-zenhei puts its font collection; ONEGRID_CJK_FONT overrides
FONT_PATHS = (
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/wqy-zenhei/wqy-zenhei.ttc",
)
FONT = "cjk"
MAP_MM = 105  # the map's largest height on the page
# subsetting the collection, fontTools warns that it drops its bitmap table (BDF): expected, and
# said on every briefing otherwise
logging.getLogger("fontTools.subset").setLevel(logging.ERROR)


class FontMissing(RuntimeError):
    """No Chinese font to embed."""


def font_path() -> Path:
    """The TrueType collection to embed; FontMissing names the package to install."""
    for p in (os.environ.get("ONEGRID_CJK_FONT"), *FONT_PATHS):
        if p and Path(p).is_file():
            return Path(p)
    raise FontMissing(
        "no Chinese font for the PDF: install Debian's fonts-wqy-zenhei, or set "
        "ONEGRID_CJK_FONT to a .ttf/.ttc file"
    )


def _text(segments: list[Segment], sep: str = "") -> str:
    return "".join(s if isinstance(s, str) else f"{s.text}{sep}{s.tag}" for s in segments)


def _write(pdf: FPDF, segments: list[Segment], size: float) -> None:
    for s in segments:
        if isinstance(s, Fig):
            # a number and its tag stay on one line: a tag cut in two is no id
            width = pdf.get_string_width(s.text)
            pdf.set_font(FONT, size=size * 0.6)
            width += pdf.get_string_width(s.tag)
            pdf.set_font(FONT, size=size)
            # (write() keeps a cell margin each side, and rounds: a millimetre to spare)
            if width + 2 * pdf.c_margin + 1 > pdf.w - pdf.r_margin - pdf.get_x():
                pdf.ln(size * 0.55)
            if s.text:
                pdf.write(size * 0.55, s.text)
            pdf.set_font(FONT, size=size * 0.6)
            pdf.set_text_color(136)
            pdf.write(size * 0.55, s.tag)
            pdf.set_font(FONT, size=size)
            pdf.set_text_color(0)
        else:
            pdf.write(size * 0.55, s)


def render_pdf(doc: Document) -> bytes:
    """The document as PDF bytes (A4)."""
    pdf = FPDF(format="A4")
    pdf.set_margins(20, 18, 20)
    pdf.set_auto_page_break(True, 18)
    pdf.add_font(FONT, "", str(font_path()))
    pdf.set_title(doc.title)
    pdf.add_page()
    pdf.set_font(FONT, size=20)
    pdf.set_text_color(176, 0, 0)
    pdf.multi_cell(0, 11, doc.title, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(60)
    pdf.set_font(FONT, size=11)
    pdf.multi_cell(0, 7, doc.subtitle, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(0)
    pdf.ln(3)
    for b in doc.blocks:
        if b.kind == "heading":
            pdf.ln(2)
            pdf.set_font(FONT, size=14)
            pdf.multi_cell(0, 8, _text(b.segments), new_x="LMARGIN", new_y="NEXT")
        elif b.kind == "image":
            from PIL import Image

            w_px, h_px = Image.open(io.BytesIO(b.image or b"")).size
            # at most MAP_MM high: the map sits beside its section, not on a page of its own
            width = min(pdf.epw * 0.85, MAP_MM * w_px / h_px)
            pdf.image(io.BytesIO(b.image or b""), x=pdf.l_margin + (pdf.epw - width) / 2, w=width)
            pdf.set_font(FONT, size=9)
            pdf.multi_cell(0, 5, _text(b.segments), align="C", new_x="LMARGIN", new_y="NEXT")
            pdf.ln(2)
        elif b.kind == "para":
            pdf.set_font(FONT, size=11)
            pdf.cell(8)  # first-line indent
            _write(pdf, b.segments, 11)
            pdf.ln(8)
        else:
            pdf.set_font(FONT, size=9)
            with pdf.table(
                line_height=5.5,
                headings_style=FontFace(fill_color=(242, 242, 242)),
                first_row_as_headings=True,
                col_widths=b.widths,
                text_align="LEFT",
            ) as table:
                # a column's indicator id on its own line under the column name
                table.row([_text(h, "\n") for h in b.header])
                for row in b.rows:
                    table.row([_text(c) for c in row])
            pdf.ln(3)
    return bytes(pdf.output())
