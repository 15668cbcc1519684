"""Signing a Flask test client in, as a browser does (CSRF token from the form)."""

from __future__ import annotations

TEST_PASSWORD = "correct-horse-battery"


def form_token(client, path: str = "/login") -> str:
    """The CSRF token of the sign-in form (or of a page's sign-out form) at ``path``."""
    import re

    page = client.get(path).get_data(as_text=True)
    found = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    assert found, f"no CSRF token on {path}"
    return found.group(1)


def post_login(client, username: str, password: str, **extra):
    """Post the sign-in form as a browser does (with its CSRF token); returns the response."""
    data = {"username": username, "password": password, "csrf_token": form_token(client)}
    return client.post("/login", data=data | extra)


def sign_in(client, runtime, username: str = "op", role: str = "operator", **kw) -> None:
    """Create a user in the runtime's user file and sign the Flask test client in as them."""
    runtime.settings.auth = True
    runtime.users.add(username, TEST_PASSWORD, role, **kw)
    resp = post_login(client, username, TEST_PASSWORD)
    assert resp.status_code == 302, resp.data


def open_page(app, client, path: str) -> str:
    """The page content Dash's router answers for ``path`` (as the browser asks for it)."""
    import json

    client.get(path)  # the router's callback is registered at the first request
    key = next(
        k
        for k, v in app.callback_map.items()
        if any(i["property"] == "pathname" for i in v["inputs"])
    )
    cb = app.callback_map[key]
    values = {"pathname": path, "search": "", "hash": "", "href": f"http://x{path}"}
    body = {
        "output": key,
        "outputs": [
            dict(zip(("id", "property"), p.rsplit(".", 1), strict=True))
            for p in key[2:-2].split("...")
        ],
        "inputs": [dict(i, value=values.get(i["property"])) for i in cb["inputs"]],
        "state": [dict(s, value=values.get(s["property"])) for s in cb.get("state", [])],
        "changedPropIds": [f"{cb['inputs'][0]['id']}.{cb['inputs'][0]['property']}"],
    }
    resp = client.post("/_dash-update-component", json=body)
    assert resp.status_code == 200
    return json.dumps(resp.get_json(), ensure_ascii=False)  # plain "/" (Dash escapes it)


def http_session(url: str, username: str, password: str = TEST_PASSWORD):
    """A ``requests`` session signed in through the real login form of the server at ``url``
    (with its CSRF token when the form has one)."""
    import re

    import requests

    s = requests.Session()
    page = s.get(f"{url}/login", timeout=10).text
    form = {"username": username, "password": password}
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page) or re.search(
        r'value="([^"]+)"[^>]*name="csrf_token"', page
    )
    if token:
        form["csrf_token"] = token.group(1)
    resp = s.post(f"{url}/login", data=form, allow_redirects=False, timeout=10)
    assert resp.status_code in (302, 303), resp.text[:300]
    return s
