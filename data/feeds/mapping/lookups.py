"""Lookup tables (``[lookups.<name>]``): reading, checking and joining them onto the data."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from data.feeds.mapping.spec import LookupSpec, Mapping, MappingError

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
            path = _default_file(mapping, Path(spec.file), base)
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


def _default_file(mapping: Mapping, p: Path, base: Path | None) -> Path | None:
    """A lookup's default ``file``: absolute as given; relative, next to the data file (a
    companion of the data set, e.g. station coordinates) and else next to the mapping file (a
    table kept with the mapping), so a mapping copied with its table keeps working."""
    if p.is_absolute():
        return p
    candidates = [d / p for d in (base, mapping.path.parent if mapping.path else None) if d]
    for c in candidates:
        if c.is_file():
            return c
    return candidates[0] if candidates else None


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


def _unknown_column_error(mapping: Mapping, col: str, rule: str, frame: pd.DataFrame):
    """A MappingError naming the data's columns (``public`` leaves them out: they are data)."""
    available = [c for c in frame.columns if c != "_raw" and not c.endswith("._matched")]
    close = difflib.get_close_matches(col, available, n=3)
    hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    public = f"mapping {mapping.name!r}: column {col!r} (used by {rule}) is not in the data."
    return MappingError(f"{public}{hint} Available columns: {', '.join(available)}", public)
