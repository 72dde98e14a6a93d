"""Run the Python blocks of the documentation, so that its examples cannot rot.

The pages are read into *units*: the Python blocks of one page (or of one section of a
page, for pages with one section per framework), run in order in one namespace, the way
a reader pastes them one after the other. Each unit runs inside an *environment*
(``tests/docs/pages.py``) that provides the names the examples assume without showing
them (a fake ``inventory_api``, an app to decorate, Django configured from the page's
own ``settings.py`` block...).

How a block runs:

- A block marked ``# doctest: compile-only`` is only compiled (counted and capped by the
  tests: use it only where running is impossible).
- A block is cut into parts at lines like ``# shop/main.py``: each such part is a
  *file*; it is executed as that module (``shop.main``, its packages created as needed,
  kept in ``sys.modules`` for the unit, so later blocks may import it), and its public
  names are also copied into the unit's namespace. (Files under ``tests/`` become
  ``docs_tests...`` modules, so they never stand in for this project's ``tests`` package.)
- A part that defines tests (``def test_...``) is a test module: it is run by pytest,
  with the unit's names as its starting globals (unless the environment says the page's
  test modules must be complete on their own). It adds nothing to the namespace.
- A part with top-level ``await`` runs inside ``asyncio.run``.
- Code runs with the page as its file name and its lines at their place in the page, so
  a traceback points at the line of the page.
- Hosts ending in ``.internal`` (``http://inventory.internal:8000``) resolve to a real
  local server (``tests/docs/outage.py``), started on first use, that answers as
  ``example_apps.upstream`` does; a page's check may make it fail or hang
  (:func:`current_upstream`, ``outage.sweep``).
- Whenever the namespace holds ``BREAKERS`` after a block, it must be valid settings.
"""

from __future__ import annotations

import ast
import asyncio
import contextlib
import dataclasses
import importlib.util
import inspect
import io
import os
import re
import socket
import sys
import traceback
import types
import warnings
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
PAGES = [*sorted(DOCS.glob("*.md")), ROOT / "README.md"]

COMPILE_ONLY = "# doctest: compile-only"
PYTHON_FENCES = {"python", "py", "python3"}
FILE_HEADER = re.compile(r"^# ((?:[A-Za-z_]\w*/)*[A-Za-z_]\w*)\.py\b")
FENCE = re.compile(r"^(\s*)(`{3,})\s*([\w+-]*)")
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")

OK, COMPILED, SKIPPED, FAILED, NOT_RUN = "ok", "compile-only", "skipped", "failed", "not run"

RunTests = Callable[[str, str], str | None]
"""``run_tests(module_name, source)``: run a test module with pytest; None, or the output."""


# -- reading the pages ---------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Block:
    """One fenced Python block of a page."""

    page: str  # file name: "engine.md", or "README.md"
    path: Path
    line: int  # line of the block's first code line in the page (1-based)
    section: str  # the nearest "## " heading above it ("" before the first)
    code: str

    @property
    def id(self) -> str:
        return f"{self.page}:{self.line}"

    @property
    def compile_only(self) -> bool:
        return any(line.strip() == COMPILE_ONLY for line in self.code.splitlines())


def read_blocks(path: Path) -> list[Block]:
    """The Python blocks of a Markdown page, in order (indented fences included)."""
    blocks: list[Block] = []
    section = ""
    fence: tuple[str, str, str, int] | None = None  # indent, backticks, language, first line
    lines: list[str] = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        match = FENCE.match(line)
        if fence is None:
            if match:
                fence = (match.group(1), match.group(2), match.group(3).lower(), number + 1)
                lines = []
                continue
            heading = HEADING.match(line)
            if heading and len(heading.group(1)) == 2:
                section = heading.group(2)
            continue
        indent, ticks, language, first = fence
        if match and match.group(2) == ticks and not line.strip()[len(ticks) :]:
            if language in PYTHON_FENCES:
                code = "\n".join(
                    text[len(indent) :] if text.startswith(indent) else text.lstrip()
                    for text in lines
                )
                blocks.append(Block(path.name, path, first, section, code + "\n"))
            fence = None
            continue
        lines.append(line)
    return blocks


def all_blocks() -> list[Block]:
    return [block for page in PAGES for block in read_blocks(page)]


# -- environments --------------------------------------------------------------------------


