#!/usr/bin/env bash
# `make test`: every Python test, then the web player's tests (unit + headless Chromium).
set -uo pipefail
cd "$(dirname "$0")/.."
rc=0
.venv/bin/python -m pytest -q tests || rc=$?
if [ -f web_player/package.json ]; then
  npm --prefix web_player test || rc=$?
fi
exit $rc
