"""Warning rules: the TOML file's schema, its loader and clear errors.

A rule of a known kind needs no code: add a ``[[rule]]`` table to ``data/rules.toml`` (or the file
named by the ``warnings_rules`` setting). See docs/WARNINGS.md for every field.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    model_validator,
)

from data.catalogue import DEFAULT_CATALOGUE, Catalogue

DEFAULT_RULES = Path(__file__).resolve().parents[1] / "rules.toml"

# China's four warning levels (docs/DOMAIN.md 3), lowest first; rank = index + 1
LEVELS: tuple[str, ...] = ("blue", "yellow", "orange", "red")
RANK: dict[str, int] = {name: i + 1 for i, name in enumerate(LEVELS)}
KINDS: tuple[str, ...] = ("threshold", "anomaly", "persistence", "cross_domain", "silence")
AREA_LEVELS: tuple[str, ...] = ("grid", "community", "township", "county", "city")
ALL_CATEGORIES: frozenset[str] = frozenset(
    c for cats in DEFAULT_CATALOGUE.categories.values() for c in cats
)


def _catalogue(info: ValidationInfo) -> Catalogue:
    """The catalogue the rules are checked against: the deployment's, handed in as the
    validation context by :func:`parse_rules` (the built-in one without)."""
    got = (info.context or {}).get("catalogue") if info is not None else None
    return got if isinstance(got, Catalogue) else DEFAULT_CATALOGUE


class RulesError(ValueError):
    """A problem in the rules file, worded for the person editing it."""


class Levels(BaseModel):
    """Per-level thresholds; a level left out is not used by the rule.

    threshold, cross_domain: counts (>=); anomaly: -log10 of the tail probability (>=);
    persistence: the reading's limit (>); silence: multiples of the feed's stale limit (>=).
    """

    model_config = ConfigDict(extra="forbid")

    blue: float | None = None
    yellow: float | None = None
    orange: float | None = None
    red: float | None = None

    @model_validator(mode="after")
    def _ordered(self) -> Levels:
        given = [(n, getattr(self, n)) for n in LEVELS if getattr(self, n) is not None]
        if not given:
            raise ValueError("give a threshold for at least one of blue, yellow, orange, red")
        for (n1, v1), (n2, v2) in zip(given, given[1:], strict=False):
            if v2 <= v1:
                raise ValueError(f"{n2} ({v2:g}) must be above {n1} ({v1:g})")
        return self

    def items(self) -> list[tuple[int, float]]:
        """(rank, threshold) of the levels given, lowest first."""
        return [(RANK[n], float(getattr(self, n))) for n in LEVELS if getattr(self, n) is not None]


class Rule(BaseModel):
    """One warning rule (a ``[[rule]]`` table)."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=64)
    kind: Literal["threshold", "anomaly", "persistence", "cross_domain", "silence"]
    name_zh: str = Field(min_length=1)
    name_en: str = Field(min_length=1)
    enabled: bool = True
    sources: list[str] = Field(default_factory=list)
    categories: list[str] = Field(default_factory=list)
    exclude_categories: list[str] = Field(default_factory=list)
    area_level: Literal["grid", "community", "township", "county", "city"] = "grid"
    window_min: float = Field(default=60.0, gt=0, le=7 * 24 * 60)
    levels: Levels
    pending: int = Field(default=2, ge=1, le=100)  # m: evaluations a condition must hold
    clear_hold_min: float = Field(default=30.0, ge=0)  # clear after this long without condition
    # anomaly: weeks of same-hour-of-week history, and the smallest count that can warn
    weeks: int = Field(default=4, ge=1, le=12)
    min_count: int = Field(default=1, ge=1)
    # persistence: consecutive hourly readings above the limit, and the station attribute
    hours: int = Field(default=3, ge=1, le=96)
    station_attr: str = "station"
    # cross_domain: events a source needs in the window to count as active
    min_per_source: int = Field(default=1, ge=1)
    # silence: a feed silent this long is ignored when its same-time history says fewer than
    # min_expected events would have come anyway (0: never ignored)
    min_expected: float = Field(default=0.0, ge=0)

    @model_validator(mode="after")
    def _consistent(self, info: ValidationInfo) -> Rule:
        cat = _catalogue(info)
        unknown = [s for s in self.sources if s not in cat.categories]
        if unknown:
            raise ValueError(f"unknown sources {unknown}; expected some of {list(cat.ids)}")
        every = {c for cats in cat.categories.values() for c in cats}
        for field in ("categories", "exclude_categories"):
            bad = [c for c in getattr(self, field) if c not in every]
            if bad:
                raise ValueError(f"{field}: unknown categories {bad}")
        if self.categories and self.sources:
            usable = {c for s in self.sources for c in cat.categories[s]}
            if not set(self.categories) & usable:
                raise ValueError("no category in `categories` belongs to the rule's sources")
        if self.kind == "persistence":
            if len(self.sources) != 1 or len(self.categories) != 1:
                raise ValueError("a persistence rule needs exactly one source and one category")
            self.area_level = "grid"
        if self.kind == "cross_domain" and len(self.sources) < 2:
            raise ValueError("a cross_domain rule needs at least two sources")
        if self.kind == "silence":
            self.area_level = "city"
        if self.kind in ("threshold", "anomaly") and not self.sources:
            self.sources = list(cat.ids)
        return self

    @property
    def window(self):
        import pandas as pd

        return pd.Timedelta(minutes=self.window_min)

    @property
    def uses_raw(self) -> bool:
        """True when the rule filters by category, so counts come from the events table."""
        return bool(self.categories or self.exclude_categories)


