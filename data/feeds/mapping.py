"""Field mappings: plug an outside feed into the canonical event frame without code.

One TOML file per outside format lives in ``data/mappings/<name>.toml``. It says how to read the
publisher's file and how each canonical column (docs/ARCHITECTURE.md) is derived from the
publisher's columns. ``map_file`` reads a file in chunks and yields canonical frames carrying
``_raw`` (the original record) and ``_reason`` (why a row cannot be an event, or None). Nothing is
dropped here: every input record comes out either as a valid row or with a ``_reason``; the
pipeline quarantines reasoned rows and de-duplicates ids (so repeated publisher keys stay visible).

Mapping file format
-------------------

Top level (all keys other than those marked optional are required)::

    name = "nyc_311_2019"            # optional, defaults to the file stem
    description = "free text"        # optional
    source = "hotline"               # police | traffic | environment | market | hotline
    format = "csv"                   # csv | jsonl | json | parquet
    encoding = "utf-8-sig"           # optional, default utf-8; utf-8-sig strips a BOM
    timezone = "America/New_York"    # optional, default UTC: zone of naive timestamps (IANA)
    na_values = ["", "NA"]           # optional, default [""]: tokens meaning "missing" (after strip)
    thousands = ","                  # optional: thousands separator removed before parsing numbers
    files = "PRSA_Data_*.csv"        # optional: glob used when the data path is a folder
    strict_columns = true            # optional: a referenced column absent from the data is an
                                     # error (default for csv / parquet, whose header is fixed);
                                     # false treats it as all-missing (default for json / jsonl,
                                     # whose publishers often omit null keys)

    [csv]                            # optional
    delimiter = ","
    quotechar = '"'

    [json]                           # optional, for format = "json"
    records_path = "data.rows"       # dotted key path to the list of records; default: the top
                                     # level is the list

Reshaping and joins (optional)::

    [melt]                           # wide rows -> one reading per listed column: N rows give
                                     # N x len(columns) rows, row-major (row 1's readings first)
    columns = { "PM2.5" = "pm25", "PM10" = "pm10" }   # their column -> our code
    var_name = "pollutant"           # new column holding the code (usable in every rule below)
    value_name = "reading"           # new column holding the cell (usable in every rule below)

    [lookups.stations]               # a lookup table joined on a key, e.g. station coordinates
    key = "station"                  # key column in the lookup file
    on = "station"                   # column in the data
    columns = ["lon", "lat"]         # added to the data as "stations.lon", "stations.lat"
    file = "../coords.csv"           # optional default path, relative to the data file's folder;
                                     # the run-time argument lookups={"stations": path} wins
    # Keys match exactly after stripping; a repeated key in the lookup file is an error. A data
    # row whose key has no lookup entry gets the reason "no stations lookup entry for ...".

Field rules. A "column" is a publisher column (or a melt / lookup column). Every value is
stripped, and ``na_values`` tokens count as missing. A "template" is a Python format string over
columns, e.g. ``"{station}-{year}-{pollutant}"`` (no format specs); a template whose columns are
all missing gives a missing value::

    [id]            column = "Unique Key"            | template = "{camis}-{inspection_date}"
    [time]          column = "Created Date", format = "%m/%d/%Y %I:%M:%S %p"
                      # or format = "iso" (default): an explicit offset (Z, +08:00) is honoured,
                      # a naive value is local time in the mapping's zone
                    | date = "OCCUR_DATE", time = "OCCUR_TIME",
                      date_format = "%m/%d/%Y", time_format = "%H:%M:%S"  # time column optional
                    | parts = { year = "year", month = "month", day = "day", hour = "hour" }
                      # (minute, second optional)
                    placeholders = ["1900-01-01"]    # optional: dates that mean "no date"
                    timezone = "..."                 # optional, overrides the top-level zone
    [location]      lon = "Longitude", lat = "Latitude"
                    zero_is_missing = true           # default: (0, 0) is a missing location
    [category]      value = "accident"               # a constant
                    | column = "Complaint Type"
                      map = { "HEATING" = "heating", "Noise*" = "noise" }  # * ? globs allowed;
                          # exact keys win over globs, globs are tried in file order
                      default = "other"      # code for unmapped values (else: a reason)
                      missing = "inspection" # code when the column is missing (else: default,
                                             # else a reason)
                      ignore_case = true     # default
                      map_file = "vocabularies/x.toml"  # optional: a [map] table shared by
                          # several mappings (relative to the mapping file); own keys win
    [severity]      (optional; 1..5) value = 3
                    | column = "LAW_CAT_CD", map = { FELONY = 4 }, default = 2
                    | column = "level", clip = true  # numeric column, rounded, clipped to 1..5
                    | default = 2 and [[severity.rules]] entries, the highest matching value wins:
                      { column = "NUMBER OF PERSONS KILLED", min = 1, value = 5 }
                      { column = "critical_flag", in = ["Critical"], value = 4 }
                      (min / max are numeric bounds, inclusive; in is a list of values, globs
                      allowed, compared like category.map keys)
    [value]         (optional) column = "reading", scale = 1.0, required = true
                    # required: a missing value gets the reason "missing value (<token>)", e.g.
                    # "missing value (NA)", or "missing value (empty)"; a non-number always gets
                    # "unparseable value '...'"
    [text]          (optional) column = "..." | template = "..." | join = ["a", "b"], sep = ": "
                    # join skips missing parts
    [attributes]    (optional; kept as a JSON object, keys always present, null when missing)
                    borough = "Borough"                       # a column, as text
                    closed = { column = "Closed Date", type = "time",
                               format = "%m/%d/%Y %I:%M:%S %p" }  # -> ISO UTC "...Z"
                    injured = { column = "NUMBER OF PERSONS INJURED", type = "int" }
                    time_precision = { value = "day" }        # a constant
                    label = { template = "{a}/{b}" }
                    # type: str (default) | int | float | bool | time (format as for [time],
                    # naive values in the top-level timezone)

Reasons set here (first one wins, in this order): a reason from reading the record (bad JSON),
"missing id", "missing time", "unparseable time '...'", "placeholder date 1900-01-01",
"no <lookup> lookup entry for ...", "missing coordinates", "unparseable coordinates '...', '...'",
"coordinates (0, 0)", "missing category", "unmapped category '...'", "missing value (NA)",
"unparseable value '...'". ``data.events.validate_frame`` adds the generic checks downstream.
Ids are the publisher's keys and are not de-duplicated here.

``read_records`` keeps every cell as text exactly as read (``dtype=str``, no NA coercion);
``na_values``, stripping and number / time parsing happen in ``apply_mapping``.

Naive local times are localised in the mapping's zone: an ambiguous wall time (the repeated hour
when clocks go back) is read as the first (daylight-saving) occurrence, and a non-existent wall
time (the skipped hour) is shifted forward to the first valid instant. A date-only time is local
midnight. ``_raw`` for CSV is the record re-serialised as a CSV line (minimal quoting), for JSON /
parquet the record as JSON text; melted readings share their row's ``_raw``.
"""

