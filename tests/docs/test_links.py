"""The project's addresses agree everywhere, and hints link to pages that exist.

A pip user has no checkout: error hints name documentation by its published URL
(``breaker_core.links``), never a repository path like ``docs/settings.md``.
"""

from __future__ import annotations

import ast
import re
import tomllib
from pathlib import Path

from breaker_core.links import DOCS_URL, HOMEPAGE, ISSUES_URL, docs_url

ROOT = Path(__file__).resolve().parents[2]
SOURCES = [ROOT / "breaker_core", ROOT / "integrations"]


def python_files() -> list[Path]:
    return [path for folder in SOURCES for path in sorted(folder.rglob("*.py"))]


def test_pyproject_urls_are_the_links_constants():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    urls = project["urls"]
    assert urls["Homepage"] == HOMEPAGE
    assert urls["Issues"] == ISSUES_URL
    assert DOCS_URL.startswith(urls["Documentation"])
    assert urls["Changelog"].startswith(HOMEPAGE)
    assert urls["Changelog"].endswith("/CHANGELOG.md")
    assert (ROOT / "CHANGELOG.md").is_file()


def test_the_published_site_is_the_one_hints_link_to():
    mkdocs = (ROOT / "mkdocs.yml").read_text()
    assert f"site_url: {DOCS_URL}\n" in mkdocs
    assert f"repo_url: {HOMEPAGE}\n" in mkdocs


def test_every_docs_url_in_the_code_names_an_existing_page():
    pages: set[str] = set()
    for path in python_files():
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "docs_url"
            ):
                (first, *_) = node.args
                assert isinstance(first, ast.Constant), f"{path}: docs_url needs a literal page"
                pages.add(first.value)
    assert pages, "no hint links to the documentation"
    for page in pages:
        assert (ROOT / "docs" / f"{page}.md").is_file(), page
        assert docs_url(page) == f"{DOCS_URL}{page}/"


def test_no_message_sends_a_pip_user_to_a_repository_path():
    # Docstrings may name docs/ for contributors; strings the code shows users may not.
    offenders = []
    for path in python_files():
        tree = ast.parse(path.read_text())
        # Docstrings, attribute docstrings included: a string standing as a statement.
        docstrings = {
            id(node.value)
            for node in ast.walk(tree)
            if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
        }
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and id(node) not in docstrings
                and re.search(r"\bdocs/[\w-]+\.md|example_apps/", node.value)
            ):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}: {node.value!r}")
    assert offenders == []


PAGES = [*sorted((ROOT / "docs").glob("*.md")), ROOT / "README.md"]


def test_the_docs_speak_to_users():
    """No page points to the project's own planning: its design notes or issue numbers."""
    found = [
        f"{page.name}:{text.count(chr(10), 0, match.start()) + 1}: {match.group(0)}"
        for page in PAGES
        for text in [page.read_text()]
        for match in re.finditer(r"DESIGN\.md|\b[Ii]ssue \d+|the issue\b", text)
    ]
    assert found == []


def test_pages_that_run_the_example_apps_say_they_need_a_clone():
    missing = [
        page.name
        for page in PAGES
        if "example_apps" in page.read_text()
        and not re.search(r"clone of the|checkout of the", page.read_text())
    ]
    assert missing == []
