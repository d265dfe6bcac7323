"""Helpers of the Android player tests: paths, tool probe, generated inputs, the APK build."""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
ANDROID = ROOT / "android_player"
WEB = ROOT / "web_player"
FRAMEWORK = Path(os.environ.get("ANDROID_FRAMEWORK_RES", "/usr/share/android-framework-res/framework-res.apk"))
PACKAGE = "org.headbake.player"
ORIGIN = "https://appassets.androidplatform.net"  # the virtual site the WebView loads
ACTIVITY = f"{PACKAGE}.PlayerActivity"
TOOLS = ("aapt", "aapt2", "smali", "zipalign", "apksigner", "dexdump", "keytool")
MISSING = [t for t in TOOLS if shutil.which(t) is None] + ([] if FRAMEWORK.is_file() else ["android-framework-res"])

NEEDS_TOOLS = pytest.mark.skipif(
    bool(MISSING), reason=f"Debian Android tools missing: {', '.join(MISSING)} (install: make sysdeps)"
)


def real_player_available() -> bool:
    """True when web_player has sources (its index.html): the APK then packages its production build,
    which build.sh makes with npm (failing clearly without node_modules: `make web`).

    HB_ANDROID_TEST_PLAYER=placeholder forces the placeholder (to work on the APK while the web
    player's build is broken); the default, and CI, package the real production build.
    """
    if os.environ.get("HB_ANDROID_TEST_PLAYER") == "placeholder":
        return False
    return (WEB / "index.html").is_file()


def write_tiny_glb(path: Path, payload: int = 48 * 1024, seed: int = 7) -> bytes:
    """A minimal valid GLB (glTF 2.0 JSON chunk + a BIN chunk of seeded random bytes); returns its bytes."""
    bin_data = np.random.default_rng(seed).integers(0, 256, payload, dtype=np.uint8).tobytes()
    js = (
        '{"asset":{"version":"2.0","generator":"tests/android"},'
        f'"buffers":[{{"byteLength":{len(bin_data)}}}]}}'
    ).encode()
    js += b" " * (-len(js) % 4)
    body = struct.pack("<II", len(js), 0x4E4F534A) + js + struct.pack("<II", len(bin_data), 0x004E4942) + bin_data
    data = struct.pack("<4sII", b"glTF", 2, 12 + len(body)) + body
    path.write_bytes(data)
    return data


