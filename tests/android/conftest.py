"""Fixtures of the Android player tests: one APK build per test session."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from tests.android.apk_helpers import JVM_MISSING, MISSING, Built, build_apk, build_test_jar, enjarify


@pytest.fixture(scope="session")
def built(tmp_path_factory) -> Built:
    if MISSING:
        pytest.skip(f"Debian Android tools missing: {', '.join(MISSING)} (install: make sysdeps)")
    return build_apk(tmp_path_factory.mktemp("apk"))


@pytest.fixture(scope="session")
def classpath(built: Built, tmp_path_factory) -> list[Path]:
    """The APK's classes.dex and the test doubles + probes, as JVM jars."""
    if JVM_MISSING:
        pytest.skip(f"tools missing: {', '.join(JVM_MISSING)} (Debian: default-jre-headless, enjarify; make sysdeps)")
    tmp = tmp_path_factory.mktemp("jvm")
    return [enjarify(built.apk, tmp / "app.jar"), build_test_jar(tmp)]


@pytest.fixture(scope="session")
def apk_assets(built, tmp_path_factory) -> Path:
    """The APK's assets/ folder, extracted: the JVM AssetManager double serves exactly these bytes."""
    root = tmp_path_factory.mktemp("assets")
    with zipfile.ZipFile(built.apk) as z:
        for name in z.namelist():
            if name.startswith("assets/") and not name.endswith("/"):
                dest = root / name[len("assets/"):]
                dest.parent.mkdir(parents=True, exist_ok=True)
                dest.write_bytes(z.read(name))
    return root
