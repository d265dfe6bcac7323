#!/usr/bin/env bash
# `make demo`: synthetic subject -> stage 1 -> bake (stages 2+3) -> export -> web player.
# Runs every stage that exists and says where the pipeline stopped.
set -euo pipefail
cd "$(dirname "$0")/.."
CONFIG=${1:-configs/synthetic.yaml}
PY=.venv/bin/python
ACC=.venv/bin/accelerate
stage() { echo; echo "=== headbake demo: $1 ==="; }
stop_at() { echo; echo "headbake demo stopped before '$1': that stage is not built yet."; exit 0; }

stage "synthetic subject ($CONFIG)"
[ -f train/synth/__main__.py ] || stop_at "synthetic subject"
$PY -m train.synth -c "$CONFIG"

stage "stage 1: implicit fields"
[ -f train/__main__.py ] || stop_at "stage 1"
$ACC launch --num_processes 1 -m train -c "$CONFIG"

stage "stages 2+3: bake and fine-tune"
[ -f bake/__main__.py ] || stop_at "bake"
$ACC launch --num_processes 1 -m bake -c "$CONFIG"

stage "export"
[ -f export/__main__.py ] || stop_at "export"
$PY -m export -c "$CONFIG" -o dist/

stage "web player"
[ -f web_player/package.json ] || stop_at "web player"
NAME=$($PY -c "from train.config import load_config; print(load_config('$CONFIG').name)")
echo "Serving dist/$NAME.glb — open the URL below (Ctrl-C to stop)."
HB_BUNDLE="dist/$NAME.glb" npm --prefix web_player run dev
