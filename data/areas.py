"""The region's hierarchy inside the store, and area scopes.

Every read query takes an :class:`AreaScope`: the subtree of the hierarchy the caller may see. Role
scoping (a county leader sees one county) is enforced by handing queries a narrower scope, in one
place, instead of by each screen.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from data.store import Database, registered

LEVELS: tuple[str, ...] = ("city", "county", "township", "community", "grid")
# the events/areas column that holds each level's key
LEVEL_COLUMN: dict[str, str] = {
    "city": "city_key",
    "county": "county_key",
    "township": "township_key",
    "community": "community_key",
    "grid": "cell_key",
}


class RegionMismatch(RuntimeError):
    """The database file was built for another region."""


@dataclass(frozen=True)
class AreaScope:
    """A subtree of the area hierarchy: the area at ``level`` with ``key`` and all below it."""

    level: str
    key: int

    def __post_init__(self) -> None:
        if self.level not in LEVEL_COLUMN:
            raise ValueError(f"unknown level {self.level!r}; expected one of {', '.join(LEVELS)}")

    @property
    def column(self) -> str:
        """The events/areas column that selects this scope (from a fixed list, never user text)."""
        return LEVEL_COLUMN[self.level]

    def where(self, alias: str = "") -> tuple[str, list[int]]:
        """A parameterised SQL condition selecting rows inside the scope, and its parameters."""
        prefix = f"{alias}." if alias else ""
        return f"{prefix}{self.column} = ?", [int(self.key)]

    def contains(self, db: Database, key: int) -> bool:
        """True when area ``key`` lies inside this scope."""
        if self.level == "grid":
            return int(key) == int(self.key)
        row = db.query_one(
            f"SELECT 1 FROM areas WHERE key = ? AND ({self.column} = ? OR key = ?)",
            [int(key), int(self.key), int(self.key)],
        )
        return row is not None


def area_table(region) -> pd.DataFrame:
    """The ``areas`` rows for ``region``: hierarchy, representative point, area, ancestors' keys."""
    areas = region.areas
    rep = areas.geometry.representative_point()
    # equal-area projection for km2 (EPSG:6933, metres)
    km2 = areas.geometry.to_crs(6933).area / 1e6
    table = pd.DataFrame(
        {
            "key": areas["key"].astype("int64"),
            "code": areas["code"].astype(str),
            "level": areas["level"].astype(str),
            "parent_key": areas["parent_key"].astype("Int64"),
            "name_zh": areas["name_zh"],
            "name_en": areas["name_en"],
            "population": areas["population"].astype("Int64") if "population" in areas else pd.NA,
            "kind": areas.get("kind", None),
            "lon": rep.x.round(6),
            "lat": rep.y.round(6),
            "area_km2": km2.round(4),
        }
    )
    # each area's ancestors (itself included) by level: one vectorised hop per level up
    parent = table.set_index("key")["parent_key"]
    level = table.set_index("key")["level"]
    for lvl in LEVELS[:-1]:
        table[LEVEL_COLUMN[lvl]] = pd.array([pd.NA] * len(table), dtype="Int64")
    current = table["key"].astype("Int64")
    for _ in LEVELS:
        at = current.map(level)
        for lvl in LEVELS[:-1]:
            here = (at == lvl).fillna(False).to_numpy(dtype=bool)
            table.loc[here, LEVEL_COLUMN[lvl]] = current[here]
        current = current.map(parent).astype("Int64")
    return table


def install_region(db: Database, region) -> None:
    """Load ``region``'s hierarchy into an empty store, or check the store holds that region.

    Raises :class:`RegionMismatch` when the file was built for another region.
    """
    row = db.query_one("SELECT value FROM meta WHERE key = 'region'")
    if row is not None:
        if row[0] != region.name:
            raise RegionMismatch(
                f"database {db.path} holds region {row[0]!r}, but region {region.name!r} was "
                "asked for: point ONEGRID_DB at another file, or set ONEGRID_REGION to match"
            )
        return
    table = area_table(region)

    def load(con) -> None:
        with registered(con, "new_areas", table):
            con.execute("INSERT INTO areas BY NAME SELECT * FROM new_areas")
        con.execute("INSERT INTO meta VALUES ('region', ?)", [region.name])

    db.write(load)
    db.memo.clear()  # lookups made before the region was installed


def city_scope(db: Database) -> AreaScope:
    """The whole region."""
    hit = db.memo.get("city_scope")
    if hit is not None:
        return hit
    row = db.query_one("SELECT key FROM areas WHERE level = 'city' LIMIT 1")
    if row is None:
        raise RuntimeError("no region installed in the database")
    # areas are written once (install_region): a lookup stays true while the store is open
    found = db.memo["city_scope"] = AreaScope("city", int(row[0]))
    return found


def scope_for_code(db: Database, code: str) -> AreaScope:
    """The scope of the area with public id ``code``; KeyError when there is none."""
    codes = db.memo.get("area_codes")
    if codes is None:  # one read of every code (a few thousand rows) instead of one per lookup
        rows = db.query("SELECT code, level, key FROM areas")
        codes = {c: AreaScope(level, int(key)) for c, level, key in rows}
        if codes:  # an empty store may still get its region: remember only an installed one
            db.memo["area_codes"] = codes
    found = codes.get(str(code))
    if found is None:
        raise KeyError(f"no area with id {code!r}")
    return found


def cell_lineage(db: Database) -> pd.DataFrame:
    """One row per grid cell with every level's key (for placing events)."""
    return db.query_df(
        "SELECT key AS cell_key, community_key, township_key, county_key, city_key "
        "FROM areas WHERE level = 'grid' ORDER BY key"
    )


def lineage_arrays(lineage: pd.DataFrame) -> dict[str, np.ndarray]:
    """Dense lookup arrays: ``arrays[col][cell_key]`` gives that level's key for a cell."""
    size = int(lineage["cell_key"].max()) + 1 if len(lineage) else 1
    out = {}
    for col in ("community_key", "township_key", "county_key", "city_key"):
        arr = np.full(size, -1, dtype=np.int32)
        arr[lineage["cell_key"].to_numpy()] = lineage[col].fillna(-1).to_numpy(dtype=np.int64)
        out[col] = arr
    return out
