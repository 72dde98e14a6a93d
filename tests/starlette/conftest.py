"""Fixtures of the Starlette/FastAPI tests: the async backends, a real upstream."""

from __future__ import annotations

import importlib.util
import warnings

import pytest

pytest.importorskip("starlette")
pytest.importorskip("httpx")

# Starlette 1.x warns at import that its TestClient prefers the "httpx2" package; the
# test dependencies install httpx, which it still supports. Import it once, quietly.
with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    import starlette.testclient  # noqa: F401


BACKENDS = [
    "asyncio",
    pytest.param(
        "trio",
        marks=pytest.mark.skipif(
            importlib.util.find_spec("trio") is None,
            reason="trio is not installed (pip install trio to run these under trio too)",
        ),
    ),
]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """The anyio backend the TestClient runs the app on."""
    return str(request.param)
