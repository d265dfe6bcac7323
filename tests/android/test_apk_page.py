"""The packaged player plays the packaged bundle under the APK's origin, in headless Chromium.

There is no Android device or emulator here, so the WebView is stood in for by Debian Chromium
(the engine of Android System WebView): every request the page makes is answered with exactly
what the APK's own AssetClient bytecode answered for it on the JVM (status, MIME type, bytes),
at the URL PlayerActivity loads (Router.playerUrl of the default bundle).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.android.apk_helpers import JVM_MISSING, MISSING, ORIGIN, WEB, Client, router, status

PLAYWRIGHT = WEB / "node_modules" / "playwright-core"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
NEEDS = JVM_MISSING + MISSING + [
    name
    for name, ok in (
        ("chromium", Path(CHROMIUM).exists()),
        ("node", shutil.which("node")),
        ("web_player/node_modules/playwright-core (make web)", PLAYWRIGHT.is_dir()),
    )
    if not ok
]
pytestmark = pytest.mark.skipif(bool(NEEDS), reason=f"missing: {', '.join(NEEDS)} (make sysdeps web)")


def test_packaged_player_plays_the_default_bundle_then_a_users_file(classpath, apk_assets, built, tmp_path):
    if not built.real_player:
        pytest.skip("the APK under test carries the placeholder player (HB_ANDROID_TEST_PLAYER=placeholder)")
    files = sorted(p.relative_to(apk_assets).as_posix() for p in apk_assets.rglob("*") if p.is_file())
    # a document the user picks: PlayerActivity registers its content:// URI, then loads /user/<n>/<name>
    chosen = tmp_path / "picked by user.glb"
    chosen.write_bytes(built.bundle.read_bytes())
    user_path = "/user/1/picked_by_user.glb"
    c = Client(classpath, apk_assets, tmp_path)
    asked = {f"{ORIGIN}/{f}": c.request(f"{ORIGIN}/{f}") for f in files}
    default = c.command("DEFAULT")
    reg = c.command("REGISTER", f"content://com.example.documents{chosen.as_posix().replace(' ', '%20')}", chosen.name)
    asked[ORIGIN + user_path] = c.request(ORIGIN + user_path)
    res = c.run()
    assert res[reg][0] == user_path
    routes = {}
    for u, i in asked.items():
        code, mime, charset, reason = status(res[i][0])
        assert code == 200, (u, res[i][0])
        routes[u] = {"status": code, "mime": mime, "charset": charset, "reason": reason, "body": str(c.bodies[i])}
    assert routes[ORIGIN + user_path]["mime"] == "model/gltf-binary"
    url, user_url = router(classpath, [("playerUrl", res[default][0]), ("playerUrl", user_path)])
    (tmp_path / "routes.json").write_text(json.dumps(routes))
    shot = tmp_path / "phone.png"
    script = Path(__file__).with_name("page_check.mjs")
    proc = subprocess.run(["node", str(script), str(tmp_path / "routes.json"), str(shot), url, user_url],
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["error"] is None and result["ready"], result
    assert result["consoleErrors"] == [], result
    assert result["unrouted"] == [], "the page asked for something the APK does not serve"
    assert not result["reloaded"], "rotation reloaded the page"
    assert result["framesAfter"] >= result["framesBefore"] + 3, result  # still animating after the turn
    img = np.asarray(Image.open(shot).convert("RGB"), dtype=np.float32)
    assert img.shape[:2] == (412, 860)
    assert img.std() > 5.0, "the screenshot is blank"
    portrait = np.asarray(Image.open(tmp_path / "phone_portrait.png").convert("RGB"), dtype=np.float32)
    assert portrait.shape[:2] == (860, 412) and portrait.std() > 5.0
    (user,) = result["next"]
    assert user["ready"] and user["error"] is None, user
    assert "picked_by_user.glb" in user["text"], "the player does not show the opened file's name"
