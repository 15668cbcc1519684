"""Geometry for the browser: each level's polygons as compact GeoJSON, sent once.

Simplified (a tolerance in metres) and rounded (5 decimals is about 1 m), feature ``id`` = area key.
"""

from __future__ import annotations

import json
import math

import shapely

M_PER_DEG = 111_320.0


def level_geojson(region, level: str, *, tolerance_m: float = 15.0, decimals: int = 5) -> dict:
    """A FeatureCollection of ``region``'s areas at ``level`` (EPSG:4326, ids = keys)."""
    areas = region.level(level)
    # the mid-latitude of the bounding box is enough to turn metres into degrees
    lat0 = float((areas.total_bounds[1] + areas.total_bounds[3]) / 2) if len(areas) else 0.0
    tol = tolerance_m / (M_PER_DEG * max(math.cos(math.radians(lat0)), 0.1))
    geoms = shapely.simplify(areas.geometry.to_numpy(), tol, preserve_topology=True)
    geoms = shapely.set_precision(geoms, 10**-decimals)
    features = []
    for key, geom in zip(areas["key"].to_numpy(), geoms, strict=True):
        if geom is None or geom.is_empty:
            continue
        features.append(
            {
                "type": "Feature",
                "id": int(key),
                "properties": {},
                "geometry": geom.__geo_interface__,
            }
        )
    return {"type": "FeatureCollection", "features": features}


def geojson_bytes(collection: dict) -> bytes:
    """Compact JSON bytes of a FeatureCollection."""
    return json.dumps(collection, separators=(",", ":")).encode()
