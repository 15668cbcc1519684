#!/usr/bin/env bash
# Set everything up and run the whole test suite:
#   bash test.sh            (extra arguments go to both pytest passes, see the end)
# Installs Debian's chromium, chromium-driver and a CJK font for the browser tests, poppler-utils
# (pdftotext reads the briefings' PDFs back), mosquitto (the MQTT feed tests' broker) and OpenJDK 17
# for the Spark test, when missing.
set -euo pipefail
cd "$(dirname "$0")"
PY=${PYTHON:-python3}
if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null \
   || ! fc-list 2>/dev/null | grep -qi "wenquanyi" || ! command -v pdftotext >/dev/null \
   || ! [ -x /usr/sbin/mosquitto ]; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver fonts-wqy-zenhei poppler-utils mosquitto >/dev/null
fi
# the Spark hand-off test (tests/test_archive_spark.py) runs pyspark on Debian's OpenJDK 17
if ! command -v java >/dev/null; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless >/dev/null \
    || $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq default-jre-headless >/dev/null
fi
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check -r requirements-dev.txt
# Two passes: first every test but the `serial` ones on two workers (pytest-xdist; --dist loadfile
# keeps a file on one worker, so a module's set-up runs once), then the serial ones alone: they
# measure time or memory (tests/support/serial.py says why each). ONEGRID_TEST_WORKERS=0 runs
# the first pass in one process. Exit status 5 (nothing selected in a pass) is not a failure.
WORKERS=${ONEGRID_TEST_WORKERS:-2}
rc=0
.venv/bin/python -m pytest -n "$WORKERS" --dist loadfile -m "not serial" "$@" || rc=$?
rc2=0
.venv/bin/python -m pytest -m serial "$@" || rc2=$?
[ "$rc" -eq 5 ] && [ "$rc2" -ne 5 ] && rc=0
[ "$rc2" -eq 5 ] && [ "$rc" -ne 5 ] && rc2=0
[ "$rc" -ne 0 ] && exit "$rc"
exit "$rc2"
