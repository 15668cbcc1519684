"""A briefing's figures (data/briefings) as a document in one language: headings, paragraphs
with the numbers in them, tables and the appendix of definitions. Every number is a
:class:`Fig`: its text and the indicator id it is, which each renderer prints beside it.

The words are the translation tables' (``brief.*`` keys in layouts/i18n); numbers are written
the language's way (Babel, layouts.i18n).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from data.briefings import Briefing, Figure
from layouts.i18n import display_name, format_decimal, format_number, format_percent, t


@dataclass(frozen=True)
class Fig:
    """A number as written (``1,234件``) and the indicator it is. With no text it is a table
    column's header naming the indicator of the numbers below it."""

    text: str
    indicator: str

    @property
    def tag(self) -> str:
        """How the indicator id is printed: ``[id]`` after a number, ``(id)`` in a header (so a
        reader, or a test, never takes a header's id for the number beside it)."""
        return f"[{self.indicator}]" if self.text else f"({self.indicator})"


Segment = str | Fig


@dataclass
class Block:
    """``kind``: heading, para or table. A heading or paragraph has ``segments``; a table has
    ``header`` (segments per column: a column of figures names its indicator there) and
    ``rows`` (segments per cell)."""

    kind: str
    segments: list[Segment] = field(default_factory=list)
    header: list[list[Segment]] = field(default_factory=list)
    rows: list[list[list[Segment]]] = field(default_factory=list)
    widths: tuple[int, ...] | None = None  # relative column widths (None: even)
    image: bytes | None = None  # an "image" block's PNG (its caption is in ``segments``)


@dataclass
class Document:
    title: str
    subtitle: str
    lang: str
    blocks: list[Block]


def number(fig: Figure | None, lang: str, unit: str | None = None) -> str:
    """A figure's value as text: counts whole, shares as percentages, hours with one decimal;
    a missing value as a dash. ``unit``: a ``brief.unit.*`` word written after it."""
    if fig is None or fig.value is None or pd.isna(fig.value):
        return t("brief.none", lang)
    ind = fig.indicator
    if ind.endswith("on_time_rate"):
        text = format_percent(fig.value, lang)
    elif ind.endswith("hours") or ind.endswith("per_10k"):
        text = format_decimal(fig.value, lang, 1)
    else:
        text = format_number(round(fig.value), lang)
    return text + (t(f"brief.unit.{unit}", lang) if unit else "")


def fig(f: Figure | None, lang: str, unit: str | None = None) -> Fig:
    """A figure as a tagged number."""
    ind = f.indicator if f is not None else ""
    return Fig(number(f, lang, unit), ind)


def fill(template: str, **parts: Segment | list[Segment]) -> list[Segment]:
    """``template`` (with ``{name}`` placeholders) as segments, each placeholder replaced by
    its segment(s)."""
    out: list[Segment] = []
    rest = template
    while "{" in rest:
        head, _, tail = rest.partition("{")
        name, _, rest = tail.partition("}")
        if head:
            out.append(head)
        part = parts[name]
        out.extend(part if isinstance(part, list) else [part])
    if rest:
        out.append(rest)
    return out


def joined_list(items: list[list[Segment]], lang: str) -> list[Segment]:
    """``items`` (each a list of segments) as one list, the language's separator between them."""
    out: list[Segment] = []
    for i, item in enumerate(items):
        if i:
            out.append(t("brief.sep", lang))
        out.extend(item)
    return out


def _change(now: Figure, before: Figure | None, lang: str) -> str:
    """'up 12.3%' / 'down 4.0%' / 'unchanged' / 'no comparison' against an earlier figure."""
    if before is None or not before.value:
        return t("brief.change.none", lang)
    delta = (now.value or 0) / before.value - 1
    if abs(delta) < 0.0005:
        return t("brief.change.same", lang)
    key = "brief.change.up" if delta > 0 else "brief.change.down"
    return t(key, lang).format(pct=format_percent(abs(delta), lang))


def _effect(f: Figure, lang: str) -> list[Segment]:
    """The effect sentence: events around closed cases after against before (none without)."""
    if f.value is None:
        return []
    change = Fig(
        _change(Figure(f.indicator, 1 + f.value), Figure(f.indicator, 1.0), lang), f.indicator
    )
    return fill(t("brief.cases.effect", lang), change=change)


def _name(row: dict, lang: str) -> str:
    return str(row.get("name_en" if lang == "en" else "name_zh") or row.get("code") or "")


def _period_label(b: Briefing, lang: str) -> str:
    start = b.since.tz_convert(b.timezone)
    end = (b.until - pd.Timedelta(seconds=1)).tz_convert(b.timezone)
    if b.period == "day":
        return t("brief.label.day", lang).format(
            y=start.year,
            m=start.month,
            d=start.day,
            weekday=t(f"brief.weekday.{start.weekday()}", lang),
        )
    if b.period == "month":
        return t("brief.label.month", lang).format(y=start.year, m=start.month)
    iso = start.isocalendar()
    return t("brief.label.week", lang).format(
        y=iso[0], w=iso[1], start=start.strftime("%Y-%m-%d"), end=end.strftime("%Y-%m-%d")
    )


