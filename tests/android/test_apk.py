"""The Android player APK (issue 7): build it with android_player/build.sh, check it with Debian's tools.

One build (conftest.built: export.testbundle's small bundle as the default avatar, the real web player build when
web_player/ has one, else a placeholder player) feeds every check: signature, badging, manifest,
contents, dex classes and the framework API they call. test_apk_jvm.py runs the bytecode itself.
"""

from __future__ import annotations

import os
import re
import subprocess
import zipfile
from pathlib import Path

import pytest

from tests.android.apk_helpers import ACTIVITY, ANDROID, NEEDS_TOOLS, PACKAGE, WEB, write_placeholder_player, write_tiny_glb

pytestmark = NEEDS_TOOLS


def run(*cmd: str) -> str:
    proc = subprocess.run(list(cmd), capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, f"{' '.join(cmd)} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


def dex_bytes(apk: Path) -> bytes:
    with zipfile.ZipFile(apk) as z:
        return z.read("classes.dex")


@pytest.fixture(scope="module")
def dexdump_text(built, tmp_path_factory) -> str:
    dex = tmp_path_factory.mktemp("dex") / "classes.dex"
    dex.write_bytes(dex_bytes(built.apk))
    return run("dexdump", "-d", str(dex))


# --- signature, badging, manifest -----------------------------------------------------------------


def test_apksigner_verify_passes(built):
    out = run("apksigner", "verify", "--verbose", "--print-certs", str(built.apk))
    assert out.startswith("Verifies"), out
    assert "Verified using v2 scheme (APK Signature Scheme v2): true" in out
    assert "CN=headbake debug" in out  # our on-the-fly debug key, not some other keystore


def test_zipalign_check_passes(built):
    run("zipalign", "-c", "-p", "4", str(built.apk))


def test_badging_package_activity_sdk_and_no_permissions(built):
    out = run("aapt", "dump", "badging", str(built.apk))
    assert re.search(rf"^package: name='{re.escape(PACKAGE)}' versionCode='1'", out, re.M), out
    assert re.search(rf"^launchable-activity: name='{re.escape(ACTIVITY)}'", out, re.M), out
    assert re.search(r"^sdkVersion:'24'$", out, re.M), out
    assert re.search(r"^targetSdkVersion:'34'$", out, re.M), out
    permissions = re.findall(r"^uses-permission(?:-sdk-23)?: name='([^']+)'", out, re.M)
    assert permissions == [], f"the player needs no permission; got {permissions}"
    assert "android.permission.INTERNET" not in out
    assert "uses-gl-es: '0x30000'" in out  # WebGL2 needs OpenGL ES 3.0
    assert "application-label:'headbake'" in out


@pytest.fixture(scope="module")
def manifest_tree(built) -> str:
    return run("aapt", "dump", "xmltree", str(built.apk), "AndroidManifest.xml")


def attr(tree: str, name: str) -> str:
    m = re.search(rf"A: android:{name}\(0x[0-9a-f]+\)=([^\n]+)", tree)
    assert m, f"android:{name} not in the manifest"
    return m.group(1)


def test_manifest_hardware_acceleration_rotation_and_privacy(manifest_tree):
    assert attr(manifest_tree, "hardwareAccelerated") == "(type 0x12)0xffffffff"
    assert attr(manifest_tree, "usesCleartextTraffic") == "(type 0x12)0x0"
    assert attr(manifest_tree, "allowBackup") == "(type 0x12)0x0"
    assert attr(manifest_tree, "exported") == "(type 0x12)0xffffffff"  # required with intent filters, SDK 31+
    changes = int(attr(manifest_tree, "configChanges").split(")")[1], 16)
    # ActivityInfo.CONFIG_ORIENTATION, CONFIG_SCREEN_SIZE, CONFIG_SMALLEST_SCREEN_SIZE, CONFIG_SCREEN_LAYOUT:
    # rotation must resize the page, not re-create the activity (which reloads the player)
    for bit in (0x80, 0x400, 0x800, 0x100):
        assert changes & bit, f"configChanges {changes:#x} lacks {bit:#x}"


def test_manifest_opens_glb_from_other_apps(manifest_tree):
    filters = manifest_tree.split("E: intent-filter")[1:]
    view = [f for f in filters if '"android.intent.action.VIEW"' in f]
    assert view, "no VIEW intent filter"
    assert any('"model/gltf-binary"' in f and '"android.intent.category.DEFAULT"' in f for f in view)
    assert any('"application/octet-stream"' in f and "pathPattern" in f and ".glb" in f for f in view)
    assert all('"content"' in f for f in view)
    assert any('"android.intent.action.MAIN"' in f and '"android.intent.category.LAUNCHER"' in f for f in filters)


# --- contents ----------------------------------------------------------------------------------------


def test_apk_contains_every_player_file_and_the_bundle(built):
    with zipfile.ZipFile(built.apk) as z:
        names = set(z.namelist())
        player_files = sorted(p for p in built.player.rglob("*") if p.is_file())
        assert player_files, f"no files in {built.player}"
        for p in player_files:
            entry = "assets/player/" + p.relative_to(built.player).as_posix()
            assert entry in names, f"{entry} missing from the APK"
            assert z.read(entry) == p.read_bytes(), f"{entry} differs from {p}"
        bundled = [n for n in names if n.startswith("assets/bundle/")]
        assert bundled == ["assets/bundle/" + built.bundle.name], bundled
        assert z.read(bundled[0]) == built.bundle.read_bytes()
        assert "classes.dex" in names and "resources.arsc" in names
        extra = {n for n in names if n.startswith("assets/")} - {
            "assets/player/" + p.relative_to(built.player).as_posix() for p in player_files
        } - set(bundled)
        assert not extra, f"unexpected assets: {sorted(extra)}"
        assert not [n for n in names if "keystore" in n or n.endswith(".idsig")]


def test_html_entry_is_the_web_player_production_build(built):
    """The page the WebView loads is byte-identical to the player build (web_player/dist when it exists)."""
    with zipfile.ZipFile(built.apk) as z:
        html = z.read("assets/player/index.html")
    assert html == (built.player / "index.html").read_bytes()
    if built.real_player:
        assert built.player == WEB / "dist"
        assert html == (WEB / "dist" / "index.html").read_bytes()
    # every script/stylesheet the entry references relatively is in the APK too
    with zipfile.ZipFile(built.apk) as z:
        names = set(z.namelist())
    for ref in re.findall(rb'(?:src|href)="\./([^"]+)"', html):
        assert "assets/player/" + ref.decode() in names, ref


# --- dex: classes, overrides, framework API ------------------------------------------------------------


def classes(dump: str) -> dict[str, dict]:
    """dexdump text -> {descriptor: {"super": str, "methods": {name+signature}}}."""
    out: dict[str, dict] = {}
    for block in dump.split("Class descriptor  : ")[1:]:
        desc = block.split("'")[1]
        sup = re.search(r"Superclass\s+: '([^']+)'", block).group(1)
        methods = set()
        for m in re.finditer(r"name\s+: '([^']+)'\n\s+type\s+: '(\([^']*)'", block):
            methods.add(m.group(1) + m.group(2))
        out[desc] = {"super": sup, "methods": methods}
    return out


# Methods the framework calls on our classes: a typo in one of these signatures compiles fine and is
# silently never called, so each is checked against the Android API reference signature.
OVERRIDES = {
    "Lorg/headbake/player/PlayerActivity;": (
        "Landroid/app/Activity;",
        [
            "onCreate(Landroid/os/Bundle;)V",
            "onNewIntent(Landroid/content/Intent;)V",
            "onActivityResult(IILandroid/content/Intent;)V",
            "onCreateOptionsMenu(Landroid/view/Menu;)Z",
            "onOptionsItemSelected(Landroid/view/MenuItem;)Z",
            "onSaveInstanceState(Landroid/os/Bundle;)V",
            "onPause()V",
            "onResume()V",
            "onDestroy()V",
        ],
    ),
    "Lorg/headbake/player/AssetClient;": (
        "Landroid/webkit/WebViewClient;",
        [
            "shouldInterceptRequest(Landroid/webkit/WebView;Landroid/webkit/WebResourceRequest;)Landroid/webkit/WebResourceResponse;",
            "shouldOverrideUrlLoading(Landroid/webkit/WebView;Landroid/webkit/WebResourceRequest;)Z",
        ],
    ),
    "Lorg/headbake/player/ChromeClient;": (
        "Landroid/webkit/WebChromeClient;",
        [
            "onShowFileChooser(Landroid/webkit/WebView;Landroid/webkit/ValueCallback;Landroid/webkit/WebChromeClient$FileChooserParams;)Z",
        ],
    ),
}


def test_dex_defines_the_activity_and_its_callbacks(dexdump_text):
    found = classes(dexdump_text)
    assert "L" + ACTIVITY.replace(".", "/") + ";" in found  # the class the manifest launches
    for desc, (sup, methods) in OVERRIDES.items():
        assert desc in found, f"{desc} not in classes.dex"
        assert found[desc]["super"] == sup
        for m in methods:
            assert m in found[desc]["methods"], f"{desc} lacks {m}"
    assert found["Lorg/headbake/player/Router;"]["super"] == "Ljava/lang/Object;"


# Every android.* member the dex references, with the API level that introduced it (Android API
# reference). A reference missing here is either a typo (it would fail at run time with
# NoSuchMethodError) or new: check it against the reference and add it. minSdkVersion is 24.
FRAMEWORK_API = {
    "Landroid/app/Activity;.<init>:()V": 1,
    "Landroid/app/Activity;.onActivityResult:(IILandroid/content/Intent;)V": 1,
    "Landroid/app/Activity;.onCreate:(Landroid/os/Bundle;)V": 1,
    "Landroid/app/Activity;.onDestroy:()V": 1,
    "Landroid/app/Activity;.onNewIntent:(Landroid/content/Intent;)V": 1,
    "Landroid/app/Activity;.onOptionsItemSelected:(Landroid/view/MenuItem;)Z": 1,
    "Landroid/app/Activity;.onPause:()V": 1,
    "Landroid/app/Activity;.onResume:()V": 1,
    "Landroid/app/Activity;.onSaveInstanceState:(Landroid/os/Bundle;)V": 1,
    "Landroid/app/Activity;.setContentView:(Landroid/view/View;)V": 1,
    "Landroid/app/Activity;.getIntent:()Landroid/content/Intent;": 1,
    "Landroid/app/Activity;.setIntent:(Landroid/content/Intent;)V": 1,
    "Landroid/app/Activity;.startActivityForResult:(Landroid/content/Intent;I)V": 1,
    "Landroid/app/Activity;.getContentResolver:()Landroid/content/ContentResolver;": 1,
    "Landroid/content/ContentResolver;.openInputStream:(Landroid/net/Uri;)Ljava/io/InputStream;": 1,
    "Landroid/content/ContentResolver;.query:(Landroid/net/Uri;[Ljava/lang/String;Ljava/lang/String;[Ljava/lang/String;Ljava/lang/String;)Landroid/database/Cursor;": 1,
    "Landroid/content/ContentResolver;.takePersistableUriPermission:(Landroid/net/Uri;I)V": 19,
    "Landroid/content/Context;.getAssets:()Landroid/content/res/AssetManager;": 1,
    "Landroid/content/Context;.getContentResolver:()Landroid/content/ContentResolver;": 1,
    "Landroid/content/Intent;.<init>:(Ljava/lang/String;)V": 1,
    "Landroid/content/Intent;.addCategory:(Ljava/lang/String;)Landroid/content/Intent;": 1,
    "Landroid/content/Intent;.getAction:()Ljava/lang/String;": 1,
    "Landroid/content/Intent;.getData:()Landroid/net/Uri;": 1,
    "Landroid/content/Intent;.setType:(Ljava/lang/String;)Landroid/content/Intent;": 1,
    "Landroid/content/res/AssetManager;.list:(Ljava/lang/String;)[Ljava/lang/String;": 1,
    "Landroid/content/res/AssetManager;.open:(Ljava/lang/String;)Ljava/io/InputStream;": 1,
    "Landroid/database/Cursor;.close:()V": 1,
    "Landroid/database/Cursor;.getString:(I)Ljava/lang/String;": 1,
    "Landroid/database/Cursor;.moveToFirst:()Z": 1,
    "Landroid/net/Uri;.getHost:()Ljava/lang/String;": 1,
    "Landroid/net/Uri;.getLastPathSegment:()Ljava/lang/String;": 1,
    "Landroid/net/Uri;.getPath:()Ljava/lang/String;": 1,
    "Landroid/net/Uri;.getScheme:()Ljava/lang/String;": 1,
    "Landroid/os/Bundle;.getParcelable:(Ljava/lang/String;)Landroid/os/Parcelable;": 1,
    "Landroid/os/Bundle;.putParcelable:(Ljava/lang/String;Landroid/os/Parcelable;)V": 1,
    "Landroid/view/Menu;.add:(IIILjava/lang/CharSequence;)Landroid/view/MenuItem;": 1,
    "Landroid/view/MenuItem;.getItemId:()I": 1,
    "Landroid/view/MenuItem;.setShowAsAction:(I)V": 11,
    "Landroid/webkit/ValueCallback;.onReceiveValue:(Ljava/lang/Object;)V": 7,
    "Landroid/webkit/WebChromeClient$FileChooserParams;.parseResult:(ILandroid/content/Intent;)[Landroid/net/Uri;": 21,
    "Landroid/webkit/WebChromeClient;.<init>:()V": 1,
    "Landroid/webkit/WebResourceRequest;.getMethod:()Ljava/lang/String;": 21,
    "Landroid/webkit/WebResourceRequest;.getUrl:()Landroid/net/Uri;": 21,
    "Landroid/webkit/WebResourceResponse;.<init>:(Ljava/lang/String;Ljava/lang/String;ILjava/lang/String;Ljava/util/Map;Ljava/io/InputStream;)V": 21,
    "Landroid/webkit/WebSettings;.setAllowContentAccess:(Z)V": 11,
    "Landroid/webkit/WebSettings;.setAllowFileAccess:(Z)V": 3,
    "Landroid/webkit/WebSettings;.setDomStorageEnabled:(Z)V": 7,
    "Landroid/webkit/WebSettings;.setJavaScriptEnabled:(Z)V": 1,
    "Landroid/webkit/WebView;.<init>:(Landroid/content/Context;)V": 1,
    "Landroid/webkit/WebView;.destroy:()V": 1,
    "Landroid/webkit/WebView;.getSettings:()Landroid/webkit/WebSettings;": 1,
    "Landroid/webkit/WebView;.loadUrl:(Ljava/lang/String;)V": 1,
    "Landroid/webkit/WebView;.onPause:()V": 11,
    "Landroid/webkit/WebView;.onResume:()V": 11,
    "Landroid/webkit/WebView;.setWebChromeClient:(Landroid/webkit/WebChromeClient;)V": 1,
    "Landroid/webkit/WebView;.setWebViewClient:(Landroid/webkit/WebViewClient;)V": 1,
    "Landroid/webkit/WebViewClient;.<init>:()V": 1,
    "Landroid/widget/Toast;.makeText:(Landroid/content/Context;Ljava/lang/CharSequence;I)Landroid/widget/Toast;": 1,
    "Landroid/widget/Toast;.show:()V": 1,
}
# Our classes' superclasses: a call through our own class to an inherited member is looked up here.
SUPERS = {"Lorg/headbake/player/PlayerActivity;": "Landroid/app/Activity;"}
MIN_SDK = 24


def test_dex_calls_only_known_framework_api_within_min_sdk(dexdump_text):
    own = classes(dexdump_text)
    refs = set(re.findall(r"(L[\w/$]+;)\.([\w<>$]+):(\([^)]*\)\S+) // method@", dexdump_text))
    assert refs, "no method references parsed from dexdump"
    checked = 0
    for cls, name, sig in sorted(refs):
        if cls in own and name + sig in own[cls]["methods"]:
            continue  # our own method
        if cls in SUPERS:
            cls = SUPERS[cls]
        if not cls.startswith("Landroid/"):
            assert cls.startswith("Ljava/") or cls in own, f"unexpected reference {cls}.{name}{sig}"
            continue
        key = f"{cls}.{name}:{sig}"
        assert key in FRAMEWORK_API, f"unknown framework reference {key}: a typo, or check and add it"
        assert FRAMEWORK_API[key] <= MIN_SDK, f"{key} needs API {FRAMEWORK_API[key]} > minSdk {MIN_SDK}"
        checked += 1
    assert checked >= 40, checked


# --- build.sh refuses bad input clearly ---------------------------------------------------------------------


def build_sh(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", str(ANDROID / "build.sh"), *args], capture_output=True, text=True, timeout=120, env=env
    )


def test_build_sh_help():
    proc = build_sh("--help")
    assert proc.returncode == 0 and "--bundle" in proc.stdout and "headbake-player.apk" in proc.stdout


@pytest.mark.parametrize("case", ["missing", "not_glb_name", "not_gltf", "no_player"])
def test_build_sh_rejects_bad_input_naming_the_file(tmp_path, case):
    player = write_placeholder_player(tmp_path / "player")
    bundle = tmp_path / "avatar.glb"
    write_tiny_glb(bundle, payload=64)
    expect = str(bundle)
    if case == "missing":
        bundle = tmp_path / "nope.glb"
        expect = f"{bundle} does not exist"
    elif case == "not_glb_name":
        bundle = tmp_path / "avatar.gltf"
        bundle.write_text("{}")
        expect = "must end in .glb"
    elif case == "not_gltf":
        bundle.write_bytes(b"PK\x03\x04 not a glb")
        expect = "not a binary glTF"
    else:
        (player / "index.html").unlink()
        expect = f"no index.html in the player build {player}"
    proc = build_sh("--bundle", str(bundle), "--player", str(player), "--out", str(tmp_path / "x.apk"),
                    "--build-dir", str(tmp_path / "build"))
    assert proc.returncode != 0
    assert "error:" in proc.stderr and expect in proc.stderr, proc.stderr
    assert not (tmp_path / "x.apk").exists()


def test_build_sh_names_a_missing_tool(tmp_path):
    """With smali absent from PATH the build stops before doing anything, naming smali and the fix."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    for d in ("/usr/local/bin", "/usr/bin", "/bin"):
        for p in Path(d).iterdir():
            if p.name != "smali" and not (bindir / p.name).exists():
                (bindir / p.name).symlink_to(p)
    env = dict(os.environ, PATH=str(bindir))
    proc = build_sh("--bundle", "x.glb", "--player", str(tmp_path), "--out", str(tmp_path / "x.apk"), env=env)
    assert proc.returncode != 0
    assert "'smali' is not installed" in proc.stderr and "make sysdeps" in proc.stderr, proc.stderr
