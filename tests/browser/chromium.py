"""Where Chromium is, how it is launched, and what happens when it is missing."""

from __future__ import annotations

import os
import shutil
from typing import NoReturn

import pytest

CANDIDATES = ("/usr/bin/chromium", "chromium", "chromium-browser")
"""Debian's Chromium first, then whatever the PATH has."""

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def chromium_path() -> str | None:
    """``$BREAKERPANEL_CHROMIUM`` if set, else the first of :data:`CANDIDATES` found."""
    chosen = os.environ.get("BREAKERPANEL_CHROMIUM")
    for candidate in (chosen,) if chosen else CANDIDATES:
        found = shutil.which(candidate)
        if found:
            return found
    return None


def unavailable(reason: str) -> NoReturn:
    """Skip with ``reason``; fail instead when CI is set (browser tests must run there)."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason}; CI is set, so the browser tests must run", pytrace=False)
    pytest.skip(reason)