class Env:
    """What a unit's blocks assume. Subclasses (``tests/docs/pages.py``) fill it in.

    ``names``: a function returning the names the blocks use without defining them.
    ``keep``: names that a block may rebind to show an alternative, but that later
    blocks must still see with their first value. ``optional``: modules that are not
    installed by ``make test`` (module -> how to install it): a block importing a missing
    one is skipped, with that hint. ``self_contained_tests``: test modules of the unit
    must import everything they use (they do not see the unit's names).
    """

    subprocess = False

    def __init__(
        self,
        names: Callable[[], Mapping[str, object]] | None = None,
        *,
        keep: tuple[str, ...] = (),
        optional: Mapping[str, str] | None = None,
        self_contained_tests: bool = False,
        check: Callable[[dict[str, Any], str], None] | None = None,
    ) -> None:
        self.names = names
        self.keep = keep
        self.optional = dict(optional or {})
        self.self_contained_tests = self_contained_tests
        self._check = check

    def setup(self, ns: dict[str, Any], stack: ExitStack) -> None:
        """Fill the namespace before the first block."""
        if self.names is not None:
            ns.update(self.names())

    def on_module(self, name: str, module: types.ModuleType, ns: dict[str, Any]) -> None:
        """A file block was executed as module ``name``."""

    def after_block(self, ns: dict[str, Any], stack: ExitStack) -> None:
        """Called after each block that ran without an error."""

    def check(self, ns: dict[str, Any], printed: str) -> None:
        """After the last block: use what the blocks defined, read what they printed."""
        if self._check is not None:
            self._check(ns, printed)


@dataclasses.dataclass
class Unit:
    """Blocks run in order in one namespace, in one environment."""

    id: str
    blocks: list[Block]
    env: Env


def units(page_envs: Mapping[str, Env | Mapping[str, Env]]) -> list[Unit]:
    """Group every block into units: one per page, or one per listed section of a page.

    ``page_envs[page]`` is the page's environment, or a mapping from section headings to
    environments (the key ``""`` is for every other section of the page). Sections given
    the same environment object run as one unit, named after the first of them.
    """
    found: dict[tuple[str, int], Unit] = {}
    default = Env()
    for block in all_blocks():
        entry = page_envs.get(block.page, default)
        if isinstance(entry, Env):
            name, env = block.page, entry
        elif block.section in entry:
            name, env = f"{block.page}#{block.section}", entry[block.section]
        else:
            name, env = block.page, entry.get("", default)
        found.setdefault((block.page, id(env)), Unit(name, [], env)).blocks.append(block)
    return list(found.values())


# -- running -------------------------------------------------------------------------------


@dataclasses.dataclass
class Result:
    status: str
    detail: str = ""


def split_files(code: str) -> list[tuple[str | None, bool, int, str]]:
    """Cut a block at ``# path/module.py`` lines.

    Returns ``(module name or None, is a package, offset of the part's first line, code)``.
    """
    parts: list[tuple[str | None, bool, int, list[str]]] = [(None, False, 0, [])]
    for offset, line in enumerate(code.splitlines()):
        match = FILE_HEADER.match(line)
        if match:
            path = match.group(1)
            package = path == "__init__" or path.endswith("/__init__")
            name = path.removesuffix("__init__").rstrip("/").replace("/", ".")
            if name == "tests" or name.startswith("tests."):
                name = f"docs_{name}"  # never in place of the project's own tests package
            parts.append((name, package, offset, []))
        parts[-1][3].append(line)
    return [
        (name, package, offset, "\n".join(lines) + "\n")
        for name, package, offset, lines in parts
        if name is not None or any(line.strip() for line in lines)
    ]


def defines_tests(code: str) -> bool:
    """Whether ``code`` defines what pytest collects: test functions, test classes, TestCases."""

    def base_name(base: ast.expr) -> str:
        return base.attr if isinstance(base, ast.Attribute) else getattr(base, "id", "")

    return any(
        (isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test"))
        or (
            isinstance(node, ast.ClassDef)
            and (
                node.name.startswith("Test")
                or any(base_name(base).endswith("TestCase") for base in node.bases)
            )
        )
        for node in ast.parse(code).body
    )


def imported_modules(code: str) -> set[str]:
    """The top-level packages ``code`` imports."""
    modules = set()
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.Import):
            modules.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            modules.add(node.module.split(".")[0])
    return modules


def compile_at(code: str, block: Block, offset: int) -> types.CodeType:
    """Compile ``code`` with the page as its file name and its lines where they are."""
    padded = "\n" * (block.line - 1 + offset) + code
    flags = ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
    return compile(padded, str(block.path), "exec", flags=flags, dont_inherit=True)


