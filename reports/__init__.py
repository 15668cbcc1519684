"""Briefings written out: the words (:mod:`reports.compose`) and one renderer per format
(HTML, Word .docx, PDF with a Chinese font embedded). The figures come from
:mod:`data.briefings`; nothing here queries the store."""

from __future__ import annotations

from data.briefings import Briefing

FORMATS: tuple[str, ...] = ("html", "docx", "pdf")


def render(briefing: Briefing, fmt: str, lang: str = "zh", *, areas=None) -> bytes:
    """``briefing`` written in ``lang`` as a file of format ``fmt`` (html, docx, pdf). With
    ``areas`` (the region's polygons, a GeoDataFrame) it carries a map of events per area."""
    from reports.compose import compose

    picture = None
    if areas is not None and briefing.area_counts:
        from reports.map_image import render_map
        from reports.render_pdf import FontMissing, font_path

        try:
            font = font_path()
        except FontMissing:
            font = None  # the map's legend is digits: Pillow's own font will do
        picture = render_map(areas, briefing.area_counts, font=font)
    doc = compose(briefing, lang, picture=picture)
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
