"""The machine-readable contract of the HTTP API: an OpenAPI 3.1 document.

Built from the pydantic models (``PushEvent`` is the push record the API validates with; the
answer models below describe what the routes return), served at ``GET /api/openapi.json`` and
kept in ``docs/openapi.json``. Regenerate the file after changing the API:

    python -m web.openapi > docs/openapi.json

tests/test_openapi.py checks the file, the served document and the Flask routes agree.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import models_json_schema

from data.areas import LEVELS
from data.catalogue import DEFAULT_CATALOGUE, Catalogue
from data.events import MAX_ID_LEN, PushEvent


def indicator_ids() -> list[str]:
    """The catalogue's ids (data/indicators), in catalogue order."""
    from data.indicators import CATALOGUE

    return list(CATALOGUE)


VERSION = "1.0.0"
REF = "#/components/schemas/{model}"


class _Answer(BaseModel):
    # answers may grow fields; clients must ignore the ones they do not know
    model_config = ConfigDict(extra="allow")


class PushBody(BaseModel):
    """The push request body. A record that breaks the PushEvent rules is not refused: it is
    quarantined with its reason, and the answer counts it."""

    model_config = ConfigDict(extra="allow")
    events: list[PushEvent] = Field(description="the batch (at most max_push_events, 10,000)")


class RecordError(_Answer):
    """Why one record of the batch was quarantined."""

    index: int = Field(ge=0, description="position of the record in events")
    id: str | None = Field(description="its id, as stored (lone surrogates escaped)")
    reason: str


class IngestAnswer(_Answer):
    """Sent only after the batch is committed: accepted + duplicates + quarantined = records."""

    accepted: int = Field(ge=0, description="new events stored")
    duplicates: int = Field(
        ge=0, description="(source, id) already stored, or repeated earlier in the batch"
    )
    quarantined: int = Field(ge=0, description="kept in the quarantine table with a reason")
    errors: list[RecordError] = Field(description="the first 100 quarantined records")


class ErrorAnswer(_Answer):
    """Any refusal (4xx): nothing was stored."""

    error: str


class Feed(_Answer):
    """One feed's health. Totals and the last error are shown only to roles that may see them."""

    source: str
    last_event_time: str | None = None
    last_received_at: str | None = None
    events_per_min: float | None = None
    accepted: int | None = None
    duplicates: int | None = None
    quarantined: int | None = None
    errors: int | None = None
    last_error: str | None = None
    last_error_at: str | None = None
    stale_after_s: float | None = None
    silent_s: float | None = None
    stale: bool


class FeedsAnswer(_Answer):
    feeds: list[Feed]


class Event(_Answer):
    """A stored event with the codes of its grid cell and the areas above it."""

    source: str
    id: str
    category: str
    severity: int | None
    value: float | None
    event_time: str
    received_at: str
    lon: float
    lat: float
    cell: str
    community: str | None
    township: str | None
    county: str | None
    text: str | None
    attributes: Any = Field(description="the attributes as sent (a JSON object)")


class EventsAnswer(_Answer):
    events: list[Event]
    count: int = Field(ge=0)


class Case(_Answer):
    """A case (data/cases), with the codes of its area, its cell and its county."""

    id: int
    parent_id: int | None
    state: str
    category: str
    title: str | None
    department: str | None
    urgency: str
    urgent: bool
    warning_level: str | None
    origin: str
    origin_ref: str | None
    area: str | None
    cell: str | None
    county: str | None
    lon: float | None
    lat: float | None
    created_at: str
    dispatched_at: str | None
    accepted_at: str | None
    handled_at: str | None
    closed_at: str | None
    deadline_at: str | None
    extension_until: str | None
    extensions: int
    reworks: int
    returns: int
    reassignments: int
    flag: str | None


class CasesAnswer(_Answer):
    cases: list[Case]
    count: int = Field(ge=0)


class Warning(_Answer):
    """A warning (data/warnings): its rule, colour, state and the area it concerns."""

    id: int
    rule_id: str
    kind: str
    level: str = Field(description="blue, yellow, orange or red")
    state: str = Field(description="raised, acknowledged or cleared")
    area: str
    area_level: str
    subject: str | None
    value: float | None
    limit_value: float | None
    baseline: float | None
    raised_at: str
    updated_at: str | None
    acknowledged_by: str | None
    acknowledged_at: str | None
    ack_comment: str | None
    cleared_at: str | None
    cleared_by: str | None
    clear_reason: str | None
    escalated_to: str | None
    escalated_at: str | None
    detail: Any = Field(description="what the rule measured (a JSON object)")