def execute(code: str, block: Block, offset: int, ns: dict[str, Any]) -> None:
    """Run ``code`` in ``ns``; inside ``asyncio.run`` when it has top-level ``await``."""
    compiled = compile_at(code, block, offset)
    if compiled.co_flags & inspect.CO_COROUTINE:
        asyncio.run(eval(compiled, ns))
    else:
        exec(compiled, ns)


_ACTIVE: list[Any] = []


def current_upstream() -> Any:
    """The :class:`tests.docs.outage.DocsUpstream` ``*.internal`` hosts resolve to (started)."""
    return _ACTIVE[-1]()


@contextlib.contextmanager
def internal_hosts() -> Iterator[None]:
    """Send connections to ``*.internal`` hosts (any port) to a local flaky upstream.

    The upstream starts on first use. Name resolution (``socket.getaddrinfo``: the standard
    library, requests, httpx's sync client) and anyio's ``connect_tcp`` (httpx's async
    client, which connects to the resolved address on the *requested* port) are patched.
    Proxies from the environment are turned off meanwhile, so requests go to it.
    """
    import anyio

    from tests.docs.outage import DocsUpstream

    real_getaddrinfo, real_connect_tcp = socket.getaddrinfo, anyio.connect_tcp
    upstream: list[Any] = []

    def internal(host: Any) -> bool:
        name = host.decode() if isinstance(host, bytes) else host
        return isinstance(name, str) and name.endswith(".internal")

    def started() -> Any:
        if not upstream:
            upstream.append(DocsUpstream().start())
        return upstream[0]

    def upstream_port() -> int:
        return int(started().port)

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if internal(host):
            return real_getaddrinfo("127.0.0.1", upstream_port(), *args, **kwargs)
        return real_getaddrinfo(host, port, *args, **kwargs)

    async def connect_tcp(remote_host: Any, remote_port: int, **kwargs: Any) -> Any:
        if internal(remote_host):
            remote_host, remote_port = "127.0.0.1", upstream_port()
        return await real_connect_tcp(remote_host, remote_port, **kwargs)

    saved = {key: os.environ.get(key) for key in ("NO_PROXY", "no_proxy")}
    socket.getaddrinfo = getaddrinfo
    anyio.connect_tcp = connect_tcp
    os.environ["NO_PROXY"] = os.environ["no_proxy"] = "*"
    _ACTIVE.append(started)
    try:
        yield
    finally:
        _ACTIVE.remove(started)
        socket.getaddrinfo, anyio.connect_tcp = real_getaddrinfo, real_connect_tcp
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        for server in upstream:
            server.stop()


def quiet_imports() -> None:
    """Import what warns at import time, once, quietly, as the project's own tests do.

    Starlette 1.x warns when ``starlette.testclient`` is imported with httpx rather than
    httpx2; httpx is what breakerpanel's extras install, and Starlette still supports it.
    """
    if importlib.util.find_spec("starlette") is not None:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
            import starlette.testclient  # noqa: F401


def close_resources(values: list[object]) -> None:
    """Close the clients, sessions and registries the blocks left open."""
    import httpx
    import requests

    from breaker_core import Registry

    for value in values:
        if isinstance(value, httpx.Client | requests.Session | Registry):
            value.close()
        elif isinstance(value, httpx.AsyncClient) and not value.is_closed:
            asyncio.run(value.aclose())


def settings_problems(ns: Mapping[str, Any]) -> list[str]:
    """What is wrong with ``ns["BREAKERS"]``, when the namespace holds settings."""
    from breaker_core.cache import MemoryCache
    from breaker_core.settings import settings_problems

    if not isinstance(ns.get("BREAKERS"), Mapping):
        return []
    django = {"django": lambda url, parts, clock: MemoryCache(clock=clock)}
    return settings_problems(ns["BREAKERS"], cache_schemes=django)