from __future__ import annotations

import dataclasses
import difflib
import fnmatch
import json
import re
import string
import tomllib
import zoneinfo
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from data.events import CATEGORIES, SOURCES, is_storable_text, normalise_frame, storable_text

MAPPINGS_DIR = Path(__file__).resolve().parents[1] / "mappings"

__all__ = [
    "MAPPINGS_DIR",
    "Mapping",
    "MappingError",
    "apply_mapping",
    "list_mappings",
    "load_mapping",
    "map_file",
    "parse_mapping",
    "read_records",
]


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

    @field_validator("source")
    @classmethod
    def _source(cls, v: str) -> str:
        if v not in SOURCES:
            raise ValueError(f"unknown source {v!r}; expected one of {', '.join(SOURCES)}")
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
    def _cross(self) -> MappingSpec:
        if self.time.timezone:
            _zone(self.time.timezone)
        allowed = CATEGORIES[self.source]
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


def parse_mapping(data: dict[str, Any], *, name: str | None = None, path: Path | None = None):
    """Validate a mapping given as a dict (the parsed TOML) and return a :class:`Mapping`."""
    origin = str(path) if path else repr(name or data.get("name") or "<dict>")
    try:
        spec = MappingSpec.model_validate(data)
    except ValidationError as exc:
        raise MappingError(_format_errors(origin, exc)) from None
    final = spec.name or name or (path.stem if path else None)
    if not final:
        raise MappingError(f"mapping {origin} is invalid:\n  name: missing")
    return Mapping(name=final, source=spec.source, format=spec.format, spec=spec, path=path)


def list_mappings() -> list[str]:
    """Names (file stems) of the mappings shipped in ``data/mappings/``."""
    return sorted(p.stem for p in MAPPINGS_DIR.glob("*.toml"))


def load_mapping(name_or_path: str | Path) -> Mapping:
    """Load a mapping by name (file stem under ``data/mappings/``) or by path to a TOML file."""
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
        shared = _read_toml(path.parent / str(category.pop("map_file")), "vocabulary")
        # a vocabulary shared by several mappings; the mapping's own entries win
        category["map"] = {**shared.get("map", {}), **category.get("map", {})}
        data = {**data, "category": category}
    return parse_mapping(data, name=path.stem, path=path)


def _read_toml(path: Path, what: str) -> dict:
    if not path.is_file():
        raise MappingError(f"{what} file {path} not found")
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise MappingError(f"{what} {path} is not valid TOML: {exc}") from None


# --------------------------------------------------------------------------------------------
# Reading records
# --------------------------------------------------------------------------------------------


def _data_files(mapping: Mapping, path: str | Path | Iterable[str | Path]) -> list[Path]:
    if isinstance(path, (str, Path)):
        p = Path(path)
        if p.is_dir():
            files = sorted(f for f in p.glob(mapping.spec.files or "*") if f.is_file())
            if not files:
                raise FileNotFoundError(f"no files matching {mapping.spec.files or '*'} in {p}")
            return files
        if not p.is_file():
            raise FileNotFoundError(f"data file {p} not found")
        return [p]
    return [Path(p) for p in path]


def _csv_line(frame: pd.DataFrame, delimiter: str, quote: str) -> pd.Series:
    """Re-serialise each row of a string frame as one CSV line (minimal quoting)."""
    special = f"[{re.escape(delimiter + quote)}\r\n]"
    parts = []
    for col in frame.columns:
        s = frame[col].fillna("")
        needs = s.str.contains(special, regex=True)
        if needs.any():
            s = s.where(~needs, quote + s.str.replace(quote, quote * 2, regex=False) + quote)
        parts.append(s)
    if not parts:
        return pd.Series("", index=frame.index, dtype="str")
    return parts[0].str.cat(parts[1:], sep=delimiter) if len(parts) > 1 else parts[0]


def _cell_text(v: Any) -> str:
    if v is None or v is pd.NA or v is pd.NaT:
        return ""
    if isinstance(v, (pd.Timestamp, np.datetime64)):
        return pd.Timestamp(v).isoformat()
    if hasattr(v, "isoformat"):
        return v.isoformat()
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, str):
        return v
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float) and not np.isfinite(v):
        return ""
    if isinstance(v, (int, float)):
        return str(v)
    return json.dumps(v, ensure_ascii=False, default=str)


