"""Sign-in and roles: every page and API behind authentication; scopes enforced on the server."""

from __future__ import annotations

import pytest

from app import create_app
from data.auth import AuthError, UserStore, scope_for_user
from tests.support.region import tiny_cell_center
from tests.support.web import TEST_PASSWORD, form_token, post_login, sign_in

AUTH = {"Authorization": "Bearer test-token"}
Q = "since=2026-11-25T00:00:00%2B00:00&until=2026-11-27T00:00:00%2B00:00"


@pytest.fixture
def app_client(runtime):
    runtime.settings.auth = True
    app = create_app(runtime=runtime)
    return app.server.test_client()


def push_one_per_county(client) -> None:
    events = []
    for county in (1, 2):
        lon, lat = tiny_cell_center(county, 0, 0)
        events.append(
            {
                "id": f"e{county}",
                "time": "2026-11-26T08:00:00+08:00",
                "lon": lon,
                "lat": lat,
                "category": "dispute",
            }
        )
    assert (
        client.post("/api/ingest/police", json={"events": events}, headers=AUTH).get_json()[
            "accepted"
        ]
        == 2
    )


def test_pages_and_callbacks_need_sign_in(app_client):
    resp = app_client.get("/")
    assert resp.status_code == 302 and resp.headers["Location"].startswith("/login")
    assert app_client.post("/_dash-update-component", json={}).status_code == 401
    assert app_client.get("/_dash-layout").status_code == 401
    assert app_client.get("/api/events").status_code == 401
    assert app_client.get("/geo/grid.json").status_code == 302
    page = app_client.get("/login").get_data(as_text=True)
    assert "登录" in page and "http" not in page.split("<body")[1]


def test_wrong_password_is_refused_and_right_one_signs_in(app_client, runtime):
    runtime.users.add("ana", TEST_PASSWORD, "analyst")
    bad = post_login(app_client, "ana", "nope-nope")
    assert bad.status_code == 401 and "错误" in bad.get_data(as_text=True)
    good = post_login(app_client, "ana", TEST_PASSWORD, next="//evil.example/")
    assert good.status_code == 302 and good.headers["Location"] == "/"
    assert app_client.get("/api/events").status_code == 200
    # sign out is a POST with the session's CSRF token (issue 8: it was a GET)
    app_client.post("/logout", data={"csrf_token": form_token(app_client, "/login")})
    assert app_client.get("/api/events").status_code == 401


def test_county_leader_never_sees_another_county(app_client, runtime):
    push_one_per_county(app_client)
    sign_in(app_client, runtime, "leader1", "county_leader", area="T01")
    events = app_client.get("/api/events").get_json()["events"]
    assert [e["county"] for e in events] == ["T01"]
    assert app_client.get("/api/events?area=T02").get_json()["count"] == 0
    assert app_client.get(f"/api/areas/T02/summary?{Q}").status_code == 403
    assert app_client.get(f"/api/areas/T01/summary?{Q}").get_json()["total"] == 1
    assert app_client.get(f"/api/areas/T/summary?{Q}").status_code == 403


def test_read_token_shares_city_data(runtime):
    runtime.settings.read_token = "share"
    runtime.settings.auth = True
    client = create_app(runtime=runtime).server.test_client()
    push_one_per_county(client)
    got = client.get("/api/events", headers={"Authorization": "Bearer share"})
    assert got.get_json()["count"] == 2
    assert client.get("/api/events", headers={"Authorization": "Bearer nope"}).status_code == 401


def test_user_store_rules(tmp_path, runtime):
    store = UserStore(tmp_path / "u.toml")
    with pytest.raises(AuthError, match="8 characters"):
        store.add("a", "short", "analyst")
    with pytest.raises(AuthError, match="role"):
        store.add("a", TEST_PASSWORD, "king")
    with pytest.raises(AuthError, match="area"):
        store.add("a", TEST_PASSWORD, "county_leader")
    leader = store.add("lead", TEST_PASSWORD, "county_leader", area="T02")
    assert TEST_PASSWORD not in (tmp_path / "u.toml").read_text()
    assert store.authenticate("lead", TEST_PASSWORD) == leader
    assert store.authenticate("lead", "wrong-password") is None
    assert scope_for_user(runtime.db, leader).level == "county"


def test_case_board_roles_are_enforced_on_the_server(runtime):
    """A department user works only their own board; read-only roles cannot act."""
    from flask import session

    from callbacks import cases_page
    from web.signin import SID_KEY

    runtime.settings.auth = True
    app = create_app(runtime=runtime)
    heat = runtime.users.add("heat", TEST_PASSWORD, "department", department="city.heating")
    lead = runtime.users.add("lead", TEST_PASSWORD, "county_leader", area="T01")
    with app.server.test_request_context("/_dash-update-component"):
        session[SID_KEY] = runtime.sessions.create(heat)
        assert cases_page._board_department("city.police") == "city.heating"
        cases_page._check_may("accept")
        with pytest.raises(PermissionError):
            cases_page._check_may("dispatch")
    with app.server.test_request_context("/_dash-update-component"):
        session[SID_KEY] = runtime.sessions.create(lead)
        assert cases_page._board_department("city.police") == "city.police"
        with pytest.raises(PermissionError):
            cases_page._check_may("accept")
