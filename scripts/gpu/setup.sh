#!/usr/bin/env bash
# Source this on the lent GPU machine (python 3.12, torch+CUDA, no PyPI access; the folders come from
# scripts/gpu/fetch_wheels.sh run on the dev machine):
# installs carried wheels (.whl/), the GL loader debs (.gl/) and, once all parts have
# arrived on a warm machine (.pml1/ ... .pml4/, one a call), pymeshlab. Idempotent.
case $- in *e*) _hb_errexit=1 ;; *) _hb_errexit=0 ;; esac  # restored at the end: sourcing must not leave -e on
set -e
export PYTHONUNBUFFERED=1 NCCL_NVLS_ENABLE=0 TORCH_SYMM_MEM_DISABLE_MULTICAST=1 NVSHMEM_DISABLE_NVLS=1
if [ -d .gl ]; then for f in .gl/*.deb; do dpkg -x "$f" /; done; ldconfig; fi
export __EGL_VENDOR_LIBRARY_FILENAMES=${__EGL_VENDOR_LIBRARY_FILENAMES:-/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json}
if [ -d .whl ] && [ ! -f /tmp/site/.done ]; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
  touch /tmp/site/.done
fi
# pymeshlab's wheel (~107 MB) travels split (`split -b 27M`) in .pml1/ ... .pml4/ (one folder a
# call, each under the 64 MiB carry limit); the last one also holds SHA256 (hash + wheel name).
mkdir -p /tmp/pml
for d in .pml*/; do [ -d "$d" ] && cp "$d"* /tmp/pml/ 2>/dev/null || true; done
if [ -f /tmp/pml/SHA256 ] && ! python3 -c "import sys; sys.path.insert(0,'/tmp/site'); import pymeshlab" 2>/dev/null; then
  whl=$(awk '{print $2}' /tmp/pml/SHA256)
  (cd /tmp/pml && cat part_* > "$whl" && sha256sum -c SHA256 && \
   python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site "./$whl") \
   || echo "setup: pymeshlab parts incomplete (have: $(ls /tmp/pml | tr '\n' ' '))"
fi
export PYTHONPATH=/tmp/site:$PWD${PYTHONPATH:+:$PYTHONPATH}
python3 - <<'PY'
import importlib
for m in ("torch", "mcubes", "xatlas", "pygltflib", "meshopt", "pymeshlab", "moderngl", "nvdiffrast", "onnxruntime", "accelerate"):
    try:
        mod = importlib.import_module(m); print(f"setup: {m} {getattr(mod, '__version__', 'ok')}")
    except Exception as exc:
        print(f"setup: {m} MISSING ({type(exc).__name__}: {exc})")
import torch; print("setup: cuda", torch.cuda.is_available(), torch.cuda.get_device_name(0) if torch.cuda.is_available() else "")
PY
[ "$_hb_errexit" = 1 ] || set +e
unset _hb_errexit
