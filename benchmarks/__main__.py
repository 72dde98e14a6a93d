"""Command line: ``python -m benchmarks [--quick] [--output PATH] [--http-server MODE]``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from benchmarks.http_server_control import SERVER_MODES
from benchmarks.report import DEFAULT_OUTPUT, render, write_json
from benchmarks.suite import run


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmarks, print the tables and write the JSON results; return the exit code."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Time breaker_core against peer circuit-breaker libraries.",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="tiny loops: a smoke run proving the harness works (figures are meaningless)",
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=DEFAULT_OUTPUT,
        help=f"where to write the JSON results (default: {DEFAULT_OUTPUT})",
    )
    parser.add_argument(
        "--http-server",
        choices=SERVER_MODES,
        default=SERVER_MODES[0],
        help="where the HTTP server of the transport cost runs: its own process (default) "
        "or a thread of the benchmark's process",
    )
    args = parser.parse_args(argv)

    def progress(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    results = run(quick=args.quick, progress=progress, http_server=args.http_server)
    path = write_json(results, args.output)
    print(render(results), end="")
    print(f"\nresults written to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