def _records_frame(records: list[Any], raws: list[str], errors: list[str | None]) -> pd.DataFrame:
    rows = [r if isinstance(r, dict) else {} for r in records]
    cols: dict[str, None] = {}
    for r in rows:
        cols.update(dict.fromkeys(r))
    data = {c: [_cell_text(r.get(c)) for r in rows] for c in cols}
    try:
        frame = pd.DataFrame(data, index=range(len(rows)), dtype="str")
        frame["_raw"] = pd.Series(raws, dtype="str")
    except Exception:  # noqa: BLE001 - text Arrow cannot hold (lone surrogates): rare path
        frame, raws, errors = _escaped_records_frame(cols, data, raws, errors, len(rows))
    if any(e is not None for e in errors):
        frame["_reason"] = pd.Series(errors, dtype=object)
    return frame


def _escaped_records_frame(cols, data, raws, errors, n):
    """Like _records_frame's fast path, with text UTF-8 cannot hold escaped and its record
    given a reason (so it is quarantined, not the whole file failed)."""
    errors = list(errors)
    bad_cols = [c for c in cols if not is_storable_text(c)]
    for c in bad_cols:  # a field name that is not text: its records cannot be read
        for i, v in enumerate(data.pop(c)):
            if v != "" and errors[i] is None:
                errors[i] = "a field name is not valid Unicode text (e.g. a lone surrogate)"
    for c, values in data.items():
        for i, v in enumerate(values):
            if not is_storable_text(v):
                values[i] = storable_text(v)
                if errors[i] is None:
                    errors[i] = (
                        f"{storable_text(c)} is not valid Unicode text (e.g. a lone surrogate)"
                    )
    frame = pd.DataFrame(data, index=range(n), dtype="str")
    raws = [storable_text(r) for r in raws]
    frame["_raw"] = pd.Series(raws, dtype="str")
    if any(e is not None for e in errors):
        frame["_reason"] = pd.Series(errors, dtype=object)
    return frame, raws, errors


def _read_jsonl(path: Path, encoding: str, chunksize: int | None) -> Iterator[pd.DataFrame]:
    with path.open(encoding=encoding, newline=None) as fh:
        records: list[Any] = []
        raws: list[str] = []
        errors: list[str | None] = []
        for line in fh:
            line = line.rstrip("\r\n")
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
                err = None if isinstance(rec, dict) else "JSON record is not an object"
            except json.JSONDecodeError as exc:
                rec, err = {}, f"unparseable JSON: {exc.msg}"
            records.append(rec)
            raws.append(line)
            errors.append(err)
            if chunksize and len(records) >= chunksize:
                yield _records_frame(records, raws, errors)
                records, raws, errors = [], [], []
        if records:
            yield _records_frame(records, raws, errors)


def _read_json(
    path: Path, encoding: str, records_path: str | None, chunksize: int | None
) -> Iterator[pd.DataFrame]:
    data = json.loads(path.read_text(encoding=encoding))
    for key in records_path.split(".") if records_path else []:
        if not isinstance(data, dict) or key not in data:
            raise MappingError(f"{path}: json.records_path {records_path!r} not found")
        data = data[key]
    if not isinstance(data, list):
        raise MappingError(f"{path}: expected a JSON list of records (set json.records_path)")
    step = chunksize or max(len(data), 1)
    for start in range(0, len(data), step):
        recs = data[start : start + step]
        raws = [json.dumps(r, ensure_ascii=False) for r in recs]
        errors = [None if isinstance(r, dict) else "JSON record is not an object" for r in recs]
        yield _records_frame(recs, raws, errors)


def _read_parquet(path: Path, chunksize: int | None) -> Iterator[pd.DataFrame]:
    import pyarrow.parquet as pq

    pf = pq.ParquetFile(path)
    for batch in pf.iter_batches(batch_size=chunksize or 1_000_000):
        df = batch.to_pandas()
        raw = df.to_json(orient="records", lines=True, force_ascii=False, date_format="iso")
        out = pd.DataFrame(index=range(len(df)))
        for col in df.columns:
            vals = [_cell_text(v) for v in df[col].astype(object)]
            out[str(col)] = pd.Series(vals, dtype="str")
        out["_raw"] = pd.Series(raw.splitlines()[: len(df)], dtype="str")
        yield out


def _read_csv(mapping: Mapping, path: Path, chunksize: int | None) -> Iterator[pd.DataFrame]:
    opts = mapping.spec.csv
    reader = pd.read_csv(
        path,
        dtype="str",
        keep_default_na=False,
        na_filter=False,
        encoding=mapping.spec.encoding,
        sep=opts.delimiter,
        quotechar=opts.quotechar,
        chunksize=chunksize,
    )
    chunks = reader if chunksize else [reader]
    for chunk in chunks:
        chunk = chunk.reset_index(drop=True)
        chunk.columns = [str(c) for c in chunk.columns]
        if chunk.isna().to_numpy().any():
            chunk = chunk.fillna("")  # short rows: missing trailing fields
        chunk["_raw"] = _csv_line(chunk, opts.delimiter, opts.quotechar)
        yield chunk


