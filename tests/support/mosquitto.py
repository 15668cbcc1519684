"""Debian's mosquitto broker on a free local port, for the MQTT feed tests (test.sh installs it)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

from harness.ports import free_port

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"


def start_broker(folder: Path, port: int | None = None) -> tuple[subprocess.Popen, int]:
    """Start mosquitto listening on 127.0.0.1 (``port`` or a free one); returns it and its port.

    The broker queues any number of messages for an absent persistent session (mosquitto's
    default drops all but 1000), as a production broker for OneGrid must be configured."""
    port = port or free_port()
    folder.mkdir(parents=True, exist_ok=True)
    conf = folder / "mosquitto.conf"
    conf.write_text(
        f"listener {port} 127.0.0.1\n"
        "allow_anonymous true\n"
        "max_queued_messages 0\n"
        "persistence false\n",
        encoding="utf-8",
    )
    proc = subprocess.Popen(
        [MOSQUITTO, "-c", str(conf)],
        stdout=subprocess.DEVNULL,
        stderr=(folder / "mosquitto.log").open("ab"),
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return proc, port
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError(f"mosquitto did not start on port {port}")


def stop_broker(proc: subprocess.Popen) -> None:
    """Stop a broker started by :func:`start_broker`."""
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def publisher(port: int, client_id: str = "test-publisher"):
    """A connected paho client publishing at QoS 1 (its loop runs on a thread)."""
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
    client.max_inflight_messages_set(1000)
    client.max_queued_messages_set(0)
    client.connect("127.0.0.1", port)
    client.loop_start()
    return client
