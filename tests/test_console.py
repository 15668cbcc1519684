"""The hall's console (data/console.py, /console): channels with a checked view, kept in the
store, audited; a wall that follows a channel takes its view through the real Dash endpoint."""

from __future__ import annotations

import json

import pandas as pd
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


def _send_body(name: str, view: dict, *, live: bool = False) -> dict:
    """The request the console's send button (or, with ``live``, its "back to live" button)
    sends for channel ``name`` and the choices in ``view`` (a browser's exact body)."""
    outputs = [(ids.CONSOLE_MSG, "children"), (ids.CONSOLE_SINCE, "value")]
    outputs.append((ids.CONSOLE_UNTIL, "value"))
    button = ids.CONSOLE_LIVE if live else ids.CONSOLE_SEND
    states = (
        (ids.CONSOLE_CHANNEL, name),
        (ids.CONSOLE_COUNTY, view.get("county", "")),
        (ids.CONSOLE_LEVEL, view.get("level", "")),
        (ids.CONSOLE_METRIC, view.get("metric", "all")),
        (ids.CONSOLE_WINDOW, view.get("window", "24h")),
        (ids.CONSOLE_SINCE, view.get("since")),
        (ids.CONSOLE_UNTIL, view.get("until")),
    )
    return {
        "output": ".." + "...".join(f"{i}.{p}" for i, p in outputs) + "..",
        "outputs": [{"id": i, "property": p} for i, p in outputs],
        "inputs": [
            {"id": ids.CONSOLE_SEND, "property": "n_clicks", "value": 0 if live else 1},
            {"id": ids.CONSOLE_LIVE, "property": "n_clicks", "value": 1 if live else 0},
        ],
        "changedPropIds": [f"{button}.n_clicks"],
        "state": [{"id": i, "property": "value", "value": v} for i, v in states]
        + [{"id": ids.LANG, "property": "data", "value": "en"}],
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
            json=_send_body("hall", {"county": "T01", "window": "1h"}),
        )
        assert resp.status_code == status, (role, resp.data)
    channel = runtime.channels.get("hall")
    assert channel.version == 1 and channel.updated_by == "u-operator"


def test_a_channel_carries_a_review_period_checked_as_the_wall_reads_it(runtime):
    """since/until: bare dates (the region's midnights) or times with an offset, ``until``
    exclusive; one bound only, a reversed, too long, future or unreadable period is refused
    with the reason (the same reading as the wall's ``?since=..&until=..``)."""
    db, city, tz = runtime.db, runtime.scope, runtime.timezone
    now = pd.Timestamp("2026-11-20T12:00:00Z")
    view = check_view(
        db, {"since": " 2026-11-01", "until": "2026-11-08"}, city, timezone=tz, now=now
    )
    assert (view["since"], view["until"], view["window"]) == ("2026-11-01", "2026-11-08", "24h")
    timed = {"since": "2026-11-01T08:00:00+08:00", "until": "2026-11-02T00:00:00+00:00"}
    assert check_view(db, timed, city, timezone=tz, now=now)["since"] == timed["since"]
    # empty bounds: the live wall, no period keys
    assert "since" not in check_view(db, {"since": "", "until": " "}, city, timezone=tz, now=now)
    for bad, words in (
        ({"since": "2026-11-01"}, "both"),
        ({"since": "2026-11-08", "until": "2026-11-01"}, "after"),
        ({"since": "2026-11-01", "until": "2026-11-01"}, "after"),
        ({"since": "2026-09-01", "until": "2026-11-01"}, "31 days"),
        ({"since": "2026-11-21", "until": "2026-11-22"}, "future"),
        ({"since": "2026-13-01", "until": "2026-11-02"}, "not a date"),
        ({"since": "2026-11-01T08:00", "until": "2026-11-02"}, "offset"),
        ({"since": "yesterday", "until": "2026-11-02"}, "neither"),
    ):
        with pytest.raises(ConsoleError) as err:
            check_view(db, bad, city, timezone=tz, now=now)
        assert err.value.code == "period" and words in err.value.params["reason"], bad


def test_a_following_wall_shows_the_channels_period_as_its_own_address_would(runtime):
    """A channel with a period gives a following wall that period (replayed at its end, as a
    wall opened with ``?since=..&until=..``); the channel set live again returns it to live."""
    runtime.channels.set(
        "hall", {"county": "T02", "since": "2026-11-01", "until": "2026-11-03"}, runtime.scope, "op"
    )
    wall_view = {"channel": "hall", "tour": 3, "at": "7"}
    taken, version = runtime.channels.update_for(wall_view, 0)
    assert (taken["since"], taken["until"], taken["at"]) == ("2026-11-01", "2026-11-03", None)
    by_address = {"county": "T02", "since": "2026-11-01", "until": "2026-11-03"}
    followed = runtime.wall.resolve(taken, runtime.scope)
    opened = runtime.wall.resolve(by_address, runtime.scope)
    assert followed["period"] == opened["period"] and followed["map_sig"] == opened["map_sig"]
    assert followed["period"]["since"] == pd.Timestamp("2026-10-31T16:00:00Z")  # Shanghai
    runtime.channels.set("hall", {"county": "T02"}, runtime.scope, "op")
    live, _ = runtime.channels.update_for(taken, version)
    assert (live["since"], live["until"]) == (None, None)
    assert runtime.wall.resolve(live, runtime.scope)["period"] is None


def test_the_console_sets_and_clears_a_period_over_the_dash_endpoint(runtime, app_and_key):
    """The send button's real request: a good period is kept, a bad one is refused with its
    reason and changes nothing, "back to live" clears it and empties the fields; a county
    leader may not drive the walls at all."""
    app, _ = app_and_key
    client = app.server.test_client()
    sign_in(client, runtime, "op", "operator")
    week = {"county": "T01", "since": "2026-11-01", "until": "2026-11-08"}

    def send(view, **kw):
        resp = client.post("/_dash-update-component", json=_send_body("hall", view, **kw))
        assert resp.status_code == 200, resp.data
        return resp.get_json()["response"]

    answer = send(week)
    assert "version 1" in answer[ids.CONSOLE_MSG]["children"]
    assert runtime.channels.get("hall").view["since"] == "2026-11-01"
    answer = send({**week, "until": "2026-10-01"})
    assert answer[ids.CONSOLE_MSG]["children"] == (
        "Period refused: until (2026-10-01) must be after since (2026-11-01)"
    )
    assert ids.CONSOLE_SINCE not in answer  # what was typed stays in the fields
    assert runtime.channels.get("hall").version == 1
    answer = send(week, live=True)
    assert answer[ids.CONSOLE_SINCE]["value"] == "" and answer[ids.CONSOLE_UNTIL]["value"] == ""
    channel = runtime.channels.get("hall")
    assert channel.version == 2 and "since" not in channel.view
    assert channel.view["county"] == "T01"
    leader = app.server.test_client()
    sign_in(leader, runtime, "leader2", "county_leader", area="T02")
    resp = leader.post("/_dash-update-component", json=_send_body("hall", week))
    assert resp.status_code == 403
    assert runtime.channels.get("hall").version == 2
