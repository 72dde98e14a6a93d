"""The documentation cannot drift from the code: settings table and code blocks."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from breaker_core.config import BreakerConfig
from breaker_core.settings import SETTINGS_DEFAULTS

DOCS = Path(__file__).resolve().parents[2] / "docs"
ROW = re.compile(r"^\|\s*`(\w+)`\s*\|\s*([^|]+?)\s*\|", re.MULTILINE)


def _shown(value: object) -> str:
    if value is None:
        return "`None`"
    if isinstance(value, tuple) and value == (Exception,):
        return "`Exception`"
    if isinstance(value, tuple) and not value:
        return "`()`"
    return f"`{value!r}`"


def test_every_dependency_setting_is_documented_once_with_its_default():
    rows = ROW.findall((DOCS / "settings.md").read_text())
    documented = {}
    for name, default in rows:
        assert name not in documented, f"{name} is documented twice"
        documented[name] = default
    for field in dataclasses.fields(BreakerConfig):
        assert field.name in documented, f"{field.name} is missing from docs/settings.md"
        # The table documents BREAKERS: the defaults a dependency declared in settings gets.
        default = getattr(SETTINGS_DEFAULTS, field.name)
        assert documented[field.name] == _shown(default), field.name


def _python_blocks() -> list[tuple[str, int, str]]:
    blocks = []
    for page in sorted(DOCS.glob("*.md")):
        text = page.read_text()
        for match in re.finditer(r"```python\n(.*?)```", text, re.DOTALL):
            line = text.count("\n", 0, match.start()) + 2
            blocks.append((page.name, line, match.group(1)))
    return blocks


@pytest.mark.parametrize(("page", "line", "code"), _python_blocks(), ids=lambda v: str(v)[:40])
def test_every_python_block_is_valid_python(page, line, code):
    # Blocks with top-level await are written for async code: compile them as such.
    import ast

    flags = ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
    compile(code, f"{page}:{line}", "exec", flags=flags)
