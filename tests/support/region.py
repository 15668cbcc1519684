"""The tiny test region: two counties of 4 x 4 grid cells, and where its cells are."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import shapely

# The tiny region: two counties side by side, each one township > one community > 4 x 4 cells of
# 0.01 degree, between 123.00-123.08 E and 41.00-41.04 N.
TINY_X0, TINY_Y0, TINY_STEP = 123.0, 41.0, 0.01


def tiny_areas() -> gpd.GeoDataFrame:
    """Areas of the tiny test region (EPSG:4326)."""
    rows = []
    city = shapely.box(TINY_X0, TINY_Y0, TINY_X0 + 8 * TINY_STEP, TINY_Y0 + 4 * TINY_STEP)
    rows.append(("T", "city", None, "测试市", "Test City", 2000, "urban", city))
    key = {"T": 1}
    for c in range(2):
        x0 = TINY_X0 + c * 4 * TINY_STEP
        box = shapely.box(x0, TINY_Y0, x0 + 4 * TINY_STEP, TINY_Y0 + 4 * TINY_STEP)
        county, town, comm = f"T0{c + 1}", f"T0{c + 1}001", f"T0{c + 1}001001"
        rows.append(
            (county, "county", "T", f"第{c + 1}区", f"District {c + 1}", 1000, "urban", box)
        )
        rows.append(
            (town, "township", county, f"第{c + 1}街道", f"Street {c + 1}", 1000, "urban", box)
        )
        rows.append(
            (comm, "community", town, f"第{c + 1}社区", f"Community {c + 1}", 1000, "urban", box)
        )
        for i in range(4):
            for j in range(4):
                cell = shapely.box(
                    x0 + i * TINY_STEP,
                    TINY_Y0 + j * TINY_STEP,
                    x0 + (i + 1) * TINY_STEP,
                    TINY_Y0 + (j + 1) * TINY_STEP,
                )
                code = f"{comm}{i * 4 + j + 1:03d}"
                rows.append(
                    (code, "grid", comm, f"网格{code[-3:]}", f"Grid {code[-3:]}", 60, "urban", cell)
                )
    codes = [r[0] for r in rows]
    key = {code: i + 1 for i, code in enumerate(codes)}
    return gpd.GeoDataFrame(
        {
            "key": [key[r[0]] for r in rows],
            "code": codes,
            "level": [r[1] for r in rows],
            "parent_key": pd.array([key.get(r[2]) for r in rows], dtype="Int32"),
            "name_zh": [r[3] for r in rows],
            "name_en": [r[4] for r in rows],
            "population": [r[5] for r in rows],
            "kind": [r[6] for r in rows],
        },
        geometry=[r[7] for r in rows],
        crs="EPSG:4326",
    )


def tiny_cell_center(county: int, i: int, j: int) -> tuple[float, float]:
    """lon, lat of the centre of cell (i, j) of county 1 or 2 in the tiny region."""
    x0 = TINY_X0 + (county - 1) * 4 * TINY_STEP
    return x0 + (i + 0.5) * TINY_STEP, TINY_Y0 + (j + 0.5) * TINY_STEP


def tiny_cell_code(county: int, i: int, j: int) -> str:
    """Public id of cell (i, j) of county 1 or 2 in the tiny region."""
    return f"T0{county}001001{i * 4 + j + 1:03d}"
