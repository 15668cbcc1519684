"""The hall's console (data/console.py, /console): channels with a checked view, kept in the
store, audited; a wall that follows a channel takes its view through the real Dash endpoint."""

from __future__ import annotations

import json

import pytest

from app import create_app
from data.areas import scope_for_code
from data.console import ConsoleError, check_name, check_view
from data.runtime import Runtime
from layouts import ids
from tests.support.web import sign_in


def test_channel_names_are_checked_and_lower_cased():
    assert check_name(" Hall-1 ") == "hall-1"
    for bad in ("", "-x", "a b", "x" * 33, "厅", None):
        with pytest.raises(ConsoleError) as err:
            check_name(bad)
        assert err.value.code == "name"


def test_a_view_is_checked_against_the_setters_scope(runtime):
    db = runtime.db
    city = runtime.scope
    assert check_view(db, {"county": "T02", "metric": "police"}, city) == {
        "county": "T02",
        "level": None,
        "metric": "police",
        "window": "24h",
    }
    leader = scope_for_code(db, "T01")
    with pytest.raises(ConsoleError) as err:
        check_view(db, {"county": "T02"}, leader)
    assert (err.value.code, err.value.params) == ("county", {"value": "T02"})
    for key, value in (("metric", "weather"), ("window", "5y"), ("level", "planet")):
        with pytest.raises(ConsoleError) as err:
            check_view(db, {key: value}, city)
        assert err.value.params == {"key": key, "value": value}
    with pytest.raises(ConsoleError):
        check_view(db, ["county", "T01"], city)


def test_setting_a_channel_versions_it_audits_it_and_survives_a_restart(settings):
    rt = Runtime(settings)
    try:
        first = rt.channels.set("hall", {"county": "T01"}, rt.scope, "op")
        second = rt.channels.set("hall", {"county": "T02", "window": "1h"}, rt.scope, "op2")
        assert (first.version, second.version) == (1, 2)
        rows = rt.db.query(
            "SELECT actor, object_id, detail FROM audit_log WHERE action = 'console.set' "
            "ORDER BY id"
        )
        assert [(r[0], r[1]) for r in rows] == [("op", "hall"), ("op2", "hall")]
        assert json.loads(rows[1][2])["county"] == "T02"
        with pytest.raises(ConsoleError):
            rt.channels.set("hall", {"metric": "nope"}, rt.scope, "op")
        assert rt.channels.get("hall").version == 2  # a refused view changes nothing
    finally:
        rt.stop()
    again = Runtime(settings)
    try:
        kept = again.channels.get("HALL")
        assert (kept.version, kept.view["county"], kept.view["window"]) == (2, "T02", "1h")
        assert kept.updated_by == "op2"
    finally:
        again.stop()


def test_a_following_wall_takes_the_view_once_per_version(runtime):
    wall_view = {
        "county": "T01",
        "township": "T01-01",
        "cell": "x",
        "tour": 5,
        "since": "2026-11-01",
        "until": "2026-11-02",
        "at": "12",
        "channel": "hall",
    }
    assert runtime.channels.update_for(wall_view, 0) is None  # not set yet: the wall's own view
    runtime.channels.set("hall", {"county": "T02", "metric": "police"}, runtime.scope, "op")
    new, version = runtime.channels.update_for(wall_view, 0)
    assert version == 1
    assert new["county"] == "T02" and new["metric"] == "police" and new["channel"] == "hall"
    assert (new["township"], new["cell"], new["tour"]) == (None, None, 0)
    assert (new["since"], new["until"], new["at"]) == (None, None, None)  # live again
    assert runtime.channels.update_for(new, version) is None  # nothing new
    assert runtime.channels.update_for({"county": "T01"}, 0) is None  # follows no channel


def _follow_body(view: dict, seen: int, view_key: str) -> dict:
    """The request a following wall's poll sends (``view_key``: Dash's name of the VIEW output,
    which allow_duplicate suffixes with a hash)."""
    return {
        "output": f"..{view_key}...{ids.CHANNEL_SEEN}.data..",
        "outputs": [
            {"id": ids.VIEW, "property": view_key.split(".", 1)[1]},
            {"id": ids.CHANNEL_SEEN, "property": "data"},
        ],
        "inputs": [{"id": ids.CHANNEL_POLL, "property": "n_intervals", "value": 3}],
        "changedPropIds": [f"{ids.CHANNEL_POLL}.n_intervals"],
        "state": [
            {"id": ids.VIEW, "property": "data", "value": view},
            {"id": ids.CHANNEL_SEEN, "property": "data", "value": seen},
        ],
    }


@pytest.fixture
def app_and_key(runtime):
    """The app, and the name Dash gives the follow callback's VIEW output."""
    app = create_app(runtime=runtime)
    outputs = next(k for k in app.callback_map if f"{ids.CHANNEL_SEEN}.data" in k)
    view_key = next(p for p in outputs.strip(".").split("...") if p.startswith(f"{ids.VIEW}."))
    return app, view_key


def test_the_walls_follow_callback_answers_over_the_dash_endpoint(runtime, app_and_key):
    app, view_key = app_and_key
    client = app.server.test_client()
    sign_in(client, runtime, "leader1", "county_leader", area="T01")
    view = {"county": None, "channel": "hall", "metric": "all", "window": "24h"}
    resp = client.post("/_dash-update-component", json=_follow_body(view, 0, view_key))
    assert resp.status_code == 204  # the channel is not set: nothing to take
    runtime.channels.set("hall", {"county": "T02", "metric": "traffic"}, runtime.scope, "op")
    resp = client.post("/_dash-update-component", json=_follow_body(view, 0, view_key))
    assert resp.status_code == 200, resp.data
    answer = resp.get_json()["response"]
    assert answer[ids.CHANNEL_SEEN]["data"] == 1
    taken = answer[ids.VIEW]["data"]
    assert taken["county"] == "T02" and taken["metric"] == "traffic"
    # the leader's wall resolves the county it may not see back to its own (the view never
    # widens a screen's scope): data.wallview checks every view against the viewer's scope
    own = scope_for_code(runtime.db, "T01")
    assert runtime.wall.resolve(taken, own)["scope"] == own


def test_only_the_halls_roles_may_set_a_channel(runtime, app_and_key):
    app, _ = app_and_key
    for role, area, status in (("operator", None, 200), ("analyst", None, 403)):
        client = app.server.test_client()
        sign_in(client, runtime, f"u-{role}", role, **({"area": area} if area else {}))
        assert client.get("/console").status_code == 200  # the frame; the page says refused
        resp = client.post(
            "/_dash-update-component",
            json={
                "output": f"{ids.CONSOLE_MSG}.children",
                "outputs": {"id": ids.CONSOLE_MSG, "property": "children"},
                "inputs": [{"id": ids.CONSOLE_SEND, "property": "n_clicks", "value": 1}],
                "changedPropIds": [f"{ids.CONSOLE_SEND}.n_clicks"],
                "state": [
                    {"id": ids.CONSOLE_CHANNEL, "property": "value", "value": "hall"},
                    {"id": ids.CONSOLE_COUNTY, "property": "value", "value": "T01"},
                    {"id": ids.CONSOLE_LEVEL, "property": "value", "value": ""},
                    {"id": ids.CONSOLE_METRIC, "property": "value", "value": "all"},
                    {"id": ids.CONSOLE_WINDOW, "property": "value", "value": "1h"},
                    {"id": ids.LANG, "property": "data", "value": "en"},
                ],
            },
        )
        assert resp.status_code == status, (role, resp.data)
    channel = runtime.channels.get("hall")
    assert channel.version == 1 and channel.updated_by == "u-operator"