class WarningsAnswer(_Answer):
    warnings: list[Warning]
    count: int = Field(ge=0)
    # rules comparing areas with their own usual: history stored and still needed
    # (data.warnings.learning.learning_state); null when no such rule is enabled
    learning: dict | None = None


class Area(_Answer):
    code: str
    level: str
    name_zh: str | None = None
    name_en: str | None = None
    population: float | None = None
    area_km2: float | None = None
    parent: str | None = None


class AreaSummary(_Answer):
    area: Area
    since: str
    until: str
    counts: dict[str, int]
    total: int = Field(ge=0)


class LangText(_Answer):
    """A display text in each language."""

    zh: str
    en: str


class IndicatorEntry(_Answer):
    """One indicator of the catalogue (data/indicators)."""

    id: str
    unit: str = Field(description="count, per_10k, share (0-1), hours or index (100 = usual)")
    levels: list[str] = Field(description="the area levels it exists for")
    dimension: str | None = Field(
        description="what its rows are broken down by besides the area (source, category, "
        "level, subject, department), or null"
    )
    name: LangText
    definition: LangText
    unit_name: LangText


class IndicatorList(_Answer):
    indicators: list[IndicatorEntry]


class IndicatorRow(_Answer):
    """One area (and dimension member): its value, null when the figure does not exist (a
    rate without cases, a rate per 10,000 without a population)."""

    area: str
    level: str
    name_zh: str | None = None
    name_en: str | None = None
    key: str | None = Field(description="the dimension member, null without a dimension")
    value: float | None


class IndicatorValues(_Answer):
    indicator: str
    unit: str
    dimension: str | None
    area: str
    by: str | None
    since: str
    until: str
    rows: list[IndicatorRow]


class InspectionReason(_Answer):
    """One piece of evidence that reached its threshold (or one reason for an exemption)."""

    code: str = Field(
        description="overdue, reworked, returns, repeat_complaints, unacknowledged, risk, "
        "feed_silent; for an exemption on_time, no_overdue, no_cases_due"
    )
    value: float | None = Field(None, description="the figure compared with the threshold")
    threshold: float | None = None
    figures: dict[str, Any] = Field(description="the figures behind it (per code, docs/API.md)")
    score: float | None = Field(None, description="its share of the entry's score")
    text: str = Field(description="the reason in words, in the language asked for")


class InspectionEntry(_Answer):
    """An area or department proposed for inspection, or exempt (then ``why``, no rank)."""

    entity: str = Field(description="an area code or a department id")
    kind: str = Field(description="area or department")
    level: str
    name_zh: str | None = None
    name_en: str | None = None
    rank: int | None = None
    score: float | None = None
    reasons: list[InspectionReason] | None = None
    why: list[InspectionReason] | None = None


class InspectionList(_Answer):
    area: str = Field(description="the reader's own area: the list never leaves it")
    level: str
    since: str
    until: str
    thresholds: dict[str, float]
    entries: list[InspectionEntry] = Field(description="ranked by score, highest first")
    exempt: list[InspectionEntry]
    notes: list[str] = Field(
        description="evidence that could not be weighed: risk_no_baseline (the store's history "
        "does not reach 4 weeks before the period, so no risk reason is given)"
    )


MODELS: tuple[type[BaseModel], ...] = (
    PushBody,
    PushEvent,
    IngestAnswer,
    RecordError,
    ErrorAnswer,
    FeedsAnswer,
    Feed,
    EventsAnswer,
    Event,
    CasesAnswer,
    Case,
    WarningsAnswer,
    Warning,
    AreaSummary,
    Area,
    IndicatorList,
    IndicatorEntry,
    IndicatorValues,
    IndicatorRow,
    LangText,
    InspectionList,
    InspectionEntry,
    InspectionReason,
)


def _schemas() -> dict[str, Any]:
    _, top = models_json_schema(
        [(m, "validation" if m in (PushBody, PushEvent) else "serialization") for m in MODELS],
        ref_template=REF,
    )
    return top["$defs"]


def _ref(model: type[BaseModel]) -> dict:
    return {"$ref": REF.format(model=model.__name__)}


