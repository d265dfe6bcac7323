#!/usr/bin/env bash
# Several stage-1 variants trained side by side on one GPU (the model uses ~7 GiB), then evaluated
# side by side. On the H100 three at once ran 3.3-3.5 it/s each (~10 it/s together vs 7.5-9 for one
# alone), so this buys same-conditions comparisons more than throughput. Every variant gets the same
# step count: their numbers compare with each other, not with single-run timings. Keep EVAL_FRAMES
# small: three 150-frame evaluations side by side took over 7 minutes.
#
#   VARIANTS="base:model.sdf_init=mesh frozen:model.sdf_init=mesh;train.lr_geometry=1e-5" \
#     PHASE=train bash scripts/gpu/parallel_ab.sh     # one call (< 10 min)
#   VARIANTS="..." PHASE=eval bash scripts/gpu/parallel_ab.sh   # a back-to-back call on the warm machine
#
# Env: VARIANTS (space-separated name:k=v;k=v; name alone = defaults), PHASE (train|eval|both),
# ITERS (train.iterations, default 2000), MAX_MIN (time guard per variant, default 6.5),
# EVAL_FRAMES (default 30), REGIONS (variants for train.region_error on the test split, optional),
# OUT (results root, default runs/ab), CONFIG (default configs/synthetic.yaml).
# Results: $OUT/<name>/{stage1.json,eval_metrics.json,regions.txt,...} and $OUT/summary.txt.
set -euo pipefail
cd "$(dirname "$0")/../.."
: "${VARIANTS:?set VARIANTS}"
PHASE=${PHASE:-both}
ITERS=${ITERS:-2000}
MAX_MIN=${MAX_MIN:-6.5}
OUT=${OUT:-runs/ab}
CONFIG=${CONFIG:-configs/synthetic.yaml}
export EVAL_FRAMES=${EVAL_FRAMES:-30}

pids=()
for spec in $VARIANTS; do
  name=${spec%%:*}
  sets=()
  if [ "$spec" != "$name" ]; then IFS=';' read -r -a sets <<< "${spec#*:}"; fi
  phases="train eval report"
  [ "$PHASE" = train ] && phases="train"
  [ "$PHASE" = eval ] && phases="eval report"
  mkdir -p "$OUT/$name"
  (REGIONS= DIAG=0 OUT="$OUT/$name" WORKDIR="runs/ab_$name" MAX_MIN=$MAX_MIN PHASES="$phases" \
    bash scripts/gpu/stage1.sh "$CONFIG" "train.iterations=$ITERS" "${sets[@]}" > "$OUT/$name/run.log" 2>&1 \
    || echo "FAILED" >> "$OUT/$name/run.log") &
  pids+=($!)
done
wait "${pids[@]}"

{
  echo "variant            steps  it/s   test PSNR  SSIM    IoU     (${EVAL_FRAMES} frames, ITERS=$ITERS, run side by side)"
  for spec in $VARIANTS; do
    name=${spec%%:*}
    python3 - "$OUT/$name" "$name" <<'PY'
import json, os, sys
d, name = sys.argv[1], sys.argv[2]
p = os.path.join(d, "stage1.json")
r = json.load(open(p)) if os.path.exists(p) else {}
f = lambda k, fmt: (fmt % r[k]) if r.get(k) is not None else "-"
print(f"{name:18s} {f('steps', '%5d')}  {f('it_per_s', '%5.2f')}  {f('test_psnr', '%7.2f')}   {f('test_ssim', '%.4f')}  {f('test_mask_iou', '%.4f')}")
PY
    if grep -q FAILED "$OUT/$name/run.log" 2>/dev/null; then tail -n 20 "$OUT/$name/run.log"; fi
  done
} | tee "$OUT/summary.txt"

if [ "$PHASE" != train ] && [ -n "${REGIONS:-}" ]; then
  for spec in $VARIANTS; do
    name=${spec%%:*}
    ${PY:-python3} -m train.region_error -c "$CONFIG" --set "workdir=runs/ab_$name" --split test --quiet \
      --variants "$REGIONS" > "$OUT/$name/regions.txt" 2>&1 &
  done
  wait
  for spec in $VARIANTS; do name=${spec%%:*}; echo "== $name"; head -n 16 "$OUT/$name/regions.txt"; done | tee -a "$OUT/summary.txt"
fi
