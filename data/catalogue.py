"""The catalogue of event sources and their categories: plain values, no store.

Screens use it to label, colour and order things; :mod:`data.events` defines what a valid event
is in terms of it. Codes are stable identifiers. The five built-in sources (police, traffic,
environment, market, hotline) are the default catalogue; their display names live in the
translation tables (``source.<id>``, ``category.<id>.<category>``).

A deployment adds sources (or changes a built-in one) in its TOML config file with ``[[sources]]``
tables (:meth:`Catalogue.with_config`, docs/INGEST.md "Sources by configuration"): a configured
source carries its own display names, so it needs no code and no translation-table change.
The running app's catalogue is ``Settings.catalogue`` (``Runtime.catalogue``); the module names
:data:`SOURCES` and :data:`CATEGORIES` are the *default* catalogue, for code that runs without
settings (the simulator, benchmarks).
"""

from __future__ import annotations

import re
from functools import cached_property
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

# a source or category code: lower-case ASCII, as it appears in URLs (/api/ingest/<id>), CSS
# classes and DuckDB rows
CODE_PATTERN = r"^[a-z][a-z0-9_]{0,39}$"
COLOUR_PATTERN = r"^#[0-9a-fA-F]{6}$"


class CategorySpec(BaseModel):
    """One category of a source: its code and (for configured sources) its display names."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=CODE_PATTERN)
    name_zh: str | None = Field(default=None, min_length=1, max_length=80)
    name_en: str | None = Field(default=None, min_length=1, max_length=80)


class SourceSpec(BaseModel):
    """One event source: code, display names, colour on the wall, the unit of its ``value``,
    whether a value is required (a measurement source), the severity given to events sent
    without one, and its categories.

    Names left out (``None``) come from the translation tables: only built-in sources have them.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=CODE_PATTERN)
    name_zh: str | None = Field(default=None, min_length=1, max_length=80)
    name_en: str | None = Field(default=None, min_length=1, max_length=80)
    colour: str = Field(default="#94a3b8", pattern=COLOUR_PATTERN)
    unit: str = Field(default="", max_length=20)
    value_required: bool = False
    default_severity: int | None = Field(default=None, ge=1, le=5)
    categories: tuple[CategorySpec, ...] = Field(min_length=1)

    @field_validator("categories", mode="before")
    @classmethod
    def _category_codes(cls, v: Any) -> Any:
        # a plain code ("hazard") is a category without names of its own
        if isinstance(v, list | tuple):
            return [{"id": c} if isinstance(c, str) else c for c in v]
        return v

    @field_validator("categories")
    @classmethod
    def _unique_categories(cls, v: tuple[CategorySpec, ...]) -> tuple[CategorySpec, ...]:
        seen: set[str] = set()
        twice = [c.id for c in v if c.id in seen or seen.add(c.id)]
        if twice:
            raise ValueError(f"category {twice[0]!r} is listed twice")
        return v

    @property
    def category_ids(self) -> tuple[str, ...]:
        """The category codes, in their configured order."""
        return tuple(c.id for c in self.categories)


