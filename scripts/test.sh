#!/usr/bin/env bash
# `make test`: every Python test, then the web player's tests (unit + headless Chromium).
set -uo pipefail
cd "$(dirname "$0")/.."
rc=0
# 2-core machines: one intra-op thread per process is faster for our small tensors
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
.venv/bin/python -m pytest -q tests || rc=$?
if [ -f web_player/package.json ]; then
  npm --prefix web_player test || rc=$?
fi
exit $rc
