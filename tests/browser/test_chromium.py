"""Missing Chromium: a skip with the reason on a laptop, a failure in CI."""

from __future__ import annotations

import pytest

from tests.browser.chromium import chromium_path, unavailable


def test_missing_chromium_is_a_skip_that_says_why(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="make browser"):
        unavailable("Chromium is not installed: run `make browser`")


def test_missing_chromium_fails_in_ci(monkeypatch):
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI is set"):
        unavailable("Chromium is not installed")


def test_the_environment_chooses_the_binary(monkeypatch, tmp_path):
    monkeypatch.setenv("BREAKERPANEL_CHROMIUM", str(tmp_path / "no-such-chromium"))
    assert chromium_path() is None
    binary = tmp_path / "chromium"
    binary.write_text("#!/bin/sh\n")
    binary.chmod(0o755)
    monkeypatch.setenv("BREAKERPANEL_CHROMIUM", str(binary))
    assert chromium_path() == str(binary)
