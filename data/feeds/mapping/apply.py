"""Applying a mapping: a raw string frame in, a canonical event frame with ``_reason`` out."""

from __future__ import annotations

import fnmatch
import json
import re
import string
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from data.events import CATEGORIES, normalise_frame
from data.feeds.mapping.lookups import _join, _resolve_lookups, _unknown_column_error
from data.feeds.mapping.readers import _cell_text, _csv_line, read_records
from data.feeds.mapping.spec import (
    AttributeRule,
    CategoryRule,
    LocationRule,
    Mapping,
    SeverityRule,
    TextRule,
    TimeRule,
    ValueRule,
    load_mapping,
)

# --------------------------------------------------------------------------------------------
# Applying a mapping
# --------------------------------------------------------------------------------------------


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


def _category(
    rule: CategoryRule, ctx: _Ctx, allowed: tuple[str, ...]
) -> tuple[pd.Series, np.ndarray]:
    n = ctx.n
    if rule.value is not None:
        return pd.Series(rule.value, index=ctx.frame.index, dtype=object), np.full(n, None, object)
    s = ctx.text(rule.column)  # type: ignore[arg-type]
    if rule.map:
        codes = _map_values(s, rule.map, rule.ignore_case)
    else:
        codes = s.astype(object).where(s.notna(), None)
        codes = codes.where(codes.isin(allowed), None)
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
    # the source's categories in the catalogue the mapping was checked against
    cat, r = _category(spec.category, ctx, spec._allowed or CATEGORIES[spec.source])
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
