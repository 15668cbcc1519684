"""The API contract: docs/openapi.json is what the code generates and what the server serves,
and it describes every /api route Flask knows."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from app import create_app
from web.openapi import openapi_document, openapi_text

DOC = Path(__file__).resolve().parents[1] / "docs" / "openapi.json"


@pytest.fixture
def app(runtime):
    return create_app(runtime=runtime).server


def test_docs_file_is_the_generated_document():
    # regenerate with: python -m web.openapi > docs/openapi.json
    assert DOC.read_text(encoding="utf-8") == openapi_text()


def test_served_document_is_the_docs_file_without_signing_in(app):
    resp = app.test_client().get("/api/openapi.json")
    assert resp.status_code == 200 and resp.mimetype == "application/json"
    assert resp.get_json() == json.loads(DOC.read_text(encoding="utf-8"))


def _api_routes(app) -> dict[str, set[str]]:
    routes: dict[str, set[str]] = {}
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/"):
            path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
            routes.setdefault(path, set()).update(
                m.lower() for m in rule.methods - {"HEAD", "OPTIONS"}
            )
    return routes


def test_every_api_route_is_in_the_document_and_nothing_else(app):
    paths = {p: set(ops) for p, ops in openapi_document()["paths"].items()}
    routes = _api_routes(app)
    assert routes, "no /api routes found"
    assert routes == paths


def test_document_is_openapi_3_1_that_schemathesis_loads():
    import schemathesis

    doc = openapi_document()
    assert doc["openapi"].startswith("3.1")
    schema = schemathesis.openapi.from_dict(doc)
    ops = [r.ok() for r in schema.get_all_operations()]
    assert {f"{o.method.upper()} {o.path}" for o in ops} == {
        "POST /api/ingest/{source}",
        "GET /api/events",
        "GET /api/cases",
        "GET /api/warnings",
        "GET /api/feeds",
        "GET /api/areas/{code}/summary",
        "GET /api/openapi.json",
        "GET /api/indicators",
        "GET /api/indicators/{indicator}",
        "GET /api/inspections",
        "GET /api/metrics/{table}",
    }


def test_push_record_schema_comes_from_the_model_the_api_validates_with():
    from data.events import PushEvent

    schema = openapi_document()["components"]["schemas"]["PushEvent"]
    assert schema["required"] == [n for n, f in PushEvent.model_fields.items() if f.is_required()]
    assert schema["properties"]["id"]["maxLength"] == 200
