"""The responsibility list (权责清单): category (+ area) -> department, level and deadlines.

The list is ``data/responsibilities.toml`` (format in that file's header and docs/CASES.md),
validated with pydantic. :meth:`Responsibilities.route` answers for one case; :meth:`rule_table`
gives the rules as a frame so bulk intake can route thousands of cases in one SQL join. A
category without a rule is never guessed: the case is flagged "needs decision" for the hall.
"""

from __future__ import annotations

import json
import logging
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from data.cases.calendar import parse_duration

log = logging.getLogger(__name__)
DEFAULT_PATH = Path(__file__).resolve().parents[1] / "responsibilities.toml"
# a region's own list, in its folder (data/regions/<name>/): import-region writes a hall-only one
RESPONSIBILITY_FILE = "responsibilities.toml"
URGENCIES: tuple[str, ...] = ("urgent", "normal", "complex")
DEPT_LEVELS: tuple[str, ...] = ("city", "county", "township")
AREA_DEPTH = {"city": 0, "county": 1, "township": 2, "community": 3, "grid": 4}
# area level -> the column holding a row's key at that level (events, cases)
LEVEL_KEY_COLUMNS = {
    "city": "city_key",
    "county": "county_key",
    "township": "township_key",
    "community": "community_key",
    "grid": "cell_key",
}


class ResponsibilityError(ValueError):
    """The responsibility list is invalid."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_duration(v: str) -> str:
    parse_duration(v)
    return v


class Department(_Model):
    id: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.\-]+$")
    name_zh: str = Field(min_length=1)
    name_en: str = Field(min_length=1)
    level: Literal["city", "county", "township"]


class Deadlines(_Model):
    urgent: str | None = None
    normal: str | None = None
    complex: str | None = None

    @field_validator("urgent", "normal", "complex")
    @classmethod
    def _duration(cls, v: str | None) -> str | None:
        return None if v is None else _check_duration(v)


class Rule(_Model):
    category: str = Field(pattern=r"^[a-z0-9_]+\.[a-z0-9_]+$")
    department: str
    area: str | None = None
    deadlines: Deadlines = Deadlines()


class HotlineOptions(_Model):
    answered_on_call: list[str] = []
    urgent_severity: int = Field(default=4, ge=1, le=5)
    department_attribute: str | None = None


class ResponsibilityFile(_Model):
    version: Literal[1] = 1
    hall: Department
    deadlines: Deadlines
    hotline: HotlineOptions = HotlineOptions()
    departments: list[Department] = []
    rules: list[Rule] = []

    @model_validator(mode="after")
    def _consistent(self) -> ResponsibilityFile:
        missing = [u for u in URGENCIES if getattr(self.deadlines, u) is None]
        if missing:
            raise ValueError(f"[deadlines] needs every urgency class; missing {missing}")
        ids = [self.hall.id] + [d.id for d in self.departments]
        dup = sorted({i for i in ids if ids.count(i) > 1})
        if dup:
            raise ValueError(f"department ids repeated: {dup}")
        known = set(ids)
        for r in self.rules:
            if r.department not in known:
                raise ValueError(f"rule for {r.category} names unknown department {r.department!r}")
        keys = [(r.category, r.area) for r in self.rules]
        twice = sorted({f"{c} @ {a or 'region'}" for c, a in keys if keys.count((c, a)) > 1})
        if twice:
            raise ValueError(f"more than one rule for: {twice}")
        return self


@dataclass(frozen=True)
class Route:
    """Where a case goes. ``department`` None: outside the list, needs the hall's decision."""

    department: str | None
    level: str | None
    deadlines: dict[str, str]

    @property
    def needs_decision(self) -> bool:
        return self.department is None


