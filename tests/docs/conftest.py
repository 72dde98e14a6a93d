"""A summary line for the documentation's examples (``test_examples.py``)."""

from __future__ import annotations

import pytest

from tests.docs.docblocks import all_blocks


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    outcomes = {"passed": 0, "failed": 0, "skipped": 0}
    for outcome in outcomes:
        for report in terminalreporter.stats.get(outcome, []):
            if "test_examples.py::test_block_runs[" in getattr(report, "nodeid", ""):
                outcomes[outcome] += 1
    if not any(outcomes.values()):
        return
    compile_only = sum(block.compile_only for block in all_blocks())
    terminalreporter.write_line(
        f"docs examples: {outcomes['passed']} Python blocks passed "
        f"({compile_only} of all blocks only compiled), "
        f"{outcomes['skipped']} skipped, {outcomes['failed']} failed"
    )
