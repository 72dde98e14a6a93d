"""``python -m breaker_core``: check settings, list breakers, change their state.

For any framework without a command of its own (Starlette, FastAPI, plain
Python). Settings come from a Python module (``--settings myapp.settings``
uses its ``BREAKERS``; ``--settings myapp.settings:CONFIG`` names the
attribute) or a TOML file (``--settings breakers.toml``, or
``--settings pyproject.toml:tool.breakerpanel`` for one table of it), or from
the ``BREAKERPANEL_SETTINGS`` environment variable. Standard library only.

Exit status: 0 done; 1 an action was refused (unknown dependency, state not
shared with the servers, shared storage unreachable); 2 bad usage or invalid
settings.

Layer: ops. Imports the engine only.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import re
import sys
import tomllib
import traceback
import urllib.parse
from collections.abc import Mapping, Sequence
from typing import TextIO

from breaker_core.errors import BreakerError, ConfigurationError
from breaker_core.ops.actions import (
    ACTION_HELP,
    ACTIONS,
    ActionError,
    apply_action,
    prepare_listing,
)
from breaker_core.ops.status import status_document
from breaker_core.ops.tables import format_table, table_rows
from breaker_core.registry import Registry

__all__ = ["ENVIRONMENT_VARIABLE", "SettingsError", "build_parser", "load_settings", "main", "run"]

ENVIRONMENT_VARIABLE = "BREAKERPANEL_SETTINGS"
"""Where ``--settings`` is read from when the option is not given."""

PROG = "python -m breaker_core"

_SELECTOR = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*(?:\.[A-Za-z_][A-Za-z0-9_-]*)*")


class SettingsError(BreakerError):
    """The settings could not be loaded (missing module or file, bad TOML...)."""


# -- loading -----------------------------------------------------------------------------


def _split(spec: str) -> tuple[str, str | None]:
    """``source[:selector]``: the selector is a dotted name after the last colon."""
    source, colon, selector = spec.rpartition(":")
    if colon and source and _SELECTOR.fullmatch(selector):
        return source, selector
    return spec, None


def _is_file(source: str) -> bool:
    return source.endswith(".toml") or os.sep in source or os.path.isfile(source)


def load_settings(spec: str) -> tuple[Mapping[str, object], str]:
    """Load the ``BREAKERS`` mapping named by ``spec``; return it and a name for messages.

    ``spec`` is ``module`` (its ``BREAKERS``), ``module:NAME`` (dotted
    attributes allowed), ``file.toml`` (the whole file) or
    ``file.toml:table.subtable``.

    Raises:
        SettingsError: the module or file cannot be loaded, or the attribute
            or table is missing; the message says which and how to fix it.
    """
    source, selector = _split(spec)
    if _is_file(source):
        return _load_toml(source, selector)
    return _load_module(source, selector or "BREAKERS")


def _load_toml(path: str, selector: str | None) -> tuple[Mapping[str, object], str]:
    try:
        with open(path, "rb") as file:
            document: Mapping[str, object] = tomllib.load(file)
    except FileNotFoundError:
        raise SettingsError(f"settings file {path!r} does not exist") from None
    except OSError as exc:
        raise SettingsError(f"cannot read settings file {path!r}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"settings file {path!r} is not valid TOML: {exc}") from None
    except UnicodeDecodeError as exc:
        raise SettingsError(f"settings file {path!r} is not UTF-8 text: {exc}") from None
    if selector is None:
        return document, path
    value: object = document
    walked: list[str] = []
    for part in selector.split("."):
        walked.append(part)
        if not isinstance(value, Mapping) or part not in value:
            raise SettingsError(
                f"settings file {path!r} has no table [{'.'.join(walked)}]; "
                f"add it, or name another table with --settings {path}:TABLE"
            )
        value = value[part]
    if not isinstance(value, Mapping):
        raise SettingsError(
            f"{path}:{selector} is a {type(value).__name__}, expected a table "
            f"([{selector}] with storage, defaults, dependencies...)"
        )
    return value, f"{path}:{selector}"


def _load_module(name: str, attribute: str) -> tuple[Mapping[str, object], str]:
    if not _SELECTOR.fullmatch(name) or "-" in name:
        raise SettingsError(
            f"--settings {name!r} is neither a TOML file nor a module path; "
            'use "myapp.settings", "myapp.settings:BREAKERS" or "breakers.toml"'
        )
    try:
        module = importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name is not None and (name == exc.name or name.startswith(exc.name + ".")):
            raise SettingsError(
                f"cannot import settings module {name!r} ({exc}); check the spelling and "
                "that it is importable from here (run from your project's directory, "
                "or set PYTHONPATH)"
            ) from None
        raise SettingsError(_import_failure(name, exc)) from None
    except Exception as exc:
        raise SettingsError(_import_failure(name, exc)) from None
    value: object = module
    for part in attribute.split("."):
        if not hasattr(value, part):
            raise SettingsError(
                f"settings module {name!r} has no attribute {attribute!r}; "
                f"name the mapping with --settings {name}:NAME"
            )
        value = getattr(value, part)
    label = f"{name}.{attribute}"
    if not isinstance(value, Mapping):
        raise SettingsError(
            f"{label} is a {type(value).__name__}, expected the BREAKERS mapping (a dict "
            'like {"dependencies": {"inventory": {...}}})'
        )
    return value, label


def _import_failure(name: str, exc: BaseException) -> str:
    where = ""
    frames = traceback.extract_tb(exc.__traceback__)
    if frames:
        where = f" ({frames[-1].filename}, line {frames[-1].lineno})"
    return f"importing settings module {name!r} failed: {type(exc).__name__}: {exc}{where}"


# -- commands ----------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``python -m breaker_core``."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--settings",
        metavar="SPEC",
        default=argparse.SUPPRESS,
        help=(
            "where the BREAKERS mapping is: a module (myapp.settings, myapp.settings:NAME) "
            f"or a TOML file (breakers.toml, pyproject.toml:tool.breakerpanel); "
            f"default: ${ENVIRONMENT_VARIABLE}"
        ),
    )
    parser = argparse.ArgumentParser(
        prog=PROG,
        parents=[common],
        description="Check breakerpanel settings, list breakers and change their state.",
        epilog="Without a command, lists the breakers (--json: the JSON status document).",
    )
    parser.add_argument(
        "--json", action="store_true", help="without a command: print the JSON status document"
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    listing = commands.add_parser(
        "list", parents=[common], help="list every breaker with its state (the default)"
    )
    listing.add_argument(
        "--json",
        action="store_true",
        default=argparse.SUPPRESS,  # given before the command, it counts too
        help="print the JSON status document instead",
    )
    commands.add_parser("check", parents=[common], help="validate the settings only")
    for action, (_, outcome) in ACTIONS.items():
        what = ACTION_HELP.get(action, f"afterwards the breaker is {outcome}")
        sub = commands.add_parser(action, parents=[common], help=f"{what} (shared storage only)")
        sub.add_argument("name", help="the dependency's name")
    return parser


def run(
    args: argparse.Namespace, registry: Registry, label: str, stdout: TextIO, stderr: TextIO
) -> int:
    """Carry out the parsed command on ``registry``; return the exit status."""
    command = args.command or "list"
    if command == "check":
        count = f"{len(registry)} dependenc{'y' if len(registry) == 1 else 'ies'}"
        names = f" ({', '.join(registry.names)})" if len(registry) else ""
        scheme = urllib.parse.urlsplit(registry.storage.url).scheme  # never print credentials
        where = "shared by every process" if registry.storage.shared else "kept per process"
        print(f"{label}: settings OK; {count}{names}; storage {scheme}:// ({where})", file=stdout)
        return 0
    if command == "list":
        try:
            note = prepare_listing(registry)
        except ActionError as exc:
            print(f"error: {exc}", file=stderr)
            return 1
        if getattr(args, "json", False):
            print(json.dumps(status_document(registry), indent=2), file=stdout)
        else:
            for line in format_table(table_rows(registry)):
                print(line, file=stdout)
        if note is not None:
            print(note, file=stderr)
        return 0
    try:
        # apply_action syncs with shared storage first and refuses when it is unreachable.
        message = apply_action(registry, command, args.name, out_of_process=True)
    except ActionError as exc:
        print(f"error: {exc}", file=stderr)
        return 1
    print(message, file=stdout)
    return 0


def main(
    argv: Sequence[str] | None = None,
    *,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> int:
    """Run ``python -m breaker_core`` with ``argv`` (default: ``sys.argv[1:]``).

    Returns the exit status; problems are printed to ``stderr`` without a
    traceback. Raises ``SystemExit`` only for argparse's own usage errors
    and ``--help`` (status 2 and 0).
    """
    out = stdout if stdout is not None else sys.stdout
    err = stderr if stderr is not None else sys.stderr
    args = build_parser().parse_args(argv)
    spec = getattr(args, "settings", None) or os.environ.get(ENVIRONMENT_VARIABLE)
    if not spec:
        print(
            f"error: no settings given; pass --settings myapp.settings (or breakers.toml), "
            f"or set {ENVIRONMENT_VARIABLE}",
            file=err,
        )
        return 2
    try:
        settings, label = load_settings(spec)
        registry = Registry.from_settings(settings, path=label)
    except ConfigurationError as exc:
        print(f"error: invalid settings in {spec}:", file=err)
        for problem in exc.problems:
            print(f"  {problem}", file=err)
        return 2
    except BreakerError as exc:
        print(f"error: {exc}", file=err)
        return 2
    try:
        return run(args, registry, label, out, err)
    finally:
        registry.storage.close()