def read_records(
    mapping: Mapping,
    path: str | Path | Iterable[str | Path],
    *,
    lookups: dict[str, str | Path | pd.DataFrame] | None = None,
    chunksize: int | None = None,
) -> Iterator[pd.DataFrame]:
    """Yield the publisher's records as string frames (nothing coerced), plus ``_raw``.

    ``path`` is a file, a folder (files matching the mapping's ``files`` glob) or a list of files.
    Lookups (run-time ``lookups`` or the mapping's default ``file``) are joined in as
    ``<lookup>.<column>`` columns; a lookup that cannot be found is left for
    :func:`apply_mapping` to report.
    """
    for file in _data_files(mapping, path):
        tables = _resolve_lookups(mapping, lookups, file.parent, required=False)
        fmt = mapping.format
        if fmt == "csv":
            chunks = _read_csv(mapping, file, chunksize)
        elif fmt == "jsonl":
            chunks = _read_jsonl(file, mapping.spec.encoding, chunksize)
        elif fmt == "json":
            chunks = _read_json(
                file, mapping.spec.encoding, mapping.spec.json_.records_path, chunksize
            )
        else:
            chunks = _read_parquet(file, chunksize)
        for chunk in chunks:
            if tables:
                chunk = _join(mapping, chunk, tables)
            yield chunk


# --------------------------------------------------------------------------------------------
# Lookups
# --------------------------------------------------------------------------------------------


