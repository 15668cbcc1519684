"""Start the real server (python app.py) in a subprocess on a free port, for tests that kill it or
talk to it over real HTTP."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import requests

from harness.ports import free_port

__all__ = ["READ", "TOKEN", "free_port", "start_server", "ROOT"]

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "crash-token"
READ = {"Authorization": f"Bearer {TOKEN}"}


def start_server(db: Path, region: Path, port: int, env: dict | None = None) -> subprocess.Popen:
    """Start ``python app.py`` on ``port`` (``env``: further environment, e.g. ONEGRID_CONFIG)."""
    env = (
        os.environ
        | (env or {})
        | {
            "ONEGRID_DB": str(db),
            "ONEGRID_REGION": str(region),
            "ONEGRID_INGEST_TOKEN": TOKEN,
            "ONEGRID_SIMULATOR": "off",
            "ONEGRID_READ_TOKEN": TOKEN,
            "ONEGRID_USERS_FILE": str(db.with_name("users.toml")),
        }
    )
    proc = subprocess.Popen(
        [sys.executable, "app.py", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if requests.get(f"http://127.0.0.1:{port}/api/feeds", headers=READ, timeout=1).ok:
                return proc
        except requests.ConnectionError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("server did not start")
