"""Sessions and sign-in (issue 8, item 3): each test names the defect it pins.

Flask test client on a real DuckDB file for the routes; the real server and the real `user`
command in subprocesses where the users file changes under a running server.
"""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
import textwrap
import threading
import time
import tomllib
from pathlib import Path

import pandas as pd
import pytest
import requests

from app import create_app
from data.auth import UserStore
from data.sessions import TOUCH_EVERY_S, SessionStore
from tests.support.server import free_port
from tests.support.web import TEST_PASSWORD, form_token, post_login, sign_in

ROOT = Path(__file__).resolve().parents[1]
COOKIE = "onegrid_session"


@pytest.fixture
def site(runtime):
    """(test client factory, runtime) with sign-in on."""
    runtime.settings.auth = True
    app = create_app(runtime=runtime)
    return app.server, runtime


def cli(runtime, *args: str) -> subprocess.CompletedProcess:
    """Run ``python app.py <args>`` against the runtime's users file (a separate process)."""
    env = os.environ | {"ONEGRID_USERS_FILE": str(runtime.settings.users_file)}
    return subprocess.run(
        [sys.executable, "app.py", *args], cwd=ROOT, env=env, capture_output=True, text=True
    )


def cookie_of(client) -> str:
    return client.get_cookie(COOKIE).value


def with_cookie(server, value: str):
    """A fresh client (another browser) presenting a copied session cookie."""
    other = server.test_client()
    other.set_cookie(COOKIE, value)
    return other


# --------------------------------------------------------------------------- ending sessions


def test_logout_ends_the_session_on_the_server(site):
    """Defect: the cookie held the user name and stayed valid after logout."""
    server, runtime = site
    client = server.test_client()
    sign_in(client, runtime, "ana", "analyst")
    stolen = cookie_of(client)
    assert with_cookie(server, stolen).get("/api/events").status_code == 200
    resp = client.post("/logout", data={"csrf_token": form_token(client)})
    assert resp.status_code == 302 and resp.headers["Location"] == "/login"
    assert with_cookie(server, stolen).get("/api/events").status_code == 401
    assert runtime.sessions.count("ana") == 0


def test_cookie_holds_a_random_id_not_the_user_name(site):
    server, runtime = site
    client = server.test_client()
    sign_in(client, runtime, "ana", "analyst")
    from itsdangerous import URLSafeTimedSerializer

    # the payload is signed, not encrypted: it must not say who the user is
    payload = cookie_of(client).split(".")[0]
    raw = URLSafeTimedSerializer("x").load_payload(payload.encode())
    assert "ana" not in str(raw) and len(raw["sid"]) >= 40
    (row,) = runtime.db.query("SELECT id_hash FROM sessions WHERE username = 'ana'")
    assert raw["sid"] not in row  # only a hash of the id is stored


def test_get_logout_does_not_sign_out(site):
    """Defect: logout worked by GET (a link or an image on any page could sign people out)."""
    server, runtime = site
    client = server.test_client()
    sign_in(client, runtime, "ana", "analyst")
    client.get("/logout")  # answered by the pages' catch-all route, not by the logout route
    assert client.get("/api/events").status_code == 200
    assert runtime.sessions.count("ana") == 1


def test_logout_needs_the_csrf_token(site):
    server, runtime = site
    client = server.test_client()
    sign_in(client, runtime, "ana", "analyst")
    assert client.post("/logout").status_code == 400
    assert client.post("/logout", data={"csrf_token": "forged"}).status_code == 400
    assert client.get("/api/events").status_code == 200


def find(tree, kind: str):
    """Every component of type ``kind`` in a Dash JSON tree."""
    if isinstance(tree, dict):
        if tree.get("type") == kind:
            yield tree
        for value in tree.values():
            yield from find(value, kind)
    elif isinstance(tree, list):
        for value in tree:
            yield from find(value, kind)


