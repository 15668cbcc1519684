"""The live city page: per-feed counts that update by themselves and a map of the grid."""

from __future__ import annotations

from dash import dcc, html

from layouts import ids
from layouts.i18n import t


def layout(**_query) -> html.Div:
    """The live page; data arrives through the refresh callbacks."""
    return html.Div(
        className="og-live",
        children=[
            html.Section(
                className="og-panel og-feeds",
                children=[html.H2(t("feeds.title")), html.Div(id=ids.FEED_TILES)],
            ),
            html.Section(
                className="og-panel og-map",
                children=[
                    html.H2(t("map.title")),
                    dcc.Graph(
                        id=ids.CELL_MAP, config={"displaylogo": False}, style={"height": "100%"}
                    ),
                ],
            ),
        ],
    )


def feed_tiles(rows: list[dict], today: dict[str, int], lang: str) -> list[html.Div]:
    """One tile per feed: events today, events per minute, live or stale."""
    tiles = []
    for row in rows:
        src = row["source"]
        state = "stale" if row["stale"] else "ok"
        tiles.append(
            html.Div(
                className=f"og-tile og-{state}",
                id={"type": "feed-tile", "source": src},
                children=[
                    html.Div(t(f"source.{src}", lang), className="og-tile-name"),
                    html.Div(f"{today.get(src, 0):,}", className="og-tile-value"),
                    html.Div(
                        f"{t('feeds.today', lang)} · {row['events_per_min']:.1f} "
                        f"{t('feeds.per_min', lang)}",
                        className="og-tile-sub",
                    ),
                    html.Div(t(f"feeds.{state}", lang), className="og-tile-state"),
                ],
            )
        )
    return tiles