class Runner:
    """Runs the blocks of one unit in one namespace; everything it sets up, it undoes."""

    def __init__(self, unit: Unit, run_tests: RunTests, stack: ExitStack) -> None:
        self.unit = unit
        self.env = unit.env
        self.run_tests = run_tests
        self.stack = stack
        self.modules: list[types.ModuleType] = []
        self.printed = io.StringIO()  # what the blocks print (the pages show it in comments)
        slug = re.sub(r"\W+", "_", unit.id)
        self.ns: dict[str, Any] = self.module(f"docs_{slug}", package=False).__dict__

    def module(self, name: str, *, package: bool) -> types.ModuleType:
        """The module of a file block, created (with its parent packages) if needed."""
        module = sys.modules.get(name)
        if module is None or module not in self.modules:
            module = types.ModuleType(name)
            self.modules.append(module)
            previous = sys.modules.get(name)
            sys.modules[name] = module
            self.stack.callback(_restore_module, name, previous)
            parent, _, child = name.rpartition(".")
            if parent:
                setattr(self.module(parent, package=True), child, module)
        if package and not hasattr(module, "__path__"):
            module.__path__ = []  # type: ignore[attr-defined]
        return module

    def run(self) -> dict[str, Result]:
        quiet_imports()
        self.stack.enter_context(internal_hosts())
        self.stack.callback(self.close)
        try:
            self.env.setup(self.ns, self.stack)
        except Exception:
            detail = f"the environment's setup failed:\n{traceback.format_exc()}"
            return {block.id: Result(FAILED, detail) for block in self.unit.blocks}
        results: dict[str, Result] = {}
        failed = ""
        for block in self.unit.blocks:
            if failed:
                results[block.id] = Result(NOT_RUN, f"not run: block {failed} failed")
                continue
            results[block.id] = result = self.block(block)
            if result.status == FAILED:
                failed = block.id
        if not failed:
            try:
                self.env.check(self.ns, self.printed.getvalue())
            except Exception:
                last = self.unit.blocks[-1].id
                detail = f"the page's check, after this block, failed:\n{traceback.format_exc()}"
                results[last] = Result(FAILED, detail)
        return results

    def close(self) -> None:
        values = list(self.ns.values())
        for module in self.modules:
            values.extend(vars(module).values())
        close_resources(values)

    def block(self, block: Block) -> Result:
        env = self.env
        if block.compile_only:
            try:
                compile_at(block.code, block, 0)
            except SyntaxError:
                return Result(FAILED, traceback.format_exc())
            return Result(COMPILED)
        missing = sorted(
            module
            for module in imported_modules(block.code)
            if module in env.optional and importlib.util.find_spec(module) is None
        )
        if missing:
            why = "; ".join(f"{name} is not installed ({env.optional[name]})" for name in missing)
            return Result(SKIPPED, why)
        kept = {name: self.ns[name] for name in env.keep if name in self.ns}
        try:
            with contextlib.redirect_stdout(self.printed):
                self.parts(block)
            self.ns.update(kept)
            env.after_block(self.ns, self.stack)
            problems = settings_problems(self.ns)
            if problems:
                return Result(FAILED, "BREAKERS is not valid:\n" + "\n".join(problems))
        except TestsFailed as failed:
            return Result(FAILED, f"this block's tests failed under pytest:\n{failed}")
        except Exception:
            return Result(FAILED, traceback.format_exc())
        return Result(OK)

    def parts(self, block: Block) -> None:
        """Run the parts of a block: code, files, test modules."""
        env = self.env
        for name, package, offset, code in split_files(block.code):
            if defines_tests(code):
                # A test module: imported once here (its imports fail here, and are
                # done before pytest runs it), then run by pytest.
                scratch = {"__name__": self.ns["__name__"]}
                if not env.self_contained_tests:
                    scratch = dict(self.ns)
                execute(code, block, offset, scratch)
                output = self.run_tests(
                    f"test_{Path(block.page).stem}_{block.line + offset}",
                    self.test_module(code, block, offset),
                )
                if output is not None:
                    raise TestsFailed(output)
            elif name is None:
                execute(code, block, offset, self.ns)
            else:
                module = self.module(name, package=package)
                execute(code, block, offset, module.__dict__)
                public = {k: v for k, v in vars(module).items() if not k.startswith("_")}
                self.ns.update(public)
                env.on_module(name, module, self.ns)

    def test_module(self, code: str, block: Block, offset: int) -> str:
        """A test module for pytest: the part's lines at their line numbers in the page."""
        header = ""
        if not self.env.self_contained_tests:
            header = f"from {self.ns['__name__']} import *  # noqa: F403\n"
        padding = max(0, block.line - 1 + offset - header.count("\n"))
        return header + "\n" * padding + code


class TestsFailed(Exception):
    """A test module of a block failed under pytest; the message is pytest's output."""

    __test__ = False  # not a test class


def _restore_module(name: str, previous: types.ModuleType | None) -> None:
    if previous is None:
        sys.modules.pop(name, None)
    else:
        sys.modules[name] = previous


def run_unit(unit: Unit, run_tests: RunTests) -> dict[str, Result]:
    """Run every block of ``unit``; the result of each block, by block id."""
    with ExitStack() as stack:
        return Runner(unit, run_tests, stack).run()
