"""Targeted inspection lists over HTTP: ``GET /api/inspections`` as JSON, CSV or Excel
(docs/API.md).

Access is the read API's (web/api.py): a signed-in user or the read token, whose role may open
the inspections page; the list covers the reader's own area only (data.policy's area scope, so
a county leader gets their own county's list whatever they ask). Files (CSV, Excel) need the
``export`` right on that area and are recorded in the audit trail (``inspections.export``).
"""

from __future__ import annotations

import json

import pandas as pd
from flask import Blueprint, Response, jsonify, request

from data import audit, indicators, inspections, policy
from data.times import iso, utc_now
from layouts.i18n import LANGUAGES
from layouts.inspections_page import reason_text, why_text
from reports import tables
from web.api import _area_read, _error, _read_allowed, _reader, _unknown
from web.export import attachment
from web.indicators import _bound
from web.paths import API_PREFIX
from web.session import runtime as _runtime

blueprint = Blueprint("onegrid_inspections", __name__, url_prefix=API_PREFIX)
FORMATS = ("json", "csv", "xlsx")
PARAMS = {"since", "until", "level", "format", "lang"}
# the file's columns: one row per reason of a listed entity and per why of an exempt one
COLUMNS = (
    *("list", "rank", "entity", "kind", "level", "name_zh", "name_en", "score"),
    *("reason", "value", "threshold", "text", "figures"),
)


@blueprint.get("/inspections")
def inspection_list() -> Response:
    """The inspection list of the reader's area for a period (default: the last 7 local days)
    at a level (county, township, community or department; default county)."""
    if (denied := _read_allowed()) is not None:
        return denied
    rt = _runtime()
    args = request.args
    if (bad := _unknown(PARAMS)) is not None:
        return bad
    fmt, lang, level = args.get("format", "json"), args.get("lang", "zh"), args.get("level")
    if fmt not in FORMATS:
        return _error(400, f"format must be one of {', '.join(FORMATS)}")
    if lang not in LANGUAGES:
        return _error(400, f"lang must be one of {', '.join(LANGUAGES)}")
    level = level or "county"
    if level not in inspections.LEVELS:
        return _error(400, f"level must be one of {', '.join(inspections.LEVELS)}")
    try:
        since, until = _bound("since", rt.timezone), _bound("until", rt.timezone)
    except ValueError as exc:
        return _error(400, str(exc))
    user = _reader()
    if not policy.may(user, "view", policy.page("inspections")):
        return _error(403, "your role reads no inspection lists")
    scope, denied = _area_read(rt, user, fmt)
    if denied is not None:
        return denied
    try:
        view = inspections.for_runtime(rt, scope, level=level, since=since, until=until)
    except (inspections.InspectionError, indicators.IndicatorError) as exc:
        return _error(400, str(exc))
    code = rt.db.query_one("SELECT code FROM areas WHERE key = ?", [scope.key])[0]
    if fmt == "json":
        return jsonify(_json(view, code, lang))
    rows = file_rows(view, lang)
    audit.record(
        rt.db,
        getattr(user, "username", None) or "anonymous",
        "inspections.export",
        object_type="area",
        object_id=code,
        detail={
            "level": level,
            "since": iso(view["since"]),
            "until": iso(view["until"]),
            "format": fmt,
            "rows": len(rows),
        },
    )
    name = f"inspections-{code}-{level}"
    if fmt == "csv":
        return attachment(_csv(rows), fmt, f"{name}.csv")
    return attachment(_xlsx(rows, _filters(view, code, lang)), fmt, f"{name}.xlsx")


def _json(view: dict, code: str, lang: str) -> dict:
    def reasons(items: list[dict], text) -> list[dict]:
        return [{**r, "text": text(r, lang)} for r in items]

    return {
        "area": code,
        "level": view["level"],
        "since": iso(view["since"]),
        "until": iso(view["until"]),
        "thresholds": view["thresholds"],
        "entries": [{**e, "reasons": reasons(e["reasons"], reason_text)} for e in view["entries"]],
        "exempt": [{**e, "why": reasons(e["why"], why_text)} for e in view["exempt"]],
        "notes": view["notes"],
    }


def file_rows(view: dict, lang: str) -> list[dict]:
    """The list as flat rows (:data:`COLUMNS`): each reason of each listed entity, then each
    why of each exempt one; ``text`` in ``lang``, ``figures`` as JSON."""
    rows = []
    for kind, items, key, text in (
        ("inspect", view["entries"], "reasons", reason_text),
        ("exempt", view["exempt"], "why", why_text),
    ):
        for e in items:
            for r in e[key]:
                rows.append(
                    {
                        "list": kind,
                        "rank": e.get("rank"),
                        "entity": e["entity"],
                        "kind": e["kind"],
                        "level": e["level"],
                        "name_zh": e["name_zh"],
                        "name_en": e["name_en"],
                        "score": e.get("score"),
                        "reason": r["code"],
                        "value": r.get("value"),
                        "threshold": r.get("threshold"),
                        "text": text(r, lang),
                        "figures": json.dumps(r["figures"], ensure_ascii=False),
                    }
                )
    return rows


def _filters(view: dict, code: str, lang: str) -> list[tuple[str, object]]:
    out = [
        ("area", code),
        ("level", view["level"]),
        ("since", iso(view["since"])),
        ("until", iso(view["until"])),
        ("lang", lang),
        ("generated_at", iso(utc_now())),
        ("notes", ",".join(view["notes"])),
    ]
    return out + [(f"threshold.{k}", v) for k, v in view["thresholds"].items()]


def _csv(rows: list[dict]) -> bytes:
    return tables.csv_bytes(COLUMNS, ([r[c] for c in COLUMNS] for r in rows))


def _xlsx(rows: list[dict], filters: list[tuple[str, object]]) -> bytes:
    cells = ([None if pd.isna(r[c]) else r[c] for c in COLUMNS] for r in rows)
    return tables.xlsx_bytes(
        [("inspections", COLUMNS, cells), ("filters", ("filter", "value"), filters)]
    )