def compose(b: Briefing, lang: str = "zh", *, picture: bytes | None = None) -> Document:
    """The briefing ``b`` written in ``lang`` (zh or en); ``picture``: its map (PNG) or None."""
    area = _name(b.area, lang)
    label = _period_label(b, lang)
    blocks: list[Block] = []

    def heading(key: str) -> None:
        blocks.append(Block("heading", [t(key, lang)]))

    def para(segments: list[Segment]) -> None:
        blocks.append(Block("para", segments))

    def table(header: list[list[Segment]], rows: list[list[list[Segment]]], widths=None) -> None:
        if rows:
            blocks.append(Block("table", header=header, rows=rows, widths=widths))

    prev_word = t(f"brief.previous.{b.period}", lang)
    # 1. overview: events by domain against the previous period and last year
    heading("brief.h.events")
    sources = [
        fill(
            t("brief.events.source", lang),
            source=display_name(f"source.{now.key}", lang, b.catalogue),
            n=fig(now, lang, "events"),
            change=_change(now, before, lang),
        )
        for now, before, _ in b.by_source
        if now.value
    ]
    joined = joined_list(sources, lang)
    if b.events_previous is None:  # the store begins inside the previous period
        text = fill(
            t("brief.events.total_uncovered", lang),
            label=label,
            area=area,
            n=fig(b.events_total, lang, "events"),
            prev=prev_word,
        )
    else:
        text = fill(
            t("brief.events.total", lang),
            label=label,
            area=area,
            n=fig(b.events_total, lang, "events"),
            prev=prev_word,
            change=_change(b.events_total, b.events_previous, lang),
            prev_n=fig(b.events_previous, lang, "events"),
        )
    if b.events_last_year is not None:
        text += fill(
            t("brief.events.last_year", lang),
            change=_change(b.events_total, b.events_last_year, lang),
            n=fig(b.events_last_year, lang, "events"),
        )
    text.append(t("brief.stop", lang))
    if joined:
        text += fill(t("brief.events.sources", lang), list=joined)
    if b.per_10k.value is not None:
        text += fill(t("brief.events.per_10k", lang), n=fig(b.per_10k, lang))
    para(text)
    head = [
        [t("brief.col.source", lang)],
        [t("brief.col.this", lang), Fig("", "events.by_source")],
        [prev_word, Fig("", "events.by_source")],
        [t("brief.col.change", lang)],
    ]
    if b.last_year is not None:
        head.append([t("brief.col.last_year", lang), Fig("", "events.by_source")])
    rows = []
    for now, before, last in b.by_source:
        name = display_name(f"source.{now.key}", lang, b.catalogue)
        row = [[name], [number(now, lang)], [number(before, lang)]]
        row.append([_change(now, before, lang)])
        if b.last_year is not None:
            row.append([number(last, lang)])
        rows.append(row)
    table(head, rows)

    # 2. the areas with the most events
    if b.top_areas:
        heading("brief.h.areas")
        level = t(f"level.{b.top_level}", lang)
        items = joined_list(
            [
                fill(
                    t("brief.areas.item", lang),
                    name=_name(a, lang),
                    n=fig(a["figure"], lang, "events"),
                )
                for a in b.top_areas
            ],
            lang,
        )
        para(fill(t("brief.areas.text", lang), k=str(len(b.top_areas)), level=level, list=items))
        if picture is not None:
            caption = t("brief.map.caption", lang).format(level=level)
            blocks.append(Block("image", [caption, Fig("", "events.total")], image=picture))
        table(
            [
                [t("brief.col.rank", lang)],
                [level],
                [t("brief.col.events", lang), Fig("", "events.total")],
            ],
            [
                [[str(i + 1)], [_name(a, lang)], [number(a["figure"], lang)]]
                for i, a in enumerate(b.top_areas)
            ],
        )

    # 2b. the grid cells standing out against their own usual
    heading("brief.h.standout")
    if b.standing_out:
        items = joined_list(
            [
                fill(
                    t("brief.standout.item", lang),
                    name=_name(c, lang),
                    n=fig(c["figure"], lang, "events"),
                    usual=Fig(format_decimal(c["usual"].value, lang, 1), c["usual"].indicator),
                )
                for c in b.standing_out
            ],
            lang,
        )
        para(fill(t("brief.standout.text", lang), k=str(len(b.standing_out)), list=items))
        table(
            [
                [t("level.grid", lang)],
                [t("brief.col.events", lang), Fig("", "events.total")],
                [t("brief.col.usual", lang), Fig("", "events.usual")],
            ],
            [
                [
                    [_name(c, lang)],
                    [number(c["figure"], lang)],
                    [format_decimal(c["usual"].value, lang, 1)],
                ]
                for c in b.standing_out
            ],
        )
    elif b.standing_out is None:
        para([t("brief.standout.no_usual", lang)])
    else:
        para([t("brief.standout.none", lang)])

    # 3. warnings
    heading("brief.h.warnings")
    tot = b.warnings_total
    levels = joined_list(
        [
            fill(
                t("brief.warnings.level", lang),
                level=t(f"warn.level.{lv}", lang),
                n=fig(b.warnings[lv]["raised"], lang, "warnings"),
            )
            for lv in ("red", "orange", "yellow", "blue")
            if b.warnings[lv]["raised"].value
        ],
        lang,
    )
    para(
        fill(
            t("brief.warnings.text", lang),
            raised=fig(tot["raised"], lang, "warnings"),
            levels=fill(t("brief.warnings.levels", lang), list=levels) if levels else [],
            ack=fig(tot["acknowledged"], lang, "warnings"),
            cleared=fig(tot["cleared"], lang, "warnings"),
        )
    )
    table(
        [
            [t("brief.col.level", lang)],
            [t("brief.col.raised", lang), Fig("", "warnings.raised")],
            [t("brief.col.ack", lang), Fig("", "warnings.acknowledged_in_time")],
            [t("brief.col.cleared", lang), Fig("", "warnings.cleared")],
        ],
        [
            [[t(f"warn.level.{lv}", lang)]]
            + [[number(b.warnings[lv][k], lang)] for k in ("raised", "acknowledged", "cleared")]
            for lv in ("red", "orange", "yellow", "blue")
        ],
    )

    # 4. cases
    heading("brief.h.cases")
    c = b.cases
    para(
        fill(
            t("brief.cases.text", lang),
            opened=fig(c["cases.opened"], lang, "cases"),
            closed=fig(c["cases.closed"], lang, "cases"),
            rate=fig(c["cases.on_time_rate"], lang),
            hours=fig(c["cases.median_close_hours"], lang, "hours"),
            overdue=fig(c["cases.overdue_open"], lang, "cases"),
            rework=fig(c["cases.reworked"], lang, "cases"),
            returns=fig(c["cases.returns"], lang, "times"),
            extended=fig(c["cases.extended"], lang, "cases"),
        )
        + _effect(c["cases.effect"], lang)
    )
    table(
        [
            [t("brief.col.department", lang)],
            [t("brief.col.opened", lang), Fig("", "cases.department_opened")],
            [t("brief.col.on_time", lang), Fig("", "cases.department_on_time_rate")],
            [t("brief.col.hours", lang), Fig("", "cases.department_median_close_hours")],
        ],
        [
            [
                [d["names"][lang]],
                [number(d["opened"], lang)],
                [number(d["on_time"], lang)],
                [number(d["median_hours"], lang)],
            ]
            for d in b.departments
        ],
    )
    table(
        [
            [t("level.county", lang)],
            [t("brief.col.opened", lang), Fig("", "cases.opened")],
            [t("brief.col.on_time", lang), Fig("", "cases.on_time_rate")],
            [t("brief.col.overdue", lang), Fig("", "cases.overdue_open")],
        ],
        [
            [
                [_name(r, lang)],
                [number(r["opened"], lang)],
                [number(r["on_time"], lang)],
                [number(r["overdue"], lang)],
            ]
            for r in b.counties
        ],
    )

    # 5. the hotline
    heading("brief.h.hotline")
    if b.hotline:
        items = joined_list(
            [
                fill(
                    t("brief.areas.item", lang),
                    name=t(f"category.hotline.{f.key}", lang),
                    n=fig(f, lang, "events"),
                )
                for f in b.hotline
            ],
            lang,
        )
        para(fill(t("brief.hotline.text", lang), list=items))
    else:
        para([t("brief.hotline.none", lang)])

    # appendix: the definitions of every indicator shown
    heading("brief.h.appendix")
    table(
        [
            [t("brief.col.indicator", lang)],
            [t("brief.col.name", lang)],
            [t("brief.col.definition", lang)],
        ],
        [
            [[ind], [t(f"indicator.{ind}.name", lang)], [t(f"indicator.{ind}.definition", lang)]]
            for ind in b.used
        ],
        widths=(3, 3, 8),  # the definitions need the room
    )
    para(
        [
            t("brief.footer", lang).format(
                at=b.generated_at.tz_convert(b.timezone).strftime("%Y-%m-%d %H:%M"), tz=b.timezone
            )
        ]
    )
    title = t(f"brief.title.{b.period}", lang).format(area=area)
    return Document(title, label, lang, blocks)


def plain(segments: list[Segment]) -> str:
    """Segments as plain text with each number's indicator id in brackets (for tests, logs)."""
    return "".join(s if isinstance(s, str) else s.text + s.tag for s in segments)
