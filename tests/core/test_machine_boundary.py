"""The machine's boundary, read statically from the sources.

- Nothing outside the machine touches its private attributes. The machine is
  ``machine.py`` and the mixins it is built from (``machine_state.py``,
  ``transitions.py``, ``sharing.py``, ``admission.py``, ``outcomes.py``, with
  the types of ``phase.py``); ``breaker.py`` and ``controls.py``
  (``CircuitBreaker`` subclasses ``Machine``) and ``attempt.py`` (the ticket
  holder of its ``with`` form) and ``db_statement.py`` (the database
  statements' closed path) are its call forms. Every other module uses
  the public store API.
- The Redis package implements the port (``breaker_core.coordination``) and
  never imports the machine; the engine reaches it only lazily, by name.
- No import circle among the engine's modules and the Redis package.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ENGINE = ROOT / "breaker_core"
SCANNED = [ENGINE, ROOT / "integrations", ROOT / "benchmarks", ROOT / "example_apps"]
# The classes the machine and its call forms are built from, each in its own module.
MACHINE_CLASSES = {
    ENGINE / "machine_state.py": "MachineState",
    ENGINE / "transitions.py": "Transitions",
    ENGINE / "sharing.py": "Sharing",
    ENGINE / "admission.py": "Admission",
    ENGINE / "outcomes.py": "Outcomes",
    ENGINE / "machine.py": "Machine",
    ENGINE / "controls.py": "BreakerControls",
    ENGINE / "breaker.py": "CircuitBreaker",
}
MACHINE_FILES = {
    *MACHINE_CLASSES,
    ENGINE / "phase.py",
    ENGINE / "attempt.py",
    ENGINE / "db_statement.py",
}
MACHINE_MODULES = {
    "breaker_core." + path.stem for path in MACHINE_FILES if path.name != "attempt.py"
}


def _sources(*roots: Path) -> Iterator[Path]:
    for root in roots:
        if root.is_dir():
            yield from sorted(root.rglob("*.py"))


def _private_names() -> set[str]:
    """Every ``_name`` attribute or method of the classes Machine and CircuitBreaker are made of."""
    names: set[str] = set()
    for path, cls in MACHINE_CLASSES.items():
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef) and node.name == cls:
                for inner in ast.walk(node):
                    if isinstance(inner, ast.FunctionDef | ast.AsyncFunctionDef):
                        if inner.name.startswith("_") and not inner.name.startswith("__"):
                            names.add(inner.name)
                    elif (
                        isinstance(inner, ast.Attribute)
                        and isinstance(inner.value, ast.Name)
                        and inner.value.id == "self"
                        and inner.attr.startswith("_")
                        and not inner.attr.startswith("__")
                    ):
                        names.add(inner.attr)
    return names


def _own_private_names(tree: ast.Module) -> set[str]:
    """``_name`` attributes a module's classes set on ``self``, and their ``_methods``."""
    own: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            for inner in ast.walk(node):
                if isinstance(inner, ast.FunctionDef | ast.AsyncFunctionDef):
                    own.add(inner.name)
                elif (
                    isinstance(inner, ast.Attribute)
                    and isinstance(inner.ctx, ast.Store)
                    and isinstance(inner.value, ast.Name)
                    and inner.value.id == "self"
                ):
                    own.add(inner.attr)
    return own


def test_the_private_names_are_found():
    names = _private_names()
    assert {"_phase", "_window", "_probes", "_lock", "_coord", "_admit", "_settle"} <= names
    # one of each module's own: a class missing from MACHINE_CLASSES would lose its names
    assert {
        "_acquire",  # machine_state.py
        "_transition",  # transitions.py
        "_manual",  # sharing.py
        "_admit_probe",  # admission.py
        "_count_success",  # outcomes.py
        "_stretch_open_wait",  # controls.py
        "_holder",  # breaker.py
    } <= names


def test_every_class_the_machine_is_built_from_is_listed():
    # A new mixin of Machine or CircuitBreaker in a module of its own would be free to
    # touch the private names without being checked as part of the machine: list it.
    listed = set(MACHINE_CLASSES.values())
    outside = []
    for path in _sources(*SCANNED):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef):
                bases = {
                    b.id if isinstance(b, ast.Name) else getattr(b, "attr", "") for b in node.bases
                }
                if node.name in listed and MACHINE_CLASSES.get(path) != node.name:
                    outside.append(f"{path.relative_to(ROOT)}: class {node.name}")
                elif bases & listed and path not in MACHINE_CLASSES:
                    outside.append(f"{path.relative_to(ROOT)}: class {node.name}{sorted(bases)}")
    assert not outside, outside


