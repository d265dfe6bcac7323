#!/usr/bin/env bash
# Source this on the lent GPU machine (python 3.12, torch+CUDA, no PyPI access):
# installs carried wheels (.whl/), the GL loader debs (.gl/) and, once both halves have
# arrived on a warm machine (.pml1/ then .pml2/), pymeshlab. Idempotent.
set -e
export PYTHONUNBUFFERED=1 NCCL_NVLS_ENABLE=0 TORCH_SYMM_MEM_DISABLE_MULTICAST=1 NVSHMEM_DISABLE_NVLS=1
if [ -d .gl ]; then for f in .gl/*.deb; do dpkg -x "$f" /; done; ldconfig; fi
export __EGL_VENDOR_LIBRARY_FILENAMES=${__EGL_VENDOR_LIBRARY_FILENAMES:-/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json}
if [ -d .whl ] && [ ! -f /tmp/site/.done ]; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
  touch /tmp/site/.done
fi
mkdir -p /tmp/pml
[ -f .pml1/part_aa ] && cp .pml1/part_aa /tmp/pml/
[ -f .pml2/part_ab ] && cp .pml2/part_ab .pml2/SHA256 /tmp/pml/
if [ -f /tmp/pml/part_aa ] && [ -f /tmp/pml/part_ab ] && ! python3 -c "import sys; sys.path.insert(0,'/tmp/site'); import pymeshlab" 2>/dev/null; then
  (cd /tmp/pml && cat part_aa part_ab > "$(awk '{print $2}' SHA256)" && sha256sum -c SHA256 && \
   python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site ./pymeshlab-*.whl)
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
