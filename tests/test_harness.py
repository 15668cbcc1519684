"""The test harness's own server (harness/browser.py) stops whole: a later test in the same
process must not share the machine with a server still answering from a stopped runtime."""

from __future__ import annotations

import threading

import pytest
import requests

from tests.support.browser import live_site


def test_a_served_site_stops_with_its_open_connections(tmp_path, tiny_region_dir):
    before = set(threading.enumerate())
    client = requests.Session()  # keeps its connection alive, as a browser does
    with live_site(tmp_path, tiny_region_dir) as (url, _rt):
        assert client.get(f"{url}/login", timeout=10).ok
    left = [t for t in set(threading.enumerate()) - before if t.is_alive()]
    server_threads = [t for t in left if "harness" in t.name or "waitress" in t.name]
    assert not server_threads, server_threads
    with pytest.raises(requests.ConnectionError):
        client.get(f"{url}/login", timeout=5)  # the kept-alive connection is gone too
