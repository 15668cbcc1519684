"""Schema-driven fuzzing (schemathesis) of the LIVE server: no request answers 500.

The real server (waitress on a free 127.0.0.1 port, a real DuckDB file) is fuzzed from its own
served contract, /api/openapi.json: valid and invalid requests for every operation, sent with a
valid push token, with the read token, signed in (session cookie), and with no credentials. Every
answer must be below 500 and conform to the document (status code, content type, body schema).
"""

from __future__ import annotations

import time

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode, checks

from tests.support.browser import live_site
from tests.support.region import tiny_cell_center
from tests.support.web import TEST_PASSWORD, http_session

PUSH, READ = "fuzz-push-token", "fuzz-read-token"
EXAMPLES = 30  # per operation, mode and credential: the whole file stays well under 90 s
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
]


@pytest.fixture(scope="module")
def site(tmp_path_factory, tiny_region_dir):
    folder = tmp_path_factory.mktemp("fuzz")
    with live_site(folder, tiny_region_dir, ingest_token=PUSH, read_token=READ, auth=True) as (
        url,
        runtime,
    ):
        runtime.users.add("fuzzer", TEST_PASSWORD, "operator")
        lon, lat = tiny_cell_center(1, 1, 1)
        seed = [
            {
                "id": f"seed-{i}",
                "time": "2026-11-26T08:00:00+08:00",
                "lon": lon,
                "lat": lat,
                "category": "dispute",
                "severity": 2,
                "attributes": {"i": i},
            }
            for i in range(5)
        ]
        resp = requests.post(
            f"{url}/api/ingest/police",
            json={"events": seed},
            headers={"Authorization": f"Bearer {PUSH}"},
            timeout=10,
        )
        assert resp.ok
        yield url


def signed_in(url: str) -> requests.Session:
    """A session signed in through the real login form."""
    return http_session(url, "fuzzer")


def operations(url: str):
    schema = schemathesis.openapi.from_url(f"{url}/api/openapi.json")
    return [r.ok() for r in schema.get_all_operations()]


@pytest.mark.parametrize("who", ["token", "session", "anonymous"])
def test_no_generated_request_gets_a_500(site, who):
    url = site
    session = signed_in(url) if who == "session" else requests.Session()
    started = time.monotonic()
    sent = 0
    data_ok = 0  # 200 answers from the data operations (not the document itself)
    for op in operations(url):
        if who == "token":
            token = PUSH if op.method.upper() == "POST" else READ
            session.headers["Authorization"] = f"Bearer {token}"
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @settings(
                max_examples=EXAMPLES,
                deadline=None,
                database=None,
                phases=[Phase.explicit, Phase.generate],  # no shrinking: the failure is printed
                suppress_health_check=list(HealthCheck),
            )
            @given(case=op.as_strategy(generation_mode=mode))
            def fuzz(case):
                nonlocal sent, data_ok
                resp = case.call(base_url=url, session=session, timeout=30)
                sent += 1
                data_ok += resp.status_code == 200 and "openapi" not in case.formatted_path
                assert resp.status_code < 500, (case.method, case.formatted_path, resp.text[:300])
                case.validate_response(resp, checks=CHECKS)

            fuzz()
    assert sent >= EXAMPLES  # it really ran
    if who == "anonymous":
        assert data_ok == 0  # and the credentials matter: nothing is read or pushed without
    else:
        assert data_ok > 0
    assert time.monotonic() - started < 90