class FusionGroup(BaseModel):
    """A ``[[fusion]]`` table: reports of these (source, category) pairs in one cell within
    ``window_min`` minutes of the first, from at least ``min_sources`` feeds, are one incident."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name_zh: str
    name_en: str
    window_min: float = Field(default=30.0, gt=0, le=24 * 60)
    min_sources: int = Field(default=2, ge=2)
    members: list[dict[str, str]] = Field(min_length=2)

    @model_validator(mode="after")
    def _members(self, info: ValidationInfo) -> FusionGroup:
        cat = _catalogue(info)
        for m in self.members:
            if set(m) != {"source", "category"}:
                raise ValueError("each member needs exactly `source` and `category`")
            if m["source"] not in cat.categories:
                raise ValueError(f"unknown source {m['source']!r}")
            if m["category"] not in cat.categories[m["source"]]:
                raise ValueError(f"unknown category {m['category']!r} for {m['source']}")
        if len({m["source"] for m in self.members}) < self.min_sources:
            raise ValueError("members come from fewer sources than min_sources")
        return self


class RuleSet(BaseModel):
    """The whole rules file."""

    model_config = ConfigDict(extra="forbid")

    rule: list[Rule] = Field(default_factory=list)
    fusion: list[FusionGroup] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique(self) -> RuleSet:
        ids = [r.id for r in self.rule]
        dup = sorted({i for i in ids if ids.count(i) > 1})
        if dup:
            raise ValueError(f"rule ids must be unique; repeated: {dup}")
        return self

    @property
    def rules(self) -> list[Rule]:
        """The enabled rules."""
        return [r for r in self.rule if r.enabled]

    def get(self, rule_id: str) -> Rule | None:
        return next((r for r in self.rule if r.id == rule_id), None)


def parse_rules(
    text: str, origin: str = "<rules>", catalogue: Catalogue = DEFAULT_CATALOGUE
) -> RuleSet:
    """Parse and validate rules TOML text against ``catalogue``'s sources and categories;
    raises :class:`RulesError` naming every problem."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RulesError(f"rules file {origin} is not valid TOML: {exc}") from exc
    try:
        return RuleSet.model_validate(data, context={"catalogue": catalogue})
    except ValidationError as exc:
        raise RulesError(_explain(exc, data, origin)) from exc


def load_rules(path: str | Path | None = None, catalogue: Catalogue = DEFAULT_CATALOGUE) -> RuleSet:
    """Load the rules file (default ``data/rules.toml``), checked against ``catalogue``."""
    p = Path(path) if path else DEFAULT_RULES
    if not p.is_file():
        raise RulesError(f"rules file not found: {p}")
    return parse_rules(p.read_text(encoding="utf-8"), str(p), catalogue)


def _explain(exc: ValidationError, data: dict, origin: str) -> str:
    lines = [f"invalid rules file {origin}:"]
    for err in exc.errors():
        loc = list(err["loc"])
        where = ".".join(str(p) for p in loc)
        if len(loc) >= 2 and loc[0] in ("rule", "fusion") and isinstance(loc[1], int):
            items = data.get(loc[0]) or []
            rid = items[loc[1]].get("id", "?") if loc[1] < len(items) else "?"
            rest = ".".join(str(p) for p in loc[2:]) or "(table)"
            where = f"[[{loc[0]}]] #{loc[1] + 1} id={rid!r}: {rest}"
        msg = err["msg"].removeprefix("Value error, ")
        lines.append(f"  {where}: {msg}")
    return "\n".join(lines)
