"""Mapping files: the TOML schema (pydantic models), validation errors, loading by name or path.

The format itself is documented in the package docstring (``data/feeds/mapping/__init__.py``).
"""

from __future__ import annotations

import dataclasses
import string
import tomllib
import zoneinfo
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pandas as pd
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from data.catalogue import DEFAULT_CATALOGUE, Catalogue
from data.events import CATEGORIES, SOURCES

MAPPINGS_DIR = Path(__file__).resolve().parents[2] / "mappings"


class MappingError(ValueError):
    """A mapping file is wrong, or does not fit the data it is applied to.

    ``public``: the message without anything read from the data file (column names, values),
    for texts other users may see (a folder feed's health); the full message helps whoever runs
    the import or replay at the terminal."""

    def __init__(self, message: str, public: str | None = None) -> None:
        super().__init__(message)
        self.public = public if public is not None else message


# --------------------------------------------------------------------------------------------
# The TOML schema (pydantic)
# --------------------------------------------------------------------------------------------


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def _template_fields(template: str) -> list[str]:
    fields = []
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise ValueError(f"bad template {template!r}: {exc}") from None
    for _literal, field, spec, conv in parsed:
        if field is None:
            continue
        if field == "" or spec or conv:
            raise ValueError(
                f"bad template {template!r}: use plain {{column}} fields (no positional fields, "
                "format specs or conversions)"
            )
        fields.append(field)
    if not fields:
        raise ValueError(f"template {template!r} references no column")
    return fields


def _check_template(v: str | None) -> str | None:
    if v is not None:
        _template_fields(v)
    return v


def _check_time_format(v: str) -> str:
    if v != "iso" and "%" not in v:
        raise ValueError(f"time format {v!r} must be 'iso' or a strptime format such as '%m/%d/%Y'")
    return v


def _one_of(obj: BaseModel, names: Iterable[str], what: str) -> None:
    given = [n for n in names if getattr(obj, n) not in (None, {}, [])]
    if len(given) != 1:
        raise ValueError(f"{what} needs exactly one of {', '.join(names)} (got {given or 'none'})")


class CsvOptions(_Model):
    delimiter: str = Field(default=",", min_length=1, max_length=1)
    quotechar: str = Field(default='"', min_length=1, max_length=1)


class JsonOptions(_Model):
    records_path: str | None = None


class LookupSpec(_Model):
    key: str
    on: str
    columns: list[str] = Field(min_length=1)
    file: str | None = None
    encoding: str = "utf-8"


class MeltSpec(_Model):
    columns: dict[str, str] = Field(min_length=1)
    var_name: str = "variable"
    value_name: str = "value"


class IdRule(_Model):
    column: str | None = None
    template: str | None = None

    @field_validator("template")
    @classmethod
    def check_template(cls, v: str | None) -> str | None:
        return _check_template(v)

    @model_validator(mode="after")
    def _exactly_one(self) -> IdRule:
        _one_of(self, ("column", "template"), "id")
        return self

    def columns(self) -> set[str]:
        return {self.column} if self.column else set(_template_fields(self.template or ""))


_PART_NAMES = ("year", "month", "day", "hour", "minute", "second")


class TimeRule(_Model):
    column: str | None = None
    format: str = "iso"
    date: str | None = None
    time: str | None = None
    date_format: str = "iso"
    time_format: str = "%H:%M:%S"
    parts: dict[Literal["year", "month", "day", "hour", "minute", "second"], str] = {}
    placeholders: list[str] = []
    timezone: str | None = None

    @field_validator("format", "date_format", "time_format")
    @classmethod
    def check_format(cls, v: str) -> str:
        return _check_time_format(v)

    @field_validator("placeholders")
    @classmethod
    def _placeholders(cls, v: list[str]) -> list[str]:
        for p in v:
            try:
                pd.Timestamp(p)
            except (ValueError, TypeError):
                raise ValueError(f"placeholder {p!r} is not a date such as 1900-01-01") from None
        return v

    @model_validator(mode="after")
    def _exactly_one(self) -> TimeRule:
        _one_of(self, ("column", "date", "parts"), "time")
        if self.parts and not {"year", "month", "day"} <= set(self.parts):
            raise ValueError("time.parts needs at least year, month and day")
        if self.time and self.date_format == "iso":
            raise ValueError("time.date with a time column needs a strptime date_format")
        return self

    def columns(self) -> set[str]:
        if self.column:
            return {self.column}
        if self.date:
            return {self.date} | ({self.time} if self.time else set())
        return set(self.parts.values())


