"""Briefings written out: the words (:mod:`reports.compose`) and one renderer per format
(HTML, Word .docx, PDF with a Chinese font embedded). The figures come from
:mod:`data.briefings`; nothing here queries the store."""

from __future__ import annotations

from data.briefings import Briefing

FORMATS: tuple[str, ...] = ("html", "docx", "pdf")


def render(briefing: Briefing, fmt: str, lang: str = "zh") -> bytes:
    """``briefing`` written in ``lang`` as a file of format ``fmt`` (html, docx, pdf)."""
    from reports.compose import compose

    doc = compose(briefing, lang)
    if fmt == "html":
        from reports.render_html import render_html

        return render_html(doc)
    if fmt == "docx":
        from reports.render_docx import render_docx

        return render_docx(doc)
    if fmt == "pdf":
        from reports.render_pdf import render_pdf

        return render_pdf(doc)
    raise ValueError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
