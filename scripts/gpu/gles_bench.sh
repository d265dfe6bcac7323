#!/usr/bin/env bash
# GPU frame time of the web player's OWN shaders, natively through EGL (moderngl), at 512 and
# 1024 px: the exact preprocessed GLSL ES 3.00 sources, vertex data, morph texture, atlases and
# per-frame uniforms the player uses (dumped by `npm --prefix web_player run bench:dump`).
#
# Prepare on the CPU machine (once per bundle):
#   npm --prefix web_player run bench:dump [-- path/to/bundle.glb]   # -> web_player/bench/out/gles (~2.4 MB for the default preset)
# Run on the GPU machine with carry: [".gl", ".whl", "web_player/bench/out/gles"]
#   bash scripts/gpu/gles_bench.sh            # results: $OUT/gles_bench.{json,txt} + a montage of the 512 px images
#                                             # (or web_player/bench/out/gles_results)
# HB_GLES_DUMPS="dirA dirB" times several dumps side by side (e.g. an older version of the shaders
# dumped to another folder); HB_GLES_FRAMES frames per measurement (default 200);
# HB_GLES_BUDGET_S stops starting new measurements after that many seconds (default 0: none);
# HB_GLES_ONLY="variant dump/variant ..." times only those.
# Needs: .gl/*.deb (EGL/GL loaders, see the device README), .whl/moderngl-5.13.0*, .whl/glcontext-3.1.0* (cp312).
set -euo pipefail
cd "$(dirname "$0")/../.."
DUMPS=${HB_GLES_DUMPS:-web_player/bench/out/gles}
for DUMP in $DUMPS; do
  if [ ! -f "$DUMP/manifest.json" ]; then
    echo "gles_bench: $DUMP/manifest.json missing: run 'npm --prefix web_player run bench:dump' first and carry $DUMP" >&2
    exit 2
  fi
done
# the loaders and wheels are for the GPU machine (unpacked into /): never on a dev machine
ON_GPU=0
command -v nvidia-smi >/dev/null 2>&1 && ON_GPU=1
if [ "$ON_GPU" = 1 ] && ls .gl/*.deb >/dev/null 2>&1; then
  for f in .gl/*.deb; do dpkg -x "$f" /; done
  ldconfig
fi
if [ "$ON_GPU" = 1 ] && ls .whl/moderngl-*.whl >/dev/null 2>&1; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/hb_site .whl/moderngl-*.whl .whl/glcontext-*.whl
  export PYTHONPATH=/tmp/hb_site${PYTHONPATH:+:$PYTHONPATH}
fi
NV_EGL=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
if [ -z "${__EGL_VENDOR_LIBRARY_FILENAMES:-}" ] && [ -f "$NV_EGL" ]; then export __EGL_VENDOR_LIBRARY_FILENAMES=$NV_EGL; fi
RESULTS=${OUT:-web_player/bench/out/gles_results}
mkdir -p "$RESULTS"
set -o pipefail
{
  command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,clocks.gr,clocks.max.gr --format=csv || true
  # shellcheck disable=SC2086  # DUMPS is a list of folders
  PYTHONUNBUFFERED=1 "${HB_PYTHON:-python3}" web_player/bench/gles_bench.py $DUMPS --sizes 512 1024 --alu \
    --frames "${HB_GLES_FRAMES:-200}" --budget-s "${HB_GLES_BUDGET_S:-0}" ${HB_GLES_ONLY:+--only $HB_GLES_ONLY} --out "$RESULTS"
} 2>&1 | tee "$RESULTS/gles_bench.txt"
echo "gles_bench: results in $RESULTS/gles_bench.json and gles_bench.txt"