def make_test_bundle(path: Path) -> Path:
    """A real (small) headbake bundle from export.testbundle, so the packaged player can play it."""
    proc = subprocess.run(
        [sys.executable, "-m", "export.testbundle", "--preset", "small", "-o", str(path)],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0 and path.is_file(), f"export.testbundle failed:\n{proc.stdout}\n{proc.stderr}"
    return path


def write_placeholder_player(root: Path) -> Path:
    """A stand-in for web_player/dist with the shape of a Vite build (module script, hashed assets)."""
    (root / "assets").mkdir(parents=True)
    (root / "index.html").write_text(
        '<!doctype html><html><head><meta charset="utf-8"><title>headbake</title>\n'
        '<script type="module" crossorigin src="./assets/index-3f2a9c.js"></script>\n'
        '<link rel="stylesheet" crossorigin href="./assets/index-77b0e1.css"></head>\n'
        '<body><canvas id="view"></canvas></body></html>\n'
    )
    (root / "assets" / "index-3f2a9c.js").write_text(
        "const q = new URLSearchParams(location.search).get('bundle');\n"
        "fetch(q).then((r) => r.arrayBuffer()).then((b) => console.log('bundle bytes', b.byteLength));\n"
    )
    (root / "assets" / "index-77b0e1.css").write_text("html,body{margin:0;height:100%;background:#fff}\n")
    (root / "assets" / "_vendor-0c1d.js").write_text("export const v = 1;\n")
    (root / "assets" / "shade.frag").write_text("#version 300 es\nprecision highp float;\n")
    return root


@dataclass
class Built:
    apk: Path
    player: Path
    bundle: Path
    real_player: bool
    log: str


def build_apk(tmp: Path) -> Built:
    """Run android_player/build.sh into `tmp` with the small test bundle and the real (or placeholder) player."""
    bundle = make_test_bundle(tmp / "test_avatar.glb")
    apk = tmp / "headbake-player.apk"
    cmd = ["bash", str(ANDROID / "build.sh"), "--bundle", str(bundle), "--out", str(apk), "--build-dir", str(tmp / "build")]
    real = real_player_available()
    if real:
        player = WEB / "dist"  # build.sh (re)builds it with npm when missing or stale
    else:
        player = write_placeholder_player(tmp / "player")
        cmd += ["--player", str(player)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"build.sh failed:\n{log}"
    assert apk.is_file(), log
    print(f"APK: {apk.stat().st_size} bytes ({'real web player' if real else 'placeholder player'})")
    return Built(apk, player, bundle, real, log)




# --- desktop-JVM runs of the APK's bytecode (see tests/android/jvm/README.md) -----------------------

JVM_DIR = ROOT / "tests" / "android" / "jvm"
JVM_MISSING = [t for t in ("java", "enjarify", "smali") if shutil.which(t) is None]


def enjarify(src: Path, out: Path) -> Path:
    """dex or APK -> JVM jar with Debian's enjarify (its module lives in Debian's own python3)."""
    env = dict(os.environ)
    if Path("/usr/bin/python3").exists():
        env["PYTHON"] = "/usr/bin/python3"
    proc = subprocess.run(["enjarify", "-f", "-o", str(out), str(src)], capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0 and out.is_file(), f"enjarify {src} failed:\n{proc.stdout}\n{proc.stderr}"
    assert "0 classes had errors" in proc.stdout, proc.stdout
    return out


def build_test_jar(tmp: Path) -> Path:
    """The JVM stubs of android.* and the probes, assembled with smali and translated to a jar."""
    dex = tmp / "probes.dex"
    proc = subprocess.run(
        ["smali", "assemble", "--api", "24", "-o", str(dex), str(JVM_DIR / "stubs"), str(JVM_DIR / "probe")],
        capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    return enjarify(dex, tmp / "probes.jar")


def java(classpath: list[Path], main: str, args: list[str], props: dict[str, str] | None = None) -> list[str]:
    """Run `main` on the JVM (system properties `props`); returns its stdout lines (fails the test on a
    non-zero exit)."""
    defines = [f"-D{k}={v}" for k, v in (props or {}).items()]
    cmd = ["java", "-Xshare:auto", "-XX:TieredStopAtLevel=1", *defines, "-cp", os.pathsep.join(map(str, classpath)),
           main, *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, f"{main} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout.splitlines()


def router(classpath, calls: list[tuple[str, str | None]]) -> list[str]:
    """Call Router's static methods (name, argument) on the JVM; one result string per call."""
    args = [a for name, value in calls for a in (name, "null" if value is None else value)]
    out = java(classpath, "org.headbake.test.RouterProbe", args)
    assert len(out) == len(calls), out
    return out


class Client:
    """Batches (command, a, b) triples for one ClientProbe run; bodies land in files under `tmp`."""

    def __init__(self, classpath, assets: Path, tmp: Path):
        self.classpath, self.assets, self.tmp, self.args, self.bodies = classpath, assets, tmp, [], []

    def request(self, url: str, method: str = "GET") -> int:
        body = self.tmp / f"body{len(self.args)}"
        self.args += [method, url, str(body)]
        self.bodies.append(body)
        return len(self.args) // 3 - 1

    def command(self, name: str, a: str = "-", b: str = "-") -> int:
        self.args += [name, a, b]
        self.bodies.append(None)
        return len(self.args) // 3 - 1

    def run(self) -> list[tuple[str, bytes | None]]:
        out = java(self.classpath, "org.headbake.player.ClientProbe", [str(self.assets), *self.args])
        assert len(out) == len(self.bodies), out
        return [
            (line, body.read_bytes() if body is not None and body.exists() else None)
            for line, body in zip(out, self.bodies)
        ]


def status(line: str) -> tuple[int, str, str, str]:
    """ClientProbe's response line -> (status code, MIME type, charset or "null", reason phrase)."""
    code, mime, charset, reason = line.split("\t")
    return int(code), mime, charset, reason