class LocationRule(_Model):
    lon: str
    lat: str
    zero_is_missing: bool = True

    def columns(self) -> set[str]:
        return {self.lon, self.lat}


class CategoryRule(_Model):
    value: str | None = None
    column: str | None = None
    map: dict[str, str] = {}
    default: str | None = None
    missing: str | None = None
    ignore_case: bool = True

    @model_validator(mode="after")
    def _exactly_one(self) -> CategoryRule:
        _one_of(self, ("value", "column"), "category")
        if self.value is not None and (self.map or self.default or self.missing):
            raise ValueError("category.value is a constant: map/default/missing need a column")
        return self

    def codes(self) -> set[str]:
        return {c for c in (self.value, self.default, self.missing) if c} | set(self.map.values())

    def columns(self) -> set[str]:
        return {self.column} if self.column else set()


class SeverityCondition(_Model):
    column: str
    min: float | None = None
    max: float | None = None
    in_: list[str] | None = Field(default=None, alias="in")
    value: int = Field(ge=1, le=5)

    @model_validator(mode="after")
    def _some_test(self) -> SeverityCondition:
        if self.min is None and self.max is None and not self.in_:
            raise ValueError("a severity rule needs min, max or in")
        return self


class SeverityRule(_Model):
    value: int | None = Field(default=None, ge=1, le=5)
    column: str | None = None
    map: dict[str, int] = {}
    clip: bool = False
    rules: list[SeverityCondition] = []
    default: int | None = Field(default=None, ge=1, le=5)
    ignore_case: bool = True

    @field_validator("map")
    @classmethod
    def _range(cls, v: dict[str, int]) -> dict[str, int]:
        bad = {k: s for k, s in v.items() if not 1 <= s <= 5}
        if bad:
            raise ValueError(f"severity values must be 1..5, got {bad}")
        return v

    @model_validator(mode="after")
    def _shape(self) -> SeverityRule:
        kinds = [self.value is not None, self.column is not None, bool(self.rules)]
        if sum(kinds) != 1:
            raise ValueError("severity needs exactly one of value, column or rules")
        if self.column and self.map and self.clip:
            raise ValueError("severity: use map or clip, not both")
        if self.column and not self.map and not self.clip:
            raise ValueError("severity.column needs a map (text values) or clip = true (numbers)")
        return self

    def columns(self) -> set[str]:
        return ({self.column} if self.column else set()) | {r.column for r in self.rules}


class ValueRule(_Model):
    column: str
    scale: float = 1.0
    required: bool = False

    def columns(self) -> set[str]:
        return {self.column}


class TextRule(_Model):
    column: str | None = None
    template: str | None = None
    join: list[str] = []
    sep: str = " "

    @field_validator("template")
    @classmethod
    def check_template(cls, v: str | None) -> str | None:
        return _check_template(v)

    @model_validator(mode="after")
    def _exactly_one(self) -> TextRule:
        _one_of(self, ("column", "template", "join"), "text")
        return self

    def columns(self) -> set[str]:
        if self.column:
            return {self.column}
        if self.template:
            return set(_template_fields(self.template))
        return set(self.join)


class AttributeRule(_Model):
    column: str | None = None
    template: str | None = None
    value: str | int | float | bool | None = None
    type: Literal["str", "int", "float", "bool", "time"] = "str"
    format: str = "iso"

    @field_validator("template")
    @classmethod
    def check_template(cls, v: str | None) -> str | None:
        return _check_template(v)

    @field_validator("format")
    @classmethod
    def check_format(cls, v: str) -> str:
        return _check_time_format(v)

    @model_validator(mode="after")
    def _exactly_one(self) -> AttributeRule:
        _one_of(self, ("column", "template", "value"), "an attribute")
        return self

    def columns(self) -> set[str]:
        if self.column:
            return {self.column}
        if self.template:
            return set(_template_fields(self.template))
        return set()


