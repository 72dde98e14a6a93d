"""Mapping URLs to dependencies, client construction and missing extras."""

from __future__ import annotations

import pytest

pytest.importorskip("httpx")

from breaker_core import ConfigurationError, Registry
from breaker_http import Router


@pytest.fixture
def router() -> Router:
    registry = Registry.from_settings(
        {
            "dependencies": {
                "site": {"url": "http://api.internal"},
                "search": {"url": "http://api.internal/search"},
                "search-v2": {"url": "http://api.internal/search/v2/"},
                "secure": {"url": "https://api.internal:8443"},
                "nourl": {},
            }
        }
    )
    return Router(registry)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://api.internal/", "site"),
        ("http://api.internal:80/items", "site"),
        ("http://API.Internal/items", "site"),
        ("http://api.internal/search", "search"),
        ("http://api.internal/search/q?x=1", "search"),
        ("http://api.internal/searching", "site"),  # prefixes match whole segments
        ("http://api.internal/search/v2/q", "search-v2"),  # the longest prefix wins
        ("https://api.internal:8443/x", "secure"),
        ("https://api.internal/x", None),  # other port
        ("http://api.internal:8080/x", None),
        ("http://other.internal/x", None),
        ("ftp://api.internal/x", None),
        ("http://api.internal:notaport/x", None),
    ],
)
def test_longest_matching_prefix_wins(router, url, expected):
    assert router.match_url(url) == expected


def test_client_for_a_dependency_without_url_says_how_to_fix():
    registry = Registry.from_settings({"dependencies": {"db": {}}})
    for method in (registry.client, registry.async_client, registry.session):
        with pytest.raises(ConfigurationError, match=r'BREAKERS\["dependencies"\]\[\'db\'\]'):
            method("db")


def test_client_gets_base_url_and_timeout_from_settings():
    registry = Registry.from_settings(
        {"dependencies": {"inv": {"url": "http://inv.internal:8000/api", "timeout": "2s"}}}
    )
    with registry.client("inv") as client:
        assert str(client.base_url) == "http://inv.internal:8000/api/"
        assert client.timeout.read == 2.0
    with pytest.raises(KeyError, match="declared: inv"):
        registry.client("nope")


def test_missing_http_extra_names_it(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_httpx(name, *args, **kwargs):
        if name == "httpx" or name.startswith("httpx."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return real_import(name, *args, **kwargs)

    import sys

    for module in [m for m in sys.modules if m.startswith("breaker_http")]:
        monkeypatch.delitem(sys.modules, module)
    monkeypatch.setattr(builtins, "__import__", no_httpx)
    registry = Registry.from_settings({"dependencies": {"inv": {"url": "http://x"}}})
    with pytest.raises(ConfigurationError, match=r'pip install "breakerpanel\[http\]"'):
        registry.client("inv")


def test_a_response_with_its_body_in_memory_is_settled_at_once(clock):
    """httpx.MockTransport (and any transport returning content=) never streams the body."""
    import httpx

    registry = Registry.from_settings(
        {"dependencies": {"inv": {"url": "http://inv.internal", "failure_threshold": 1}}},
        clock=clock,
    )
    answers = iter([503, 200])
    mock = httpx.MockTransport(lambda request: httpx.Response(next(answers), content=b"x"))
    with registry.client("inv", transport=mock) as client:
        assert client.get("/a").status_code == 503
        assert registry["inv"].is_open
        clock.advance(10)
        assert client.get("/a").status_code == 200  # the probe settles and closes
    assert registry["inv"].state.value == "closed"
    assert registry["inv"].snapshot()["probes_in_flight"] == 0