@pytest.mark.parametrize("path", ["/", "/metrics", "/audit"])
def test_pages_carry_a_sign_out_form_that_posts(site, path):
    server, runtime = site
    client = server.test_client()
    sign_in(client, runtime, "ana", "analyst")
    layout = client.post(
        "/_dash-update-component",
        json={
            "output": ".._pages_content.children..._pages_store.data..",
            "outputs": [
                {"id": "_pages_content", "property": "children"},
                {"id": "_pages_store", "property": "data"},
            ],
            "inputs": [
                {"id": "_pages_location", "property": "pathname", "value": path},
                {"id": "_pages_location", "property": "search", "value": ""},
            ],
            "changedPropIds": ["_pages_location.pathname"],
            "state": [],
        },
    )
    assert layout.status_code == 200, layout.get_data(as_text=True)[:300]
    forms = list(find(layout.get_json(), "Form"))
    assert [f["props"]["action"] for f in forms] == ["/logout"]
    assert forms[0]["props"]["method"] == "POST"
    (hidden,) = [i["props"] for i in find(forms[0], "Input")]
    assert hidden["name"] == "csrf_token" and hidden["type"] == "hidden"
    assert client.post("/logout", data={"csrf_token": hidden["value"]}).status_code == 302
    assert client.get("/api/events").status_code == 401


def test_sign_in_form_needs_its_csrf_token(site):
    """Defect: the login form had no CSRF token (a page elsewhere could sign a browser in)."""
    server, runtime = site
    runtime.users.add("ana", TEST_PASSWORD, "analyst")
    client = server.test_client()
    resp = client.post("/login", data={"username": "ana", "password": TEST_PASSWORD})
    assert resp.status_code == 400
    assert client.get("/api/events").status_code == 401
    assert post_login(client, "ana", TEST_PASSWORD).status_code == 302


def test_password_change_and_removal_by_the_cli_end_sessions(site):
    """Defect: a session outlived a password change and the user's removal. The `user`
    command runs in its own process while this one holds the database."""
    server, runtime = site
    a, b = server.test_client(), server.test_client()
    sign_in(a, runtime, "ana", "analyst")
    sign_in(b, runtime, "bob", "analyst")
    done = cli(runtime, "user", "passwd", "ana", "--password", "another-password-1")
    assert done.returncode == 0, done.stderr
    assert a.get("/api/events").status_code == 401
    assert b.get("/api/events").status_code == 200
    assert post_login(a, "ana", "another-password-1").status_code == 302
    assert a.get("/api/events").status_code == 200
    assert cli(runtime, "user", "remove", "bob").returncode == 0
    assert b.get("/api/events").status_code == 401
    reasons = runtime.db.query(
        "SELECT object_id, detail FROM audit_log WHERE action = 'session.end' ORDER BY id"
    )
    assert [(who, "password_changed" in d or "user_removed" in d) for who, d in reasons] == [
        ("ana", True),
        ("bob", True),
    ]


def test_idle_timeout_absolute_lifetime_and_rare_touches(runtime, tmp_path):
    runtime.users.add("ana", TEST_PASSWORD, "analyst")
    user = runtime.users.get("ana")
    store = SessionStore(runtime.db, idle_s=600, max_s=3600)
    t0 = pd.Timestamp("2026-11-26T08:00:00Z")

    def seen():
        # a touch is queued on the writer, not waited for by the request: the writer runs its
        # queue in order, so once this empty write is done every earlier touch is committed
        runtime.db.write(lambda con: None)
        return pd.Timestamp(
            runtime.db.query_one("SELECT last_seen FROM sessions WHERE username = ?", ["ana"])[0]
        )

    sid = store.create(user, now=t0)
    assert store.resolve(sid, runtime.users, now=t0 + pd.Timedelta(seconds=30)).user == user
    assert seen() == t0  # no write for a request within a minute of the last touch
    later = t0 + pd.Timedelta(seconds=TOUCH_EVERY_S + 1)
    assert store.resolve(sid, runtime.users, now=later).user == user
    assert seen() == later
    # idle: more than 600 s since the last request
    gone = store.resolve(sid, runtime.users, now=later + pd.Timedelta(seconds=601))
    assert gone.user is None and gone.reason == "idle"
    assert store.resolve(sid, runtime.users, now=later).reason == "unknown"  # deleted
    # absolute: kept busy, it still ends an hour after sign-in
    sid = store.create(user, now=t0)
    for minutes in range(5, 60, 5):
        at = t0 + pd.Timedelta(minutes=minutes)
        assert store.resolve(sid, runtime.users, now=at).user == user
        runtime.db.write(lambda con: None)  # the queued touch is committed (minutes pass here)
    assert store.resolve(sid, runtime.users, now=t0 + pd.Timedelta(hours=1)).reason == "expired"


