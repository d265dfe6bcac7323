#!/usr/bin/env bash
# Stage 1 on the GPU machine: synthetic subject -> train configs/synthetic.yaml -> eval on the
# test video. Prints wall time, it/s, peak GPU memory and test PSNR; writes $OUT/stage1.json
# (plus eval metrics, a few side-by-sides, the training previews and the resolved config).
#
#   bash scripts/gpu/stage1.sh                 # all phases (synth, train, eval, report)
#   PHASES="synth" bash scripts/gpu/stage1.sh  # one phase per call (each call < 10 min)
#   PHASES="train eval report" bash scripts/gpu/stage1.sh configs/synthetic.yaml train.iterations=3000
#
# Env: OUT (results, default runs/gpu_stage1), WORKDIR (run folder, default runs/gpu_stage1_work),
# MAX_MIN (training time budget in minutes, default 9: stops with a checkpoint), PY (python3),
# SYNTH_WORKERS (synth processes, default 14; the overrides reach the synth phase too),
# EVAL_FRAMES (test frames to evaluate, default all), DIAG=1 (eval also runs the generalisation
# diagnosis: the train split and the test split with --shading-condition train-range / train-mean),
# REGIONS=<variants> (eval also runs `train.region_error` on 10 test and 10 train frames with those
# variants, e.g. REGIONS=full,mean-bases; tables to $OUT/regions.txt, JSON and heat maps beside),
# RESUME=1 (the train phase continues <WORKDIR>/train/checkpoint.pt, e.g. a run the MAX_MIN guard
# stopped in an earlier call on the same warm machine), CORR=1 (eval also runs scripts/correspondence_check.py: texture registration, spurious / missing
# cover and deep opaque hits per region, 4 frames a split, 12 reference frames; to $OUT/corr.txt), WARP=1 (eval also
# runs `train.warp_error --inverse` on every 30th frame of both splits with the trained field: per region, how far it
# poses the model's own vertices and how many visible pixels invert to a wrong root; to $OUT/warp.txt).
set -euo pipefail
cd "$(dirname "$0")/../.."
CONFIG=${1:-configs/synthetic.yaml}
shift || true
OUT=${OUT:-runs/gpu_stage1}
WORKDIR=${WORKDIR:-runs/gpu_stage1_work}
MAX_MIN=${MAX_MIN:-9}
PHASES=${PHASES:-synth train eval report}
PY=${PY:-python3}
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH}
mkdir -p "$OUT" "$WORKDIR"
USER_SETS=()  # the overrides also reach eval and region_error (e.g. a data.root of another subject)
for kv in "$@"; do USER_SETS+=(--set "$kv"); done
SETS=(--set "workdir=$WORKDIR" --set "train.max_minutes=$MAX_MIN" "${USER_SETS[@]}")

$PY - <<'PYEOF'
import importlib.util, sys
missing = [m for m in ("torch", "accelerate", "yaml", "numpy", "PIL", "tqdm", "safetensors") if importlib.util.find_spec(m) is None]
if missing:
    sys.exit(f"missing python modules on this machine: {missing}")
