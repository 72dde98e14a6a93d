"""The same-origin test the dashboards' state-changing POSTs share.

Every integration checks its CSRF token its own way (Django's middleware, a
session token in Flask, a double-submit cookie in Starlette); on top of that
the browser's own word on where a POST comes from is judged here, once.

Layer: web. Imports the engine and breaker_core.ops, never the Redis driver.
"""

from __future__ import annotations

import hmac
import urllib.parse
from collections.abc import Collection

__all__ = ["cross_origin_reason", "tokens_match"]


def cross_origin_reason(
    sec_fetch_site: str | None,
    origin: str | None,
    host: str | None,
    trusted_origins: Collection[str] = (),
) -> str | None:
    """Why a POST with these headers comes from another site, or None when it does not.

    ``Sec-Fetch-Site`` must be ``same-origin`` or ``none`` when sent (a sibling
    subdomain, ``same-site``, is another site); ``Origin``, when sent, must name
    ``host`` or one of ``trusted_origins``. Clients that send neither header
    pass this test: the CSRF token still has to match.
    """
    site = (sec_fetch_site or "").lower()
    if site and site not in ("same-origin", "none"):
        return f"the request came from another site (Sec-Fetch-Site: {site})"
    if origin is None or origin in trusted_origins:
        return None
    if origin == "null" or urllib.parse.urlsplit(origin).netloc.lower() != (host or "").lower():
        return f"the request came from another origin ({origin})"
    return None


def tokens_match(expected: str, sent: object) -> bool:
    """Constant-time comparison of a CSRF token with what the request sent."""
    return (
        isinstance(sent, str)
        and bool(sent)
        and hmac.compare_digest(expected.encode(), sent.encode())
    )
