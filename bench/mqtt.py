"""MQTT feed benchmark: readings published to Debian's mosquitto, committed and acknowledged by
the MQTT feed (data/feeds/mqtt.py) into a fresh database on the default region; prints figures.

    python bench/mqtt.py                     # 20,000 readings, one a message
    python bench/mqtt.py --readings 50000 --per-message 10

The publisher (paho, QoS 1) runs in this process too, so on a 2-core machine it competes with
the feed for the CPU; ``--external`` publishes with Debian's ``mosquitto_pub`` instead
(``apt-get install mosquitto-clients``). The last line is the summary:
``mqtt readings=... seconds=... readings_per_s=... transactions=...``
"""

from __future__ import annotations

import os
import sys

# bench/warnings.py is named like the standard library's module: keep this folder off the path
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _HERE]

import argparse  # noqa: E402
import json  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from data.feeds.mqtt import MqttSubscriber  # noqa: E402
from data.runtime import Runtime  # noqa: E402
from data.settings import MqttFeed, load_settings  # noqa: E402
from harness.mosquitto import publisher, start_broker, stop_broker  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its figures."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--readings", type=int, default=20_000)
    ap.add_argument("--per-message", type=int, default=1, help="readings in one payload (a list)")
    ap.add_argument(
        "--external",
        action="store_true",
        help="publish with Debian's mosquitto_pub (another process) instead of paho in this one",
    )
    args = ap.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="onegrid-bench-mqtt-"))
    settings = load_settings(
        db=tmp / "bench.duckdb",
        simulator=False,
        warnings=False,
        briefings=False,
        users_file=tmp / "users.toml",
        secret_key="bench",
    )
    rt = Runtime(settings)
    broker, port = start_broker(tmp / "broker")
    sub = MqttSubscriber(MqttFeed(name="bench", url=f"mqtt://127.0.0.1:{port}"), rt.pipeline, rt.db)
    pub = None
    try:
        sub.start()
        while not sub.connected:
            time.sleep(0.05)
        time.sleep(0.3)  # the subscription follows the connection
        points = rt.region.cells().geometry.representative_point()
        readings = [
            {
                "id": f"r{i}",
                "time": "2026-11-26T08:00:00+08:00",
                "lon": round(points.iloc[i % len(points)].x, 6),
                "lat": round(points.iloc[i % len(points)].y, 6),
                "category": "pm25",
                "value": float(i % 300),
            }
            for i in range(args.readings)
        ]
        k = args.per_message
        payloads = [json.dumps(readings[i : i + k]) for i in range(0, len(readings), k)]
        t0 = time.monotonic()
        if args.external:
            # one message per line of stdin, QoS 1, from a separate process
            lines = ("\n".join(payloads) + "\n").encode()
            cmd = ["mosquitto_pub", "-h", "127.0.0.1", "-p", str(port), "-q", "1", "-l"]
            subprocess.run([*cmd, "-t", "onegrid/environment"], input=lines, check=True)
        else:
            pub = publisher(port, "bench-publisher")
            for p in payloads:
                pub.publish("onegrid/environment", p, qos=1)
        while sub.acknowledged < len(payloads):
            time.sleep(0.01)
        seconds = time.monotonic() - t0
        stored = rt.db.query_one("SELECT count(*) FROM events")[0]
        assert stored == args.readings, stored
        rate = args.readings / seconds
        print(
            f"{args.readings:,} readings in {len(payloads):,} messages committed and acknowledged "
            f"in {seconds:.1f} s: {rate:,.0f} readings/s, {rt.pipeline.groups} transactions"
        )
        print(
            f"mqtt readings={args.readings} seconds={seconds:.2f} readings_per_s={rate:.0f} "
            f"transactions={rt.pipeline.groups}"
        )
    finally:
        if pub is not None:
            pub.disconnect()
            pub.loop_stop()
        sub.stop()
        rt.stop()
        stop_broker(broker)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
