#!/usr/bin/env bash
# `make bench`: print the numbers the README's results table is filled from.
#   CPU (any machine): synthetic-subject time (tiny; full with HB_BENCH_FULL=1), web player FPS in
#   CPU-only Chromium (SwiftShader) next to the plain textured mesh, bundle and APK sizes.
#   GPU (a CUDA machine): raster parity, stage 1 on the synthetic subject, bake + fine-tune, eval,
#   and the player's shaders natively through EGL (scripts/gpu/*.sh; see each script's header).
set -uo pipefail
cd "$(dirname "$0")/.."
CONFIG=${1:-configs/synthetic.yaml}
PY=.venv/bin/python
OUT=${OUT:-runs/bench}
mkdir -p "$OUT"
echo "== headbake bench ($(date -u +%F' '%H:%M) UTC, $(nproc) cores, $(uname -m)) =="
if $PY -c "import torch,sys; sys.exit(0 if torch.cuda.is_available() else 1)" 2>/dev/null; then
  echo "-- GPU: $(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null)"
  bash scripts/gpu/raster_parity.sh
  HB_TRAIN=1 HB_CONFIG=$CONFIG bash scripts/gpu/bake.sh
  exit 0
fi
t0=$(date +%s.%N)
$PY -m train.synth -c configs/tiny.yaml --quiet data.root="$OUT/synthetic_tiny" --force >/dev/null
echo "synthetic subject, tiny (64 px, 52 frames): $(python3 -c "import time; print(f'{time.time()-$t0:.1f}')") s"
if [ "${HB_BENCH_FULL:-0}" = 1 ]; then
  t0=$(date +%s.%N)
  $PY -m train.synth -c "$CONFIG" --quiet data.root="$OUT/synthetic_full" --force >/dev/null
  echo "synthetic subject, full ($CONFIG): $(python3 -c "import time; print(f'{time.time()-$t0:.1f}')") s"
fi
for f in dist/*.glb; do [ -f "$f" ] && echo "bundle $f: $(stat -c %s "$f") bytes"; done
[ -f dist/headbake-player.apk ] && echo "APK dist/headbake-player.apk: $(stat -c %s dist/headbake-player.apk) bytes"
if [ -f web_player/package.json ]; then
  npm --prefix web_player run --silent bench
fi
