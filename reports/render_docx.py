"""A briefing as a Word document (.docx, python-docx): the format offices exchange."""

from __future__ import annotations

import io

from docx import Document as WordDocument
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.shared import Cm, Pt, RGBColor

from reports.compose import Document, Fig, Segment

# the Chinese font Word uses for East Asian text (installed with every Chinese Windows/WPS)
EAST_ASIAN_FONT = "SimSun"
TAG_COLOUR = RGBColor(0x88, 0x88, 0x88)


def _runs(paragraph, segments: list[Segment], *, bold: bool = False) -> None:
    for s in segments:
        if isinstance(s, Fig):
            if s.text:
                paragraph.add_run(s.text).bold = bold
            tag = paragraph.add_run(s.tag)
            tag.font.size = Pt(7)
            tag.font.color.rgb = TAG_COLOUR
        else:
            paragraph.add_run(s).bold = bold


def render_docx(doc: Document) -> bytes:
    """The document as .docx bytes."""
    word = WordDocument()
    normal = word.styles["Normal"]
    normal.font.size = Pt(11)
    normal.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), EAST_ASIAN_FONT)
    title = word.add_heading(doc.title, level=0)
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    sub = word.add_paragraph(doc.subtitle)
    sub.alignment = WD_ALIGN_PARAGRAPH.CENTER
    for b in doc.blocks:
        if b.kind == "heading":
            _runs(word.add_heading(level=1), b.segments)
        elif b.kind == "image":
            word.add_picture(io.BytesIO(b.image or b""), width=Cm(15))
            word.paragraphs[-1].alignment = WD_ALIGN_PARAGRAPH.CENTER
            cap = word.add_paragraph()
            cap.alignment = WD_ALIGN_PARAGRAPH.CENTER
            _runs(cap, b.segments)
        elif b.kind == "para":
            p = word.add_paragraph()
            p.paragraph_format.first_line_indent = Pt(22)
            _runs(p, b.segments)
        else:
            table = word.add_table(rows=1 + len(b.rows), cols=len(b.header))
            table.style = "Table Grid"
            # a row's cells read once per row: python-docx's table.cell(i, j) walks the whole
            # table on every call (a 90-row table took 40 s that way)
            rows = table.rows
            for j, h in enumerate(b.header):
                _runs(rows[0].cells[j].paragraphs[0], h, bold=True)
            for i, row in enumerate(b.rows, start=1):
                cells = rows[i].cells
                for j, cell in enumerate(row):
                    _runs(cells[j].paragraphs[0], cell)
            word.add_paragraph()
    out = io.BytesIO()
    word.save(out)
    return out.getvalue()
