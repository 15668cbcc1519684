"""The tests that run alone, after the parallel pass (test.sh runs ``pytest -n 2 -m "not serial"``
and then ``pytest -m serial``): each measures wall-clock time or a process's memory, which a second
worker's load on this 2-core machine would change. A node id here covers every test under it."""

from __future__ import annotations

SERIAL = {
    "tests/test_export.py::test_a_200000_event_export_is_streamed_in_flat_memory": (
        "samples the server's RSS while it streams; the peak is the assertion"
    ),
    "tests/test_mqtt_crash.py": "kills the feed mid-stream and waits within 20-60 s windows",
    "tests/test_mqtt.py": "restarts the broker and waits for the feed to reconnect in time",
    "tests/test_api_fuzz.py": "the whole fuzz run must end within 90 s",
    "tests/browser/test_wall_browser.py::test_pushed_event_reaches_cell_and_kpi_within_two_refreshes": (
        "the pushed event must show within two refreshes plus 1.5 s"
    ),
}


def is_serial(nodeid: str) -> bool:
    """Whether the test ``nodeid`` (as pytest prints it) is one of SERIAL's."""
    nodeid = nodeid.replace("\\", "/")
    return any(
        nodeid == key or nodeid.startswith(key + "::") or nodeid.startswith(key + "[")
        for key in SERIAL
    )
