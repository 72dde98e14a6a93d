"""``registry.guard`` and ``@breaker`` keep the decorated signature for type checkers."""

from __future__ import annotations

import textwrap

import pytest

mypy_api = pytest.importorskip("mypy.api", reason="mypy is in the dev extra")

SNIPPET = """
from breaker_core import CircuitBreaker, Registry

registry = Registry.from_settings({"dependencies": {"inventory": {}}})
breaker = CircuitBreaker("inventory")


@registry.guard("inventory", fallback=None)
def stock(sku: str, *, warehouse: int = 1) -> int:
    return len(sku) + warehouse


@registry.guard("inventory")
async def astock(sku: str) -> int:
    return len(sku)


@breaker
def plain(sku: str) -> int:
    return len(sku)


async def use() -> None:
    good: int = stock("abc", warehouse=2)
    agood: int = await astock("abc")
    pgood: int = plain("abc")
    {bad}
"""

CASES = {
    "stock(42)": 'Argument 1 to "stock" has incompatible type "int"; expected "str"',
    "stock('a', shelf=3)": 'Unexpected keyword argument "shelf" for "stock"',
    "text: str = stock('a')": 'Incompatible types in assignment (expression has type "int"',
    "await astock(1)": 'Argument 1 to "astock" has incompatible type "int"; expected "str"',
    "atext: str = await astock('a')": "Incompatible types in assignment",
    "plain(1)": 'Argument 1 to "plain" has incompatible type "int"; expected "str"',
}


def test_right_uses_pass_and_each_wrong_use_fails_on_its_own_line(tmp_path):
    bad_lines = "\n    ".join(CASES)
    source = tmp_path / "snippet.py"
    text = textwrap.dedent(SNIPPET).replace("{bad}", bad_lines)
    source.write_text(text)
    stdout, stderr, status = mypy_api.run(
        [
            "--strict",
            "--cache-dir",
            str(tmp_path / ".mypy_cache"),
            "--config-file",
            "",
            str(source),
        ]
    )
    output = stdout + stderr
    assert status == 1, output
    lines = text.splitlines()
    errors = [line for line in output.splitlines() if ": error: " in line]
    for bad, expected in CASES.items():
        number = next(i for i, line in enumerate(lines, 1) if line.strip() == bad)
        mine = [e for e in errors if e.startswith(f"{source}:{number}: ")]
        assert any(expected in e for e in mine), (bad, output)
    # The right uses above the wrong ones raise nothing.
    first_bad = min(i for i, line in enumerate(lines, 1) if line.strip() in CASES)
    assert all(int(e.split(":")[1]) >= first_bad for e in errors), output
