#!/usr/bin/env bash
# Set everything up and run the whole test suite:
#   bash test.sh            (extra arguments go to pytest)
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
exec .venv/bin/python -m pytest "$@"
