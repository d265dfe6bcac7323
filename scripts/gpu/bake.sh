#!/usr/bin/env bash
# Stages 2 and 3 on a CUDA machine for the default synthetic subject (issue 4's GPU numbers):
#   * reference rasterizer vs nvdiffrast renders of a baked avatar (PSNR, ms/frame): toy avatar
#     always, the baked and fine-tuned artifacts when they exist;
#   * wall time of `python -m bake --stage bake` (target <= 3 min) and `--stage finetune` (<= 5 min);
#   * test-split PSNR/SSIM/mask IoU of stage 1, baked, fine-tuned (`python -m bake.eval`);
#   * triangles per layer, texture sizes, artifact size.
# Writes $OUT/bake_gpu.json (all numbers), $OUT/bake_gpu.log and a few previews; prints a summary.
#
# Needs the stage-1 checkpoint of the config at <workdir>/train/ (e.g. left on the warm machine by
# the stage-1 GPU run, or carried: runs/synthetic/train). With HB_TRAIN=1 it makes the synthetic
# subject and trains stage 1 first when they are missing (that alone may need most of a 10-min
# call: then run it once with HB_STEPS=train, and again with the default steps).
# Carry: .whl, and .pml1 ... .pml4 over four calls on a warm machine (made here by scripts/gpu/fetch_wheels.sh;
# scripts/gpu/setup.sh installs xatlas, PyMCubes, pymeshlab, nvdiffrast there).
# Usage: bash scripts/gpu/bake.sh            # HB_CONFIG=configs/synthetic.yaml HB_STEPS="parity bake finetune eval"
#        HB_SET="workdir=runs/s128 bake.mc_resolution=128" bash scripts/gpu/bake.sh   # config overrides
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=${OUT:-$PWD/runs/gpu}
mkdir -p "$OUT"
if command -v nvidia-smi >/dev/null && [ -f scripts/gpu/setup.sh ]; then source scripts/gpu/setup.sh; fi
export PYTHONPATH=${PYTHONPATH:-$PWD} PYTHONUNBUFFERED=1
CFG=${HB_CONFIG:-configs/synthetic.yaml}
STEPS=${HB_STEPS:-parity bake finetune eval}
read -r -a OVR <<< "${HB_SET:-}"
SETS=(); for kv in "${OVR[@]}"; do SETS+=(--set "$kv"); done
LOG="$OUT/bake_gpu.log"
: > "$LOG"
WORK=$(python3 -c "import sys; from train.config import load_config; print(load_config('$CFG', sys.argv[1:]).workdir)" "${OVR[@]}")
ROOT=$(python3 -c "import sys; from train.config import load_config; print(load_config('$CFG', sys.argv[1:]).data.root)" "${OVR[@]}")
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee -a "$LOG" || true
declare -A SECS
run_timed() {  # name, command...
  local name=$1; shift
  local t0; t0=$(date +%s.%N)
  "$@" 2>&1 | tee -a "$LOG"
  SECS[$name]=$(python3 -c "import time; print(round(time.time() - $t0, 2))")
  echo "[$name] ${SECS[$name]} s" | tee -a "$LOG"
}
if [[ " $STEPS " == *" train "* ]] || { [ "${HB_TRAIN:-0}" = 1 ] && [ ! -f "$WORK/train/checkpoint.pt" ]; }; then
  [ -f "$ROOT/train/flame_params.json" ] || run_timed synth python3 -m train.synth -c "$CFG" --quiet
  run_timed train python3 -m train -c "$CFG"
fi
if [[ " $STEPS " == *" parity "* ]]; then
  run_timed parity_toy python3 -m bake.parity --frames 8 --out "$OUT/parity_toy.json"
fi
if [[ " $STEPS " == *" bake "* ]]; then
  if [ ! -f "$WORK/train/checkpoint.pt" ]; then
    echo "bake.sh: no stage-1 checkpoint at $WORK/train/checkpoint.pt (run stage 1 first, or HB_TRAIN=1)" | tee -a "$LOG" >&2
    exit 2
  fi
  [ -f "$ROOT/train/flame_params.json" ] || run_timed synth python3 -m train.synth -c "$CFG" --quiet
  run_timed bake python3 -m bake -c "$CFG" --stage bake --no-progress "${SETS[@]}"