import torch
print("torch", torch.__version__, "| cuda", torch.cuda.is_available(), "|", torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU")
PYEOF

stamp() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(stamp)" 'BEGIN { printf "%.1f\n", b - a }'; }
for phase in $PHASES; do
  case $phase in
    synth)
      # the user's overrides reach the subject too (synth.n_train_frames, data.root, ...); SYNTH_WORKERS processes
      t=$(stamp); $PY -m train.synth -c "$CONFIG" --quiet --set "synth.workers=${SYNTH_WORKERS:-14}" "${USER_SETS[@]}" \
        > "$OUT/synth.log" 2>&1 || { tail -n 30 "$OUT/synth.log"; exit 1; }
      echo "synth: $(tr '\r' '\n' < "$OUT/synth.log" | tail -n 1)"; elapsed "$t" > "$OUT/synth.seconds" ;;
    train)
      RES=(); [ "${RESUME:-0}" = 1 ] && RES=(--resume)
      t=$(stamp); $PY -m train -c "$CONFIG" "${SETS[@]}" "${RES[@]}" > "$OUT/train_full.log" 2>&1 || { tr '\r' '\n' < "$OUT/train_full.log" | tail -n 40; exit 1; }
      tr '\r' '\n' < "$OUT/train_full.log" | grep -E "stage 1 done|peak GPU|time budget|error" > "$OUT/train.log" || true
      cat "$OUT/train.log"; elapsed "$t" > "$OUT/train.seconds"
      cp "$WORKDIR/train/config.yaml" "$OUT/config_resolved.yaml"
      mkdir -p "$OUT/previews"; cp "$WORKDIR"/train/previews/*.png "$OUT/previews/" 2>/dev/null || true ;;
    eval)
      EV=(-c "$CONFIG" --set "workdir=$WORKDIR" "${USER_SETS[@]}")
      [ -n "${EVAL_FRAMES:-}" ] && EV+=(--max-frames "$EVAL_FRAMES")
      t=$(stamp); $PY -m train.eval "${EV[@]}" > "$OUT/eval_full.log" 2>&1 || { tail -n 30 "$OUT/eval_full.log"; exit 1; }
      tr '\r' '\n' < "$OUT/eval_full.log" | tail -n 1 | tee "$OUT/eval.log"; elapsed "$t" > "$OUT/eval.seconds"
      if [ "${DIAG:-0}" = 1 ]; then
        for extra in "--split train" "--shading-condition train-range" "--shading-condition train-mean"; do
          # shellcheck disable=SC2086
          $PY -m train.eval "${EV[@]}" --no-images $extra 2>&1 | tr '\r' '\n' | tail -n 1 | tee -a "$OUT/eval_diag.log"
        done
      fi
      if [ -n "${REGIONS:-}" ]; then
        for sp in test train; do
          $PY -m train.region_error -c "$CONFIG" --set "workdir=$WORKDIR" "${USER_SETS[@]}" --split $sp --quiet --variants "$REGIONS" 2>&1 | tee -a "$OUT/regions.txt"
          cp "$WORKDIR/eval/region_error_$sp.json" "$WORKDIR/eval/region_error_$sp.png" "$OUT/" 2>/dev/null || true
        done
      fi
      if [ "${CORR:-0}" = 1 ]; then
        $PY scripts/correspondence_check.py --workdir "$WORKDIR" --frames 4 --ref-frames 12 2>/dev/null | tee "$OUT/corr.txt"
      fi
      if [ "${WARP:-0}" = 1 ]; then
        for sp in train test; do
          $PY -m train.warp_error -c "$CONFIG" --set "workdir=$WORKDIR" "${USER_SETS[@]}" --split $sp --every 30 --inverse --quiet 2>&1 | tee -a "$OUT/warp.txt"
        done
      fi
      cp "$WORKDIR/eval/stage1_test/metrics.json" "$OUT/eval_metrics.json"
      mkdir -p "$OUT/side_by_side"
      ls "$WORKDIR/eval/stage1_test/side_by_side" | awk 'NR % 15 == 1' | head -n 10 | while read -r f; do cp "$WORKDIR/eval/stage1_test/side_by_side/$f" "$OUT/side_by_side/"; done ;;
    report)
      $PY - "$OUT" <<'PYEOF'
import json, os, re, sys
out = sys.argv[1]
rd = lambda n: open(os.path.join(out, n)).read() if os.path.exists(os.path.join(out, n)) else ""
log = rd("train.log")
m = re.search(r"stage 1 done: (\d+) steps in ([\d.]+) s \(([\d.]+) it/s\).*?train PSNR ([\d.-]+) -> ([\d.-]+)", log)
mem = re.search(r"peak GPU memory ([\d.]+) GiB", log)
ev = json.loads(rd("eval_metrics.json") or "{}")
sec = lambda n: float(rd(n)) if rd(n).strip() else None
res = {
    "synth_seconds": sec("synth.seconds"), "train_command_seconds": sec("train.seconds"),
    "train_loop_seconds": float(m.group(2)) if m else None, "steps": int(m.group(1)) if m else None,
    "it_per_s": float(m.group(3)) if m else None, "train_ray_psnr_last": float(m.group(5)) if m else None,
    "peak_gpu_mem_gib": float(mem.group(1)) if mem else None, "eval_seconds": sec("eval.seconds"),
    "test_psnr": ev.get("psnr"), "test_ssim": ev.get("ssim"), "test_mask_iou": ev.get("mask_iou"),
    "test_frames": ev.get("frames"), "resolution": ev.get("resolution"),
}
json.dump(res, open(os.path.join(out, "stage1.json"), "w"), indent=2)
print(json.dumps(res, indent=2))
PYEOF
      ;;
    *) echo "unknown phase $phase (synth, train, eval, report)"; exit 2 ;;
  esac
done
