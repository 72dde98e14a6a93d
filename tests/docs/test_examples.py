"""Every Python block of the documentation runs (see ``docblocks.py`` and ``pages.py``)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests.docs.docblocks import (
    DOCS,
    FAILED,
    NOT_RUN,
    ROOT,
    SKIPPED,
    Block,
    Result,
    Unit,
    all_blocks,
    run_unit,
    units,
)
from tests.docs.pages import PAGE_ENVS, run_tests_here

MAX_COMPILE_ONLY = 0
"""Blocks marked ``# doctest: compile-only``: only where running them is impossible."""

UNITS = {unit.id: unit for unit in units(PAGE_ENVS)}
BLOCKS = [(unit.id, block) for unit in UNITS.values() for block in unit.blocks]
RESULTS: dict[str, dict[str, Result]] = {}
"""Results by unit id, then block id: a unit runs once, for its first block's test."""


def run_in_subprocess(unit: Unit) -> dict[str, Result]:
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "results.json"
        done = subprocess.run(
            [sys.executable, "-m", "tests.docs.pages", unit.id, str(out)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if done.returncode != 0 or not out.exists():
            detail = (
                f"the unit's subprocess failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
            )
            return {block.id: Result(FAILED, detail) for block in unit.blocks}
        return {key: Result(**value) for key, value in json.loads(out.read_text()).items()}


def results_of(unit: Unit) -> dict[str, Result]:
    if unit.id not in RESULTS:
        if unit.env.subprocess:
            RESULTS[unit.id] = run_in_subprocess(unit)
        else:
            RESULTS[unit.id] = run_unit(unit, run_tests_here)
    return RESULTS[unit.id]


@pytest.mark.parametrize(("unit_id", "block"), BLOCKS, ids=[f"{u}@{b.line}" for u, b in BLOCKS])
def test_block_runs(unit_id: str, block: Block) -> None:
    result = results_of(UNITS[unit_id])[block.id]
    if result.status == SKIPPED:
        pytest.skip(f"{block.id}: {result.detail}")
    if result.status in (FAILED, NOT_RUN):
        pytest.fail(f"{block.id} (unit {unit_id}):\n{result.detail}", pytrace=False)


def test_compile_only_blocks_are_rare() -> None:
    blocks = all_blocks()
    marked = [block.id for block in blocks if block.compile_only]
    print(f"{len(blocks) - len(marked)} blocks executed, {len(marked)} compile-only: {marked}")
    assert len(marked) <= MAX_COMPILE_ONLY, f"compile-only blocks: {marked}"


def test_the_runner_sees_every_python_block() -> None:
    """The runner's parser finds every block the plain search of ``test_docs.py`` finds."""
    runner = {(block.page, block.line) for block in all_blocks()}
    for page in sorted(DOCS.glob("*.md")):
        text = page.read_text()
        for match in re.finditer(r"```python\n", text):
            line = text.count("\n", 0, match.start()) + 2
            assert (page.name, line) in runner, f"{page.name}:{line}"
