"""The wall's warnings panel: counts by colour, the newest warnings, escalations unmistakable.

The wall's callback reads its data with :func:`data.warnings.queries.wall_summary` (or the single
functions ``counts_by_colour``, ``newest``, ``escalations``) and passes it here; red and orange
cells for the map come from ``data.warnings.queries.red_orange_cells``. No SQL here.
"""

from __future__ import annotations

from dash import dcc, html

from layouts import ids
from layouts.i18n import area_name, format_moment, normalise_language, t

LEVEL_NAMES = ("red", "orange", "yellow", "blue")


def learning_text(learning: dict | None, lang: str) -> str | None:
    """ "Learning: N days of history" while rules that compare areas with their own usual lack
    history (:func:`data.warnings.learning.learning_state`); None once they have it."""
    if not learning or not learning.get("learning"):
        return None
    key = "warn.learning.judging" if learning.get("judging") else "warn.learning.waiting"
    return t(key, lang).format(days=learning["days"], needed=learning["needed_days"])


def _rule(w: dict, lang: str) -> str:
    return w.get("rule_name_en" if lang == "en" else "rule_name_zh") or w.get("rule_id", "")


def _area(w: dict, lang: str) -> str:
    name = area_name(
        {
            "name_zh": w.get("area_name_zh"),
            "name_en": w.get("area_name_en"),
            "code": w.get("area_code"),
        },
        lang,
    )
    return f"{name} · {w['subject']}" if w.get("subject") else name


def _time(w: dict, timezone: str | None, lang: str) -> str:
    """When the warning was raised, in the region's zone (UTC when none is given)."""
    return format_moment(w["raised_at"], timezone or "UTC", lang, "time")


def warnings_panel(
    counts_by_colour: dict,
    newest: list[dict],
    escalations: list[dict],
    lang: str,
    *,
    timezone: str | None = None,
    learning: dict | None = None,
) -> html.Div:
    """The panel as a component tree (see the module docstring for where its data comes from);
    ``learning`` (:func:`data.warnings.learning.learning_state`) adds "learning: N days of
    history" while rules that compare areas with their own usual still lack it."""
    lang = normalise_language(lang)
    note = learning_text(learning, lang)
    tiles = [
        html.Div(
            className=f"og-warn-tile og-warn-{name}",
            children=[
                html.Div(str(counts_by_colour.get(name, 0)), className="og-warn-tile-n"),
                html.Div(t(f"warn.level.{name}", lang), className="og-warn-tile-label"),
            ],
        )
        for name in LEVEL_NAMES
    ]
    esc_rows = [
        html.Li(
            className=f"og-warn-esc og-warn-{w['level']}",
            children=[
                html.Span("⚠", className="og-warn-esc-mark"),
                html.Span(f"{_rule(w, lang)} · {_area(w, lang)}"),
                html.Span(
                    t("warn.escalated_to", lang).format(
                        level=t(f"level.{w['escalated_to']}", lang)
                    ),
                    className="og-warn-esc-to",
                ),
            ],
        )
        for w in escalations
    ]
    new_rows = [
        html.Li(
            className=f"og-warn-item og-warn-{w['level']}"
            + (" og-warn-unack" if w.get("state") == "raised" else ""),
            children=[
                html.Span(_time(w, timezone, lang), className="og-warn-time"),
                html.Span(t(f"warn.level.{w['level']}", lang), className="og-warn-badge"),
                html.Span(f"{_rule(w, lang)} · {_area(w, lang)}", className="og-warn-text"),
                html.Span(t(f"warn.state.{w['state']}", lang), className="og-warn-state"),
            ],
        )
        for w in newest
    ]
    return html.Div(
        id=ids.WARN_PANEL,
        className="og-warn-panel" + (" og-warn-has-escalations" if escalations else ""),
        children=[
            html.Div(tiles, className="og-warn-tiles"),
            html.Div(note, id=ids.WARN_LEARNING, className="og-warn-learning") if note else None,
            html.Div(
                t("warn.panel.unack", lang).format(n=counts_by_colour.get("unacknowledged", 0)),
                className="og-warn-unack-count",
            ),
            html.Div(
                [html.H4(t("warn.panel.escalations", lang)), html.Ul(esc_rows)],
                className="og-warn-escalations",
            )
            if esc_rows
            else None,
            html.H4(t("warn.panel.newest", lang)),
            html.Ul(new_rows)
            if new_rows
            else html.Div(t("warn.panel.none", lang), className="og-warn-none"),
            dcc.Link(t("warn.panel.link", lang), href="/warnings", className="og-warn-link"),
        ],
    )
