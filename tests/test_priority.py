"""Screens yield the CPU to ingest (data/priority.py): the threads that serve screens run at a
lower priority; the writer and the API's threads keep theirs."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from app import create_app
from data import priority
from data.runtime import Runtime
from data.settings import load_settings
from tests.support.browser import live_site

pytestmark = pytest.mark.skipif(
    not priority.supported(), reason="a thread's own priority is a Linux feature"
)

# above the default (10): the test tells a lowered thread apart even in a worker lowered already
SCREEN_NICE = 15


@pytest.fixture
def base():
    """The test thread's nice value, which the threads it starts inherit."""
    nice = priority.thread_nice()
    if nice >= SCREEN_NICE:
        pytest.skip("the tests run at the lowest priorities already: nothing to tell apart")
    return nice


def _runtime(tmp_path, tiny_region_dir, screen_nice: int) -> Runtime:
    return Runtime(
        load_settings(
            db=tmp_path / "onegrid.duckdb",
            region=str(tiny_region_dir),
            simulator=False,
            users_file=tmp_path / "users.toml",
            secret_key="test-secret",
            auth=False,
            screen_nice=screen_nice,
        )
    )


def _in_new_thread(fn):
    """``fn()`` run in a thread of its own (a lowered thread stays lowered); its result."""
    out: list = []
    t = threading.Thread(target=lambda: out.append(fn()))
    t.start()
    t.join()
    return out[0]


def test_only_the_calling_thread_is_lowered(base):
    def lower():
        return priority.yield_to_ingest(17), priority.thread_nice()

    assert _in_new_thread(lower) == (True, 17)
    assert priority.thread_nice() == base
    # 0 leaves a thread as it is
    assert _in_new_thread(lambda: (priority.yield_to_ingest(0), priority.thread_nice())) == (
        False,
        base,
    )

    def twice():  # a thread lowered further stays there
        priority.yield_to_ingest(18)
        return priority.yield_to_ingest(16), priority.thread_nice()

    assert _in_new_thread(twice) == (True, 18)


def _server_workers_nice() -> list[int]:
    """The nice values of the web server's worker threads (waitress names them waitress-N)."""
    return [
        priority.thread_nice(t.native_id)
        for t in threading.enumerate()
        if t.name.startswith("waitress-")
    ]


def test_screens_yield_and_ingest_does_not(tmp_path, tiny_region_dir, base):
    with live_site(tmp_path, tiny_region_dir, screen_nice=SCREEN_NICE) as (url, rt):
        # the background renewals of shared views and sessions
        assert rt.wall._renewer.submit(priority.thread_nice).result() == SCREEN_NICE
        assert rt.sessions._renewer.submit(priority.thread_nice).result() == SCREEN_NICE
        # the writer, which every feed waits for, keeps its priority
        assert rt.db.submit(lambda con: priority.thread_nice()).result() == base
        # the harness's readiness probe asked for the sign-in page: at most that worker is lowered
        lowered = _server_workers_nice().count(SCREEN_NICE)
        assert lowered <= 1
        # API requests (pushes) leave their workers as they are, however many serve them
        assert set(_get_at_once(f"{url}/api/openapi.json")) == {200}
        assert _server_workers_nice().count(SCREEN_NICE) == lowered
        assert set(_server_workers_nice()) <= {base, SCREEN_NICE}
        # screens' requests lower the workers that serve them
        assert set(_get_at_once(f"{url}/_dash-layout")) == {200}
        assert _server_workers_nice().count(SCREEN_NICE) > lowered


def _get_at_once(address: str, n: int = 24) -> list[int]:
    """``n`` GETs of ``address`` sent at once (so several server workers answer); statuses."""
    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(lambda _: requests.get(address, timeout=30).status_code, range(n)))


def test_a_test_client_never_lowers_its_caller(tmp_path, tiny_region_dir, base):
    rt = _runtime(tmp_path, tiny_region_dir, SCREEN_NICE)
    try:
        client = create_app(runtime=rt).server.test_client()

        def page():
            return client.get("/_dash-layout").status_code, priority.thread_nice()

        assert _in_new_thread(page) == (200, base)
    finally:
        rt.stop()


def test_screen_nice_0_leaves_every_thread_as_it_is(tmp_path, tiny_region_dir, base):
    with live_site(tmp_path, tiny_region_dir, screen_nice=0) as (url, rt):
        assert requests.get(f"{url}/_dash-layout", timeout=10).status_code == 200
        assert set(_server_workers_nice()) == {base}
        assert rt.wall._renewer.submit(priority.thread_nice).result() == base