class Catalogue(BaseModel):
    """The sources OneGrid accepts, in display order (the wall's tiles and buttons)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    sources: tuple[SourceSpec, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_sources(self) -> Catalogue:
        seen: set[str] = set()
        for s in self.sources:
            if s.id in seen:
                raise ValueError(f"source {s.id!r} is listed twice")
            if s.id in RESERVED_METRICS:
                raise ValueError(f"source id {s.id!r} is reserved (a wall metric)")
            seen.add(s.id)
        return self

    @cached_property
    def ids(self) -> tuple[str, ...]:
        """Every source code, in display order."""
        return tuple(s.id for s in self.sources)

    @cached_property
    def categories(self) -> dict[str, tuple[str, ...]]:
        """Source code -> its category codes."""
        return {s.id: s.category_ids for s in self.sources}

    @cached_property
    def value_required(self) -> frozenset[str]:
        """Sources whose events are measurements: a value is required."""
        return frozenset(s.id for s in self.sources if s.value_required)

    @cached_property
    def wall_metrics(self) -> tuple[str, ...]:
        """What the wall can colour the map by: every event, one source, or the risk index."""
        return ("all", *self.ids, "risk")

    @cached_property
    def significant_sources(self) -> tuple[str, ...]:
        """Sources whose events the wall's ticker shows one by one: not the measurement sources,
        whose readings show through the map's metric instead."""
        return tuple(s.id for s in self.sources if not s.value_required)

    @cached_property
    def _by_id(self) -> dict[str, SourceSpec]:
        return {s.id: s for s in self.sources}

    def source(self, source: str) -> SourceSpec:
        """The spec of ``source``; KeyError naming the known sources when there is none."""
        try:
            return self._by_id[source]
        except KeyError:
            raise KeyError(self.unknown(source)) from None

    def unknown(self, source: str) -> str:
        """The error text for a source that is not in the catalogue."""
        return f"unknown source {source!r}; expected one of {', '.join(self.ids)}"

    def name(self, key: str, lang: str) -> str | None:
        """The configured display name of a translation key ``source.<id>`` or
        ``category.<id>.<category>`` in ``lang`` (zh/en), or None when the catalogue has none
        (built-in sources: the translation tables name them)."""
        parts = key.split(".")
        spec = self._by_id.get(parts[1]) if len(parts) in (2, 3) else None
        if spec is None or parts[0] not in ("source", "category"):
            return None
        field = "name_en" if lang == "en" else "name_zh"
        if parts[0] == "source" and len(parts) == 2:
            return getattr(spec, field)
        if parts[0] == "category" and len(parts) == 3:
            for c in spec.categories:
                if c.id == parts[2]:
                    # a configured source's category without names reads as its code
                    own = getattr(c, field)
                    builtin = DEFAULT_CATALOGUE.categories.get(spec.id, ())
                    return own or (None if c.id in builtin else c.id)
        return None

    def with_config(self, entries: list[dict[str, Any]]) -> Catalogue:
        """This catalogue with the config file's ``[[sources]]`` tables applied: an entry with a
        new id adds a source (``name_zh``, ``name_en`` and ``categories`` required); one with
        the id of a source already here replaces the fields it gives.

        Raises ValueError naming the entry (``sources[2] (id "safety")``) and the field.
        """
        out = {s.id: s.model_dump(exclude_none=True) for s in self.sources}
        problems: list[str] = []
        given: set[str] = set()
        for i, entry in enumerate(entries):
            where = f"sources[{i}]"
            if not isinstance(entry, dict):
                problems.append(f"{where}: expected a table, got {entry!r}")
                continue
            sid = entry.get("id")
            where += f" (id {sid!r})"
            if not isinstance(sid, str):
                problems.append(f"{where}: id is required (a code such as 'safety')")
                continue
            if sid in given:
                problems.append(f"{where}: source {sid!r} is configured twice")
                continue
            given.add(sid)
            if sid not in out:
                missing = [k for k in ("name_zh", "name_en", "categories") if not entry.get(k)]
                if missing:
                    problems.append(f"{where}: a new source needs {', '.join(missing)}")
                    continue
            merged = {**out.get(sid, {}), **entry}
            try:
                out[sid] = SourceSpec.model_validate(merged).model_dump(exclude_none=True)
            except ValidationError as exc:
                for err in exc.errors():
                    loc = ".".join(str(p) for p in err["loc"])
                    problems.append(f"{where}.{loc}: {err['msg']} (got {err.get('input')!r})")
        if problems:
            raise ValueError("; ".join(problems))
        try:
            return Catalogue.model_validate({"sources": list(out.values())})
        except ValidationError as exc:
            raise ValueError("; ".join(e["msg"] for e in exc.errors())) from None


# the wall's metrics that are not sources: a source may not take their names
RESERVED_METRICS = frozenset({"all", "risk"})

DEFAULT_CATALOGUE = Catalogue(
    sources=(
        # 110 incidents (docs/DOMAIN.md 2.1)
        SourceSpec(
            id="police",
            colour="#60a5fa",
            categories=(
                "criminal",
                "public_order",
                "traffic",
                "dispute",
                "assistance",
                "fire_disaster",
                "other",
            ),
        ),
        # accidents carry injuries in attributes; congestion readings carry the 0-10 index in value
        SourceSpec(
            id="traffic",
            colour="#fbbf24",
            categories=("accident", "congestion", "road_hazard", "violation"),
        ),
        # sensor readings: value is the measurement (AQI index, ug/m3, mg/m3, mg/L, dB; the unit
        # depends on the category)
        SourceSpec(
            id="environment",
            colour="#34d399",
            value_required=True,
            categories=(
                "aqi",
                "pm25",
                "pm10",
                "so2",
                "no2",
                "co",
                "o3",
                "water_do",
                "water_codmn",
                "water_nh3n",
                "water_tp",
                "noise",
            ),
        ),
        # market supervision / 12315 (docs/DOMAIN.md 2.4)
        SourceSpec(
            id="market",
            colour="#c084fc",
            categories=("complaint", "violation_report", "enquiry", "inspection", "food_safety"),
        ),
        # 12345 citizen hotline subjects (docs/DOMAIN.md 2.5); the request type goes to
        # attributes.type
        SourceSpec(
            id="hotline",
            colour="#f472b6",
            categories=(
                "heating",
                "utilities",
                "property",
                "traffic",
                "noise",
                "labour",
                "illegal_construction",
                "city_appearance",
                "consumer",
                "education",
                "health",
                "other",
            ),
        ),
    )
)
BUILTIN_IDS: frozenset[str] = frozenset(DEFAULT_CATALOGUE.ids)

# The default catalogue as plain values (code that runs without settings: simulator, benches).
SOURCES: tuple[str, ...] = DEFAULT_CATALOGUE.ids
CATEGORIES: dict[str, tuple[str, ...]] = DEFAULT_CATALOGUE.categories

# Metrics the wall can colour the map by (default catalogue): every event, one source, or risk.
WALL_METRICS: tuple[str, ...] = DEFAULT_CATALOGUE.wall_metrics

# The wall's time windows (rolling, ending now) and the levels its map can colour.
WALL_WINDOWS: tuple[str, ...] = ("1h", "24h", "7d")
DEFAULT_WALL_WINDOW = "24h"
MAP_LEVELS: tuple[str, ...] = ("county", "township", "community", "grid")

# the hall console's channels (data/console.py): walls opened with ?channel=<name> follow one
CHANNEL_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,31}")
DEFAULT_CHANNEL = "hall"
