"""Fixtures of the Android player tests: one APK build per test session."""

from __future__ import annotations

import pytest

from tests.android.apk_helpers import MISSING, Built, build_apk


@pytest.fixture(scope="session")
def built(tmp_path_factory) -> Built:
    if MISSING:
        pytest.skip(f"Debian Android tools missing: {', '.join(MISSING)} (install: make sysdeps)")
    return build_apk(tmp_path_factory.mktemp("apk"))
