"""Crash safety: kill -9 the real server during a push stream; nothing acknowledged is lost."""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest
import requests

from tests.support.region import tiny_cell_center
from tests.support.server import READ, TOKEN, free_port, start_server


def batch(start: int, size: int) -> dict:
    events = []
    for i in range(start, start + size):
        lon, lat = tiny_cell_center(1 + i % 2, i % 4, (i // 4) % 4)
        events.append(
            {
                "id": f"c-{i}",
                "time": "2026-11-26T08:00:00+08:00",
                "lon": lon,
                "lat": lat,
                "category": "dispute",
                "severity": 2,
            }
        )
    return {"events": events}


@pytest.mark.slow
def test_kill_9_during_push_stream_loses_nothing_acknowledged(tmp_path, tiny_region_dir):
    db, port = tmp_path / "crash.duckdb", free_port()
    url = f"http://127.0.0.1:{port}/api/ingest/police"
    auth = {"Authorization": f"Bearer {TOKEN}"}
    proc = start_server(db, tiny_region_dir, port)
    acked: list[str] = []
    stop = threading.Event()

    def push() -> None:
        i = 0
        while not stop.is_set():
            body = batch(i, 50)
            try:
                resp = requests.post(url, json=body, headers=auth, timeout=5)
            except requests.RequestException:
                return  # the server died mid-request: that batch was never acknowledged
            if resp.status_code == 200 and resp.json()["accepted"] == 50:
                acked.extend(e["id"] for e in body["events"])
            i += 50

    pusher = threading.Thread(target=push)
    pusher.start()
    deadline = time.monotonic() + 30
    while len(acked) < 2000 and time.monotonic() < deadline:
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)  # mid-stream: requests are in flight
    proc.wait()
    stop.set()
    pusher.join()
    assert len(acked) >= 2000

    proc = start_server(db, tiny_region_dir, port)
    try:
        got = requests.get(
            f"http://127.0.0.1:{port}/api/events?limit=10000", headers=READ, timeout=10
        ).json()
        ids = [e["id"] for e in got["events"]]
        assert len(ids) == len(set(ids))  # exactly once
        assert set(acked) <= set(ids)  # every acknowledged event survived
        # a feed re-sending after the crash adds nothing twice
        again = requests.post(url, json=batch(0, 50), headers=auth, timeout=5).json()
        assert again["accepted"] == 0 and again["duplicates"] == 50
    finally:
        proc.terminate()
        proc.wait(timeout=30)
