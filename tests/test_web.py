"""The real server over real HTTP: push a batch, read it back placed in the right cell."""

from __future__ import annotations

import requests

from tests.support.region import tiny_cell_center, tiny_cell_code
from tests.support.server import READ, TOKEN, free_port, start_server


def test_push_over_http_and_read_back_in_the_right_cell(tmp_path, tiny_region_dir):
    port = free_port()
    proc = start_server(tmp_path / "web.duckdb", tiny_region_dir, port)
    base = f"http://127.0.0.1:{port}"
    try:
        lon, lat = tiny_cell_center(2, 3, 1)
        body = {
            "events": [
                {
                    "id": "w-1",
                    "time": "2026-11-26T09:30:00+08:00",
                    "lon": lon,
                    "lat": lat,
                    "category": "heating",
                    "severity": 2,
                    "text": "暖气不热",
                    "attributes": {"type": "complaint"},
                },
                {
                    "id": "w-2",
                    "time": "2026-11-26T09:31:00+08:00",
                    "lon": 0,
                    "lat": 0,
                    "category": "heating",
                },
            ]
        }
        resp = requests.post(
            f"{base}/api/ingest/hotline",
            json=body,
            headers={"Authorization": f"Bearer {TOKEN}"},
            timeout=10,
        )
        assert resp.status_code == 200
        assert resp.json()["accepted"] == 1 and resp.json()["quarantined"] == 1
        got = requests.get(f"{base}/api/events?source=hotline", headers=READ, timeout=10).json()
        assert [(e["id"], e["cell"], e["county"]) for e in got["events"]] == [
            ("w-1", tiny_cell_code(2, 3, 1), "T02")
        ]
        summary = requests.get(
            f"{base}/api/areas/{tiny_cell_code(2, 3, 1)}/summary"
            "?since=2026-11-26T00:00:00%2B08:00&until=2026-11-27T00:00:00%2B08:00",
            headers=READ,
            timeout=10,
        ).json()
        assert summary["counts"]["hotline"] == 1
        # pages need a signed-in user: the browser is sent to the sign-in page
        page = requests.get(f"{base}/", timeout=10, allow_redirects=False)
        assert page.status_code == 302 and "/login" in page.headers["Location"]
    finally:
        proc.terminate()
        proc.wait(timeout=30)
