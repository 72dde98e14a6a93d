"""Which server will run the project, and with how many worker processes, where one can tell.

Used by ``manage.py check --deploy`` (``breaker.W006``): per-process ``memory://``
breakers are only a problem when several worker processes serve the site.
Nothing here starts or imports a server; it reads what the server would read:
``GUNICORN_CMD_ARGS``, ``WEB_CONCURRENCY`` (gunicorn's and uvicorn's worker
count), ``UWSGI_PROCESSES`` and a ``gunicorn.conf.py`` in the current directory.

Layer: integration. Imports breaker_core's declared interface only (breaker_core,
breaker_core.extension, .web, .ops).
"""

from __future__ import annotations

import ast
import dataclasses
import importlib.util
import os
import re
import sys
from pathlib import Path

__all__ = ["Workers", "worker_processes"]

# Servers that run several worker processes, each with its own memory:// breakers.
MULTI_PROCESS_SERVERS = ("gunicorn", "uwsgi", "mod_wsgi")

_WORKERS_OPTION = re.compile(r"(?:^|\s)(?:-w\s*|--workers(?:=|\s+))(\d+)(?:\s|$)")


@dataclasses.dataclass(frozen=True)
class Workers:
    """What is known of the worker processes: ``count`` (None: unknown) and what told."""

    count: int | None
    source: str


def _from_config_file(path: Path) -> int | None:
    """``workers = N`` in a gunicorn config file, when N is a literal integer."""
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except (OSError, SyntaxError, UnicodeDecodeError, ValueError):
        return None
    count: int | None = None
    for node in tree.body:
        if (
            isinstance(node, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id == "workers" for t in node.targets)
            and isinstance(node.value, ast.Constant)
            and type(node.value.value) is int
        ):
            count = node.value.value
    return count


def worker_processes(environ: dict[str, str] | None = None, cwd: Path | None = None) -> Workers:
    """How many worker processes will serve the project, as far as one can tell.

    Returns a count from the server's own settings when it is given (the
    source names it: ``WEB_CONCURRENCY=4``); else a count of None with the
    name of a multi-process server that is running or installed; else
    ``Workers(None, "")``.
    """
    env = os.environ if environ is None else environ
    match = _WORKERS_OPTION.search(env.get("GUNICORN_CMD_ARGS", ""))
    if match:
        return Workers(int(match.group(1)), f"GUNICORN_CMD_ARGS={env['GUNICORN_CMD_ARGS']!r}")
    for name in ("WEB_CONCURRENCY", "UWSGI_PROCESSES"):
        value = env.get(name, "").strip()
        if value.isdigit():
            return Workers(int(value), f"{name}={value}")
    config = (cwd if cwd is not None else Path.cwd()) / "gunicorn.conf.py"
    if config.is_file():
        count = _from_config_file(config)
        if count is not None:
            return Workers(count, f"workers = {count} in {config.name}")
    for name in MULTI_PROCESS_SERVERS:
        if name in sys.modules:
            return Workers(None, f"{name} is running")
    for name in ("gunicorn", "uwsgi"):
        if importlib.util.find_spec(name) is not None:
            return Workers(None, f"{name} is installed")
    return Workers(None, "")