def _read_lookup(name: str, spec: LookupSpec, path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise MappingError(f"lookup {name!r}: file {path} not found")
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        table = pd.read_parquet(path).astype("str")
    elif suffix in (".json", ".jsonl"):
        table = pd.read_json(path, lines=suffix == ".jsonl", dtype=False).astype("str")
    else:
        table = pd.read_csv(
            path, dtype="str", keep_default_na=False, na_filter=False, encoding=spec.encoding
        )
    return _check_lookup(name, spec, table, str(path))


def _check_lookup(name: str, spec: LookupSpec, table: pd.DataFrame, origin: str) -> pd.DataFrame:
    table = table.copy()
    table.columns = [str(c).lstrip("\ufeff") for c in table.columns]
    missing = [c for c in [spec.key, *spec.columns] if c not in table.columns]
    if missing:
        raise MappingError(
            f"lookup {name!r} ({origin}): columns {missing} not found; "
            f"available: {', '.join(table.columns)}"
        )
    keys = table[spec.key].astype("str").str.strip()
    dup = keys[keys.duplicated()].unique().tolist()
    if dup:
        raise MappingError(f"lookup {name!r} ({origin}): repeated keys {dup[:5]}")
    out = table[spec.columns].astype("str")
    out.index = pd.Index(keys, name=spec.key)
    return out


def _resolve_lookups(
    mapping: Mapping,
    lookups: dict[str, str | Path | pd.DataFrame] | None,
    base: Path | None,
    *,
    required: bool,
    only: Iterable[str] | None = None,
) -> dict[str, pd.DataFrame]:
    lookups = dict(lookups or {})
    unknown = set(lookups) - set(mapping.spec.lookups)
    if unknown:
        raise MappingError(
            f"mapping {mapping.name!r} has no lookup(s) {sorted(unknown)}; "
            f"it declares {sorted(mapping.spec.lookups) or 'none'}"
        )
    tables: dict[str, pd.DataFrame] = {}
    for name, spec in mapping.spec.lookups.items():
        if only is not None and name not in only:
            continue
        given = lookups.get(name)
        if isinstance(given, pd.DataFrame):
            tables[name] = _check_lookup(name, spec, given, "DataFrame")
            continue
        path = Path(given) if given is not None else None
        if path is None and spec.file:
            p = Path(spec.file)
            path = p if p.is_absolute() else (base / p if base is not None else None)
        if path is None or (given is None and not path.is_file()):
            if required:
                raise MappingError(
                    f"mapping {mapping.name!r} needs lookup {name!r}: pass "
                    f"lookups={{{name!r}: path}}"
                    + (f" (default file {spec.file!r} not found)" if spec.file else "")
                )
            continue
        tables[name] = _read_lookup(name, spec, path)
    return tables


def _join(mapping: Mapping, raw: pd.DataFrame, tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    raw = raw.copy()
    for name, table in tables.items():
        spec = mapping.spec.lookups[name]
        if spec.on not in raw.columns:
            raise _unknown_column_error(mapping, spec.on, f"lookups.{name}.on", raw)
        keys = raw[spec.on].astype("str").str.strip()
        hit = keys.isin(table.index)
        for col in spec.columns:
            raw[f"{name}.{col}"] = keys.map(table[col]).astype("str")
        raw[f"{name}._matched"] = hit.to_numpy(dtype=bool)
    return raw


# --------------------------------------------------------------------------------------------
# Applying a mapping
# --------------------------------------------------------------------------------------------


def _unknown_column_error(mapping: Mapping, col: str, rule: str, frame: pd.DataFrame):
    """A MappingError naming the data's columns (``public`` leaves them out: they are data)."""
    available = [c for c in frame.columns if c != "_raw" and not c.endswith("._matched")]
    close = difflib.get_close_matches(col, available, n=3)
    hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    public = f"mapping {mapping.name!r}: column {col!r} (used by {rule}) is not in the data."
    return MappingError(f"{public}{hint} Available columns: {', '.join(available)}", public)


class _Ctx:
    """Cleaned views of a string frame's columns, computed once each.

    A melt context has a ``parent`` (the wide frame) and ``take`` (wide row of each long row): a
    column that is not a melt column is cleaned once on the wide frame and then repeated.
    """

    def __init__(
        self,
        frame: pd.DataFrame,
        mapping: Mapping,
        parent: _Ctx | None = None,
        take: np.ndarray | None = None,
    ) -> None:
        self.frame = frame
        self.n = len(frame)
        self.na = mapping.spec.na_values
        self.thousands = mapping.spec.thousands
        self.parent, self.take = parent, take
        # melt value column -> (wide columns, permutation from column-major stack to long order)
        self.stacked: dict[str, tuple[list[str], np.ndarray]] = {}
        self._text: dict[str, pd.Series] = {}
        self._num: dict[str, pd.Series] = {}

    def _inherits(self, col: str) -> bool:
        return self.parent is not None and col not in self.frame.columns and col not in self.stacked

    def _stack(self, get) -> pd.Series:
        cols, perm = next(iter(self.stacked.values()))
        stacked = pd.concat([get(c) for c in cols], ignore_index=True)
        return stacked.take(perm).reset_index(drop=True)

    def raw(self, col: str) -> pd.Series:
        """The column as read (not stripped); all-missing when absent."""
        if col in self.stacked:
            return self._stack(self.parent.raw)  # type: ignore[union-attr]
        if self._inherits(col):
            return self._repeat(self.parent.raw(col))  # type: ignore[union-attr]
        if col not in self.frame.columns:
            return pd.Series(pd.NA, index=self.frame.index, dtype="str")
        return self.frame[col].astype("str")

    def _repeat(self, s: pd.Series) -> pd.Series:
        return s.take(self.take).reset_index(drop=True)

    def text(self, col: str) -> pd.Series:
        """Stripped text, NA where missing (empty or an na_values token)."""
        if col not in self._text:
            if col in self.stacked:
                s = self._stack(self.parent.text)  # type: ignore[union-attr]
            elif self._inherits(col):
                s = self._repeat(self.parent.text(col))  # type: ignore[union-attr]
            elif col not in self.frame.columns:  # strict_columns = false
                s = pd.Series(pd.NA, index=self.frame.index, dtype="str")
            else:
                s = self.frame[col]
                if not pd.api.types.is_string_dtype(s) or s.dtype == object:
                    s = s.astype(object).map(_cell_text, na_action="ignore").astype("str")
                s = s.str.strip()
                s = s.mask(s.isna() | s.isin(self.na))
            self._text[col] = s
        return self._text[col]

    def num(self, col: str) -> pd.Series:
        if col not in self._num:
            if col in self.stacked:
                self._num[col] = self._stack(self.parent.num)  # type: ignore[union-attr]
            elif self._inherits(col):
                self._num[col] = self._repeat(self.parent.num(col))  # type: ignore[union-attr]
            else:
                s = self.text(col)
                if self.thousands:
                    s = s.str.replace(self.thousands, "", regex=False)
                self._num[col] = pd.to_numeric(s, errors="coerce").astype("float64")
        return self._num[col]

    def _render(self, parts: list[tuple[str, str | None]]) -> tuple[pd.Series, pd.Series]:
        out = None
        any_present = pd.Series(False, index=self.frame.index)
        for literal, field in parts:
            piece = pd.Series(literal, index=self.frame.index, dtype="str") if literal else None
            if field is not None:
                t = self.text(field)
                any_present |= t.notna()
                val = t.fillna("")
                piece = val if piece is None else piece + val
            if piece is not None:
                out = piece if out is None else out + piece
        if out is None:
            out = pd.Series("", index=self.frame.index, dtype="str")
        return out, any_present

    def template(self, template: str) -> pd.Series:
        parts = [(lit, f) for lit, f, _s, _c in string.Formatter().parse(template)]
        # consecutive parts over wide columns are rendered on the wide frame, then repeated
        runs: list[tuple[bool, list[tuple[str, str | None]]]] = []
        for part in parts:
            wide = self.parent is not None and (part[1] is None or self._inherits(part[1]))
            if runs and runs[-1][0] == wide:
                runs[-1][1].append(part)
            else:
                runs.append((wide, [part]))
        out = None
        any_present = pd.Series(False, index=self.frame.index)
        for wide, run in runs:
            if wide:
                piece, present = self.parent._render(run)  # type: ignore[union-attr]
                piece, present = self._repeat(piece), self._repeat(present)
            else:
                piece, present = self._render(run)
            any_present |= present
            out = piece if out is None else out + piece
        assert out is not None
        return out.mask(~any_present)

    def joined(self, cols: list[str], sep: str) -> pd.Series:
        """Present values of ``cols`` joined with ``sep`` (missing parts skipped)."""
        out = self.text(cols[0])
        for col in cols[1:]:
            t = self.text(col)
            both = out + sep + t
            out = both.where(out.notna() & t.notna(), out.where(out.notna(), t))
        return out


def _reason_where(mask: np.ndarray | pd.Series, text: str | pd.Series, n: int) -> np.ndarray:
    out = np.full(n, None, dtype=object)
    mask = np.asarray(mask, dtype=bool)
    if mask.any():
        out[mask] = text if isinstance(text, str) else np.asarray(text, dtype=object)[mask]
    return out


def _quoted(s: pd.Series) -> pd.Series:
    return "'" + s.fillna("").astype("str") + "'"


_TZ_SUFFIX = re.compile(r"(?:Z|[+-]\d{2}:?\d{2})$", re.IGNORECASE)


def _localise(naive: pd.Series, tz: str) -> pd.Series:
    if tz == "UTC":
        return naive.dt.tz_localize("UTC")
    ambiguous = np.ones(len(naive), dtype=bool)  # the repeated hour: first (DST) occurrence
    return naive.dt.tz_localize(tz, ambiguous=ambiguous, nonexistent="shift_forward").dt.tz_convert(
        "UTC"
    )


def _parse_times(s: pd.Series, fmt: str, tz: str) -> tuple[pd.Series, pd.Series]:
    """Parse a text series; return (UTC times, naive local times). Missing text -> NaT."""
    if fmt == "iso":
        aware_mask = s.str.contains(_TZ_SUFFIX, na=False)
        naive = pd.to_datetime(s.mask(aware_mask), errors="coerce", format="ISO8601")
        utc = _localise(naive.astype("datetime64[us]"), tz)
        if aware_mask.any():
            aware = pd.to_datetime(s.where(aware_mask), errors="coerce", format="ISO8601", utc=True)
            utc = utc.where(~aware_mask, aware.astype(utc.dtype))
            local = aware.dt.tz_convert(tz).dt.tz_localize(None).astype("datetime64[us]")
            naive = naive.astype("datetime64[us]").where(~aware_mask, local)
    else:
        naive = pd.to_datetime(s, errors="coerce", format=fmt)
        utc = _localise(naive.astype("datetime64[us]"), tz)
    return utc.astype("datetime64[us, UTC]"), naive


def _time(rule: TimeRule, ctx: _Ctx, tz: str) -> tuple[pd.Series, np.ndarray]:
    tz = rule.timezone or tz
    n = ctx.n
    if rule.parts:
        # a fractional part (2013.5) is not a valid part: make it missing -> unparseable
        nums = {k: ctx.num(c).where(lambda v: v % 1 == 0) for k, c in rule.parts.items()}
        present = pd.concat([ctx.text(c).notna() for c in rule.parts.values()], axis=1).all(axis=1)
        naive = pd.to_datetime(pd.DataFrame(nums), errors="coerce")
        utc = _localise(naive.astype("datetime64[us]"), tz).astype("datetime64[us, UTC]")
        shown = None
        for k, c in rule.parts.items():
            piece = f"{k}=" + ctx.text(c).fillna("")
            shown = piece if shown is None else shown + " " + piece
        missing = ~present
    else:
        if rule.column:
            s = ctx.text(rule.column)
            fmt = rule.format
            missing = s.isna()
        else:
            d = ctx.text(rule.date)  # type: ignore[arg-type]
            if rule.time:
                t = ctx.text(rule.time)
                s = d + " " + t
                fmt = f"{rule.date_format} {rule.time_format}"
                missing = d.isna() | t.isna()
            else:
                s, fmt, missing = d, rule.date_format, d.isna()
        utc, naive = _parse_times(s, fmt, tz)
        shown = s
    missing = missing.to_numpy(dtype=bool)
    bad = utc.isna().to_numpy(dtype=bool) & ~missing
    reason = _reason_where(missing, "missing time", n)
    if bad.any():
        reason[bad] = ("unparseable time " + _quoted(shown)).to_numpy(dtype=object)[bad]
    for p in rule.placeholders:
        ts = pd.Timestamp(p)
        is_date = ts == ts.normalize() and len(p.strip()) <= 10
        hit = (naive.dt.normalize() == ts) if is_date else (naive == ts)
        hit = hit.fillna(False).to_numpy(dtype=bool) & pd.isna(reason)
        reason[hit] = f"placeholder date {p.strip()}"
    return utc, reason


def _location(rule: LocationRule, ctx: _Ctx) -> tuple[pd.Series, pd.Series, np.ndarray]:
    lon, lat = ctx.num(rule.lon), ctx.num(rule.lat)
    lon_t, lat_t = ctx.text(rule.lon), ctx.text(rule.lat)
    missing = (lon_t.isna() | lat_t.isna()).to_numpy(dtype=bool)
    bad = (lon.isna() | lat.isna()).to_numpy(dtype=bool) & ~missing
    reason = _reason_where(missing, "missing coordinates", ctx.n)
    if bad.any():
        shown = "unparseable coordinates " + _quoted(lon_t) + ", " + _quoted(lat_t)
        reason[bad] = shown.to_numpy(dtype=object)[bad]
    if rule.zero_is_missing:
        zero = ((lon == 0) & (lat == 0)).to_numpy(dtype=bool) & pd.isna(reason)
        reason[zero] = "coordinates (0, 0)"
    return lon, lat, reason


def _matcher(table: dict[str, Any], ignore_case: bool):
    norm = (lambda v: v.casefold()) if ignore_case else (lambda v: v)
    exact = {norm(k.strip()): v for k, v in table.items() if not any(ch in k for ch in "*?[")}
    globs = [
        (re.compile(fnmatch.translate(norm(k.strip())), re.DOTALL), v)
        for k, v in table.items()
        if any(ch in k for ch in "*?[")
    ]

    def match(value: str) -> Any:
        key = norm(value)
        if key in exact:
            return exact[key]
        for rx, v in globs:
            if rx.match(key):
                return v
        return None

    return match


def _map_values(s: pd.Series, table: dict[str, Any], ignore_case: bool) -> pd.Series:
    """Map each distinct value once (vectorised over rows); None where unmapped or missing."""
    match = _matcher(table, ignore_case)
    uniq = s.dropna().unique()
    lookup = {u: match(u) for u in uniq}
    return s.map(lookup).astype(object).where(s.notna(), None)


def _category(rule: CategoryRule, ctx: _Ctx, source: str) -> tuple[pd.Series, np.ndarray]:
    n = ctx.n
    if rule.value is not None:
        return pd.Series(rule.value, index=ctx.frame.index, dtype=object), np.full(n, None, object)
    s = ctx.text(rule.column)  # type: ignore[arg-type]
    if rule.map:
        codes = _map_values(s, rule.map, rule.ignore_case)
    else:
        codes = s.astype(object).where(s.notna(), None)
        codes = codes.where(codes.isin(CATEGORIES[source]), None)
    missing = s.isna()
    unmapped = codes.isna() & ~missing
    if rule.default is not None:
        codes = codes.where(~unmapped, rule.default)
        unmapped[:] = False
    fill_missing = rule.missing if rule.missing is not None else rule.default
    if fill_missing is not None:
        codes = codes.where(~missing, fill_missing)
        missing[:] = False
    reason = _reason_where(missing.to_numpy(dtype=bool), "missing category", n)
    um = unmapped.to_numpy(dtype=bool)
    if um.any():
        reason[um] = ("unmapped category " + _quoted(s)).to_numpy(dtype=object)[um]
    return codes, reason


def _severity(rule: SeverityRule, ctx: _Ctx) -> pd.Series:
    idx = ctx.frame.index
    if rule.value is not None:
        return pd.Series(rule.value, index=idx, dtype="Int64")
    if rule.column is not None and rule.map:
        sev = _map_values(ctx.text(rule.column), rule.map, rule.ignore_case)
        sev = pd.to_numeric(sev, errors="coerce")
    elif rule.column is not None:
        sev = ctx.num(rule.column).round().clip(1, 5)
    else:
        sev = pd.Series(np.nan, index=idx)
        for cond in rule.rules:
            hit = pd.Series(True, index=idx)
            if cond.min is not None or cond.max is not None:
                x = ctx.num(cond.column)
                hit &= x.notna()
                if cond.min is not None:
                    hit &= x >= cond.min
                if cond.max is not None:
                    hit &= x <= cond.max
            if cond.in_:
                listed = _map_values(
                    ctx.text(cond.column), dict.fromkeys(cond.in_, 1), rule.ignore_case
                )
                hit &= listed.notna()
            hit = hit.fillna(False).astype(bool)
            sev = sev.where(~hit | (sev >= cond.value), float(cond.value))
    if rule.default is not None:
        sev = sev.fillna(float(rule.default))
    return sev.astype("Float64").round().astype("Int64")


def _value(rule: ValueRule, ctx: _Ctx) -> tuple[pd.Series, np.ndarray]:
    t = ctx.text(rule.column)
    v = ctx.num(rule.column) * rule.scale
    missing = t.isna().to_numpy(dtype=bool)
    bad = v.isna().to_numpy(dtype=bool) & ~missing
    reason = np.full(ctx.n, None, dtype=object)
    if bad.any():
        reason[bad] = ("unparseable value " + _quoted(t)).to_numpy(dtype=object)[bad]
    if rule.required and missing.any():
        token = ctx.raw(rule.column)[missing].fillna("").str.strip()
        shown = "missing value (" + token.mask(token == "", "empty") + ")"
        reason[missing] = shown.to_numpy(dtype=object)
    return v, reason


def _text(rule: TextRule, ctx: _Ctx) -> pd.Series:
    if rule.column:
        return ctx.text(rule.column)
    if rule.template:
        return ctx.template(rule.template)
    return ctx.joined(rule.join, rule.sep)


def _json_text_values(s: pd.Series) -> pd.Series:
    uniq = s.dropna().unique()
    enc = {u: json.dumps(u, ensure_ascii=False) for u in uniq}
    return s.map(enc).astype(object).where(s.notna(), "null")


def _attribute_json(rule: AttributeRule, ctx: _Ctx, tz: str) -> np.ndarray:
    n = ctx.n
    if rule.value is not None:
        return np.full(n, json.dumps(rule.value, ensure_ascii=False), dtype=object)
    s = ctx.text(rule.column) if rule.column else ctx.template(rule.template)  # type: ignore
    if rule.type == "str":
        out = _json_text_values(s)
    elif rule.type in ("int", "float"):
        if rule.column:
            x = ctx.num(rule.column)
        else:
            x = pd.to_numeric(s, errors="coerce").astype("float64")
        x = x.where(np.isfinite(x))
        if rule.type == "int":
            x = x.where(x % 1 == 0)
            out = x.astype("Int64").astype("str").astype(object)
        else:
            out = x.map(repr, na_action="ignore").astype(object)
        out = out.where(x.notna(), "null")
    elif rule.type == "bool":
        low = s.str.casefold()
        out = pd.Series("null", index=s.index, dtype=object)
        out[low.isin(["true", "t", "yes", "y", "1"]).fillna(False)] = "true"
        out[low.isin(["false", "f", "no", "n", "0"]).fillna(False)] = "false"
    else:
        utc, _naive = _parse_times(s, rule.format, tz)
        txt = utc.dt.strftime('"%Y-%m-%dT%H:%M:%SZ"')
        out = txt.astype(object).where(utc.notna(), "null")
    return np.asarray(out, dtype=object)


def _attributes(mapping: Mapping, ctx: _Ctx) -> pd.Series | None:
    rules = mapping.attribute_rules()
    if not rules:
        return None
    out: np.ndarray | None = None
    for i, (key, rule) in enumerate(rules.items()):
        prefix = ("{" if i == 0 else ", ") + json.dumps(key, ensure_ascii=False) + ": "
        piece = prefix + _attribute_json(rule, ctx, mapping.spec.timezone)
        out = piece if out is None else out + piece
    return pd.Series(out + "}", index=ctx.frame.index, dtype=object)


def _check_columns(mapping: Mapping, frame: pd.DataFrame, extra: set[str]) -> None:
    available = set(frame.columns) | extra
    strict = mapping.spec.strict_columns
    if strict is None:
        strict = mapping.format in ("csv", "parquet")
    for rule, cols in mapping.field_columns().items():
        for col in sorted(cols):
            if col not in available:
                is_lookup = any(col.startswith(f"{n}.") for n in mapping.spec.lookups)
                if strict or is_lookup:
                    raise _unknown_column_error(mapping, col, rule, frame)
    if mapping.spec.melt:
        for col in mapping.spec.melt.columns:
            if col not in available and strict:
                raise _unknown_column_error(mapping, col, "melt.columns", frame)


def _first_reason(reasons: list[np.ndarray | None], n: int) -> np.ndarray:
    out = np.full(n, None, dtype=object)
    for r in reasons:
        if r is None:
            continue
        take = pd.isna(out) & pd.notna(r)
        out[take] = r[take]
    return out


def apply_mapping(
    mapping: Mapping,
    raw: pd.DataFrame,
    lookups: dict[str, str | Path | pd.DataFrame] | None = None,
) -> pd.DataFrame:
    """Map a raw string frame (from :func:`read_records`) to a canonical event frame.

    The result has the canonical columns (normalised with ``data.events.normalise_frame``) plus
    ``_raw`` (when the input has it) and ``_reason``. One output row per input row, or per
    (row, melt column) when the mapping melts; row order is kept.
    """
    spec = mapping.spec
    raw = raw.reset_index(drop=True)
    if "_raw" not in raw.columns:
        raw = raw.copy()
        raw["_raw"] = _csv_line(raw.astype("str"), ",", '"')
    pending = [n for n, s in spec.lookups.items() if f"{n}._matched" not in raw.columns]
    if pending:
        tables = _resolve_lookups(mapping, lookups, None, required=True, only=pending)
        raw = _join(mapping, raw, tables)
    melt_names = {spec.melt.var_name, spec.melt.value_name} if spec.melt else set()
    _check_columns(mapping, raw, melt_names)

    wide = _Ctx(raw, mapping)
    n_wide = len(raw)
    if spec.melt:
        k = len(spec.melt.columns)
        take = np.repeat(np.arange(n_wide), k)
        # long order is row-major: row 0's readings, then row 1's...
        codes = pd.Series(list(spec.melt.columns.values()), dtype="str")
        long = pd.DataFrame(
            {spec.melt.var_name: codes.take(np.tile(np.arange(k), n_wide)).reset_index(drop=True)}
        )
        ctx_long = _Ctx(long, mapping, parent=wide, take=take)
        perm = (np.arange(n_wide)[:, None] + np.arange(k)[None, :] * n_wide).ravel()
        ctx_long.stacked[spec.melt.value_name] = (list(spec.melt.columns), perm)
        n = n_wide * k
    else:
        take = None
        ctx_long = wide
        n = n_wide

    def pick(cols: set[str]) -> tuple[_Ctx, bool]:
        """The context a rule is computed in, and whether its result must be repeated."""
        if take is not None and not (cols & melt_names):
            return wide, True
        return ctx_long, False

    def expand(obj, repeat: bool):
        if not repeat or obj is None:
            return obj
        if isinstance(obj, np.ndarray):
            return obj[take]
        return obj.take(take).reset_index(drop=True)

    cols = mapping.field_columns()
    out: dict[str, Any] = {}
    reasons: list[np.ndarray | None] = []
    if "_reason" in raw.columns:
        reasons.append(expand(raw["_reason"].to_numpy(dtype=object), take is not None))

    ctx, rep = pick(cols["id"])
    ids = ctx.text(spec.id.column) if spec.id.column else ctx.template(spec.id.template or "")
    reasons.append(expand(_reason_where(ids.isna().to_numpy(dtype=bool), "missing id", ctx.n), rep))
    out["id"] = expand(ids, rep)

    ctx, rep = pick(cols["time"])
    t, r = _time(spec.time, ctx, spec.timezone)
    out["time"] = expand(t, rep)
    reasons.append(expand(r, rep))

    for name, lk in spec.lookups.items():
        matched = raw[f"{name}._matched"].to_numpy(dtype=bool)
        keys = wide.text(lk.on)
        miss = ~matched
        r = np.full(n_wide, None, dtype=object)
        if miss.any():
            shown = f"no {name} lookup entry for {lk.on} " + _quoted(keys)
            r[miss] = shown.to_numpy(dtype=object)[miss]
        reasons.append(expand(r, take is not None))

    ctx, rep = pick(cols["location"])
    lon, lat, r = _location(spec.location, ctx)
    out["lon"], out["lat"] = expand(lon, rep), expand(lat, rep)
    reasons.append(expand(r, rep))

    ctx, rep = pick(cols["category"])
    cat, r = _category(spec.category, ctx, spec.source)
    out["category"] = expand(cat, rep)
    reasons.append(expand(r, rep))

    if spec.severity is not None:
        ctx, rep = pick(cols["severity"])
        out["severity"] = expand(_severity(spec.severity, ctx), rep)
    if spec.value is not None:
        ctx, rep = pick(cols["value"])
        v, r = _value(spec.value, ctx)
        out["value"] = expand(v, rep)
        reasons.append(expand(r, rep))
    if spec.text is not None:
        ctx, rep = pick(cols["text"])
        out["text"] = expand(_text(spec.text, ctx), rep)
    if spec.attributes:
        attr_cols = set().union(*(c for k, c in cols.items() if k.startswith("attributes.")))
        ctx, rep = pick(attr_cols)
        out["attributes"] = expand(_attributes(mapping, ctx), rep)

    frame = normalise_frame(pd.DataFrame(out, index=pd.RangeIndex(n)))
    # object columns holding None (not NaN) when absent, whatever pandas would infer
    raw_text = raw["_raw"].to_numpy(dtype=object)
    frame["_raw"] = pd.Series(expand(raw_text, take is not None), index=frame.index, dtype=object)
    frame["_reason"] = pd.Series(_first_reason(reasons, n), index=frame.index, dtype=object)
    return frame


def map_file(
    mapping: Mapping | str | Path,
    path: str | Path | Iterable[str | Path],
    *,
    lookups: dict[str, str | Path | pd.DataFrame] | None = None,
    chunksize: int | None = 200_000,
) -> Iterator[pd.DataFrame]:
    """Read a publisher file (or folder) and yield canonical frames with ``_raw``/``_reason``."""
    if not isinstance(mapping, Mapping):
        mapping = load_mapping(mapping)
    for chunk in read_records(mapping, path, lookups=lookups, chunksize=chunksize):
        yield apply_mapping(mapping, chunk, lookups=lookups)
