"""Debian's mosquitto broker on a free local port, for the MQTT feed tests and bench/mqtt.py
(test.sh installs it)."""

from __future__ import annotations

import functools
import shutil
import socket
import subprocess
import time
from pathlib import Path

from harness.ports import free_port

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"


def start_broker(
    folder: Path, port: int | None = None, *, secure: dict | None = None, persist: bool = False
) -> tuple[subprocess.Popen, int]:
    """Start mosquitto listening on 127.0.0.1 (``port`` or a free one); returns it and its port.

    The broker queues any number of messages for an absent persistent session (mosquitto's
    default drops all but 1000), as a production broker for OneGrid must be configured.
    ``secure`` (from :func:`tls_files`): TLS with that certificate and a password file instead
    of anonymous plain TCP. ``persist``: sessions and queued messages are saved in ``folder``
    when the broker stops and loaded when it starts again."""
    port = port or free_port()
    folder.mkdir(parents=True, exist_ok=True)
    conf = folder / "mosquitto.conf"
    access = "allow_anonymous true\n"
    if secure:
        access = (
            f"cafile {secure['ca']}\ncertfile {secure['cert']}\nkeyfile {secure['key']}\n"
            f"allow_anonymous false\npassword_file {secure['passwd']}\n"
        )
    keep = f"persistence true\npersistence_location {folder}/\n" if persist else ""
    conf.write_text(
        f"listener {port} 127.0.0.1\n{access}max_queued_messages 0\n{keep}"
        # run as root (the CI container), mosquitto would switch to its own user and then fail
        # to read the test's key and password files; as any other user this line does nothing
        "user root\n",
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


def tls_files(folder: Path, user: str, password: str) -> dict:
    """A test CA, a server certificate for 127.0.0.1 signed by it (Debian's openssl) and a
    mosquitto password file holding ``user``; returns their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    f = {
        k: folder / n for k, n in (("ca", "ca.crt"), ("cert", "server.crt"), ("key", "server.key"))
    }
    f["passwd"] = folder / "passwd"
    ca_key, csr, ext = folder / "ca.key", folder / "server.csr", folder / "san.ext"
    ext.write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n", encoding="utf-8")
    run = functools.partial(subprocess.run, check=True, capture_output=True)
    run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", ca_key]
        + ["-out", f["ca"], "-days", "1", "-subj", "/CN=onegrid-test-ca"]
    )
    run(
        ["openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", f["key"], "-out", csr]
        + ["-subj", "/CN=127.0.0.1"]
    )
    run(
        ["openssl", "x509", "-req", "-in", csr, "-CA", f["ca"], "-CAkey", ca_key]
        + ["-CAcreateserial", "-out", f["cert"], "-days", "1", "-extfile", ext]
    )
    run(
        [shutil.which("mosquitto_passwd") or "/usr/bin/mosquitto_passwd", "-b", "-c"]
        + [f["passwd"], user, password]
    )
    return {k: str(v) for k, v in f.items()}


def publisher(port: int, client_id: str = "test-publisher", *, tls: dict | None = None):
    """A connected paho client publishing at QoS 1 (its loop runs on a thread); ``tls``:
    ``{"ca": path, "user": name, "password": text}`` for a secure broker."""
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
    if tls:
        client.tls_set(ca_certs=tls["ca"])
        client.username_pw_set(tls["user"], tls["password"])
    client.max_inflight_messages_set(1000)
    client.max_queued_messages_set(0)
    client.connect("127.0.0.1", port)
    client.loop_start()
    return client


def broker_log(folder: Path, lines: int = 40) -> str:
    """The last ``lines`` of the log of the broker started in ``folder`` (connections, and why
    the broker closed them), for a failing test's message."""
    log = folder / "mosquitto.log"
    if not log.exists():
        return "(no broker log)"
    return "\n".join(log.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
