"""The project's addresses, in one place: error hints link to the published documentation.

A pip user has no ``docs/`` folder, so hints name pages by their URL here.

Layer: engine. Imports the standard library and other engine modules only.
"""

from __future__ import annotations

__all__ = ["DOCS_URL", "HOMEPAGE", "ISSUES_URL", "docs_url"]

HOMEPAGE = "https://github.com/breakerpanel/breakerpanel"
"""The project's home (its repository)."""

ISSUES_URL = f"{HOMEPAGE}/issues"
"""Where bugs are reported."""

DOCS_URL = "https://breakerpanel.readthedocs.io/en/latest/"
"""The published documentation (the pages of ``docs/``, built by mkdocs)."""


def docs_url(page: str, anchor: str = "") -> str:
    """The published URL of documentation page ``page`` (``"settings"`` for docs/settings.md).

    mkdocs serves ``docs/settings.md`` at ``settings/``; ``anchor`` is a heading's id.
    """
    return f"{DOCS_URL}{page}/" + (f"#{anchor}" if anchor else "")
