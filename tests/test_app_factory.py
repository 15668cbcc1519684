"""The app factory: pages read the serving app's settings, every page's component ids are unique,
Dash checks callbacks against a validation layout, and building an app starts no thread."""

from __future__ import annotations

import json
import re
import threading

import dash
import pytest

from app import create_app, validation_layout
from data.policy import PAGES as PAGE_PATHS
from data.runtime import Runtime
from data.settings import load_settings
from layouts import ids

PAGES = tuple(PAGE_PATHS)  # every page the policy knows


def _ids(component) -> list:
    """Every component id under ``component`` (itself included), in document order."""
    found = []
    if getattr(component, "id", None) is not None:
        found.append(component.id)
    for child in component._traverse():
        if getattr(child, "id", None) is not None:
            found.append(child.id)
    return found


def _render(app: dash.Dash, name: str, **query):
    """Page ``name`` as the registry renders it, in a request to ``app`` (sign-in off: the
    anonymous city-wide admin)."""
    with app.server.test_request_context("/"):
        return dash.page_registry[name]["layout"](**query)


def _refresh_ms(layout) -> int:
    [interval] = [c for c in layout._traverse() if getattr(c, "id", None) == ids.REFRESH]
    return interval.interval


def test_two_apps_render_pages_with_their_own_settings(runtime, settings, tmp_path):
    """Dash's page registry is one per process: a page must not carry the settings of the last
    app built (it did, through a partial bound to them at registration)."""
    other_settings = load_settings(
        db=tmp_path / "other.duckdb",
        region=settings.region,
        simulator=False,
        users_file=tmp_path / "other-users.toml",
        secret_key="other-secret",
        auth=False,
        refresh_ms=7000,
    )
    assert runtime.settings.refresh_ms != 7000
    first = create_app(runtime=runtime)
    other = Runtime(other_settings)
    try:
        second = create_app(runtime=other)
        for name in PAGES:
            assert _refresh_ms(_render(first, name)) == runtime.settings.refresh_ms, name
            assert _refresh_ms(_render(second, name)) == 7000, name
    finally:
        other.stop()


@pytest.mark.parametrize("name", PAGES)
def test_every_page_has_unique_component_ids(runtime, name):
    """Each page, as an administrator sees it (every part shown, the sign-out form too), uses
    each component id once; the header's area name and the region store once shared one."""
    runtime.settings.auth = True
    from tests.support.web import TEST_PASSWORD, post_login

    runtime.users.add("boss", TEST_PASSWORD, "admin")
    app = create_app(runtime=runtime)
    client = app.server.test_client()
    assert post_login(client, "boss", TEST_PASSWORD).status_code == 302
    headers = _csrf(client)  # also Dash's first request: it registers its page router then
    # the page callback of Dash's router, over HTTP: what the browser receives for the page
    body = {
        "output": next(k for k in app.callback_map if "_pages_content.children" in k),
        "outputs": [
            {"id": "_pages_content", "property": "children"},
            {"id": "_pages_store", "property": "data"},
        ],
        "inputs": [
            {
                "id": "_pages_location",
                "property": "pathname",
                "value": dash.page_registry[name]["path"],
            },
            {"id": "_pages_location", "property": "search", "value": ""},
        ],
        "changedPropIds": ["_pages_location.pathname"],
        "state": [],
    }
    resp = client.post("/_dash-update-component", json=body, headers=headers)
    assert resp.status_code == 200, resp.data[:500]
    page = resp.get_json()["response"]["_pages_content"]["children"]
    found = _json_ids(page)
    assert ids.SIGN_OUT in found and ids.REFRESH in found  # the full frame, signed in
    dupes = sorted({str(i) for i in found if found.count(i) > 1})
    assert not dupes, f"{name}: duplicate ids {dupes}"


def _csrf(client) -> dict:
    """Headers a page's own requests carry (the CSRF token of the page's sign-out form)."""
    page = client.get("/").get_data(as_text=True)
    found = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    return {"X-CSRFToken": found.group(1)} if found else {}


def _json_ids(node) -> list:
    """Component ids in a layout as Dash serialises it (JSON)."""
    out = []
    if isinstance(node, list):
        for n in node:
            out += _json_ids(n)
    elif isinstance(node, dict):
        props = node.get("props")
        if isinstance(props, dict):
            if props.get("id") is not None:
                out.append(props["id"] if isinstance(props["id"], str) else json.dumps(props["id"]))
            for value in props.values():
                out += _json_ids(value)
    return out


def test_callbacks_are_checked_against_a_validation_layout(runtime):
    """No ``suppress_callback_exceptions``: the index page hands the browser a validation layout
    that holds every id a callback reads or writes."""
    app = create_app(runtime=runtime)
    assert not app.config.suppress_callback_exceptions
    client = app.server.test_client()
    html = client.get("/").get_data(as_text=True)
    config = json.loads(re.search(r'<script id="_dash-config"[^>]*>(.*?)</script>', html, re.S)[1])
    assert config["suppress_callback_exceptions"] is False
    served = set(_json_ids(config["validation_layout"]))
    chrome = app.server.extensions["onegrid_chrome"]
    assert served == {
        i if isinstance(i, str) else json.dumps(i) for i in _ids(validation_layout(chrome))
    }
    used = set()
    for key, cb in app.callback_map.items():
        parts = [d["id"] for d in cb["inputs"] + cb.get("state", [])]
        parts += [o.rsplit(".", 1)[0] for o in key.strip(".").split("...")]
        used |= {p for p in parts if isinstance(p, str) and not p.startswith("{")}
    missing = sorted(used - served)
    assert not missing, f"callback ids in no layout: {missing}"


def test_create_app_starts_no_thread_serve_does(settings):
    """Building the app starts no background work; ``runtime.start()`` (what serve() calls)
    starts the feeds."""
    settings.simulator = True
    rt = Runtime(settings)
    try:
        before = {t.ident for t in threading.enumerate()}
        create_app(runtime=rt)
        assert {t.ident for t in threading.enumerate()} - before == set()
        rt.start()
        assert {t.ident for t in threading.enumerate()} - before
    finally:
        rt.stop()
