"""A briefing's map, drawn on the server with Pillow from the region's own polygons: no tiles, no
outside request (command centres run on intranets). Each area is filled by its count on a
five-step ramp (light yellow to dark red; areas with nothing in light grey), with a legend of the
steps' ranges."""

from __future__ import annotations

import io
import math

import numpy as np
from PIL import Image, ImageDraw, ImageFont

# light yellow -> dark red, the colour order of the warning levels
RAMP = ((255, 237, 160), (254, 178, 76), (253, 141, 60), (227, 26, 28), (128, 0, 38))
NONE = (235, 235, 235)
EDGE = (120, 120, 120)


def steps(values: list[float]) -> list[float]:
    """The upper bounds of the ramp's five steps: equal shares of the largest value."""
    top = max(values, default=0) or 1
    return [top * (i + 1) / len(RAMP) for i in range(len(RAMP))]


def colour(value: float, bounds: list[float]) -> tuple[int, int, int]:
    """The fill of an area with ``value`` (light grey for nothing)."""
    if not value or value <= 0:
        return NONE
    for c, upper in zip(RAMP, bounds, strict=True):
        if value <= upper:
            return c
    return RAMP[-1]


def render_map(areas, values: dict[str, float], *, width: int = 1000, font=None) -> bytes:
    """PNG of ``areas`` (a GeoDataFrame in EPSG:4326 with ``code``) filled by ``values`` (code ->
    count); only the areas named in ``values`` are drawn. ``font``: a TrueType file for the
    legend's numbers (Pillow's own font without it)."""
    shown = areas[areas["code"].isin(list(values))]
    if shown.empty:
        raise ValueError("no area of the map has a value")
    x0, y0, x1, y1 = shown.total_bounds
    # plate carrée scaled by cos(latitude): shapes look right at a city's size
    kx = math.cos(math.radians((y0 + y1) / 2))
    span_x, span_y = max((x1 - x0) * kx, 1e-9), max(y1 - y0, 1e-9)
    pad, legend_h = 20, 70
    inner = width - 2 * pad
    scale = inner / span_x
    height = int(span_y * scale) + 2 * pad + legend_h
    img = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(img)
    bounds = steps([float(v) for v in values.values()])
    tolerance = (x1 - x0) / inner  # one pixel
    for code, geom in zip(shown["code"], shown.geometry.simplify(tolerance), strict=True):
        fill = colour(float(values.get(code) or 0), bounds)
        for poly in getattr(geom, "geoms", [geom]):
            ring = np.asarray(poly.exterior.coords)
            px = pad + (ring[:, 0] - x0) * kx * scale
            py = pad + (y1 - ring[:, 1]) * scale
            draw.polygon(list(zip(px.tolist(), py.tolist(), strict=True)), fill=fill, outline=EDGE)
    face = ImageFont.truetype(str(font), 22) if font else ImageFont.load_default()
    y = height - legend_h + 18
    box = inner // len(RAMP)
    for i, (c, upper) in enumerate(zip(RAMP, bounds, strict=True)):
        x = pad + i * box
        draw.rectangle([x, y, x + 30, y + 24], fill=c, outline=EDGE)
        # digits and ASCII only: the legend reads the same in every language
        draw.text((x + 38, y), f"<= {math.floor(upper):,}", fill="black", font=face)
    out = io.BytesIO()
    img.save(out, format="PNG", optimize=True)
    return out.getvalue()