def test_a_remembered_session_ends_at_once(runtime):
    """Records are kept in memory once read (a hundred walls polling made a query per request):
    one query for many requests, and ending a session, or all of a user's, takes effect on the
    next request even though the record was remembered."""
    runtime.users.add("ana", TEST_PASSWORD, "analyst")
    user = runtime.users.get("ana")
    store = SessionStore(runtime.db, idle_s=600, max_s=3600)
    t0 = pd.Timestamp("2026-11-26T08:00:00Z")
    first, second = store.create(user, now=t0), store.create(user, now=t0)
    reads = []
    real_query_one = runtime.db.query_one

    def counting(sql, params=None):
        reads.append(sql)
        return real_query_one(sql, params)

    runtime.db.query_one = counting
    try:
        for k in range(5):
            assert store.resolve(first, runtime.users, now=t0 + pd.Timedelta(seconds=k)).user
        assert len([q for q in reads if "FROM sessions" in q]) == 1
        assert store.end(first)
        assert store.resolve(first, runtime.users, now=t0).reason == "unknown"
        assert store.resolve(second, runtime.users, now=t0).user == user
        assert store.end_user("ana") == 1
        assert store.resolve(second, runtime.users, now=t0).reason == "unknown"
    finally:
        runtime.db.query_one = real_query_one


def test_session_settings_come_from_settings(runtime):
    runtime.settings.session_idle_s = 123
    runtime.settings.session_max_s = 456
    server = create_app(runtime=runtime).server
    assert server.config["PERMANENT_SESSION_LIFETIME"].total_seconds() == 456
    defaults = type(runtime.settings)()
    assert (runtime.sessions.idle_s, runtime.sessions.max_s) == (
        defaults.session_idle_s,
        defaults.session_max_s,
    )


# --------------------------------------------------------------------------- throttling


def test_a_locked_out_user_cannot_sign_in_even_with_the_right_password(site):
    """Defect: 40 wrong passwords in 7 s, then the right one signed in."""
    server, runtime = site
    runtime.users.add("ana", TEST_PASSWORD, "analyst")
    client = server.test_client()
    n = runtime.settings.login_max_failures_user
    for _ in range(n):
        assert post_login(client, "ana", "wrong-password").status_code == 401
    locked = post_login(client, "ana", TEST_PASSWORD)
    assert locked.status_code == 429 and locked.headers["Retry-After"]
    assert "稍后" in locked.get_data(as_text=True)
    assert client.get("/api/events").status_code == 401
    # the same name from another address is locked too; another name is not
    other = server.test_client()
    runtime.users.add("bob", TEST_PASSWORD, "analyst")
    env = {"REMOTE_ADDR": "10.0.0.9"}
    token = form_token(other)
    resp = other.post(
        "/login",
        data={"username": "ana", "password": TEST_PASSWORD, "csrf_token": token},
        environ_base=env,
    )
    assert resp.status_code == 429
    assert post_login(other, "bob", TEST_PASSWORD).status_code == 302
    actions = [a for (a,) in runtime.db.query("SELECT action FROM audit_log ORDER BY id")]
    assert actions.count("signin.failure") == n and "signin.locked" in actions


def test_one_address_trying_many_names_is_locked_out(runtime):
    runtime.settings.auth = True
    runtime.settings.login_max_failures_address = 4
    server = create_app(runtime=runtime).server
    runtime.users.add("ana", TEST_PASSWORD, "analyst")
    client = server.test_client()
    for i in range(4):
        assert post_login(client, f"guess{i}", "wrong-password").status_code == 401
    assert post_login(client, "ana", TEST_PASSWORD).status_code == 429
    assert client.get("/api/events").status_code == 401


