"""The MQTT crash test (issue 13): 10,000 readings published at QoS 1 to Debian's mosquitto, the
real OneGrid server killed with SIGKILL half-way and started again: every reading is stored
exactly once (acknowledged only after commit, redelivered by the broker's persistent session,
de-duplicated by the store's key)."""

from __future__ import annotations

import json
import os
import signal
import threading
import time

import duckdb
import pytest
import requests

from harness.mosquitto import publisher, start_broker, stop_broker
from tests.support.region import tiny_cell_center
from tests.support.server import READ, free_port, start_server

N = 10_000


def reading(i: int, prefix: str = "r") -> str:
    lon, lat = tiny_cell_center(1 + i % 2, i % 4, (i // 4) % 4)
    return json.dumps(
        {
            "id": f"{prefix}-{i}",
            "time": "2026-11-26T08:00:00+08:00",
            "lon": lon,
            "lat": lat,
            "category": "pm25",
            "value": float(i % 300),
        }
    )


def accepted(port: int) -> int:
    """Environment events accepted so far (the feed health the wall shows)."""
    try:
        rows = requests.get(f"http://127.0.0.1:{port}/api/feeds", headers=READ, timeout=2).json()
    except (requests.RequestException, ValueError):
        return -1
    return next(r["accepted"] or 0 for r in rows["feeds"] if r["source"] == "environment")


@pytest.mark.slow
def test_kill_9_mid_stream_every_reading_stored_exactly_once(tmp_path, tiny_region_dir):
    broker, mqtt_port = start_broker(tmp_path / "broker")
    config = tmp_path / "onegrid.toml"
    config.write_text(
        "[[mqtt_feeds]]\n"
        'name = "sensors"\n'
        f'url = "mqtt://127.0.0.1:{mqtt_port}"\n'
        'client_id = "onegrid-crash-test"\n',
        encoding="utf-8",
    )
    env = {"ONEGRID_CONFIG": str(config), "ONEGRID_WARNINGS": "false"}
    db, port = tmp_path / "mqtt.duckdb", free_port()
    proc = start_server(db, tiny_region_dir, port, env)
    pub = publisher(mqtt_port)
    try:
        # the feed subscribes once the server runs: probe until a probe reading is stored
        probes = 0
        deadline = time.monotonic() + 20
        while accepted(port) < 1 and time.monotonic() < deadline:
            pub.publish("onegrid/environment", reading(probes, "probe"), qos=1)
            probes += 1
            time.sleep(0.2)
        assert accepted(port) >= 1, "the MQTT feed never subscribed"

        def publish_all() -> None:
            # paced (about 1,000 a second) so publishing goes on while OneGrid is down
            for i in range(N):
                pub.publish("onegrid/environment", reading(i), qos=1)
                if i % 100 == 99:
                    time.sleep(0.1)

        t0 = time.monotonic()
        sender = threading.Thread(target=publish_all)
        sender.start()
        while accepted(port) < N // 2 and time.monotonic() - t0 < 40:
            time.sleep(0.02)
        at_kill = accepted(port)
        os.kill(proc.pid, signal.SIGKILL)  # half-way: batches are being committed and acked
        proc.wait()
        assert N // 4 <= at_kill - probes < N, at_kill
        proc = start_server(db, tiny_region_dir, port, env)
        sender.join()
        # wait until the count settles: everything published is delivered and committed
        last, still_since = -1, time.monotonic()
        while time.monotonic() - t0 < 60:
            now = accepted(port)
            if now != last:
                last, still_since = now, time.monotonic()
            elif now >= N + 1 and time.monotonic() - still_since > 2:
                break
            time.sleep(0.2)
        seconds = time.monotonic() - t0
    finally:
        pub.disconnect()
        pub.loop_stop()
        proc.terminate()
        proc.wait(timeout=30)
        stop_broker(broker)
    con = duckdb.connect(str(db), read_only=True)
    try:
        total, distinct = con.execute(
            "SELECT count(*), count(DISTINCT source_event_id) FROM events "
            "WHERE source = 'environment' AND source_event_id LIKE 'r-%'"
        ).fetchone()
        quarantined = con.execute("SELECT count(*) FROM quarantine").fetchone()[0]
    finally:
        con.close()
    print(f"mqtt crash: {N} readings, {total} stored, {distinct} distinct in {seconds:.1f} s")
    assert total == distinct == N
    assert quarantined == 0
