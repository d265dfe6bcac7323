#!/usr/bin/env bash
# Stage-3 A/B on one baked checkpoint: the same <WORKDIR>/bake/baked fine-tuned once per variant
# (side by side on the GPU; each in runs/ft_<name>, sharing WORKDIR's stage-1 checkpoint), then each
# evaluated on the test split (stage 1 / baked / fine-tuned, `python -m bake.eval`).
#
#   WORKDIR=runs/f VARIANTS="n0 n1:bake.finetune_cond_noise=1.0" EVAL_FRAMES=40 bash scripts/gpu/finetune_ab.sh
#   WORKDIR=runs/f VARIANTS="v0 v1:bake.finetune_view_noise=0.1" bash scripts/gpu/finetune_ab.sh   # view-direction noise
#
# Env: WORKDIR (a workdir with train/ and bake/baked), VARIANTS (space-separated name:k=v;k=v; a
# name alone = defaults), EVAL_FRAMES (default 40), OUT (logs, default runs/ft_ab), CONFIG.
# Prints each variant's fine-tune report line and evaluation table; logs in $OUT/<name>.*.log.
set -euo pipefail
cd "$(dirname "$0")/../.."
: "${WORKDIR:?set WORKDIR}" "${VARIANTS:?set VARIANTS}"
OUT=${OUT:-runs/ft_ab}
CONFIG=${CONFIG:-configs/synthetic.yaml}
EVAL_FRAMES=${EVAL_FRAMES:-40}
[ -d "$WORKDIR/bake/baked" ] || { echo "finetune_ab: no $WORKDIR/bake/baked (run the bake first)" >&2; exit 2; }
mkdir -p "$OUT"
names=()
for spec in $VARIANTS; do
  name=${spec%%:*}
  sets=()
  if [ "$spec" != "$name" ]; then IFS=';' read -r -a sets <<< "${spec#*:}"; fi
  w=runs/ft_$name
  rm -rf "$w" && mkdir -p "$w/bake"
  ln -s "$(cd "$WORKDIR" && pwd)/train" "$w/train"
  cp -r "$WORKDIR/bake/baked" "$w/bake/baked"
  args=(--set "workdir=$w")
  for kv in "${sets[@]}"; do args+=(--set "$kv"); done
  (python3 -m bake -c "$CONFIG" --stage finetune --no-progress "${args[@]}" > "$OUT/$name.finetune.log" 2>&1 \
    && python3 -m bake.eval -c "$CONFIG" --max-frames "$EVAL_FRAMES" --no-progress "${args[@]}" > "$OUT/$name.eval.log" 2>&1 \
    || echo "FAILED (see $OUT/$name.*.log)" >> "$OUT/$name.eval.log") &
  names+=("$name")
done
wait
for name in "${names[@]}"; do
  echo "== $name ($(grep -h "^$name:" <<< "$(tr ' ' '\n' <<< "$VARIANTS")" || echo "$name"))"
  python3 -c "import json,sys; r=json.load(open(sys.argv[1])); print({k: r[k] for k in ('steps','seconds','first_train_psnr','last_train_psnr')})" \
    "runs/ft_$name/bake/finetuned/report.json" 2>/dev/null || tail -3 "$OUT/$name.finetune.log"
  grep -v '^{' "$OUT/$name.eval.log" | tail -5
done