def test_a_lockout_ends_after_its_window(runtime):
    runtime.settings.auth = True
    runtime.settings.login_max_failures_user = 2
    runtime.settings.login_lockout_s = 2
    server = create_app(runtime=runtime).server
    runtime.users.add("ana", TEST_PASSWORD, "analyst")
    client = server.test_client()
    for _ in range(2):
        assert post_login(client, "ana", "wrong-password").status_code == 401
    assert post_login(client, "ana", TEST_PASSWORD).status_code == 429
    time.sleep(2.2)
    assert post_login(client, "ana", TEST_PASSWORD).status_code == 302


# --------------------------------------------------------------------------- next, cookie, proxy

OFFSITE = [
    "/%09/evil.example",  # decoded to "/\t/evil.example": browsers drop the tab -> //evil
    "/%0a/evil.example",
    "/%0d/evil.example",
    "/%5cevil.example",  # "/\evil.example": browsers read "\" as "/"
    "/%5c%5cevil.example",
    "//evil.example",
    "///evil.example",
    "https://evil.example/",
    "javascript:alert(1)",
    "%20//evil.example",
    "/%E3%80%80/evil.example",
    "evil.example",
]


@pytest.mark.parametrize("raw_next", OFFSITE)
def test_next_never_leads_off_site(site, raw_next):
    """Defect: /login?next=/%09/evil.example redirected off-site after sign-in."""
    server, runtime = site
    runtime.users.add("ana", TEST_PASSWORD, "analyst")
    client = server.test_client()
    data = {"username": "ana", "password": TEST_PASSWORD, "csrf_token": form_token(client)}
    resp = client.post(f"/login?next={raw_next}", data=data)
    assert resp.status_code == 302 and resp.headers["Location"] == "/"


def test_a_local_next_is_kept(site):
    server, runtime = site
    runtime.users.add("ana", TEST_PASSWORD, "analyst")
    client = server.test_client()
    resp = post_login(client, "ana", TEST_PASSWORD, next="/cases?lang=en")
    assert resp.headers["Location"] == "/cases?lang=en"


def test_secure_cookie_behind_https(runtime):
    runtime.settings.auth = True
    runtime.settings.cookie_secure = True
    server = create_app(runtime=runtime).server
    runtime.users.add("ana", TEST_PASSWORD, "analyst")
    client = server.test_client()
    resp = post_login(client, "ana", TEST_PASSWORD)
    cookie = resp.headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_client_address_from_trusted_proxy_only(runtime):
    runtime.settings.auth = True
    runtime.users.add("ana", TEST_PASSWORD, "analyst")
    forwarded = {"X-Forwarded-For": "192.0.2.7"}
    direct = create_app(runtime=runtime).server.test_client()
    token = form_token(direct)
    direct.post(
        "/login",
        data={"username": "ana", "password": TEST_PASSWORD, "csrf_token": token},
        headers=forwarded,
    )
    runtime.settings.trusted_proxies = 1
    proxied = create_app(runtime=runtime).server.test_client()
    token = form_token(proxied)
    proxied.post(
        "/login",
        data={"username": "ana", "password": TEST_PASSWORD, "csrf_token": token},
        headers=forwarded,
    )
    rows = runtime.db.query(
        "SELECT address FROM audit_log WHERE action = 'signin.success' ORDER BY id"
    )
    assert [r[0] for r in rows] == ["127.0.0.1", "192.0.2.7"]


# --------------------------------------------------------------------------- tokens


class Spy(str):
    """A token that notes every ``==`` made with it (a constant-time compare makes none)."""

    seen: list = []

    def __eq__(self, other):
        Spy.seen.append(other)
        return str.__eq__(self, other)

    __hash__ = str.__hash__


def test_tokens_are_compared_in_constant_time(runtime):
    """Defect: tokens were compared with `in` / `==`, whose time depends on the first mismatch."""
    Spy.seen = []
    runtime.settings.ingest_token = "push-secret"
    assert runtime.settings.token_ok("police", Spy("push-secret"))
    assert not runtime.settings.token_ok("police", Spy("push-secreX"))
    runtime.settings.read_token = Spy("share-secret")
    runtime.settings.auth = True
    client = create_app(runtime=runtime).server.test_client()
    ok = client.get("/api/events", headers={"Authorization": "Bearer share-secret"})
    bad = client.get("/api/events", headers={"Authorization": "Bearer share-secreX"})
    assert (ok.status_code, bad.status_code) == (200, 401)
    assert Spy.seen == []


