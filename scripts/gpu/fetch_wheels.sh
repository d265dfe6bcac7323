#!/usr/bin/env bash
# Here (the dev machine, with PyPI/Debian access): fetch what the bare GPU machine lacks for stages 2-3
# and the export, in the folders scripts/gpu/setup.sh installs from there (all git-ignored):
#   .whl/        cp312 manylinux wheels: xatlas, PyMCubes, pygltflib (+ dataclasses-json, marshmallow,
#                Deprecated), meshopt, diffrp-nvdiffrast (JIT-built there), moderngl + glcontext (player bench)
#   .pml1-4/     pymeshlab's ~107 MB wheel split in 27 MiB parts (each call carries at most 64 MiB, the
#                tracked tree included: ~30 MiB now), the last with SHA256 (hash + wheel name); carry one a
#                call, back to back on a warm machine
#   .gl/         the EGL/GL/Vulkan loader debs (pymeshlab and the shader bench load libGL/libEGL)
# Then, on the device: call 1 carry [".whl", ".gl", ".pml1"], calls 2-3 [".pml2"], [".pml3"], call 4 [".pml4",
# ".whl", ".gl"], each command starting with `source scripts/gpu/setup.sh` (docs/results/gpu_pipeline_2026-12-07.txt).
#
#   bash scripts/gpu/fetch_wheels.sh        # idempotent: skips what is already there
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PY:-python3}
WHEELS=(xatlas==0.0.11 PyMCubes==0.1.6 pygltflib==1.16.5 dataclasses-json==0.6.7 marshmallow==3.26.2
        Deprecated==1.3.1 meshopt==0.1.0 diffrp-nvdiffrast==0.3.3.1 moderngl==5.13.0 glcontext==3.1.0)
PYMESHLAB=pymeshlab==2025.7.post1
PLATFORMS=()
for p in manylinux_2_35 manylinux_2_34 manylinux_2_31 manylinux_2_28 manylinux_2_27 manylinux_2_24 manylinux_2_17 manylinux2014 manylinux1; do
  PLATFORMS+=(--platform "${p}_x86_64")
done
fetch() {  # dest, requirement...
  local dest=$1; shift
  "$PY" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp "${PLATFORMS[@]}" -d "$dest" "$@"
}
mkdir -p .whl
for w in "${WHEELS[@]}"; do
  name=${w%%==*}
  if ls .whl/ 2>/dev/null | grep -qi "^$(echo "$name" | tr '-' '_')-"; then continue; fi
  fetch .whl "$w" || { echo "fetch_wheels: no cp312 manylinux wheel for $w" >&2; exit 1; }
done
if [ ! -f .pml4/SHA256 ]; then
  tmp=$(mktemp -d)
  fetch "$tmp" "$PYMESHLAB"
  whl=$(cd "$tmp" && ls pymeshlab-*.whl)
  (cd "$tmp" && split -b 27M "$whl" part_ && sha256sum "$whl" > SHA256)
  parts=("$tmp"/part_*)
  if [ "${#parts[@]}" -gt 4 ]; then echo "fetch_wheels: $whl needs ${#parts[@]} parts; the last must be .pml4" >&2; exit 1; fi
  rm -rf .pml1 .pml2 .pml3 .pml4
  i=1; for p in "${parts[@]}"; do mkdir -p ".pml$i"; mv "$p" ".pml$i/"; i=$((i + 1)); done
  mkdir -p .pml4; mv "$tmp/SHA256" .pml4/
  rm -rf "$tmp"
fi
if ! ls .gl/*.deb >/dev/null 2>&1; then
  mkdir -p .gl /tmp/hb_apt_amd64/partial
  o=(-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/hb_apt_amd64)
  apt-get "${o[@]}" update >/dev/null
  (cd .gl && apt-get "${o[@]}" download libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2)
fi
du -sh .whl .pml1 .pml2 .pml3 .pml4 .gl
