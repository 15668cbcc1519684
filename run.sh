#!/usr/bin/env bash
# Set everything up and run OneGrid on the default region with simulated live feeds:
#   bash run.sh            -> http://127.0.0.1:8050
# Extra arguments go to app.py (see: bash run.sh --help).
set -euo pipefail
cd "$(dirname "$0")"
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check -r requirements.txt
# --open: show the page in the default browser where there is one (harmless on a headless server)
exec .venv/bin/python app.py --open "$@"