def _json(model: type[BaseModel], description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": _ref(model)}}}


def _errors(*codes: int) -> dict:
    text = {
        400: "bad request (not JSON, wrong shape, a bad parameter)",
        401: "no credentials: sign in, or send Authorization: Bearer <token>",
        403: "the token or the user may not do this",
        404: "unknown source or area",
        413: "body or batch too large",
    }
    return {str(c): _json(ErrorAnswer, text[c]) for c in codes}


TIME_PARAM = {
    "schema": {"type": "string", "format": "date-time"},
    "description": "ISO 8601 with a UTC offset, between 1970 and 2200",
}
BOUND_PARAM = {
    "schema": {"type": "string"},
    "description": "a date YYYY-MM-DD (local midnight in the region's time zone) or an ISO 8601 "
    "time with a UTC offset, between 1970 and 2200 (default: the last 24 hours)",
}
# since/until of the listings: as BOUND_PARAM, without a default (no bound: all of time)
LISTING_BOUND = {
    "schema": {"type": "string"},
    "description": "a date YYYY-MM-DD (local midnight in the region's time zone) or an ISO 8601 "
    "time with a UTC offset, between 1970 and 2200; until is exclusive",
}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
READ_SECURITY = [{"readToken": []}, {"session": []}]
EXPORT_ROWS = 1_000_000  # data.export.MAX_ROWS (tests/test_export.py checks they agree)


def _listing_params(*extra: dict) -> list[dict]:
    """The parameters /api/events, /api/cases and /api/warnings share, after ``extra``."""
    return [
        *({"in": "query", **e} for e in extra),
        {
            "name": "q",
            "in": "query",
            "schema": {"type": "string", "maxLength": 100},
            "description": "search text: a case-insensitive substring of the records' text, "
            "category, address fields or id (docs/API.md)",
        },
        {"name": "since", "in": "query", **LISTING_BOUND},
        {"name": "until", "in": "query", **LISTING_BOUND},
        {
            "name": "area",
            "in": "query",
            "schema": {"type": "string", "maxLength": MAX_ID_LEN},
            "description": "an area code at any level",
        },
        {
            "name": "limit",
            "in": "query",
            "schema": {"type": "integer", "minimum": 1, "maximum": EXPORT_ROWS},
            "description": "at most 10,000 for format=json (default 100); at most 1,000,000 "
            "for format=csv and format=xlsx (default 1,000,000)",
        },
        {
            "name": "format",
            "in": "query",
            "schema": {"type": "string", "enum": ["json", "csv", "xlsx"]},
            "description": "json (default); csv (UTF-8 with a byte-order mark) or xlsx (a "
            "header row; a second sheet 'filters'): a streamed file, one row per record",
        },
    ]


def _listing_answer(model: type[BaseModel], what: str) -> dict:
    return {
        "200": {
            "description": f"the {what} (a file: the JSON records' fields as columns)",
            "content": {
                "application/json": {"schema": _ref(model)},
                "text/csv": {"schema": {"type": "string"}},
                XLSX: {"schema": {"type": "string", "format": "binary"}},
            },
        },
        **_errors(400, 401, 403, 404),
    }


def openapi_document(catalogue: Catalogue = DEFAULT_CATALOGUE) -> dict:
    """The OpenAPI 3.1 document of the push and read APIs for ``catalogue``'s sources (the
    built-in five: docs/openapi.json; a deployment's own: what its server serves)."""
    source = {
        "name": "source",
        "in": "path",
        "required": True,
        "schema": {"type": "string", "enum": list(catalogue.ids)},
    }
    categories = sorted({c for cs in catalogue.categories.values() for c in cs})
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "OneGrid API",
            "version": VERSION,
            "description": (
                "Push events from department systems; read events, feed health and area "
                "summaries for data sharing. See docs/API.md. Every pushed record ends accepted, "
                "duplicate or quarantined with a reason; the counts add up to what was sent."
            ),
        },
        "servers": [{"url": "/"}],
        "components": {
            "schemas": _schemas(),
            "securitySchemes": {
                "pushToken": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "ingest_token, or the feed's own token (feed_tokens.<source>)",
                },
                "readToken": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "read_token, for systems reading shared data",
                },
                "session": {
                    "type": "apiKey",
                    "in": "cookie",
                    "name": "session",
                    "description": "a signed-in user's session (sign in at /login)",
                },
            },
        },
        "paths": {
            "/api/ingest/{source}": {
                "post": {
                    "operationId": "pushEvents",
                    "summary": "Push a batch of events; answered after commit",
                    "security": [{"pushToken": []}],
                    "parameters": [source],
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": _ref(PushBody)}},
                    },
                    "responses": {
                        "200": _json(IngestAnswer, "the batch is committed"),
                        **_errors(400, 401, 403, 404, 413),
                    },
                }
            },
            "/api/events": {
                "get": {
                    "operationId": "listEvents",
                    "summary": "Events inside the caller's scope, newest first",
                    "security": READ_SECURITY,
                    "parameters": _listing_params(
                        {
                            "name": "source",
                            "schema": {"type": "string", "enum": list(catalogue.ids)},
                        },
                        {
                            "name": "severity",
                            "schema": {"type": "string", "enum": ["1", "2", "3", "4", "5"]},
                        },
                        {
                            "name": "category",
                            "schema": {"type": "string", "examples": categories[:3]},
                        },
                    ),
                    "responses": _listing_answer(EventsAnswer, "events"),
                }
            },
            "/api/cases": {
                "get": {
                    "operationId": "listCases",
                    "summary": "Cases inside the caller's scope, newest first (by creation)",
                    "security": READ_SECURITY,
                    "parameters": _listing_params(
                        {"name": "state", "schema": {"type": "string"}},
                        {"name": "category", "schema": {"type": "string"}},
                        {"name": "department", "schema": {"type": "string"}},
                    ),
                    "responses": _listing_answer(CasesAnswer, "cases"),
                }
            },
            "/api/warnings": {
                "get": {
                    "operationId": "listWarnings",
                    "summary": "Warnings inside the caller's scope, newest first (by raising)",
                    "security": READ_SECURITY,
                    "parameters": _listing_params(
                        {
                            "name": "state",
                            "schema": {
                                "type": "string",
                                "enum": ["raised", "acknowledged", "cleared"],
                            },
                        },
                        {
                            "name": "level",
                            "schema": {
                                "type": "string",
                                "enum": ["blue", "yellow", "orange", "red"],
                            },
                        },
                        {"name": "rule_id", "schema": {"type": "string"}},
                    ),
                    "responses": _listing_answer(WarningsAnswer, "warnings"),
                }
            },
            "/api/feeds": {
                "get": {
                    "operationId": "feedHealth",
                    "summary": "Health of every feed",
                    "security": READ_SECURITY,
                    "responses": {
                        "200": _json(FeedsAnswer, "one entry per source"),
                        **_errors(401, 403),
                    },
                }
            },
            "/api/areas/{code}/summary": {
                "get": {
                    "operationId": "areaSummary",
                    "summary": "Counts per source inside an area over a window (default 24 h)",
                    "security": READ_SECURITY,
                    "parameters": [
                        {
                            "name": "code",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string"},
                            "description": "an area code at any level",
                        },
                        {"name": "since", "in": "query", **TIME_PARAM},
                        {"name": "until", "in": "query", **TIME_PARAM},
                    ],
                    "responses": {
                        "200": _json(AreaSummary, "the counts"),
                        **_errors(400, 401, 403, 404),
                    },
                }
            },
            "/api/indicators": {
                "get": {
                    "operationId": "listIndicators",
                    "summary": "The indicator catalogue: ids, names, definitions, units, levels",
                    "security": READ_SECURITY,
                    "responses": {
                        "200": _json(IndicatorList, "every indicator"),
                        **_errors(401),
                    },
                }
            },
            "/api/indicators/{indicator}": {
                "get": {
                    "operationId": "indicatorValues",
                    "summary": "An indicator's values for an area and a period, optionally per "
                    "lower-level area; JSON, CSV or Excel",
                    "security": READ_SECURITY,
                    "parameters": [
                        {
                            "name": "indicator",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string", "enum": indicator_ids()},
                        },
                        {
                            "name": "area",
                            "in": "query",
                            "schema": {"type": "string", "maxLength": MAX_ID_LEN},
                            "description": "an area code at any level (default: the reader's)",
                        },
                        {"name": "since", "in": "query", **BOUND_PARAM},
                        {"name": "until", "in": "query", **BOUND_PARAM},
                        {
                            "name": "by",
                            "in": "query",
                            "schema": {"type": "string", "enum": list(LEVELS)},
                            "description": "one row per area of this level inside the area",
                        },
                        {
                            "name": "format",
                            "in": "query",
                            "schema": {"type": "string", "enum": ["json", "csv", "xlsx"]},
                        },
                    ],
                    "responses": {
                        "200": {
                            "description": "the values (columns area, level, name_zh, name_en, "
                            "key, value)",
                            "content": {
                                "application/json": {"schema": _ref(IndicatorValues)},
                                "text/csv": {"schema": {"type": "string"}},
                                XLSX: {"schema": {"type": "string", "format": "binary"}},
                            },
                        },
                        **_errors(400, 401, 403, 404),
                    },
                }
            },
            "/api/inspections": {
                "get": {
                    "operationId": "inspectionList",
                    "summary": "Targeted inspection list of the reader's area: entities ranked "
                    "by evidence, with reasons and figures, and those exempt; JSON, CSV or Excel",
                    "security": READ_SECURITY,
                    "parameters": [
                        {
                            **BOUND_PARAM,
                            "name": "since",
                            "in": "query",
                            "description": "a date (local midnight) or a time with a UTC "
                            "offset (default: the local midnight six days before today)",
                        },
                        {
                            **BOUND_PARAM,
                            "name": "until",
                            "in": "query",
                            "description": "a date (local midnight) or a time with a UTC "
                            "offset (default and latest: now)",
                        },
                        {
                            "name": "level",
                            "in": "query",
                            "schema": {
                                "type": "string",
                                "enum": ["county", "township", "community", "department"],
                            },
                            "description": "the entities listed (default county)",
                        },
                        {
                            "name": "format",
                            "in": "query",
                            "schema": {"type": "string", "enum": ["json", "csv", "xlsx"]},
                        },
                        {
                            "name": "lang",
                            "in": "query",
                            "schema": {"type": "string", "enum": ["zh", "en"]},
                            "description": "the language of the reasons' words (default zh)",
                        },
                    ],
                    "responses": {
                        "200": {
                            "description": "the list; a file has one row per reason "
                            "(columns list, rank, entity, kind, level, name_zh, name_en, score, "
                            "reason, value, threshold, text, figures) and, in Excel, the "
                            "filters on a second sheet",
                            "content": {
                                "application/json": {"schema": _ref(InspectionList)},
                                "text/csv": {"schema": {"type": "string"}},
                                XLSX: {"schema": {"type": "string", "format": "binary"}},
                            },
                        },
                        **_errors(400, 401, 403),
                    },
                }
            },
            "/api/metrics/{table}": {
                "get": {
                    "operationId": "metricsTable",
                    "summary": "One table of the metrics page as a file, the page's rows and "
                    "headers: the departments' or counties' ranking, or one department's cases "
                    "open past their deadline; inside the reader's area, audited",
                    "security": READ_SECURITY,
                    "parameters": [
                        {
                            "name": "table",
                            "in": "path",
                            "required": True,
                            "schema": {
                                "type": "string",
                                "enum": ["departments", "counties", "department"],
                            },
                        },
                        {"name": "since", "in": "query", **BOUND_PARAM},
                        {"name": "until", "in": "query", **BOUND_PARAM},
                        {
                            "name": "department",
                            "in": "query",
                            "schema": {"type": "string", "maxLength": MAX_ID_LEN},
                            "description": "the department (table department only)",
                        },
                        {
                            "name": "format",
                            "in": "query",
                            "required": True,
                            "schema": {"type": "string", "enum": ["csv", "xlsx"]},
                        },
                        {
                            "name": "lang",
                            "in": "query",
                            "schema": {"type": "string", "enum": ["zh", "en"]},
                            "description": "the language of the headers and names (default zh)",
                        },
                    ],
                    "responses": {
                        "200": {
                            "description": "the table; in Excel the filters on a second sheet",
                            "content": {
                                "text/csv": {"schema": {"type": "string"}},
                                XLSX: {"schema": {"type": "string", "format": "binary"}},
                            },
                        },
                        **_errors(400, 401, 403, 404),
                    },
                }
            },
            "/api/openapi.json": {
                "get": {
                    "operationId": "openapi",
                    "summary": "This document",
                    "security": [],
                    "responses": {
                        "200": {
                            "description": "the OpenAPI 3.1 document",
                            "content": {"application/json": {"schema": {"type": "object"}}},
                        }
                    },
                }
            },
        },
    }


@cache
def openapi_text(catalogue: Catalogue = DEFAULT_CATALOGUE) -> str:
    """The document as text: for the built-in catalogue, the text kept in docs/openapi.json."""
    doc = openapi_document(catalogue)
    return json.dumps(doc, ensure_ascii=False, indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":
    print(openapi_text(), end="")
