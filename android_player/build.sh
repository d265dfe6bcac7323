#!/usr/bin/env bash
# Build dist/headbake-player.apk offline with Debian's Android tools only:
#   smali (activity code -> classes.dex), aapt2 (manifest + res against framework-res.apk, assets),
#   aapt (adds classes.dex), zipalign, apksigner (debug key made on the fly with keytool).
# See android_player/README.md. `make android` runs this with no arguments.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"

usage() {
  cat <<EOF
usage: android_player/build.sh [--bundle FILE.glb] [--player DIR] [--out FILE.apk] [--build-dir DIR]

Packages the built web player and a default avatar bundle into a signed debug APK.

  --bundle FILE.glb  default avatar shipped in the APK (default: \$HB_BUNDLE, else the newest
                     dist/*.glb of the repo)
  --player DIR       built web player (default: web_player/dist, rebuilt with
                     'npm --prefix web_player run build' when missing or older than its sources)
  --out FILE.apk     output (default: dist/headbake-player.apk), written atomically
  --build-dir DIR    intermediates and the debug keystore (default: android_player/build; the
                     keystore is reused so that 'adb install -r' can update an installed APK)
  -h, --help         this help

Environment: ANDROID_FRAMEWORK_RES (default /usr/share/android-framework-res/framework-res.apk).
EOF
}

die() { echo "android_player/build.sh: error: $*" >&2; exit 1; }
log() { echo "[android] $*"; }

BUNDLE="${HB_BUNDLE:-}"
PLAYER=""
OUT="$ROOT/dist/headbake-player.apk"
BUILD="$HERE/build"
FRAMEWORK="${ANDROID_FRAMEWORK_RES:-/usr/share/android-framework-res/framework-res.apk}"

while [ $# -gt 0 ]; do
  case "$1" in
    -h|--help) usage; exit 0 ;;
    --bundle) [ $# -ge 2 ] || die "--bundle needs a value"; BUNDLE="$2"; shift 2 ;;
    --player) [ $# -ge 2 ] || die "--player needs a value"; PLAYER="$2"; shift 2 ;;
    --out) [ $# -ge 2 ] || die "--out needs a value"; OUT="$2"; shift 2 ;;
    --build-dir) [ $# -ge 2 ] || die "--build-dir needs a value"; BUILD="$2"; shift 2 ;;
    *) usage >&2; die "unknown argument: $1" ;;
  esac
done

# --- tools ---------------------------------------------------------------------------------
for tool in aapt aapt2 smali zipalign apksigner keytool; do
  command -v "$tool" >/dev/null 2>&1 \
    || die "'$tool' is not installed; run 'make sysdeps' (scripts/sysdeps.sh installs the Debian packages)"
done
[ -f "$FRAMEWORK" ] \
  || die "framework resources not found at $FRAMEWORK; install the Debian package android-framework-res ('make sysdeps')"

# --- the web player's production build -------------------------------------------------------
if [ -z "$PLAYER" ]; then
  PLAYER="$ROOT/web_player/dist"
  WEB="$ROOT/web_player"
  [ -f "$WEB/package.json" ] || die "web_player/package.json not found: the web player is missing"
  stale=""
  if [ ! -f "$PLAYER/index.html" ]; then
    stale="web_player/dist/index.html does not exist"
  else
    newer="$(find "$WEB/src" "$WEB/public" "$WEB/index.html" "$WEB/package.json" "$WEB/vite.config.ts" \
      -newer "$PLAYER/index.html" -type f -print -quit 2>/dev/null || true)"
    [ -z "$newer" ] || stale="${newer#"$ROOT/"} is newer than web_player/dist"
  fi
  if [ -n "$stale" ]; then
    command -v npm >/dev/null 2>&1 || die "$stale and npm is not installed to build it (node 20 + npm needed)"
    [ -d "$WEB/node_modules" ] || die "$stale and web_player/node_modules is missing; run 'make web' first"
    log "building the web player ($stale)"
    npm --prefix "$WEB" run build >&2 || die "'npm --prefix web_player run build' failed"
  fi
fi
[ -f "$PLAYER/index.html" ] || die "no index.html in the player build $PLAYER (run 'npm --prefix web_player run build')"

# --- the default bundle ------------------------------------------------------------------------
if [ -z "$BUNDLE" ]; then
  BUNDLE="$(ls -t "$ROOT"/dist/*.glb 2>/dev/null | head -n 1 || true)"
  [ -n "$BUNDLE" ] || die "no default bundle: dist/*.glb does not exist. Export one first ('make demo', or \
'python -m export -c configs/synthetic.yaml -o dist/', or 'python -m export.testbundle -o dist/test.glb'), \
or pass --bundle FILE.glb / set HB_BUNDLE"
  log "default bundle: the newest dist/*.glb"
fi
[ -f "$BUNDLE" ] || die "bundle $BUNDLE does not exist"
case "$BUNDLE" in *.glb|*.GLB) ;; *) die "bundle $BUNDLE: the file name must end in .glb" ;; esac
magic="$(head -c 4 "$BUNDLE")"
[ "$magic" = "glTF" ] || die "bundle $BUNDLE: not a binary glTF (header magic is not 'glTF')"

# --- build --------------------------------------------------------------------------------------
mkdir -p "$BUILD"
BUILD="$(cd "$BUILD" && pwd)"
STAGE="$BUILD/stage"
rm -rf "$STAGE"
mkdir -p "$STAGE/assets/player" "$STAGE/assets/bundle" "$STAGE/dex"
cp -R "$PLAYER/." "$STAGE/assets/player/"
# the name travels in a URL (?bundle=) and is shown by the player: keep it to [A-Za-z0-9._-]
bundle_name="$(basename "$BUNDLE" | LC_ALL=C sed 's/[^A-Za-z0-9._-]/_/g')"
cp "$BUNDLE" "$STAGE/assets/bundle/$bundle_name"
log "player: ${PLAYER#"$ROOT/"} ($(find "$STAGE/assets/player" -type f | wc -l) files); bundle: ${BUNDLE#"$ROOT/"}"

log "smali -> classes.dex"
smali assemble --api 24 -o "$STAGE/dex/classes.dex" "$HERE/smali"

log "aapt2 compile + link (against ${FRAMEWORK})"
aapt2 compile --dir "$HERE/res" -o "$STAGE/res.zip"
# Assets are deflated (a bundle still shrinks ~25%); AssetManager inflates them as the WebView reads.
aapt2 link -I "$FRAMEWORK" --manifest "$HERE/AndroidManifest.xml" -A "$STAGE/assets" \
  -o "$STAGE/unaligned.apk" "$STAGE/res.zip"
(cd "$STAGE/dex" && aapt add "$STAGE/unaligned.apk" classes.dex >/dev/null)

log "zipalign"
zipalign -f -p 4 "$STAGE/unaligned.apk" "$STAGE/aligned.apk"

KEYSTORE="$BUILD/debug.keystore"
if [ ! -f "$KEYSTORE" ]; then
  log "creating the debug keystore $KEYSTORE (never committed)"
  keytool -genkeypair -keystore "$KEYSTORE" -storetype PKCS12 -storepass android -keypass android \
    -alias headbake-debug -keyalg RSA -keysize 2048 -validity 10000 \
    -dname "CN=headbake debug, O=headbake, C=US" -noprompt >/dev/null 2>&1 \
    || die "keytool could not create $KEYSTORE"
fi

log "apksigner sign + verify"
apksigner sign --ks "$KEYSTORE" --ks-pass pass:android --key-pass pass:android \
  --ks-key-alias headbake-debug --out "$STAGE/signed.apk" "$STAGE/aligned.apk"
apksigner verify "$STAGE/signed.apk" || die "apksigner verify failed on the signed APK"

mkdir -p "$(dirname "$OUT")"
tmp="$(dirname "$OUT")/.$(basename "$OUT").tmp.$$"
cp "$STAGE/signed.apk" "$tmp"
mv -f "$tmp" "$OUT"
size=$(stat -c %s "$OUT")
log "wrote $OUT ($size bytes, $(awk "BEGIN{printf \"%.2f\", $size/1048576}") MiB)"
