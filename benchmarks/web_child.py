"""Each framework's benchmark in a child process: ``python -m benchmarks.web_child FRAMEWORK``.

A framework is measured in a fresh interpreter of its own: Django's settings
are global to a process (configuring them in the harness's process, or in a
pytest process, would decide them for everything else there), and a fresh
process keeps one framework's imports, signal receivers and caches away from
another's figures. The child prints ``progress <text>`` lines while it works
and one ``result <json>`` line (the framework's section of the results) at
the end; :func:`time_framework` runs it and reads them.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import logging
import os
import select
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.interleaved import BlockPlan

__all__ = ["FRAMEWORKS", "Framework", "main", "time_framework"]

ROOT = Path(__file__).resolve().parents[1]
LINE_TIMEOUT = 300.0
"""Longest wait (seconds) for the child's next line before it is stopped."""


@dataclass(frozen=True)
class Framework:
    """A framework's benchmark: what it needs installed, where it lives, its plans."""

    title: str
    modules: tuple[str, ...]
    function: str
    full: BlockPlan
    quick: BlockPlan

    def missing(self) -> str | None:
        """Why the framework or its integration cannot be imported here, or None."""
        for module in self.modules:
            if importlib.util.find_spec(module) is None:
                return f"{module} is not installed; install the {self.modules[0]} extra"
        return None


QUICK = BlockPlan(block=5, blocks=2, rounds=3, warmup=5)
"""``--quick``: a few requests, three rounds; only proves that everything runs."""

WSGI_PLAN = BlockPlan(block=25, blocks=12, rounds=41, warmup=300)
"""Django and Flask: 41 rounds of 12 blocks of 25 requests per side (300 to warm up).

One collection per round instead of one per loop leaves time for 41 rounds
where the single loops of 300 requests took 31 in the same time.
"""

ASGI_PLAN = BlockPlan(block=80, blocks=12, rounds=39, warmup=1000)
"""Starlette (a request takes about a sixth of Flask's): 39 rounds of 12 blocks of 80."""

FRAMEWORKS: dict[str, Framework] = {
    "django": Framework(
        "Django",
        ("django", "breaker_django"),
        "benchmarks.web_django:time_django",
        WSGI_PLAN,
        QUICK,
    ),
    "flask": Framework(
        "Flask",
        ("flask", "breaker_flask"),
        "benchmarks.web_flask:time_flask",
        WSGI_PLAN,
        QUICK,
    ),
    "starlette": Framework(
        "Starlette",
        ("starlette", "breaker_starlette"),
        "benchmarks.web_starlette:time_starlette",
        ASGI_PLAN,
        QUICK,
    ),
}
"""The frameworks, in report order, with their plans."""


# -- the parent's side --------------------------------------------------------------------


def _not_measured(framework: Framework, reason: str, missing: bool) -> dict[str, Any]:
    return {"measured": False, "missing": missing, "framework": framework.title, "reason": reason}


def _next_line(process: subprocess.Popen[str]) -> str:
    stdout = process.stdout
    assert stdout is not None
    ready, _, _ = select.select([stdout], [], [], LINE_TIMEOUT)
    if not ready:
        raise TimeoutError(f"no output for {LINE_TIMEOUT:g} s")
    return stdout.readline()


def time_framework(name: str, quick: bool, progress: Callable[[str], None]) -> dict[str, Any]:
    """Run one framework's benchmark in a child process and return its section of the results.

    The section is ``measured: False`` with ``missing: True`` when the
    framework or its integration is not installed, ``missing: False`` when
    the child failed; ``reason`` says why.
    """
    framework = FRAMEWORKS[name]
    missing = framework.missing()
    if missing is not None:
        return _not_measured(framework, missing, missing=True)
    command = ["-m", "benchmarks.web_child", name, *(["--quick"] if quick else [])]
    env = {key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"}
    result: dict[str, Any] | None = None
    started = time.perf_counter()
    with tempfile.TemporaryFile("w+") as errors:
        process = subprocess.Popen(
            [sys.executable, *command],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=errors,
            text=True,
        )
        try:
            while True:
                line = _next_line(process)
                if not line:
                    break
                kind, _, text = line.rstrip("\n").partition(" ")
                if kind == "progress":
                    progress(f"timing {framework.title}: {text}")
                elif kind == "result":
                    result = json.loads(text)
        except TimeoutError as exc:
            process.kill()
            return _not_measured(framework, f"the child process stalled ({exc})", missing=False)
        finally:
            status = process.wait()
            if process.stdout is not None:
                process.stdout.close()
        errors.seek(0)
        tail = [line for line in errors.read().splitlines() if line.strip()][-1:]
    if status != 0 or result is None:
        detail = f": {tail[0]}" if tail else ""
        reason = f"the child process failed (exit status {status}){detail}"
        return _not_measured(framework, reason, missing=False)
    result["process"] = {
        "command": ["python", *command],
        "wall_s": round(time.perf_counter() - started, 1),
    }
    return result


# -- the child's side ---------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    """Measure one framework and print its section as a ``result`` line."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.web_child",
        description="Time one web integration against the same app without it.",
    )
    parser.add_argument("framework", choices=list(FRAMEWORKS))
    parser.add_argument("--quick", action="store_true", help="tiny loops: a smoke run")
    args = parser.parse_args(argv)
    framework = FRAMEWORKS[args.framework]
    # The check before timing forces breakers open: keep the engine's WARNING off stderr.
    logging.getLogger("breaker_core").setLevel(logging.ERROR)
    module_name, _, function_name = framework.function.partition(":")
    measure: Callable[[BlockPlan, Callable[[str], None]], dict[str, Any]] = getattr(
        importlib.import_module(module_name), function_name
    )

    def progress(line: str) -> None:
        print(f"progress {line}", flush=True)

    section = measure(framework.quick if args.quick else framework.full, progress)
    print(f"result {json.dumps(section)}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