def _touches(tree: ast.Module, names: set[str]) -> list[tuple[int, str]]:
    """``(line, name)`` for every private name of ``names`` a module touches on another object."""
    # A module's own classes may use the same private names for their own state
    # (Registry._clock): those are accesses to the module's own objects.
    own = _own_private_names(tree)
    found = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and node.attr in names
            and node.attr not in own
            and not (isinstance(node.value, ast.Name) and node.value.id in {"self", "cls"})
        ):
            found.append((node.lineno, f".{node.attr}"))
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in {"getattr", "setattr", "hasattr"}
            and len(node.args) >= 2
            and isinstance(node.args[1], ast.Constant)
            and node.args[1].value in names
        ):
            found.append((node.lineno, str(node.args[1].value)))
    return found


def test_nothing_outside_the_machine_touches_its_private_attributes():
    names = _private_names()
    offences = []
    for path in _sources(*SCANNED):
        if path in MACHINE_FILES:
            continue
        for line, name in _touches(ast.parse(path.read_text()), names):
            offences.append(f"{path.relative_to(ROOT)}:{line}: {name}")
    assert not offences, "the machine's private state is touched outside it:\n" + "\n".join(
        offences
    )


def test_the_check_catches_a_module_touching_a_private_name_of_any_machine_module():
    # Names the machine's modules own, read from outside: every one is an offence.
    source = (
        "def peek(breaker):\n"
        "    breaker._phase, breaker._probe_finished, breaker._admit_probe\n"
        "    breaker._manual, breaker._count_success, breaker._stretch_open_wait\n"
        "    return getattr(breaker, '_holder')\n"
    )
    found = _touches(ast.parse(source), _private_names())
    assert sorted(name for _, name in found) == [
        "._admit_probe",
        "._count_success",
        "._manual",
        "._phase",
        "._probe_finished",
        "._stretch_open_wait",
        "_holder",
    ]


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path) -> list[tuple[str, bool]]:
    """``(module, at_top_level)`` for every import in ``path`` (relative ones resolved).

    Imports under ``if TYPE_CHECKING:`` count too: a circle hidden there is still a circle.
    """
    modules = {_module_name(p) for p in _sources(ROOT / "breaker_core")}
    tree = ast.parse(path.read_text())
    package = _module_name(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    top = {id(node) for node in tree.body}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, id(node) in top) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join([*package[: len(package) - node.level + 1], base]).strip(".")
            for alias in node.names:
                # "from package import module" depends on the module, not the package.
                target = f"{base}.{alias.name}"
                found.append((target if target in modules else base, id(node) in top))
    return found


def _engine_graph() -> dict[str, set[str]]:
    modules = {_module_name(path): path for path in _sources(ENGINE)}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        graph[name] = {target for target, _ in _imports(path) if target in modules} - {name}
    return graph


def test_the_redis_package_never_imports_the_machine():
    offences = [
        f"{path.relative_to(ROOT)} imports {target}"
        for path in _sources(ENGINE / "redis")
        for target, _ in _imports(path)
        if target in MACHINE_MODULES
    ]
    assert not offences, "\n".join(offences)


def test_the_engine_loads_the_redis_package_only_lazily():
    offences = [
        f"{path.relative_to(ROOT)} imports {target} at module level"
        for path in _sources(ENGINE)
        if "redis" not in path.relative_to(ENGINE).parts
        for target, top in _imports(path)
        if top and target.startswith("breaker_core.redis")
    ]
    assert not offences, "\n".join(offences)


def test_no_import_circle_through_the_machine_the_port_or_the_stores():
    graph = _engine_graph()
    watched = {
        name
        for name in graph
        # breaker.py is left out: attempt.py names CircuitBreaker under TYPE_CHECKING.
        if name in MACHINE_MODULES - {"breaker_core.breaker"}
        or name in {"breaker_core.coordination", "breaker_core.storage"}
        or name.startswith("breaker_core.redis")
    }
    circles = []
    for start in sorted(watched):
        stack = [(start, [start])]
        seen: set[str] = set()
        while stack:
            node, trail = stack.pop()
            for target in graph.get(node, ()):
                if target == start:
                    circles.append(" -> ".join([*trail, start]))
                elif target not in seen:
                    seen.add(target)
                    stack.append((target, [*trail, target]))
    assert not circles, "import circles:\n" + "\n".join(sorted(set(circles)))