fi
if [[ " $STEPS " == *" finetune "* ]]; then
  run_timed finetune python3 -m bake -c "$CFG" --stage finetune --no-progress "${SETS[@]}"
fi
if [[ " $STEPS " == *" eval "* ]]; then
  run_timed eval python3 -m bake.eval -c "$CFG" --max-frames "${HB_EVAL_FRAMES:-40}" --no-progress "${SETS[@]}"
fi
for a in baked finetuned; do
  if [ -f "$WORK/bake/$a/avatar.json" ] && [[ " $STEPS " == *" parity "* || " $STEPS " == *" $a "* || " $STEPS " == *" bake "* ]]; then
    run_timed "parity_$a" python3 -m bake.parity --artifact "$WORK/bake/$a" --frames 8 --out "$OUT/parity_$a.json" \
      || echo "bake.sh: parity of $a failed (see log)" | tee -a "$LOG"
  fi
done
SECS_JSON=$(for k in "${!SECS[@]}"; do printf '"%s": %s,' "$k" "${SECS[$k]}"; done)
python3 - "$WORK" "$OUT" "{${SECS_JSON%,}}" <<'PY'
import json, os, shutil, sys
work, out, secs = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
res = {"wall_seconds": secs}
def load(p):
    return json.load(open(p)) if os.path.isfile(p) else None
for a in ("baked", "finetuned"):
    d = os.path.join(work, "bake", a)
    rep = load(os.path.join(d, "report.json"))
    if rep is None:
        continue
    meta = load(os.path.join(d, "avatar.json"))
    res[a] = {"report": rep, "artifact_bytes": os.path.getsize(os.path.join(d, "avatar.safetensors")),
              "layers": len(meta["layers"])}
    png = {"baked": "layers.png", "finetuned": "renders.png"}[a]
    if os.path.isfile(os.path.join(d, "previews", png)):
        shutil.copy(os.path.join(d, "previews", png), os.path.join(out, f"{a}_{png}"))
res["eval"] = load(os.path.join(work, "bake", "eval.json"))
if os.path.isfile(os.path.join(work, "bake", "eval.png")):
    shutil.copy(os.path.join(work, "bake", "eval.png"), os.path.join(out, "eval.png"))
for name in ("parity_toy", "parity_baked", "parity_finetuned"):
    res[name] = load(os.path.join(out, f"{name}.json"))
    if res[name] is not None:
        os.remove(os.path.join(out, f"{name}.json"))  # folded into bake_gpu.json ($OUT returns <= 8 files)
json.dump(res, open(os.path.join(out, "bake_gpu.json"), "w"), indent=1)
print("== bake_gpu summary ==")
print("wall seconds:", secs)
b = res.get("baked")
if b:
    print("faces per layer:", [l["faces"] for l in b["report"]["layers"]], "texture", b["report"]["texture_size"],
          "artifact MB", round(b["artifact_bytes"] / 2**20, 2), "bake report s", round(b["report"]["seconds_total"], 1))
if res["eval"]:
    for k, v in res["eval"].items():
        print(f"eval {k}: PSNR {v['psnr']:.2f} dB  SSIM {v['ssim']:.4f}  mask IoU {v['mask_iou']:.4f}  ({v['frames']} frames)")
for name in ("parity_toy", "parity_baked", "parity_finetuned"):
    if res[name]:
        p = res[name]
        print(f"{name}: min PSNR {p['psnr_min_db']:.2f} dB, mean {p['psnr_mean_db']:.2f}; ms/frame torch {p['ms_per_frame_torch']:.1f} nvdiffrast {p['ms_per_frame_nvdiffrast']:.1f}")
PY
echo "bake.sh: results in $OUT/bake_gpu.json"
