"""Figures. The map carries no outside sources: an inline MapLibre style, geometry from OneGrid."""

from __future__ import annotations

import plotly.graph_objects as go


# A MapLibre style with no outside URL (no tiles, no glyphs). MapLibre needs at least one source.
def offline_style(background: str = "#0b1220", tile_url: str | None = None) -> dict:
    """A map style dict that fetches nothing, or only the configured intranet tile server."""
    sources: dict = {
        "empty": {"type": "geojson", "data": {"type": "FeatureCollection", "features": []}}
    }
    layers: list = [{"id": "bg", "type": "background", "paint": {"background-color": background}}]
    if tile_url:
        sources["intranet"] = {"type": "raster", "tiles": [tile_url], "tileSize": 256}
        layers.append({"id": "intranet", "type": "raster", "source": "intranet"})
    return {"version": 8, "sources": sources, "layers": layers}


def cell_map(
    geojson: dict,
    keys: list[int],
    values: list[float],
    *,
    center: dict,
    zoom: float,
    colorbar_title: str,
    tile_url: str | None = None,
) -> go.Figure:
    """A choropleth of grid cells: ``keys`` are feature ids in ``geojson``, ``values`` their metric."""
    fig = go.Figure(
        go.Choroplethmap(
            geojson=geojson,
            locations=keys,
            z=values,
            featureidkey="id",
            colorscale="YlOrRd",
            zmin=0,
            marker_line_width=0.2,
            marker_line_color="#334155",
            marker_opacity=0.85,
            colorbar={"title": {"text": colorbar_title}},
        )
    )
    fig.update_layout(
        map={"style": offline_style(tile_url=tile_url), "center": center, "zoom": zoom},
        margin={"l": 0, "r": 0, "t": 0, "b": 0},
        paper_bgcolor="#0b1220",
        font={"color": "#e2e8f0"},
        uirevision="cell-map",
    )
    return fig