# --------------------------------------------------------------------------- the users file


def test_area_cannot_inject_a_user_into_the_users_file(runtime):
    """Defect: `user add --area` wrote unescaped text; a crafted value added an admin."""
    crafted = 'T01"\n\n[users.mallory]\nrole = "admin"\npassword_hash = "x'
    done = cli(
        runtime,
        "user",
        "add",
        "lead",
        "--role",
        "county_leader",
        "--area",
        crafted,
        "--password",
        TEST_PASSWORD,
    )
    assert done.returncode == 2 and "area" in done.stderr
    assert "mallory" not in UserStore(runtime.settings.users_file).users()
    # and the writer itself escapes whatever a record holds
    from dataclasses import replace

    store = UserStore(runtime.settings.users_file)
    store.add("lead", TEST_PASSWORD, "county_leader", area="T01")
    forged = replace(store.get("lead"), area=crafted)
    store._write({"lead": forged})
    data = tomllib.loads(runtime.settings.users_file.read_text())
    assert list(data["users"]) == ["lead"] and data["users"]["lead"]["area"] == crafted


PROBE = textwrap.dedent(
    """
    import os, stat, sys
    from pathlib import Path
    folder = str(Path(sys.argv[1]))
    created, modes, busy = set(), [], []
    def hook(event, args):
        # at every audited step (open, chmod, rename...) note the mode of each file created so
        # far: a file written first and restricted afterwards shows its wider mode here
        if busy:
            return
        busy.append(1)
        try:
            for path in list(created):
                try:
                    modes.append((path, oct(stat.S_IMODE(os.stat(path).st_mode)), event))
                except FileNotFoundError:
                    pass
            if event == "open" and str(args[0]).startswith(folder):
                mode, flags = args[1], args[2]
                if (isinstance(flags, int) and flags & os.O_CREAT) or (
                    isinstance(mode, str) and any(c in mode for c in "wax")
                ):
                    created.add(str(args[0]))
        finally:
            busy.pop()
    sys.addaudithook(hook)
    os.umask(0)  # the most permissive umask: the code alone must make the files private
    from data.auth import UserStore, ensure_secret_key
    UserStore(Path(folder) / "users.toml").add("ana", "correct-horse-battery", "analyst")
    ensure_secret_key(Path(folder) / "secret_key")
    os.stat(folder)  # one more audited step after the last write
    open(os.devnull).close()
    for path, mode, event in modes:
        print(path, mode, event)
    """
)