class MappingSpec(_Model):
    name: str | None = None
    description: str = ""
    source: str
    format: Literal["csv", "jsonl", "json", "parquet"]
    encoding: str = "utf-8"
    timezone: str = "UTC"
    na_values: list[str] = [""]
    thousands: str | None = None
    files: str | None = None
    strict_columns: bool | None = None
    csv: CsvOptions = CsvOptions()
    json_: JsonOptions = Field(default=JsonOptions(), alias="json")
    lookups: dict[str, LookupSpec] = {}
    melt: MeltSpec | None = None
    id: IdRule
    time: TimeRule
    location: LocationRule
    category: CategoryRule
    severity: SeverityRule | None = None
    value: ValueRule | None = None
    text: TextRule | None = None
    attributes: dict[str, str | AttributeRule] = {}

    # the category codes of the mapping's source in the catalogue it was checked against
    _allowed: tuple[str, ...] = PrivateAttr(default=())

    @field_validator("source")
    @classmethod
    def _source(cls, v: str, info: ValidationInfo) -> str:
        cat = _catalogue(info)
        if v not in cat.categories:
            raise ValueError(cat.unknown(v))
        return v

    @field_validator("timezone")
    @classmethod
    def _zone(cls, v: str) -> str:
        _zone(v)
        return v

    @field_validator("encoding")
    @classmethod
    def _encoding(cls, v: str) -> str:
        import codecs

        try:
            codecs.lookup(v)
        except LookupError:
            raise ValueError(f"unknown encoding {v!r}") from None
        return v

    @field_validator("na_values")
    @classmethod
    def _na_stripped(cls, v: list[str]) -> list[str]:
        return sorted({x.strip() for x in v})

    @model_validator(mode="after")
    def _cross(self, info: ValidationInfo) -> MappingSpec:
        if self.time.timezone:
            _zone(self.time.timezone)
        allowed = _catalogue(info).categories[self.source]
        self._allowed = tuple(allowed)
        codes = self.category.codes()
        if self.melt and self.category.column == self.melt.var_name and not self.category.map:
            codes |= set(self.melt.columns.values())
        bad = sorted(codes - set(allowed))
        if bad:
            raise ValueError(
                f"category codes {bad} are not {self.source} categories; "
                f"expected one of {', '.join(allowed)}"
            )
        if self.melt and self.melt.var_name == self.melt.value_name:
            raise ValueError("melt.var_name and melt.value_name must differ")
        return self


def _zone(name: str) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown time zone {name!r} (use an IANA name such as Asia/Shanghai)"
        ) from None


def _attr_rule(spec: str | AttributeRule) -> AttributeRule:
    return AttributeRule(column=spec) if isinstance(spec, str) else spec


@dataclass(frozen=True)
class Mapping:
    """A parsed and validated mapping. Every TOML key is reachable as an attribute
    (``mapping.time``, ``mapping.timezone``...) through ``spec``."""

    name: str
    source: str
    format: str
    spec: MappingSpec = dataclasses.field(repr=False)
    path: Path | None = None

    def __getattr__(self, item: str) -> Any:
        if item in ("spec", "__setstate__", "__getstate__"):
            raise AttributeError(item)
        if item == "json":
            return self.spec.json_
        try:
            return getattr(self.spec, item)
        except AttributeError:
            raise AttributeError(f"Mapping has no attribute {item!r}") from None

    def attribute_rules(self) -> dict[str, AttributeRule]:
        return {k: _attr_rule(v) for k, v in self.spec.attributes.items()}

    def field_columns(self) -> dict[str, set[str]]:
        """Columns each rule reads, keyed by the rule's TOML name."""
        s = self.spec
        out: dict[str, set[str]] = {
            "id": s.id.columns(),
            "time": s.time.columns(),
            "location": s.location.columns(),
            "category": s.category.columns(),
        }
        for key in ("severity", "value", "text"):
            rule = getattr(s, key)
            if rule is not None:
                out[key] = rule.columns()
        for k, rule in self.attribute_rules().items():
            out[f"attributes.{k}"] = rule.columns()
        return out


