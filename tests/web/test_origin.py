"""The same-origin rule every dashboard's POST goes through."""

from __future__ import annotations

import pytest

from breaker_core.web.origin import cross_origin_reason, tokens_match


@pytest.mark.parametrize(
    ("site", "origin", "trusted", "refused"),
    [
        (None, None, (), False),
        ("same-origin", "http://shop.test", (), False),
        ("none", None, (), False),
        ("same-site", None, (), True),
        ("cross-site", None, (), True),
        (None, "http://evil.test", (), True),
        (None, "null", (), True),
        (None, "https://admin.test", ("https://admin.test",), False),
        (None, "HTTP://SHOP.TEST", (), False),
    ],
)
def test_cross_origin_reason(site, origin, trusted, refused):
    reason = cross_origin_reason(site, origin, "shop.test", trusted)
    assert (reason is not None) is refused


def test_tokens_match():
    assert tokens_match("abc", "abc")
    assert not tokens_match("abc", "abd")
    assert not tokens_match("abc", "")
    assert not tokens_match("abc", None)