class Responsibilities:
    """A validated responsibility list, with area codes resolved against a store (optional)."""

    def __init__(
        self, spec: ResponsibilityFile, area_keys: dict[str, tuple[int, str]] | None = None
    ):
        self.spec = spec
        self.hall = spec.hall
        self.departments: dict[str, Department] = {spec.hall.id: spec.hall} | {
            d.id: d for d in spec.departments
        }
        self.defaults = {u: getattr(spec.deadlines, u) for u in URGENCIES}
        self.hotline = spec.hotline
        # area code -> (key, level); rules whose area is not in this region are left out (logged)
        self.unresolved_areas: list[str] = []
        rows = []
        for r in spec.rules:
            key, level = None, None
            if r.area is not None:
                found = (area_keys or {}).get(r.area)
                if found is None:
                    self.unresolved_areas.append(r.area)
                    continue
                key, level = found
            dl = {u: getattr(r.deadlines, u) or self.defaults[u] for u in URGENCIES}
            rows.append(
                {
                    "category": r.category,
                    "area_key": key,
                    "area_level": level,
                    "depth": AREA_DEPTH[level] if level else -1,
                    "department": r.department,
                    "dept_level": self.departments[r.department].level,
                    **{f"deadline_{u}": dl[u] for u in URGENCIES},
                }
            )
        if self.unresolved_areas:
            log.info(
                "responsibility rules for areas not in this region skipped: %s",
                sorted(set(self.unresolved_areas)),
            )
        self._rules = pd.DataFrame(
            rows,
            columns=["category", "area_key", "area_level", "depth", "department", "dept_level"]
            + [f"deadline_{u}" for u in URGENCIES],
        )
        self._rules["area_key"] = self._rules["area_key"].astype("Int64")

    # ------------------------------------------------------------------------------------------

    @classmethod
    def for_region(cls, path: str | Path | None, region, db=None) -> Responsibilities:
        """The list a running region uses: ``path`` when the settings name one, else the
        region folder's own ``responsibilities.toml`` (an imported region's), else the
        default list (data/responsibilities.toml, written for the default region)."""
        if path:
            return cls.load(path, db)
        folder = getattr(region, "folder", None)
        own = Path(folder) / RESPONSIBILITY_FILE if folder is not None else None
        if own is not None and own.is_file():
            return cls.load(own, db)
        if str(getattr(region, "meta", {}).get("source", "")).startswith("imported from"):
            # an imported region (before import-region wrote its list, or with the list
            # deleted) never takes the default region's departments and area rules
            log.warning(
                "region %s has no responsibility list of its own: every case goes to the hall; "
                "write one with `python app.py responsibilities --region %s`",
                getattr(region, "name", "?"),
                folder,
            )
            return cls(hall_only(cls.load(DEFAULT_PATH).spec))
        return cls.load(DEFAULT_PATH, db)

    @classmethod
    def load(cls, path: str | Path | None = None, db=None) -> Responsibilities:
        """Read and validate the list; with ``db``, resolve area codes to that region's keys."""
        p = Path(path) if path else DEFAULT_PATH
        try:
            raw = tomllib.loads(p.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ResponsibilityError(f"responsibility list not found: {p}") from None
        except tomllib.TOMLDecodeError as exc:
            raise ResponsibilityError(f"{p} is not valid TOML: {exc}") from exc
        try:
            spec = ResponsibilityFile.model_validate(raw)
        except ValidationError as exc:
            lines = [f"invalid responsibility list {p}:"]
            for err in exc.errors():
                where = ".".join(str(x) for x in err["loc"])
                lines.append(f"  {where}: {err['msg']}")
            raise ResponsibilityError("\n".join(lines)) from exc
        codes = {r.area for r in spec.rules if r.area}
        keys: dict[str, tuple[int, str]] = {}
        if db is not None and codes:
            marks = ",".join("?" * len(codes))
            for code, key, level in db.query(
                f"SELECT code, key, level FROM areas WHERE code IN ({marks})", sorted(codes)
            ):
                keys[code] = (int(key), level)
        return cls(spec, keys)

    def rule_table(self) -> pd.DataFrame:
        """The rules as a frame (category, area_key, depth, department, dept_level, deadline_*)."""
        return self._rules.copy()

    def categories(self) -> list[str]:
        """Every category with a rule."""
        return sorted(set(self._rules["category"]))

    def route(self, category: str, area_keys: dict[str, int | None] | None = None) -> Route:
        """The department for ``category`` in the area given by its keys at each level
        (``{"county": 3, "township": 12, ...}``); the deepest matching area rule wins.
        One case of :meth:`route_frame` (the one routing rule)."""
        keys = area_keys or {}
        row = {"category": [category]} | {
            col: [keys.get(level)] for level, col in LEVEL_KEY_COLUMNS.items()
        }
        routed = self.route_frame(pd.DataFrame(row)).iloc[0]
        if pd.isna(routed["department"]):
            return Route(None, None, dict(self.defaults))
        return Route(
            routed["department"],
            routed["dept_level"],
            {u: routed[f"deadline_{u}"] for u in URGENCIES},
        )

    def route_frame(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Department, level and time limit of every row (``category`` and area keys), vectorised:
        join on category, keep the rules whose area holds the row, the deepest one wins (the
        first in the list among equally deep ones). Rows without a rule get missing values."""
        table = self.rule_table()
        cols = [c for c in LEVEL_KEY_COLUMNS.values() if c in frame.columns]
        left = frame[["category", *cols]].copy()
        left["_i"] = np.arange(len(frame))
        m = left.merge(table, on="category", how="inner")
        own = pd.Series(pd.NA, index=m.index, dtype="Int64")
        for level, c in LEVEL_KEY_COLUMNS.items():
            if c in m.columns:
                sel = m["area_level"] == level
                own[sel] = m.loc[sel, c].astype("Int64")
        ok = m["area_key"].isna() | (own == m["area_key"]).fillna(False)
        m = m[ok.to_numpy(dtype=bool)].sort_values(
            ["_i", "depth"], ascending=[True, False], kind="stable"
        )
        m = m.drop_duplicates("_i", keep="first")
        out = pd.DataFrame(index=np.arange(len(frame)))
        out["department"] = pd.Series(m["department"].to_numpy(), index=m["_i"].to_numpy())
        out["dept_level"] = pd.Series(m["dept_level"].to_numpy(), index=m["_i"].to_numpy())
        for u in URGENCIES:
            out[f"deadline_{u}"] = pd.Series(
                m[f"deadline_{u}"].to_numpy(), index=m["_i"].to_numpy()
            )
        return out

    def deadline_for(self, department: str | None, category: str, urgency: str) -> str:
        """The time limit for a case of ``category`` handled by ``department``: that department's
        rule for the category if it has one, else the default for the urgency class."""
        rules = self._rules[
            (self._rules["category"] == category) & (self._rules["department"] == department)
        ]
        if len(rules):
            return str(rules.iloc[0][f"deadline_{urgency}"])
        return self.defaults[urgency]

    def department_name(self, dept: str | None, lang: str = "zh") -> str:
        """Display name of a department (the id itself for departments outside the list, such
        as a historical publisher's agency)."""
        if not dept:
            return ""
        d = self.departments.get(dept)
        if d is None:
            return dept
        return d.name_en if lang == "en" else d.name_zh


# --- writing a region's own list -----------------------------------------------------------------

_HEADER = """# OneGrid responsibility list (权责清单) of region {region}: who owns which matter.
# Format and rules: docs/CASES.md ("The responsibility list"); loaded by
# data/cases/responsibility.py. {how}
"""


def _toml(v) -> str:
    """A TOML value of the list's kinds (text, whole number, list of text); JSON's string
    escapes are TOML's."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, list):
        return "[" + ", ".join(_toml(x) for x in v) + "]"
    return json.dumps(str(v), ensure_ascii=False)


def _table(name: str, values: dict, array: bool = False) -> list[str]:
    head = f"[[{name}]]" if array else f"[{name}]"
    lines = [head]
    for k, v in values.items():
        if v is None:
            continue
        if isinstance(v, dict):
            inner = ", ".join(f"{ik} = {_toml(iv)}" for ik, iv in v.items() if iv is not None)
            if inner:
                lines.append(f"{k} = {{ {inner} }}")
        else:
            lines.append(f"{k} = {_toml(v)}")
    return lines + [""]


def list_text(spec: ResponsibilityFile, region: str, how: str) -> str:
    """``spec`` as the text of a responsibility list file for ``region`` (``how``: a comment
    line saying where it came from)."""
    out = [_HEADER.format(region=region, how=how), "version = 1", ""]
    out += _table("hall", spec.hall.model_dump())
    out += _table("deadlines", spec.deadlines.model_dump())
    out += _table("hotline", spec.hotline.model_dump())
    for d in spec.departments:
        out += _table("departments", d.model_dump(), array=True)
    for r in spec.rules:
        out += _table("rules", r.model_dump(exclude_defaults=True), array=True)
    return "\n".join(out)


def _spec_of(path: Path) -> ResponsibilityFile:
    return Responsibilities.load(path).spec


def hall_only(spec: ResponsibilityFile) -> ResponsibilityFile:
    """``spec``'s hall, deadlines and hotline options, without departments and rules (and
    without a publisher's own routing): every case goes to the hall to decide."""
    hotline = spec.hotline.model_copy(update={"department_attribute": None})
    return ResponsibilityFile(hall=spec.hall, deadlines=spec.deadlines, hotline=hotline)


def write_hall_only(out: Path, region: str, template: Path = DEFAULT_PATH) -> Path:
    """Write a hall-only list for ``region`` to ``out`` (:func:`hall_only` of the template)."""
    only = hall_only(_spec_of(template))
    how = (
        "Hall only: every case goes to the command hall to decide. Write the region's own with"
        "\n# `python app.py responsibilities --region <folder> --from <list>`, then edit it."
    )
    out.write_text(list_text(only, region, how), encoding="utf-8")
    return out


def derive_list(source: Path, area_codes: set[str]) -> tuple[ResponsibilityFile, list[str]]:
    """The list ``source`` for a region whose area codes are ``area_codes``: its hall,
    deadlines, departments and region-wide rules, and its area rules for areas of the region.
    Returns it and the area codes of the rules left out (areas the region does not have)."""
    spec = _spec_of(source)
    keep = [r for r in spec.rules if r.area is None or r.area in area_codes]
    dropped = sorted(
        {r.area for r in spec.rules if r.area is not None and r.area not in area_codes}
    )
    return spec.model_copy(update={"rules": keep}), dropped