def _format_errors(origin: str, exc: ValidationError) -> str:
    def is_rule(p: Any) -> bool:
        return "AttributeRule" in str(p)

    errors = exc.errors()
    tables = {
        tuple(e["loc"][: [is_rule(p) for p in e["loc"]].index(True)])
        for e in errors
        if any(is_rule(p) for p in e["loc"])
    }
    lines = []
    for err in errors:
        # an attribute is "a column name" or a table; report the branch that applies
        if err["loc"][-1:] == ("str",) and tuple(err["loc"][:-1]) in tables:
            continue
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown key (typo?)"
        if err["type"] == "model_type" and is_rule(err["loc"][-1]):
            msg = "expected a column name or a table such as { column = ..., type = ... }"
        parts = [{"json_": "json", "in_": "in"}.get(str(p), str(p)) for p in err["loc"]]
        loc = ".".join(p for p in parts if not p.startswith("function-after"))
        lines.append(f"  {loc or '(top level)'}: {msg}")
    return f"mapping {origin} is invalid:\n" + "\n".join(lines)


def _catalogue(info: ValidationInfo) -> Catalogue:
    """The catalogue a mapping is checked against (the validation context's; the built-in one
    without)."""
    got = (info.context or {}).get("catalogue") if info is not None else None
    return got if isinstance(got, Catalogue) else DEFAULT_CATALOGUE


def parse_mapping(
    data: dict[str, Any],
    *,
    name: str | None = None,
    path: Path | None = None,
    catalogue: Catalogue = DEFAULT_CATALOGUE,
):
    """Validate a mapping given as a dict (the parsed TOML) against ``catalogue``'s sources and
    categories and return a :class:`Mapping`."""
    origin = str(path) if path else repr(name or data.get("name") or "<dict>")
    try:
        spec = MappingSpec.model_validate(data, context={"catalogue": catalogue})
    except ValidationError as exc:
        raise MappingError(_format_errors(origin, exc)) from None
    final = spec.name or name or (path.stem if path else None)
    if not final:
        raise MappingError(f"mapping {origin} is invalid:\n  name: missing")
    return Mapping(name=final, source=spec.source, format=spec.format, spec=spec, path=path)


def list_mappings() -> list[str]:
    """Names (file stems) of the mappings shipped in ``data/mappings/``."""
    return sorted(p.stem for p in MAPPINGS_DIR.glob("*.toml"))


def load_mapping(name_or_path: str | Path, catalogue: Catalogue = DEFAULT_CATALOGUE) -> Mapping:
    """Load a mapping by name (file stem under ``data/mappings/``) or by path to a TOML file,
    checked against ``catalogue`` (a deployment's configured sources)."""
    text = str(name_or_path)
    if isinstance(name_or_path, Path) or text.endswith(".toml") or "/" in text or "\\" in text:
        path = Path(name_or_path)
    else:
        path = MAPPINGS_DIR / f"{text}.toml"
        if not path.is_file():
            raise MappingError(
                f"no mapping named {text!r}; available: {', '.join(list_mappings()) or 'none'}"
            )
    data = _read_toml(path, "mapping")
    category = data.get("category")
    if isinstance(category, dict) and "map_file" in category:
        category = dict(category)
        given = Path(str(category.pop("map_file")))
        # relative to the mapping file's folder (not the working directory); absolute as given
        vocab = given if given.is_absolute() else path.resolve().parent / given
        if not vocab.is_file():
            raise MappingError(
                f"vocabulary file {vocab} not found (category.map_file {str(given)!r} of "
                f"mapping {path}; a relative map_file is read from the mapping file's folder: "
                "copy the vocabulary along with the mapping, or give an absolute path)"
            )
        shared = _read_toml(vocab, "vocabulary")
        # a vocabulary shared by several mappings; the mapping's own entries win
        category["map"] = {**shared.get("map", {}), **category.get("map", {})}
        data = {**data, "category": category}
    return parse_mapping(data, name=path.stem, path=path, catalogue=catalogue)


def _read_toml(path: Path, what: str) -> dict:
    if not path.is_file():
        raise MappingError(f"{what} file {path} not found")
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise MappingError(f"{what} {path} is not valid TOML: {exc}") from None


def catalogue_markdown() -> str:
    """The table of sources and their category codes for docs/MAPPING.md, from the catalogue
    (tests/test_mapping_doc.py checks the document holds exactly this, so the two cannot drift)."""
    lines = ["| source | categories |", "|---|---|"]
    for source in SOURCES:
        codes = ", ".join(f"`{c}`" for c in CATEGORIES[source])
        lines.append(f"| `{source}` | {codes} |")
    return "\n".join(lines)
