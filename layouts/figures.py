"""Figures. The map carries no outside sources: an inline MapLibre style, geometry from OneGrid.

Geometry travels by URL (``/geo/<level>.json``, fetched once by the browser and cached by plotly);
a figure carries only keys and values. Area names are drawn as HTML over the map (see
``assets/wall.js``): MapLibre text would need a glyphs URL, which an air-gapped wall cannot fetch.
"""

from __future__ import annotations

import math

import plotly.graph_objects as go

BACKGROUND = "#050b18"
# The desk pages' maps (a case's place, search results, the field report): a transparent
# background, so the page's token (--og-map-bg, assets/tokens.css) shows through the map's canvas
# and the map follows the desk's light / dark theme with no figure rebuilt and no request. The
# wall's maps keep BACKGROUND: the wall is dark whatever the desk's switch.
DESK_MAP_BACKGROUND = "rgba(0,0,0,0)"
# Events: calm navy -> teal -> amber -> red, readable on a dark wall.
EVENTS_SCALE = [
    [0.0, "#0f1d36"],
    [0.08, "#16365c"],
    [0.25, "#1f6f8b"],
    [0.45, "#3bb39a"],
    [0.65, "#f2c14e"],
    [0.82, "#f78c3a"],
    [1.0, "#e5383b"],
]
# Risk index (100 = usual): blue below usual, dark at usual, hot above.
RISK_SCALE = [
    [0.0, "#2563eb"],
    [0.25, "#1e3a5f"],
    [1 / 3, "#1b2535"],
    [0.5, "#8a5a1f"],
    [0.7, "#f28c28"],
    [1.0, "#ff2d2d"],
]
RISK_RANGE = (0, 300)
TRANSPARENT = [[0.0, "rgba(0,0,0,0)"], [1.0, "rgba(0,0,0,0)"]]


# A MapLibre style with no outside URL (no tiles, no glyphs). MapLibre needs at least one source.
def offline_style(background: str = BACKGROUND, tile_url: str | None = None) -> dict:
    """A map style dict that fetches nothing, or only the configured intranet tile server."""
    sources: dict = {
        "empty": {"type": "geojson", "data": {"type": "FeatureCollection", "features": []}}
    }
    layers: list = [{"id": "bg", "type": "background", "paint": {"background-color": background}}]
    if tile_url:
        sources["intranet"] = {"type": "raster", "tiles": [tile_url], "tileSize": 256}
        layers.append(
            {
                "id": "intranet",
                "type": "raster",
                "source": "intranet",
                "paint": {"raster-opacity": 0.45, "raster-saturation": -0.6},
            }
        )
    return {"version": 8, "sources": sources, "layers": layers}


def nice_max(values, *, floor: int = 5, q: float = 0.96) -> int:
    """A round top of the colour scale: the ``q`` quantile of the non-zero values (at least ``floor``)."""
    nz = sorted(v for v in values if v > 0)
    top = nz[min(int(q * len(nz)), len(nz) - 1)] if nz else 0
    top = max(top, floor)
    mag = 10 ** math.floor(math.log10(top))
    for step in (1, 2, 2.5, 5, 10):
        if top <= step * mag:
            return int(step * mag) if step * mag >= 1 else 1
    return int(10 * mag)


def fit_view(
    bounds: tuple[float, float, float, float],
    *,
    width_px: int = 1100,
    height_px: int = 880,
    pad: float = 0.08,
) -> tuple[dict, float]:
    """Map centre and zoom that fit ``bounds`` (minx, miny, maxx, maxy; lon/lat) in a panel."""
    minx, miny, maxx, maxy = bounds

    def merc(lat: float) -> float:
        return math.log(math.tan(math.pi / 4 + math.radians(lat) / 2))

    span_x = max(maxx - minx, 1e-6) / 360.0
    span_y = max(merc(maxy) - merc(miny), 1e-6) / (2 * math.pi)
    zoom = min(math.log2(width_px / 512 / span_x), math.log2(height_px / 512 / span_y))
    center = {"lon": (minx + maxx) / 2, "lat": (miny + maxy) / 2}
    return center, round(zoom - math.log2(1 + 2 * pad), 2)


def wall_map(
    *,
    level: str,
    keys: list[int],
    values: list[int],
    names: list[str],
    zmax: float,
    risk: bool,
    value_label: str,
    center: dict,
    zoom: float,
    revision: str,
    outline_level: str | None = None,
    outline_keys: list[int] | None = None,
    selected: int | None = None,
    tile_url: str | None = None,
) -> go.Figure:
    """The wall's choropleth: areas at ``level`` coloured by ``values`` (ints, same order as ``keys``).

    ``outline_level``/``outline_keys`` draw those areas' boundaries on top (county lines over the
    city's cells); ``selected`` outlines one grid cell. ``revision`` is the view's identity: the map
    keeps the user's pan and zoom until it changes.
    """
    fine = level in ("grid", "community")
    traces = [
        go.Choroplethmap(
            geojson=f"/geo/{level}.json",
            featureidkey="id",
            locations=keys,
            z=values,
            customdata=names,
            zmin=RISK_RANGE[0] if risk else 0,
            zmax=RISK_RANGE[1] if risk else zmax,
            colorscale=RISK_SCALE if risk else EVENTS_SCALE,
            showscale=False,
            marker={
                "opacity": 0.92,
                "line": {"width": 0.15 if fine else 1.2, "color": "#0a1424" if fine else "#5b6b86"},
            },
            hovertemplate="<b>%{customdata}</b><br>" + value_label + " %{z}<extra></extra>",
            name=level,
        )
    ]
    if outline_level and outline_keys:
        traces.append(
            go.Choroplethmap(
                geojson=f"/geo/{outline_level}.json",
                featureidkey="id",
                locations=outline_keys,
                z=[0] * len(outline_keys),
                colorscale=TRANSPARENT,
                showscale=False,
                marker={"opacity": 1, "line": {"width": 2.2, "color": "#cfe3ff"}},
                hoverinfo="skip",
                name=outline_level,
            )
        )
    if selected is not None:
        traces.append(
            go.Choroplethmap(
                geojson="/geo/grid.json",
                featureidkey="id",
                locations=[selected],
                z=[0],
                colorscale=TRANSPARENT,
                showscale=False,
                marker={"opacity": 1, "line": {"width": 4, "color": "#ffffff"}},
                hoverinfo="skip",
                name="selected",
            )
        )
    fig = go.Figure(traces)
    fig.update_layout(
        map={"style": offline_style(tile_url=tile_url), "center": center, "zoom": zoom},
        margin={"l": 0, "r": 0, "t": 0, "b": 0},
        paper_bgcolor=BACKGROUND,
        plot_bgcolor=BACKGROUND,
        font={"color": "#e2e8f0", "size": 16},
        hoverlabel={"font": {"size": 18}},
        uirevision=revision,
        showlegend=False,
    )
    return fig


def legend_stops(risk: bool, zmax: float) -> tuple[list[list], list[tuple[float, str]]]:
    """The colour scale and (position 0..1, label) ticks for the HTML legend."""
    if risk:
        lo, hi = RISK_RANGE
        ticks = [(0.0, "0"), ((100 - lo) / (hi - lo), "100"), (2 / 3, "200"), (1.0, f"≥{hi}")]
        return RISK_SCALE, ticks
    top = int(zmax)
    ticks = [(0.0, "0"), (0.5, f"{top / 2:g}"), (1.0, f"≥{top}")]
    return EVENTS_SCALE, ticks
