"""A briefing as one self-contained HTML page (inline style, no outside request)."""

from __future__ import annotations

import base64
from html import escape

from reports.compose import Document, Fig, Segment

STYLE = """
body { font-family: "WenQuanYi Zen Hei", "Noto Sans CJK SC", sans-serif; max-width: 48em;
       margin: 2em auto; line-height: 1.7; color: #111; }
h1 { text-align: center; color: #b00; font-size: 1.6em; margin-bottom: 0.2em; }
.sub { text-align: center; color: #444; margin-top: 0; }
h2 { font-size: 1.15em; border-bottom: 1px solid #b00; padding-bottom: 0.1em; }
p { text-indent: 2em; }
table { border-collapse: collapse; margin: 0.6em 0 1em; width: 100%; }
th, td { border: 1px solid #999; padding: 0.2em 0.5em; text-align: left; }
th { background: #f2f2f2; }
.ind { color: #888; font-size: 0.7em; margin: 0 0.15em; }
"""


def _segments(segments: list[Segment]) -> str:
    out = []
    for s in segments:
        if isinstance(s, Fig):
            out.append(f'{escape(s.text)}<span class="ind">{escape(s.tag)}</span>')
        else:
            out.append(escape(s))
    return "".join(out)


def _plain(segments: list[Segment]) -> str:
    return "".join(s if isinstance(s, str) else s.text + s.tag for s in segments)


def render_html(doc: Document) -> bytes:
    """The document as UTF-8 HTML."""
    parts = [
        "<!DOCTYPE html>",
        f'<html lang="{"zh-CN" if doc.lang == "zh" else "en"}"><head><meta charset="utf-8">',
        f"<title>{escape(doc.title)}</title><style>{STYLE}</style></head><body>",
        f"<h1>{escape(doc.title)}</h1>",
        f'<p class="sub">{escape(doc.subtitle)}</p>',
    ]
    for b in doc.blocks:
        if b.kind == "heading":
            parts.append(f"<h2>{_segments(b.segments)}</h2>")
        elif b.kind == "para":
            parts.append(f"<p>{_segments(b.segments)}</p>")
        elif b.kind == "image":
            data = base64.b64encode(b.image or b"").decode("ascii")
            parts.append(
                f'<figure><img src="data:image/png;base64,{data}" style="max-width:100%" '
                f'alt="{escape(_plain(b.segments))}"><figcaption>{_segments(b.segments)}'
                "</figcaption></figure>"
            )
        else:
            head = "".join(f"<th>{_segments(h)}</th>" for h in b.header)
            rows = "".join(
                "<tr>" + "".join(f"<td>{_segments(c)}</td>" for c in row) + "</tr>"
                for row in b.rows
            )
            parts.append(f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>")
    parts.append("</body></html>")
    return "\n".join(parts).encode("utf-8")
