"""MQTT feeds: a real mosquitto broker, the real pipeline and store (data/feeds/mqtt.py)."""

from __future__ import annotations

import json
import threading
import time

import pytest

from data.feeds.mqtt import (
    NOT_JSON,
    NOT_RECORD,
    TOO_LARGE,
    MqttSubscriber,
    broker_address,
    unknown_source_reason,
)
from data.settings import MqttFeed
from harness.mosquitto import broker_log, publisher, start_broker, stop_broker, tls_files
from tests.support.region import tiny_cell_center


def reading(i: int) -> dict:
    lon, lat = tiny_cell_center(1 + i % 2, i % 4, (i // 4) % 4)
    return {
        "id": f"aq-{i}",
        "time": "2026-11-26T08:00:00+08:00",
        "lon": lon,
        "lat": lat,
        "category": "pm25",
        "value": 40.0 + i % 50,
    }


@pytest.fixture
def broker(tmp_path):
    proc, port = start_broker(tmp_path / "broker")
    yield port
    stop_broker(proc)


def wait_for(pred, timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.05)
    return pred()


def count(runtime, sql: str, params=()) -> int:
    return runtime.db.query_one(sql, list(params))[0]


def test_broker_address():
    assert broker_address("mqtt://127.0.0.1:1884") == ("127.0.0.1", 1884, False)
    assert broker_address("mqtts://broker.city.local") == ("broker.city.local", 8883, True)
    with pytest.raises(ValueError, match="mqtt://"):
        broker_address("http://x:1")


def test_payloads_are_ingested_and_bad_ones_quarantined_then_acked(runtime, broker):
    spec = MqttFeed(name="sensors", url=f"mqtt://127.0.0.1:{broker}", max_payload_bytes=2048)
    sub = MqttSubscriber(spec, runtime.pipeline, runtime.db)
    sub.start()
    pub = publisher(broker)
    try:
        assert wait_for(lambda: sub.connected)
        time.sleep(0.3)  # the subscription is sent right after the connection
        pub.publish("onegrid/environment", json.dumps(reading(0)), qos=1).wait_for_publish()
        batch = [reading(i) for i in range(1, 4)]
        pub.publish("onegrid/environment", json.dumps(batch), qos=1).wait_for_publish()
        body = {"events": [reading(4), reading(5)]}  # the push API's body works too
        pub.publish("onegrid/environment", json.dumps(body), qos=1).wait_for_publish()
        pub.publish("onegrid/environment", b"{not json", qos=1).wait_for_publish()
        pub.publish("onegrid/environment", b"42", qos=1).wait_for_publish()
        bad = dict(reading(9), category="no_such_category")
        pub.publish("onegrid/environment", json.dumps(bad), qos=1).wait_for_publish()
        pub.publish("onegrid/nosuchsource", json.dumps(reading(10)), qos=1).wait_for_publish()
        big = json.dumps([reading(i) for i in range(20, 60)])  # over the 2 KB limit below
        pub.publish("onegrid/environment", big, qos=1).wait_for_publish()
        # the same reading again (a device retrying): a duplicate, stored once
        pub.publish("onegrid/environment", json.dumps(reading(0)), qos=1).wait_for_publish()
        assert wait_for(lambda: sub.acknowledged == 9)
        assert count(runtime, "SELECT count(*) FROM events WHERE source = 'environment'") == 6
        reasons = {
            r[0].split(":")[0].split(" (")[0]
            for r in runtime.db.query("SELECT reason FROM quarantine WHERE feed = 'sensors'")
        }
        assert reasons == {
            NOT_JSON,
            NOT_RECORD,
            "unknown category 'no_such_category' for source environment",
            unknown_source_reason("nosuchsource").split(":")[0],
            TOO_LARGE,
        }
        big_raw = runtime.db.query_one(
            "SELECT raw FROM quarantine WHERE reason LIKE ?", [TOO_LARGE + "%"]
        )[0]
        assert big_raw == big[:2048]  # the first 2 KB kept
        raw = runtime.db.query_one(
            "SELECT raw FROM quarantine WHERE reason LIKE ?", [NOT_JSON + "%"]
        )
        assert raw[0] == "{not json"  # the payload is kept as it came
        status = runtime.db.query_one(
            "SELECT accepted, duplicates, quarantined, last_received_at IS NOT NULL "
            "FROM feed_status WHERE source = 'environment'"
        )
        assert status == (6, 1, 4, True)  # feed health like any feed
    finally:
        pub.disconnect()
        pub.loop_stop()
        sub.stop()


def test_unacknowledged_messages_come_back_after_reconnect(runtime, broker):
    """Messages received while OneGrid is away (its session kept by the broker) and messages
    sent but not yet acknowledged arrive when it connects again."""
    spec = MqttFeed(name="sensors", url=f"mqtt://127.0.0.1:{broker}", client_id="og-away")
    sub = MqttSubscriber(spec, runtime.pipeline, runtime.db)
    sub.start()
    assert wait_for(lambda: sub.connected)
    time.sleep(0.3)
    sub.stop()
    pub = publisher(broker)
    try:
        for i in range(50):
            pub.publish("onegrid/environment", json.dumps(reading(i)), qos=1).wait_for_publish()
        again = MqttSubscriber(spec, runtime.pipeline, runtime.db)
        again.start()
        try:
            assert wait_for(lambda: again.acknowledged == 50)
            assert count(runtime, "SELECT count(*) FROM events") == 50
        finally:
            again.stop()
    finally:
        pub.disconnect()
        pub.loop_stop()


def test_broker_down_is_a_feed_error_and_the_feed_reconnects(runtime, tmp_path):
    """A broker that is not there yet: the error shows in the feed's health, and the feed
    connects by itself (with backoff) once the broker is up."""
    from harness.ports import free_port

    port = free_port()
    spec = MqttFeed(name="late", url=f"mqtt://127.0.0.1:{port}", topic="onegrid/environment")
    sub = MqttSubscriber(spec, runtime.pipeline, runtime.db)
    sub.start()
    try:
        assert wait_for(
            lambda: (
                count(
                    runtime,
                    "SELECT count(*) FROM feed_status WHERE source = 'environment' AND errors > 0",
                )
                == 1
            ),
            timeout=10,
        )
        proc, _ = start_broker(tmp_path / "late", port)
        try:
            assert wait_for(lambda: sub.connected, timeout=15)
        finally:
            sub.stop()
            stop_broker(proc)
    finally:
        sub.stop()


DEVICE_MAPPING = """
name = "aq_device"
source = "environment"
format = "json"
timezone = "Asia/Shanghai"

[id]
template = "{dev}-{ts}"

[time]
column = "ts"
format = "%Y-%m-%d %H:%M:%S"

[location]
lon = "x"
lat = "y"

[category]
column = "kind"
map = { "PM2.5" = "pm25" }

[value]
column = "v"
required = true
"""


def test_a_mapping_reads_a_device_s_own_format(runtime, broker, tmp_path):
    mapping = tmp_path / "aq_device.toml"
    mapping.write_text(DEVICE_MAPPING, encoding="utf-8")
    spec = MqttFeed(
        name="devices",
        url=f"mqtt://127.0.0.1:{broker}",
        topic="devices/#",
        mapping=str(mapping),
    )
    sub = MqttSubscriber(spec, runtime.pipeline, runtime.db)
    sub.start()
    pub = publisher(broker)
    try:
        assert wait_for(lambda: sub.connected)
        time.sleep(0.3)
        lon, lat = tiny_cell_center(1, 1, 1)
        base = {"dev": "d7", "x": lon, "y": lat, "kind": "PM2.5"}
        no_value = dict(base, ts="2026-11-26 08:00:00")  # "v" is required: quarantined
        two = [
            dict(base, ts="2026-11-26 08:05:00", v=41),
            dict(base, ts="2026-11-26 08:10:00", v=3),
        ]
        fixed = dict(no_value, v=40)
        for payload in (no_value, two, fixed):
            pub.publish("devices/d7/air", json.dumps(payload), qos=1).wait_for_publish()
        assert wait_for(lambda: sub.acknowledged == 3)
        rows = runtime.db.query(
            "SELECT source_event_id, category, value FROM events ORDER BY source_event_id"
        )
        assert rows == [
            ("d7-2026-11-26 08:00:00", "pm25", 40.0),
            ("d7-2026-11-26 08:05:00", "pm25", 41.0),
            ("d7-2026-11-26 08:10:00", "pm25", 3.0),
        ]
        assert count(runtime, "SELECT count(*) FROM quarantine WHERE feed = 'devices'") == 1
    finally:
        pub.disconnect()
        pub.loop_stop()
        sub.stop()


def test_mqtts_with_a_ca_file_user_and_password(runtime, tmp_path):
    """mqtts:// verified against the configured CA, signed in with user and password; a wrong
    password is a refused connection in the feed's health, and nothing is stored through it."""
    files = tls_files(tmp_path / "tls", "sensor-hub", "s3cret")
    proc, port = start_broker(tmp_path / "secure", secure=files)
    url = f"mqtts://127.0.0.1:{port}"
    good = MqttFeed(
        name="secure", url=url, ca_file=files["ca"], username="sensor-hub", password="s3cret"
    )
    bad = MqttFeed(
        name="intruder",
        url=url,
        ca_file=files["ca"],
        username="sensor-hub",
        password="wrong",
        topic="onegrid/police",
    )
    sub, refused = (MqttSubscriber(s, runtime.pipeline, runtime.db) for s in (good, bad))
    sub.start()
    refused.start()
    pub = publisher(port, tls={"ca": files["ca"], "user": "sensor-hub", "password": "s3cret"})
    try:
        assert wait_for(lambda: sub.connected)
        time.sleep(0.3)
        pub.publish("onegrid/environment", json.dumps(reading(1)), qos=1).wait_for_publish()
        assert wait_for(lambda: sub.acknowledged == 1)
        assert count(runtime, "SELECT count(*) FROM events") == 1
        assert wait_for(
            lambda: (
                count(
                    runtime,
                    "SELECT count(*) FROM feed_status WHERE source = 'police' AND last_error LIKE ?",
                    ["mqtt intruder: connect refused%"],
                )
                == 1
            )
        )
        assert not refused.connected
    finally:
        pub.disconnect()
        pub.loop_stop()
        sub.stop()
        refused.stop()
        stop_broker(proc)


@pytest.mark.slow
def test_broker_restart_half_way_the_feed_reconnects_and_stores_each_reading_once(
    runtime, tmp_path
):
    """The broker stops half-way through 3,000 readings and comes back (its sessions and queues
    saved): the feed counts the lost connection, reconnects with backoff, and every reading is
    stored exactly once."""
    folder = tmp_path / "broker"
    proc, port = start_broker(folder, persist=True)
    spec = MqttFeed(name="sensors", url=f"mqtt://127.0.0.1:{port}", client_id="og-restart")
    sub = MqttSubscriber(spec, runtime.pipeline, runtime.db)
    sub.start()
    assert wait_for(lambda: sub.connected)
    time.sleep(0.3)
    pub = publisher(port, "restart-publisher")
    n = 3000
    stored = lambda: count(runtime, "SELECT count(*) FROM events")  # noqa: E731

    def publish_all():
        for i in range(n):
            pub.publish("onegrid/environment", json.dumps(reading(i)), qos=1)
            if i % 100 == 99:
                time.sleep(0.05)

    sender = threading.Thread(target=publish_all)
    try:
        sender.start()
        assert wait_for(lambda: stored() >= n // 3)
        stop_broker(proc)  # SIGTERM: mosquitto saves its sessions and queues
        assert wait_for(lambda: not sub.connected, timeout=10)
        time.sleep(1.0)  # publishing and reconnect attempts go on against a closed port
        proc, _ = start_broker(folder, port, persist=True)
        # reconnected by itself (backoff)
        assert wait_for(lambda: sub.connected, timeout=20), broker_log(folder)
        sender.join()
        assert wait_for(lambda: stored() == n, timeout=40), stored()
        time.sleep(1.0)  # nothing more arrives
        total, distinct = runtime.db.query_one(
            "SELECT count(*), count(DISTINCT source_event_id) FROM events"
        )
        assert total == distinct == n
        errors = runtime.db.query_one(
            "SELECT errors FROM feed_status WHERE source = 'environment'"
        )[0]
        assert errors >= 1  # the lost connection is in the feed's health
        # connected at the end (a broker under load may drop a connection again: the feed then
        # reconnects by itself); if not, the broker's log says why it closed the connection
        assert wait_for(lambda: sub.connected, timeout=15), broker_log(folder)
    finally:
        pub.disconnect()
        pub.loop_stop()
        sub.stop()
        stop_broker(proc)
