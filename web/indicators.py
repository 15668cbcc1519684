"""The indicator catalogue over HTTP: ``GET /api/indicators`` lists it, ``GET
/api/indicators/<id>`` answers values as JSON, CSV or Excel (docs/API.md).

Access is the read API's (web/api.py): a signed-in user or the read token; what an answer may
cover is decided by data.policy: area aggregates (``view area``) inside the reader's scope, and
files (CSV, Excel) only for roles that may ``export`` that area. A ``by`` breakdown lists the
areas inside the area asked for, so it never leaves the reader's scope.
"""

from __future__ import annotations

import pandas as pd
from flask import Blueprint, Response, jsonify, request

from data import indicators
from data.areas import LEVELS, scope_for_code
from data.times import iso, parse_bound
from layouts.i18n import LANGUAGES, t
from reports.tables import csv_bytes, xlsx_bytes
from web.api import (
    QUERY_TIME_MAX,
    QUERY_TIME_MIN,
    _area_read,
    _error,
    _read_allowed,
    _reader,
    _unknown,
)
from web.export import attachment
from web.paths import API_PREFIX
from web.session import runtime as _runtime

blueprint = Blueprint("onegrid_indicators", __name__, url_prefix=API_PREFIX)
FORMATS = ("json", "csv", "xlsx")
PARAMS = {"area", "since", "until", "by", "format"}


def entry(ind: indicators.Indicator) -> dict:
    """A catalogue entry with its names, definition and unit name in every language."""
    return {
        **ind.describe(),
        "name": {lang: t(f"indicator.{ind.id}.name", lang) for lang in LANGUAGES},
        "definition": {lang: t(f"indicator.{ind.id}.definition", lang) for lang in LANGUAGES},
        "unit_name": {lang: t(f"unit.{ind.unit}", lang) for lang in LANGUAGES},
    }


@blueprint.get("/indicators")
def catalogue() -> Response:
    """Every indicator: id, names, definition, unit, levels, dimension."""
    if (denied := _read_allowed()) is not None:
        return denied
    return jsonify({"indicators": [entry(i) for i in indicators.CATALOGUE.values()]})


def _bound(name: str, timezone: str) -> pd.Timestamp | None:
    text = request.args.get(name)
    if text is None:
        return None
    try:
        when = parse_bound(text, timezone)
    except ValueError as exc:
        raise ValueError(f"{name}: {exc}") from None
    if not QUERY_TIME_MIN <= when <= QUERY_TIME_MAX:
        raise ValueError(f"{name} must lie between 1970 and 2200")
    return when


@blueprint.get("/indicators/<indicator>")
def values(indicator: str) -> Response:
    """One indicator's values for an area (default: the reader's own) and a period (default:
    the last 24 hours), optionally broken down ``by`` a lower level; ``format`` json, csv or
    xlsx. ``since``/``until``: a date (the region's local midnight) or a time with an offset."""
    if (denied := _read_allowed()) is not None:
        return denied
    rt = _runtime()
    args = request.args
    if (bad := _unknown(PARAMS)) is not None:
        return bad
    fmt = args.get("format", "json")
    if fmt not in FORMATS:
        return _error(400, f"format must be one of {', '.join(FORMATS)}")
    if indicator not in indicators.CATALOGUE:
        return _error(400, f"unknown indicator {indicator!r}; GET /api/indicators lists them")
    by = args.get("by")
    if by is not None and by not in LEVELS:
        return _error(400, f"unknown level {by!r}; expected one of {', '.join(LEVELS)}")
    try:
        until = _bound("until", rt.timezone) or pd.Timestamp.now(tz="UTC").floor("s")
        since = _bound("since", rt.timezone) or until - pd.Timedelta(hours=24)
    except ValueError as exc:
        return _error(400, str(exc))
    if since >= until:
        return _error(400, "since must be before until")
    area = None
    if "area" in args:
        try:
            area = scope_for_code(rt.db, args["area"])
        except KeyError as exc:
            return _error(404, str(exc.args[0]))
    area, denied = _area_read(rt, _reader(), fmt, area)
    if denied is not None:
        return denied
    try:
        df = indicators.compute(
            rt.db,
            indicator,
            area,
            since,
            until,
            by=by,
            escalate_after=rt.settings.warnings_escalate_after_s,
            sources=rt.catalogue.ids,
        )
    except indicators.IndicatorError as exc:
        return _error(400, str(exc))
    code = rt.db.query_one("SELECT code FROM areas WHERE key = ?", [area.key])[0]
    ind = indicators.get(indicator)
    if fmt == "csv":
        return attachment(_csv(df, ind.unit), fmt, f"{indicator}-{code}.csv")
    if fmt == "xlsx":
        return attachment(_xlsx(df, ind.unit, indicator), fmt, f"{indicator}-{code}.xlsx")
    return jsonify(
        {
            "indicator": indicator,
            "unit": ind.unit,
            "dimension": ind.dimension,
            "area": code,
            "by": by,
            "since": iso(since),
            "until": iso(until),
            "rows": indicators.records(df, ind.unit),
        }
    )


def _rows(df: pd.DataFrame, unit: str) -> list[list]:
    return [[rec[c] for c in indicators.COLUMNS] for rec in indicators.records(df, unit)]


def _csv(df: pd.DataFrame, unit: str) -> bytes:
    return csv_bytes(indicators.COLUMNS, _rows(df, unit))


def _xlsx(df: pd.DataFrame, unit: str, indicator: str) -> bytes:
    return xlsx_bytes([(indicator, indicators.COLUMNS, _rows(df, unit))])
