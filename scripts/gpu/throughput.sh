#!/usr/bin/env bash
# Stage-1 throughput probe on the GPU machine: a short training per batch shape, printing it/s,
# rays/s and peak memory (the synthetic subject must exist: run `python3 -m train.synth` first).
#
#   SHAPES="4x4096 4x16384 8x8192" STEPS=200 bash scripts/gpu/throughput.sh [CONFIG] [k=v ...]
#
# Env: SHAPES (batch_images x rays_per_image, space-separated), STEPS (steps per shape, default 200),
# OUT (results, default runs/throughput; $OUT/throughput.txt), PY (python3).
set -euo pipefail
cd "$(dirname "$0")/../.."
CONFIG=${1:-configs/synthetic.yaml}
shift || true
SHAPES=${SHAPES:-4x4096 4x8192 8x4096 4x16384 16x4096}
STEPS=${STEPS:-200}
OUT=${OUT:-runs/throughput}
PY=${PY:-python3}
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH}
mkdir -p "$OUT"
for shape in $SHAPES; do
  b=${shape%x*}; r=${shape#*x}
  sets=(--set "workdir=/tmp/throughput_$shape" --set "train.iterations=$STEPS" --set "train.batch_images=$b"
        --set "train.rays_per_image=$r" --set train.preview_every=100000 --set train.checkpoint_every=100000)
  for kv in "$@"; do sets+=(--set "$kv"); done
  log=$($PY -m train -c "$CONFIG" "${sets[@]}" 2>&1 | tr '\r' '\n' | grep -E "stage 1 done|peak GPU|error") || true
  its=$(sed -n 's/.*(\([0-9.]*\) it\/s).*/\1/p' <<<"$log")
  mem=$(sed -n 's/peak GPU memory \([0-9.]*\) GiB/\1/p' <<<"$log")
  psnr=$(sed -n 's/.*train PSNR [0-9.-]* -> \([0-9.-]*\) dB.*/\1/p' <<<"$log")
  awk -v s="$shape" -v i="$its" -v b="$b" -v r="$r" -v m="$mem" -v p="$psnr" -v n="$STEPS" 'BEGIN {
    printf "%-10s %5d steps  %6.2f it/s  %9.0f rays/s  peak %5.2f GiB  train-ray PSNR %s\n", s, n, i, i * b * r, m, p }' \
    | tee -a "$OUT/throughput.txt"
  rm -rf "/tmp/throughput_$shape"
done
