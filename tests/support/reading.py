"""Reading a written briefing back, as its readers do: python-docx for Word, Debian's pdftotext
for PDF, an HTML parser for HTML; and the numbers it states, per indicator id."""

from __future__ import annotations

import re
import subprocess
from html.parser import HTMLParser
from pathlib import Path

from docx import Document

# a number, its unit word (件, 起, 小时, events, hours...) and its indicator tag
TAG = re.compile(r"(\d[\d,]*(?:\.\d+)?)%?(?: ?[^\W\d_]{1,8})?\[([a-z_.0-9]+)\]")


class _Text(HTMLParser):
    def __init__(self):
        super().__init__()
        self.parts: list[str] = []

    def handle_data(self, data):
        self.parts.append(data)


def read_back(path: Path) -> str:
    """The text of a written briefing, by an independent reader per format."""
    if path.suffix == ".docx":
        doc = Document(str(path))
        parts = [p.text for p in doc.paragraphs]
        for table in doc.tables:
            parts += [c.text for row in table.rows for c in row.cells]
        return "\n".join(parts)
    if path.suffix == ".pdf":
        out = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, check=True)
        return out.stdout.decode("utf-8")
    p = _Text()
    p.feed(path.read_text(encoding="utf-8"))
    return "".join(p.parts)


def tagged(text: str) -> dict[str, list[float]]:
    """Every number followed by an indicator tag, per indicator, in reading order (the PDF
    keeps a number and its tag on one line; lines are rejoined with a space)."""
    flat = re.sub(r"\s+", " ", text)
    out: dict[str, list[float]] = {}
    for m in TAG.finditer(flat):
        out.setdefault(m.group(2), []).append(float(m.group(1).replace(",", "")))
    return out


def docx_tables(path: Path) -> list[list[list[str]]]:
    """Every table of a Word file as rows of cell texts (header row first)."""
    return [[[c.text for c in row.cells] for row in t.rows] for t in Document(str(path)).tables]
