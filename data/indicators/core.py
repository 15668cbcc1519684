"""The catalogue's machinery: indicator entries, the registry, and :func:`compute`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd

from data.areas import LEVEL_COLUMN, LEVELS, AreaScope
from data.store import Database
from data.times import to_py, utc, utc_now

# units: a count of things; per 10,000 residents; a share between 0 and 1; hours; an index
# where 100 is the area's usual (the risk index)
UNITS: tuple[str, ...] = ("count", "per_10k", "share", "hours", "index")
# what an indicator's rows are broken down by besides the area
DIMENSIONS: tuple[str, ...] = ("source", "category", "level", "subject", "department")


class IndicatorError(ValueError):
    """A request the catalogue cannot answer (unknown id or level, empty period); the message
    says which argument and why."""


@dataclass(frozen=True)
class Ask:
    """What an indicator function is asked: the store, the area, the period, the area column
    to group rows by (``group``: the scope's own level column, or the ``by`` level's), and the
    reading time (``now``: what is overdue is judged then) and warning acknowledgement times."""

    db: Database
    scope: AreaScope
    since: pd.Timestamp
    until: pd.Timestamp
    group: str
    now: pd.Timestamp
    escalate_after: dict[str, float] = field(default_factory=dict)

    def window(self, column: str, alias: str = "") -> tuple[str, list]:
        """The scope and period condition on ``column`` (a fixed column name), parameterised."""
        where, params = self.scope.where(alias)
        p = f"{alias}." if alias else ""
        return (
            f"{where} AND {p}{column} >= ? AND {p}{column} < ?",
            [*params, to_py(self.since), to_py(self.until)],
        )


@dataclass(frozen=True)
class Indicator:
    """One catalogue entry. ``compute(ask)`` returns a frame with ``area_key``, ``key`` (the
    dimension member, None without a dimension) and ``value``; ``keys``: the dimension's full
    list when every member should show (zero when absent); ``zero``: the value of an area with
    nothing to count (0 for counts, None for rates and medians)."""

    id: str
    unit: str
    compute: Callable[[Ask], pd.DataFrame]
    levels: tuple[str, ...] = LEVELS
    dimension: str | None = None
    keys: tuple[str, ...] = ()
    zero: float | None = 0

    def describe(self) -> dict:
        """The entry as plain values (names and definitions come from the translation tables)."""
        return {
            "id": self.id,
            "unit": self.unit,
            "levels": list(self.levels),
            "dimension": self.dimension,
        }


CATALOGUE: dict[str, Indicator] = {}


def indicator(ind_id: str, unit: str, **kw) -> Callable:
    """Register the decorated function as indicator ``ind_id`` (used by the definitions)."""
    if unit not in UNITS:
        raise ValueError(f"unknown unit {unit!r}")

    def wrap(fn: Callable[[Ask], pd.DataFrame]) -> Callable[[Ask], pd.DataFrame]:
        if ind_id in CATALOGUE:
            raise ValueError(f"indicator {ind_id!r} defined twice")
        if kw.get("dimension") not in (None, *DIMENSIONS):
            raise ValueError(f"unknown dimension {kw['dimension']!r}")
        CATALOGUE[ind_id] = Indicator(ind_id, unit, fn, **kw)
        return fn

    return wrap


def get(ind_id: str) -> Indicator:
    """The indicator ``ind_id``; :class:`IndicatorError` when the catalogue has none."""
    try:
        return CATALOGUE[ind_id]
    except KeyError:
        raise IndicatorError(
            f"unknown indicator {ind_id!r}; GET /api/indicators lists them"
        ) from None


def check_period(since, until) -> tuple[pd.Timestamp, pd.Timestamp]:
    """``since`` and ``until`` as UTC timestamps; IndicatorError unless since < until."""
    s, u = utc(since), utc(until)
    if s >= u:
        raise IndicatorError(f"since ({s.isoformat()}) must be before until ({u.isoformat()})")
    return s, u


def areas_at(db: Database, scope: AreaScope, level: str) -> pd.DataFrame:
    """The areas of ``level`` inside ``scope`` (the scope's own area when ``level`` is its
    level): key, code, level, names and population, ordered by code."""
    if level == scope.level:
        cond, params = "key = ?", [int(scope.key)]
    else:
        cond, params = f"level = ? AND {scope.column} = ?", [level, int(scope.key)]
    return db.query_df(
        "SELECT key AS area_key, code AS area, level, name_zh, name_en, population "
        f"FROM areas WHERE {cond} ORDER BY code",
        params,
    )


# a store whose newest activity is older than this is not live (an imported file): it is read
# as of that activity, not as of today
LIVE_WITHIN = pd.Timedelta(days=1)


def reading_time(db: Database, now=None) -> pd.Timestamp:
    """When figures are read by default: ``now`` (default the current time), unless the store's
    newest activity (the end of its newest 5-minute event bucket, a case's creation or closing;
    not ``updated_at``, the wall-clock time a row was written, which an import sets) is more
    than a day older; then that activity's time. An imported year-old file is read as of its
    own end, so a case still open there is open at that time (right-censored: docs/CASES.md), not
    overdue against today, while a live store quiet for an hour is still read as of now."""
    now = utc_now(now)
    row = db.query_one(
        "SELECT greatest((SELECT max(bucket) FROM cell_counts) + INTERVAL 5 MINUTE, "
        "(SELECT greatest(max(created_at), max(closed_at)) FROM cases))"
    )
    newest = None if row is None or row[0] is None else utc(row[0])
    if newest is not None and now - newest > LIVE_WITHIN:
        return newest
    return now


COLUMNS = ["area", "level", "name_zh", "name_en", "key", "value"]


def compute(
    db: Database,
    ind_id: str,
    scope: AreaScope,
    since,
    until,
    *,
    by: str | None = None,
    now=None,
    escalate_after: dict[str, float] | None = None,
    sources: tuple[str, ...] | None = None,
) -> pd.DataFrame:
    """Indicator ``ind_id`` for the area ``scope`` over ``[since, until)``: one row (per
    dimension member) for the area, or with ``by`` one per area of that level inside it, in
    columns area (code), level, name_zh, name_en, key (dimension member or None), value.

    ``sources``: the deployment's sources (its catalogue's ids): the members of a ``source``
    dimension, each given a row even when it has no events (default: the built-in five).

    ``now`` (default: :func:`reading_time`) is when the figure is read: cases open past their
    deadline then are overdue. Raises :class:`IndicatorError` for a bad argument.
    """
    ind = get(ind_id)
    since, until = check_period(since, until)
    level = by or scope.level
    if level not in LEVELS:
        raise IndicatorError(f"unknown level {level!r}; expected one of {', '.join(LEVELS)}")
    if LEVELS.index(level) < LEVELS.index(scope.level):
        raise IndicatorError(f"cannot break a {scope.level} down by {level}: {level} is above it")
    if level not in ind.levels:
        raise IndicatorError(f"{ind_id} does not exist at level {level}")
    ask = Ask(
        db,
        scope,
        since,
        until,
        LEVEL_COLUMN[level],
        reading_time(db) if now is None else utc(now),
        dict(escalate_after or {}),
    )
    areas = areas_at(db, scope, level)
    got = ind.compute(ask)
    got = got[got["area_key"].notna()].astype({"area_key": "int64"})
    if ind.dimension is None:
        out = areas.merge(got[["area_key", "value"]], on="area_key", how="left")
        out["key"] = None
    elif ind.keys:
        keys = sources if sources is not None and ind.dimension == "source" else ind.keys
        full = areas.merge(pd.DataFrame({"key": list(keys)}), how="cross")
        out = full.merge(got, on=["area_key", "key"], how="left")
    else:
        out = areas.merge(got, on="area_key", how="inner")
    if ind.zero is not None:
        out["value"] = out["value"].astype("Float64").fillna(ind.zero)
    out["value"] = out["value"].astype("float64")
    out = out.sort_values(
        ["area", "value", "key"], ascending=[True, False, True], na_position="last"
    )
    return out[COLUMNS].reset_index(drop=True)


def value(db: Database, ind_id: str, scope: AreaScope, since, until, **kw) -> float | None:
    """A dimensionless indicator's single value for ``scope`` (None when it has none)."""
    if get(ind_id).dimension is not None:
        raise IndicatorError(f"{ind_id} has a {get(ind_id).dimension} dimension: use compute()")
    v = compute(db, ind_id, scope, since, until, **kw)["value"].iloc[0]
    return None if pd.isna(v) else float(v)


def records(df: pd.DataFrame, unit: str | None = None) -> list[dict]:
    """A computed frame as JSON-ready dicts (NaN becomes None; a count is a whole number)."""
    out = df.astype(object).where(df.notna(), None)
    rows = out.to_dict("records")
    if unit == "count":
        for r in rows:
            if r["value"] is not None:
                r["value"] = int(r["value"])
    return rows
