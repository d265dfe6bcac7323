#!/usr/bin/env bash
# `make demo`: synthetic subject -> stage 1 -> bake (stages 2+3) -> export -> web player.
# Runs every stage that exists and says where the pipeline stopped.
#
#   scripts/demo.sh [CONFIG] [KEY=VALUE ...]     (extra config overrides go to every stage)
#
# Without a CUDA GPU the config's GPU-scale settings would take hours, so the demo lowers them
# (scripts/demo_budget.py: 128 px, 600 stage-1 steps, smaller grids and textures, separate
# data/run folders) to finish in ~13 min on a 2-core CPU (README: the `make demo` row).
# HB_DEMO_BUDGET=auto (default) | cpu (always lower) | full (never lower).
set -euo pipefail
cd "$(dirname "$0")/.."
CONFIG=${1:-configs/synthetic.yaml}
shift || true
PY=.venv/bin/python
ACC=.venv/bin/accelerate
T0=$SECONDS
stage() { echo; echo "=== headbake demo: $1 [$(( (SECONDS - T0) / 60 )) min $(( (SECONDS - T0) % 60 )) s] ==="; }
stop_at() { echo; echo "headbake demo stopped before '$1': that stage is not built yet."; exit 0; }

# accelerate launch pins OMP_NUM_THREADS to 1 unless it is set: use every core by default.
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-$(nproc)}

BUDGET=${HB_DEMO_BUDGET:-auto}
case "$BUDGET" in
  auto) if $PY -c "import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)"; then BUDGET=full; WHY="CUDA GPU found"
        else BUDGET=cpu; WHY="no CUDA GPU: the config's GPU-scale settings would take hours on CPU"; fi ;;
  cpu) WHY="HB_DEMO_BUDGET=cpu" ;;
  full) WHY="HB_DEMO_BUDGET=full" ;;
  *) echo "HB_DEMO_BUDGET must be auto, cpu or full; got '$BUDGET'" >&2; exit 2 ;;
esac
echo "headbake demo: $CONFIG, $BUDGET settings ($WHY), OMP_NUM_THREADS=$OMP_NUM_THREADS"
if [ "$BUDGET" = cpu ]; then echo "  (HB_DEMO_BUDGET=full runs the config as written; expect hours without a GPU)"; fi
OVR=()
if [ "$BUDGET" = cpu ]; then
  LOWERED=$($PY scripts/demo_budget.py "$CONFIG" "$@")
  [ -z "$LOWERED" ] || mapfile -t OVR <<< "$LOWERED"
fi
OVR+=("$@")
SET=()
for o in ${OVR[@]+"${OVR[@]}"}; do SET+=(--set "$o"); done

stage "synthetic subject ($CONFIG)"
[ -f train/synth/__main__.py ] || stop_at "synthetic subject"
$PY -m train.synth -c "$CONFIG" ${OVR[@]+"${OVR[@]}"}

stage "stage 1: implicit fields"
[ -f train/__main__.py ] || stop_at "stage 1"
$ACC launch --num_processes 1 -m train -c "$CONFIG" ${SET[@]+"${SET[@]}"}

stage "stages 2+3: bake and fine-tune"
[ -f bake/__main__.py ] || stop_at "bake"
$ACC launch --num_processes 1 -m bake -c "$CONFIG" ${SET[@]+"${SET[@]}"}

stage "export"
[ -f export/__main__.py ] || stop_at "export"
$PY -m export -c "$CONFIG" -o dist/ ${OVR[@]+"${OVR[@]}"}

stage "web player"
[ -f web_player/package.json ] || stop_at "web player"
read -r NAME WIDTH < <($PY -c "import sys; from train.config import load_config; c = load_config(sys.argv[1], sys.argv[2:]); print(c.name, c.data.img_res[1])" \
  "$CONFIG" ${OVR[@]+"${OVR[@]}"})
echo "Serving dist/$NAME.glb — open the URL below (Ctrl-C to stop)."
if [ "$WIDTH" -lt 384 ]; then echo "  (trained at $WIDTH px wide: add ?size=512 to the URL for a larger view)"; fi
HB_BUNDLE="dist/$NAME.glb" npm --prefix web_player run dev