def test_users_file_and_secret_key_are_created_0600(tmp_path):
    """Defect: the secret key and users file were written first, their mode set to 0600 after
    (a window in which another account could read them). Every file is created with mode 0600
    by the call that creates it: seen with Python's audit hook on `open`."""
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(tmp_path)], cwd=ROOT, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    seen = [line.split(" ") for line in done.stdout.split("\n") if line]
    assert {mode for _, mode, _ in seen} == {"0o600"}, seen
    assert {Path(p).name for p, _, _ in seen} >= {"secret_key"}
    assert any(".users.toml" in p for p, _, _ in seen)
    for name in ("users.toml", "secret_key"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600


# --------------------------------------------------------------------------- the real server


def test_first_admin_password_never_reaches_the_log(tmp_path, tiny_region_dir):
    """Defect: the first admin password was printed to stdout, i.e. the service's log. Served
    as a service would be (output to a file, not a terminal): the password goes to a 0600 file
    and the log names only that file. The password works, and `user passwd` run while the
    server holds the database ends the session at once."""
    port = free_port()
    users = tmp_path / "users.toml"
    env = os.environ | {
        "ONEGRID_DB": str(tmp_path / "s.duckdb"),
        "ONEGRID_REGION": str(tiny_region_dir),
        "ONEGRID_SIMULATOR": "off",
        "ONEGRID_USERS_FILE": str(users),
    }
    log = (tmp_path / "server.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "app.py", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(f"{base}/login", timeout=1).ok:
                    break
            except requests.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        secret = tmp_path / "first_admin_password"
        assert stat.S_IMODE(secret.stat().st_mode) == 0o600
        password = secret.read_text().strip()
        text = (tmp_path / "server.log").read_text()
        assert password not in text and str(secret) in text

        browser = requests.Session()
        page = browser.get(f"{base}/login", timeout=10).text
        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        resp = browser.post(
            f"{base}/login",
            data={"username": "admin", "password": password, "csrf_token": token},
            allow_redirects=False,
            timeout=10,
        )
        assert resp.status_code == 302
        assert browser.get(f"{base}/api/events", timeout=10).status_code == 200
        done = subprocess.run(
            [sys.executable, "app.py", "user", "passwd", "admin", "--password", "new-pass-123"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
        )
        assert done.returncode == 0, done.stderr
        assert browser.get(f"{base}/api/events", timeout=10).status_code == 401
        assert password not in (tmp_path / "server.log").read_text()
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


def test_first_admin_password_on_a_terminal_is_shown_there_once(tmp_path, caplog):
    """On a terminal (a pseudo-terminal here) the password is shown there, no file is written
    and nothing reaches the log."""
    from data.auth import hand_over_first_password

    master, slave = os.openpty()
    with os.fdopen(slave, "w") as tty:
        assert hand_over_first_password("pw-123456789", tmp_path / "users.toml", tty) is None
    shown = os.read(master, 4096).decode()
    os.close(master)
    assert "pw-123456789" in shown
    assert not (tmp_path / "first_admin_password").exists()
    assert "pw-123456789" not in caplog.text


def test_a_flood_of_refused_attempts_does_not_flood_the_audit_trail(site):
    """Wrong passwords, missing form tokens and locked-out attempts all count against the
    budget; a locked-out address adds one audit row per window, not one per request."""
    server, runtime = site
    runtime.users.add("ana", TEST_PASSWORD, "analyst")
    client = server.test_client()
    for i in range(60):
        client.post("/login", data={"username": f"u{i}", "password": "x" * 8})  # no token
    for i in range(20):
        post_login(client, f"v{i}", "wrong-password")
    assert post_login(client, "ana", TEST_PASSWORD).status_code == 429
    counts = dict(runtime.db.query("SELECT action, count(*) FROM audit_log GROUP BY action"))
    assert counts["signin.failure"] <= runtime.settings.login_max_failures_address
    assert counts["signin.locked"] == 1


def test_an_old_remembered_record_is_read_again_without_making_the_request_wait(
    runtime, monkeypatch
):
    """A record remembered longer than CACHE_S answers the request at once and is read again in
    the background (a checkpoint held such reads for seconds): a record deleted behind the
    store's back is forgotten by that read, and the next request finds no session."""
    from data import sessions

    runtime.users.add("ana", TEST_PASSWORD, "analyst")
    user = runtime.users.get("ana")
    store = SessionStore(runtime.db, idle_s=600, max_s=3600)
    t0 = pd.Timestamp("2026-11-26T08:00:00Z")
    sid = store.create(user, now=t0)
    assert store.resolve(sid, runtime.users, now=t0).user == user  # read and remembered
    runtime.db.write(lambda con: con.execute("DELETE FROM sessions").fetchall())
    monkeypatch.setattr(sessions, "CACHE_S", 0.0)
    blocked = threading.Event()
    real = runtime.db.query_one

    def slow(sql, params=None):
        blocked.wait(10)  # the store is busy (a checkpoint)
        return real(sql, params)

    monkeypatch.setattr(runtime.db, "query_one", slow)
    started = time.monotonic()
    assert store.resolve(sid, runtime.users, now=t0).user == user  # from memory, at once
    assert time.monotonic() - started < 1
    blocked.set()
    store.close()  # waits for the background read
    monkeypatch.setattr(runtime.db, "query_one", real)
    assert store.resolve(sid, runtime.users, now=t0).reason == "unknown"
