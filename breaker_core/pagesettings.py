"""``BREAKERS["pages"]``: the settings of kept pages, shared by every framework.

```python
BREAKERS = {
    "pages": {
        "shared_cookies": ["_ga", "_ga_*", "consent"],  # cookies that never personalise a page
        "credential_headers": ["authorization", "x-api-key"],  # like Authorization
        "max_body": 1_000_000,                          # largest body kept, in bytes
    },
    ...
}
```

Every key is optional; see ``docs/pages.md`` for what each one decides and why
the defaults are what they are. Standard library only.

Layer: engine. Imports the standard library and other engine modules only.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterable, Mapping

from breaker_core import validation as v

__all__ = [
    "DEFAULT_CREDENTIAL_HEADERS",
    "DEFAULT_MAX_BODY",
    "DEFAULT_SHARED_COOKIES",
    "PAGES_KEYS",
    "PageSettings",
    "parse_pages",
]

DEFAULT_SHARED_COOKIES: tuple[str, ...] = (
    # Analytics and advertising identifiers: read by scripts in the browser, never
    # by the server to build a page.
    "_ga",
    "_ga_*",
    "_gid",
    "_gat",
    "_gat_*",
    "_gcl_*",
    "_fbp",
    "_fbc",
    "_hjSession*",
    "_hjid",
    "_pk_id*",
    "_pk_ses*",
    "ajs_anonymous_id",
    "mp_*",
    # The CSRF cookie of breakerpanel's own Starlette dashboard.
    "breakerpanel_csrf",
)
"""Cookies that never personalise a page, whatever the framework (``*`` ends a prefix)."""

DEFAULT_CREDENTIAL_HEADERS: tuple[str, ...] = (
    "authorization",
    "proxy-authorization",
    "x-api-key",
    "api-key",
    "x-auth-token",
    "x-access-token",
)
"""Request headers that identify a caller, treated like ``Authorization``."""

DEFAULT_MAX_BODY = 1_000_000
"""Largest body (bytes) kept as a page's last good copy."""

PAGES_KEYS = ("shared_cookies", "credential_headers", "max_body")
"""The keys of ``BREAKERS["pages"]``."""

_COOKIE = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+\*?")
_HEADER = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")


@dataclasses.dataclass(frozen=True, slots=True)
class PageSettings:
    """What decides whether a page may be kept, beyond the response itself.

    ``shared_cookies``: cookie names (a trailing ``*`` makes a prefix) that never
    personalise a page. ``key_cookies``: cookies whose value picks a variant of
    the page (Django's language cookie): their values are part of the key.
    ``credential_headers``: lowercase request header names that identify a caller.
    """

    shared_cookies: tuple[str, ...] = DEFAULT_SHARED_COOKIES
    credential_headers: tuple[str, ...] = DEFAULT_CREDENTIAL_HEADERS
    max_body: int = DEFAULT_MAX_BODY
    key_cookies: tuple[str, ...] = ()

    def extended(
        self, *, shared_cookies: Iterable[str] = (), key_cookies: Iterable[str] = ()
    ) -> PageSettings:
        """These settings plus a framework's own cookies (its CSRF or language cookie)."""
        shared = tuple(dict.fromkeys([*self.shared_cookies, *shared_cookies]))
        keyed = tuple(dict.fromkeys([*self.key_cookies, *key_cookies]))
        return dataclasses.replace(self, shared_cookies=shared, key_cookies=keyed)


def _names(value: object, pattern: re.Pattern[str], allowed: str) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, list | tuple):
        raise v.Invalid(allowed)
    for item in value:
        if not isinstance(item, str) or not pattern.fullmatch(item):
            raise v.Invalid(allowed, f"{v.describe(item)} is not a valid name")
    return tuple(value)


def parse_pages(raw: object, path: str, problems: list[str]) -> PageSettings:
    """``BREAKERS["pages"]`` parsed; problems are appended to ``problems``."""
    if raw is None:
        return PageSettings()
    if not isinstance(raw, Mapping):
        problems.append(v.Invalid("a mapping (dict) of settings").message(path, raw))
        return PageSettings()
    for key in raw:
        if key not in PAGES_KEYS:
            problems.append(v.unknown_key_problem(path, key, PAGES_KEYS))
    found: dict[str, object] = {}
    checks: dict[str, Callable[[object], object]] = {
        "shared_cookies": lambda value: _names(
            value, _COOKIE, 'a list of cookie names, a trailing "*" for a prefix, like ["_ga*"]'
        ),
        "credential_headers": lambda value: tuple(
            name.lower()
            for name in _names(value, _HEADER, 'a list of header names, like ["x-api-key"]')
        ),
        "max_body": v.positive_int,
    }
    for key, check in checks.items():
        if key in raw:
            try:
                found[key] = check(raw[key])
            except v.Invalid as exc:
                problems.append(exc.message(v.key_path(path, key), raw[key]))
    return PageSettings(**found)  # type: ignore[arg-type]
