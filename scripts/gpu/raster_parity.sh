#!/usr/bin/env bash
# Reference rasterizer vs nvdiffrast on a CUDA machine: prints the max errors and timings and
# writes them to $OUT/raster_parity.txt (+ .json). Needs diffrp-nvdiffrast: installed from the
# carried wheels (.whl/, via scripts/gpu/setup.sh) when present, else from PyPI. The first call
# JIT-compiles nvdiffrast's CUDA plugin (~1-2 min, nvcc + ninja).
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=${OUT:-$PWD/runs/gpu}
mkdir -p "$OUT"
if [ -f scripts/gpu/setup.sh ]; then source scripts/gpu/setup.sh; fi
export PYTHONPATH=${PYTHONPATH:-$PWD}
if ! python3 -c "import nvdiffrast.torch" 2>/dev/null; then
  python3 -m pip install -q diffrp-nvdiffrast
fi
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader || true
python3 -m train.raster.parity --out "$OUT/raster_parity.json" 2>&1 | tee "$OUT/raster_parity_run.log"
python3 - "$OUT/raster_parity.json" "$OUT/raster_parity.txt" <<'PY'
import json, sys
res = json.load(open(sys.argv[1]))
lines = [f"device: {res['device']}  torch: {res['torch']}"]
for case, vals in res.items():
    if isinstance(vals, dict):
        lines.append(f"[{case}]")
        lines += [f"  {k:32s} {v:.3e}" if isinstance(v, float) else f"  {k:32s} {v}" for k, v in vals.items()]
text = "\n".join(lines)
print(text)
open(sys.argv[2], "w").write(text + "\n")
PY
if python3 -c "import pytest" 2>/dev/null; then
  RASTER_PARITY_OUT="$OUT/raster_parity_pytest.json" python3 -m pytest -q -rs tests/train/test_raster_parity.py 2>&1 | tee "$OUT/raster_parity_pytest.log"
else
  echo "pytest not installed here: tolerances not asserted (numbers above)" | tee -a "$OUT/raster_parity.txt"
fi
