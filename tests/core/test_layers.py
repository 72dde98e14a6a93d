"""The layers hold: the import contracts of pyproject.toml catch a violation, no import circles.

``make lint`` runs ``lint-imports`` on the real tree; these tests show the contracts
are able to fail (a forbidden import, even inside a function, breaks them) and that
the import graph of every package has no circle, counting imports made only for the type
checker (under ``if TYPE_CHECKING:``).
"""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = tuple(
    tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["root_packages"]
)
"""The project's import packages: the one list in pyproject.toml, import-linter's roots."""
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _copy_tree(target: Path) -> Path:
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(ROOT / "breaker_core", target / "breaker_core", ignore=ignore)
    shutil.copytree(ROOT / "integrations", target / "integrations", ignore=ignore)
    shutil.copy(ROOT / "pyproject.toml", target / "pyproject.toml")
    return target


def _run_in(tree: Path, *command: str) -> subprocess.CompletedProcess[str]:
    """Run ``command`` with the copied ``tree`` (not this checkout) on the import path."""
    env = {**os.environ, "PYTHONPATH": f"{tree}{os.pathsep}{tree / 'integrations'}"}
    return subprocess.run(
        command,
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _lint(tree: Path) -> subprocess.CompletedProcess[str]:
    return _run_in(tree, str(LINT_IMPORTS), "--no-cache", "--no-logo")


def _add_to(path: Path, text: str) -> None:
    path.write_text(path.read_text(encoding="utf-8") + text, encoding="utf-8")


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    pytest.importorskip("importlinter", reason="the dev extra installs import-linter")
    if not LINT_IMPORTS.exists():
        pytest.fail(f"{LINT_IMPORTS} is missing: install the dev extra")
    return _copy_tree(tmp_path_factory.mktemp("layers"))


def test_the_tree_as_it_is_keeps_every_contract(tree):
    done = _lint(tree)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout


@pytest.mark.slow
@pytest.mark.parametrize(
    ("module", "line", "named"),
    [
        # the engine reaching up into the web layer, from inside a function
        (
            "breaker_core/registry.py",
            "def _late():\n    from breaker_core.web import pages\n\n    return pages\n",
            "breaker_core.registry -> breaker_core.web.pages",
        ),
        (
            "breaker_core/ops/health.py",
            "import breaker_core.web.routes\n",
            "breaker_core.ops.health -> breaker_core.web.routes",
        ),
        (
            "integrations/breaker_django/views.py",
            "import breaker_flask\n",
            "breaker_django.views -> breaker_flask",
        ),
        # an integration reaching past the declared interface
        (
            "integrations/breaker_flask/extension.py",
            "from breaker_core.machine import Machine\n",
            "breaker_flask.extension -> breaker_core.machine",
        ),
    ],
)
def test_a_forbidden_import_breaks_the_contracts(tmp_path, module, line, named):
    tree = _copy_tree(tmp_path)
    _add_to(tree / module, "\n\n" + line)
    done = _lint(tree)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "BROKEN" in done.stdout
    assert named in done.stdout


def _circles(graph) -> list[str]:
    """Every circle of ``graph`` as ``a -> b -> ... -> a`` (one line per module on it)."""
    circles = []
    for module in sorted(graph.modules):
        for imported in graph.find_modules_directly_imported_by(module):
            path = graph.find_shortest_chain(importer=imported, imported=module)
            if path is not None:
                circles.append(" -> ".join([module, *path]))
    return circles


def test_no_import_circle_even_for_the_type_checker():
    # Every import counts: inside functions, and under ``if TYPE_CHECKING:`` too. The
    # latter never run, but a module naming another for its annotations depends on it all
    # the same; the lower module describes what it uses (a Protocol) instead.
    grimp = pytest.importorskip("grimp", reason="the dev extra installs import-linter")
    graph = grimp.build_graph(*PACKAGES, cache_dir=None, exclude_type_checking_imports=False)
    circles = _circles(graph)
    assert not circles, "import circles:\n" + "\n".join(circles)


def _circles_of(tree: Path, *, type_checking: bool) -> list[str]:
    # grimp finds packages by import, so a copied tree is read in a process of its own.
    code = (
        "import importlib.util, json, sys, grimp\n"
        f"spec = importlib.util.spec_from_file_location('layers', {str(Path(__file__))!r})\n"
        "layers = importlib.util.module_from_spec(spec)\n"
        "spec.loader.exec_module(layers)\n"
        "graph = grimp.build_graph(*layers.PACKAGES, cache_dir=None,"
        f" exclude_type_checking_imports={not type_checking})\n"
        "print(json.dumps(layers._circles(graph)))\n"
    )
    done = _run_in(tree, sys.executable, "-c", code)
    assert done.returncode == 0, done.stderr
    circles: list[str] = json.loads(done.stdout)
    return circles


@pytest.mark.slow
def test_the_circle_check_sees_an_import_for_annotations_only(tmp_path):
    # The check is able to fail: one annotation-only import back up closes a circle
    # that a graph of run-time imports alone does not show.
    pytest.importorskip("grimp", reason="the dev extra installs import-linter")
    tree = _copy_tree(tmp_path)
    _add_to(
        tree / "breaker_core" / "policy.py",
        "\n\nfrom typing import TYPE_CHECKING\n\n"
        "if TYPE_CHECKING:\n    from breaker_core.config import BreakerConfig\n",
    )
    circle = "breaker_core.config -> breaker_core.policy -> breaker_core.config"
    assert circle in _circles_of(tree, type_checking=True)
    assert _circles_of(tree, type_checking=False) == []


def _contracts() -> dict[str, dict[str, object]]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return {c["id"]: c for c in config["tool"]["importlinter"]["contracts"]}


def test_the_interface_contract_forbids_every_other_module_of_breaker_core():
    # A new engine module is forbidden to integrations unless it is added to the
    # declared interface on purpose: the list in pyproject.toml must name them all.
    children = {
        path.stem if path.is_file() else path.name
        for path in (ROOT / "breaker_core").iterdir()
        if (path.suffix == ".py" and path.stem != "__init__") or (path / "__init__.py").exists()
    }
    declared = {"extension", "web", "ops"}
    forbidden = set(_contracts()["integrations-interface"]["forbidden_modules"])
    expected = {f"breaker_core.{name}" for name in children - declared}
    assert forbidden == expected, (
        "list a new module of breaker_core in the integrations-interface contract of "
        f"pyproject.toml (and in the engine layer): {sorted(expected ^ forbidden)}"
    )


def test_no_integration_imports_a_private_name():
    # Private names of another package (an integration's own are its business).
    offences = []
    for path in sorted((ROOT / "integrations").rglob("*.py")):
        own = path.relative_to(ROOT / "integrations").parts[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            module = (node.module or "") if isinstance(node, ast.ImportFrom) else ""
            if module.startswith("breaker_") and module.split(".")[0] != own:
                parts = module.split(".")
                names = [alias.name for alias in node.names]
                if any(p.startswith("_") for p in parts) or any(
                    n.startswith("_") and not n.startswith("__") for n in names
                ):
                    offences.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not offences, offences


def _layer_of(path: Path) -> str:
    parts = path.relative_to(ROOT).parts
    if parts[0] == "integrations":
        return "integration"
    if len(parts) == 2:
        return "entry point" if parts[1] in {"__main__.py", "cli.py", "metrics.py"} else "engine"
    return {"web": "web", "ops": "ops", "redis": "Redis driver"}[parts[1]]


def test_every_module_says_what_it_holds_and_its_layer():
    # The opening docstring says what the module holds, then "Layer: ..." with what it may
    # import; the layer must be the one the import contracts give its place.
    offences = []
    paths = [*(ROOT / "breaker_core").rglob("*.py"), *(ROOT / "integrations").rglob("*.py")]
    for path in sorted(paths):
        doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
        holds = doc.split("Layer:")[0].strip()
        if not holds or f"Layer: {_layer_of(path)}." not in doc:
            offences.append(str(path.relative_to(ROOT)))
    assert not offences, (
        "end each module's opening docstring with its layer line, like 'Layer: engine. "
        "Imports the standard library and other engine modules only.' (see "
        f"docs/decisions.md, Layers): {offences}"
    )
