"""Run the Khronos glTF validator (npm `gltf-validator`, installed in export/js) on bundles.

    python -m export.validation dist/avatar.glb [...]     # prints errors/warnings, exit 1 on errors

Needs node and `npm ci` in export/js. Messages we accept are listed in `EXPLAINED` with why.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

JS_DIR = Path(__file__).resolve().parent / "js"
SEVERITY = ("ERROR", "WARNING", "INFO", "HINT")

EXPLAINED = {
    "UNSUPPORTED_EXTENSION": "HB_neural_shading is our vendor extension, and this validator version does not decode "
                             "EXT_meshopt_compression (info)",
    "UNUSED_OBJECT": "accessors/textures used only by HB_neural_shading, and buffer 0 when only meshopt views reach it, "
                     "look unused to the validator (info)",
}


def available() -> bool:
    return shutil.which("node") is not None and (JS_DIR / "node_modules" / "gltf-validator").is_dir()


def validate_files(*paths) -> list[dict]:
    """One report per file: numErrors, numWarnings, numInfos, messages[{code, severity, pointer, message}]."""
    proc = subprocess.run(["node", str(JS_DIR / "validate.mjs"), *map(str, paths)], capture_output=True, text=True, timeout=300)
    if proc.returncode not in (0, 1) or not proc.stdout.strip():
        raise RuntimeError(f"gltf-validator did not run (rc {proc.returncode}): {proc.stderr.strip()}")
    return json.loads(proc.stdout)


def describe(report: dict) -> list[str]:
    """One line per message with its explanation (or UNEXPLAINED)."""
    return [f"{SEVERITY[m['severity']]} {m['code']} {m['pointer']}: {m['message']} -> {EXPLAINED.get(m['code'], 'UNEXPLAINED')}"
            for m in report["messages"]]


def unexplained(report: dict) -> list[dict]:
    """Errors, warnings and infos not in EXPLAINED."""
    return [m for m in report["messages"] if m["severity"] <= 2 and m["code"] not in EXPLAINED]


def main(argv=None) -> int:
    paths = sys.argv[1:] if argv is None else argv
    if not paths or paths[0] in ("-h", "--help"):
        print(__doc__)
        return 0
    rc = 0
    for rep in validate_files(*paths):
        print(f"{rep['file']}: {rep['numErrors']} errors, {rep['numWarnings']} warnings, {rep['numInfos']} infos")
        for line in describe(rep):
            print("  " + line)
        rc |= int(rep["numErrors"] > 0)
    return rc


if __name__ == "__main__":
    sys.exit(main())
