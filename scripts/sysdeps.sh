#!/usr/bin/env bash
# Install the Debian packages the tests and the APK build need, only where missing.
set -euo pipefail
need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v aapt >/dev/null 2>&1 || need+=(aapt)
command -v smali >/dev/null 2>&1 || need+=(smali)
command -v zipalign >/dev/null 2>&1 || need+=(zipalign)
command -v apksigner >/dev/null 2>&1 || need+=(apksigner)
command -v dexdump >/dev/null 2>&1 || need+=(dexdump)
[ -e /usr/share/android-framework-res/framework-res.apk ] || [ -e /usr/share/android-framework-res ] || need+=(android-framework-res)
command -v enjarify >/dev/null 2>&1 || need+=(enjarify)
command -v keytool >/dev/null 2>&1 || need+=(default-jre-headless)
if [ ${#need[@]} -eq 0 ]; then exit 0; fi
echo "sysdeps: installing ${need[*]}"
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
