"""Run the APK's own bytecode on the desktop JVM: Router's rules and AssetClient's request handling.

classes.dex is taken from the built APK and translated with enjarify; the android.* classes
AssetClient touches are small smali test doubles (tests/android/jvm/stubs). No javac anywhere.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.android.apk_helpers import JVM_MISSING, MISSING, ORIGIN, Client, java, router, status

pytestmark = pytest.mark.skipif(
    bool(JVM_MISSING + MISSING),
    reason=f"tools missing: {', '.join(JVM_MISSING + MISSING)} (Debian: default-jre-headless, enjarify, smali; make sysdeps)",
)

OCTET = "application/octet-stream"


ROUTER_CASES = [
    # (method, argument, expected)
    ("mimeFor", "player/index.html", "text/html"),
    ("mimeFor", "player/assets/index-3f2a9c.js", "text/javascript"),
    ("mimeFor", "player/assets/CHUNK.MJS", "text/javascript"),
    ("mimeFor", "player/assets/index.css", "text/css"),
    ("mimeFor", "bundle/avatar.glb", "model/gltf-binary"),
    ("mimeFor", "player/assets/ort.wasm", "application/wasm"),
    ("mimeFor", "player/assets/shade.frag", "text/plain"),
    ("mimeFor", "player/manifest.webmanifest", "application/manifest+json"),
    ("mimeFor", "player/v1.2/README", OCTET),  # the dot is in a folder name
    ("mimeFor", "player/LICENSE", OCTET),
    ("mimeFor", "player/x.", OCTET),
    ("mimeFor", "player/x.unknown", OCTET),
    ("assetPath", "/player/index.html", "player/index.html"),
    ("assetPath", "/player/", "player/index.html"),
    ("assetPath", "/", "index.html"),
    ("assetPath", "/player/../bundle/x.glb", None),
    ("assetPath", "player/index.html", None),
    ("assetPath", "//player/index.html", None),
    ("assetPath", "/player\\index.html", None),
    ("assetPath", "/user/1/x.glb", None),
    ("assetPath", None, None),
    ("assetPath", "", None),
    ("documentToken", "/user/12/my.glb", "12"),
    ("documentToken", "/user/7", "7"),
    ("documentToken", "/user//my.glb", None),
    ("documentToken", "/player/index.html", None),
    ("documentToken", None, None),
    ("documentPath", "3,my avatar (1).glb", "/user/3/my_avatar__1_.glb"),
    ("safeName", "tête.glb", "t_te.glb"),
    ("safeName", "", "model.glb"),
    ("safeName", "...", "model.glb"),
    ("safeName", None, "model.glb"),
    ("safeName", "a/b\\c?d#e.glb", "a_b_c_d_e.glb"),
    ("isLocal", "https,appassets.androidplatform.net", "true"),
    ("isLocal", "http,appassets.androidplatform.net", "false"),
    ("isLocal", "https,appassets.androidplatform.net.example.com", "false"),
    ("isLocal", "https,example.com", "false"),
    ("defaultBundle", "zeta.glb,readme.txt,alpha.GLB,beta.glb", "/bundle/alpha.GLB"),
    ("defaultBundle", "readme.txt", None),
    ("defaultBundle", None, None),
    ("charsetFor", "text/html", "utf-8"),
    ("charsetFor", "application/json", "utf-8"),
    ("charsetFor", "application/manifest+json", "utf-8"),
    ("charsetFor", "model/gltf-binary", None),
    ("charsetFor", "application/wasm", None),
    ("reasonFor", "200", "OK"),
    ("reasonFor", "403", "Forbidden"),
    ("reasonFor", "404", "Not Found"),
    ("reasonFor", "405", "Method Not Allowed"),
    ("reasonFor", "500", "Error"),
    ("playerUrl", None, f"{ORIGIN}/player/index.html"),
]


def test_router_rules(classpath):
    out = router(classpath, [(m, a) for m, a, _ in ROUTER_CASES])
    for (method, arg, expected), got in zip(ROUTER_CASES, out):
        assert got == ("null" if expected is None else expected), f"Router.{method}({arg!r}) = {got!r}, want {expected!r}"


def test_router_long_names_keep_their_extension(classpath):
    (got,) = router(classpath, [("safeName", "x" * 300 + ".glb")])
    assert len(got) == 96 and got.endswith("x.glb")


@pytest.mark.parametrize("path", ["/bundle/synthetic.glb", "/user/4/my avatar & co.glb", "/bundle/a+b=c?.glb"])
def test_player_url_carries_the_bundle_url_through_the_query(classpath, path):
    """The page reads ?bundle= with URLSearchParams: it must decode to the absolute same-origin URL."""
    (url,) = router(classpath, [("playerUrl", path)])
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == f"{ORIGIN}/player/index.html"
    assert parse_qs(parts.query, strict_parsing=True) == {"bundle": [ORIGIN + path]}


def test_every_player_file_has_a_served_type(classpath, built):
    """No file of the packaged player falls back to octet-stream: module scripts need a JS type."""
    files = sorted(p.relative_to(built.player).as_posix() for p in built.player.rglob("*") if p.is_file())
    out = router(classpath, [("mimeFor", "player/" + f) for f in files])
    types = dict(zip(files, out))
    unknown = {f: t for f, t in types.items() if t == OCTET and Path(f).suffix.lower() not in (".bin", ".onnx")}
    assert not unknown, f"served as {OCTET}: {unknown}"
    assert all(t == "text/javascript" for f, t in types.items() if f.endswith((".js", ".mjs")))
    assert types["index.html"] == "text/html"


# --- AssetClient: what the WebView gets for each request ------------------------------------------------


def test_asset_client_serves_every_packaged_file(classpath, apk_assets, built, tmp_path):
    c = Client(classpath, apk_assets, tmp_path)
    files = sorted(p.relative_to(built.player).as_posix() for p in built.player.rglob("*") if p.is_file())
    idx = {f: c.request(f"{ORIGIN}/player/{f}") for f in files}
    dir_index = c.request(f"{ORIGIN}/player/")
    default = c.command("DEFAULT")
    bundle = c.request(f"{ORIGIN}/bundle/{built.bundle.name}")
    res = c.run()
    for f, i in idx.items():
        code, mime, charset, reason = status(res[i][0])
        assert (code, reason) == (200, "OK"), (f, res[i][0])
        assert res[i][1] == (built.player / f).read_bytes(), f
        if f.endswith((".js", ".mjs")):
            assert (mime, charset) == ("text/javascript", "utf-8"), (f, res[i][0])
    assert status(res[dir_index][0])[:2] == (200, "text/html")
    assert res[dir_index][1] == (built.player / "index.html").read_bytes()
    assert res[default][0] == f"/bundle/{built.bundle.name}"
    assert status(res[bundle][0]) == (200, "model/gltf-binary", "null", "OK")
    assert res[bundle][1] == built.bundle.read_bytes()


def test_asset_client_refuses_everything_else(classpath, apk_assets, tmp_path):
    c = Client(classpath, apk_assets, tmp_path)
    cases = {
        "outside https": c.request("https://example.com/avatar.glb"),
        "cleartext, our host": c.request("http://appassets.androidplatform.net/player/index.html"),
        "POST": c.request(f"{ORIGIN}/player/index.html", method="POST"),
        "missing": c.request(f"{ORIGIN}/player/nothere.js"),
        "traversal": c.request(f"{ORIGIN}/player/../bundle/x.glb"),
        "unregistered document": c.request(f"{ORIGIN}/user/1/x.glb"),
    }
    data = c.request("data:text/plain,hello")
    nav_out = c.command("OVERRIDE", "https://example.com/")
    nav_in = c.command("OVERRIDE", f"{ORIGIN}/player/index.html?bundle=x")
    res = c.run()
    expected = {"outside https": 403, "cleartext, our host": 403, "POST": 405, "missing": 404, "traversal": 404,
                "unregistered document": 404}
    for name, i in cases.items():
        code, mime, charset, reason = status(res[i][0])
        assert code == expected[name], (name, res[i][0])
        assert (mime, charset) == ("text/plain", "utf-8") and reason != "OK"
        assert res[i][1].startswith(b"headbake player: "), (name, res[i][1])
    assert b"nothere.js" in res[cases["missing"]][1]
    assert res[data][0] == "passthrough"  # data: URLs stay with the WebView
    assert res[nav_out][0] == "true" and res[nav_in][0] == "false"


def test_asset_client_serves_documents_the_user_opened(classpath, apk_assets, tmp_path):
    chosen = tmp_path / "chosen avatar.glb"
    chosen.write_bytes(b"glTF" + bytes(range(256)) * 40)
    gone = tmp_path / "deleted.glb"
    c = Client(classpath, apk_assets, tmp_path)
    reg = c.command("REGISTER", f"content://com.example.documents{chosen.as_posix().replace(' ', '%20')}", "chosen avatar.glb")
    reg_gone = c.command("REGISTER", f"content://com.example.documents{gone.as_posix()}", "deleted.glb")
    get = c.request(f"{ORIGIN}/user/1/chosen_avatar.glb")
    get_other_name = c.request(f"{ORIGIN}/user/1/anything")  # the token alone selects the document
    get_gone = c.request(f"{ORIGIN}/user/2/deleted.glb")
    get_unknown = c.request(f"{ORIGIN}/user/3/x.glb")
    res = c.run()
    assert res[reg][0] == "/user/1/chosen_avatar.glb"
    assert res[reg_gone][0] == "/user/2/deleted.glb"
    for i in (get, get_other_name):
        assert status(res[i][0]) == (200, "model/gltf-binary", "null", "OK")
        assert res[i][1] == chosen.read_bytes()
    assert status(res[get_gone][0])[0] == 404 and b"cannot read the chosen file" in res[get_gone][1]
    assert status(res[get_unknown][0])[0] == 404 and b"no longer available" in res[get_unknown][1]


def test_every_app_class_passes_the_jvm_bytecode_verifier(classpath):
    """Each class of the APK's dex, translated, loads and links on the JVM, whose verifier rejects
    ill-typed register use (say, an int passed where a View is expected), which smali accepts and
    ART would only reject on the phone, with a VerifyError at launch."""
    with zipfile.ZipFile(classpath[0]) as z:
        names = sorted(n[:-len(".class")].replace("/", ".") for n in z.namelist() if n.endswith(".class"))
    assert "org.headbake.player.PlayerActivity" in names and len(names) >= 4, names
    out = java(classpath, "org.headbake.test.LinkProbe", names)
    assert out == [f"ok {n}" for n in names], out


# --- PlayerActivity: launch, "open with", saved state, menu and picker, page file input, lifecycle ---------


def bundle_param(url: str) -> str:
    """The decoded ?bundle= of a page URL PlayerActivity loaded (which must be the player's entry)."""
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == f"{ORIGIN}/player/index.html", url
    return parse_qs(parts.query, strict_parsing=True)["bundle"][0]


def test_player_activity_flows(classpath, apk_assets, built):
    """PlayerActivity's own bytecode, driven through its callbacks on JVM doubles of the framework
    (tests/android/jvm/probe/ActivityProbe.smali narrates the scenario)."""
    doc = "content://com.example.documents/storage/My%20Avatar.glb"
    out = java(classpath, "org.headbake.player.ActivityProbe", [doc], props={"hb.assets": str(apk_assets)})
    got = [tuple(line.split("=", 1)) for line in out]
    keys = [k for k, _ in got]
    assert keys == ["launch.urls", "settings", "clients", "view.urls", "restored.urls", "launch.saved", "menu",
                    "started", "picked.urls", "persisted", "started", "page.chosen", "page.cancelled",
                    "page.superseded", "newintent.urls", "newintent.kept", "nopicker.menu", "nopicker.toast",
                    "nopicker.page", "lifecycle"], out
    v = dict(got)
    started = [val for k, val in got if k == "started"]
    default = f"{ORIGIN}/bundle/{built.bundle.name}"
    user1, user2 = f"{ORIGIN}/user/1/My_Avatar.glb", f"{ORIGIN}/user/2/My_Avatar.glb"
    # launched from the launcher: the default bundle, JS on, no file/content access, our two clients
    assert [bundle_param(u) for u in v["launch.urls"].split(" | ")] == [default]
    assert v["settings"] == "javaScript=true;domStorage=true;fileAccess=false;contentAccess=false;"
    assert v["clients"] == "true,true"
    # "open with" at start, and the same document after the activity is re-created from saved state
    assert [bundle_param(u) for u in v["view.urls"].split(" | ")] == [user1]
    assert [bundle_param(u) for u in v["restored.urls"].split(" | ")] == [user1]
    assert v["launch.saved"] == "null"
    # the menu item (SHOW_AS_ACTION_ALWAYS | WITH_TEXT) starts the document picker with request 42;
    # its result loads the document (read access made persistent), a cancelled one loads nothing
    assert v["menu"] == "true,1,Open .glb,6"
    assert started[0] == "true,42,android.intent.action.OPEN_DOCUMENT,android.intent.category.OPENABLE,*/*"
    assert [bundle_param(u) for u in v["picked.urls"].split(" | ")] == [default, user1]
    assert v["persisted"] == f"{doc} flags=1"  # FLAG_GRANT_READ_URI_PERMISSION
    # the page's <input type=file>: request 43, answered with the Uri, or null when cancelled/superseded
    assert started[1] == "true,43,android.intent.action.OPEN_DOCUMENT,android.intent.category.OPENABLE,*/*"
    assert v["page.chosen"] == f"[{doc}]"
    assert v["page.cancelled"] == "null" and v["page.superseded"] == "null"
    # "open with" while running: loads the document; a non-VIEW intent loads nothing but is kept
    assert [bundle_param(u) for u in v["newintent.urls"].split(" | ")] == [default, user1, user2]
    assert v["newintent.kept"] == "true"
    # no picker on the device: a message, no crash; the page is told no chooser was shown
    assert v["nopicker.menu"] == "true" and v["nopicker.toast"] == "No file picker is available on this device"
    assert v["nopicker.page"] == "false"
    assert v["lifecycle"] == "111"  # WebView paused, resumed, destroyed with the activity
