"""The one rule for what page may be kept, and the one key it is kept under.

Every framework translates its request into a :class:`PageRequest` and its
response into ``(status, headers, body)``; this module decides.

**The rule** (:func:`refusal`): a response is kept only if a shared HTTP cache
could store it (RFC 9111 section 3): the answer to a GET, status 200, no
``Set-Cookie``, no ``Cache-Control`` of ``private``, ``no-store`` or
``no-cache`` (nor ``no-store`` on the request), no ``Vary: *``, a body of at
most ``max_body`` bytes, and no ``Authorization`` (or other credential header)
on the request unless the response says ``Cache-Control: public``. Beyond
that, never when the request carried a cookie that could have personalised it
(any cookie not listed in ``shared_cookies`` or ``key_cookies``), unless the
response says ``Cache-Control: public``. Frameworks do not add ``Vary: Cookie``
when a view merely reads a cookie, so a shared cache's rule alone would keep
such a page; this one does not.

**The key** (:func:`primary_key`, :func:`variant`): the dependency, the scheme
and authority (``Host``), the method (HEAD reads what GET kept), and the path
and query, each length-prefixed so no two requests share a key text. Every
header the response names in ``Vary`` is honoured: the kept copy records the
request's values of those headers (``Cookie`` reduced to the cookies that may
personalise) and of the ``key_cookies``, and is only served to a request with
the same values.

Layer: web. Imports the engine and breaker_core.ops, never the Redis driver.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable

from breaker_core.pagesettings import PageSettings

__all__ = [
    "PageRequest",
    "cache_directives",
    "cookie_pairs",
    "primary_key",
    "refusal",
    "variant",
    "vary_names",
]

RawHeaders = Iterable[tuple[str, str]]

_DEFAULT_PORTS = {"http": ":80", "https": ":443"}


class PageRequest:
    """A request as the page rules see it, whatever the framework.

    ``headers`` are ``(name, value)`` pairs, or a function returning them (read
    on first use). ``authority`` is the host (and port) the framework accepted,
    or None when it refused it (nothing is kept or served then).
    """

    __slots__ = ("_get", "_headers", "_raw", "authority", "method", "path", "query", "scheme")

    def __init__(
        self,
        method: str,
        scheme: str,
        authority: str | None,
        path: str,
        query: str,
        headers: RawHeaders | Callable[[], RawHeaders],
        header: Callable[[str], str | None] | None = None,
    ) -> None:
        self.method = method
        self.scheme = scheme.lower()
        self.authority = None if authority is None else _authority(self.scheme, authority)
        self.path = path
        self.query = query
        self._raw = headers
        self._headers: dict[str, str] | None = None
        self._get = header

    def header(self, name: str) -> str | None:
        """One header's value by its lowercase name (the framework's own look-up when given)."""
        if self._get is not None:
            return self._get(name)
        return self.headers.get(name)

    @property
    def headers(self) -> dict[str, str]:
        """Lowercase header name -> value (repeated headers joined as HTTP allows)."""
        if self._headers is None:
            raw = self._raw() if callable(self._raw) else self._raw
            found: dict[str, str] = {}
            for name, value in raw:
                name = name.lower()
                if name in found:
                    found[name] += ("; " if name == "cookie" else ", ") + value
                else:
                    found[name] = value
            self._headers = found
        return self._headers


def _authority(scheme: str, authority: str) -> str:
    authority = authority.lower()
    default = _DEFAULT_PORTS.get(scheme)
    if default is not None and authority.endswith(default):
        return authority[: -len(default)]
    return authority


def _field(text: str) -> str:
    return f"{len(text)}:{text}"


def primary_key(dependency: str, request: PageRequest) -> str:
    """The key of the page ``request`` asks for, under ``dependency`` (before ``Vary``)."""
    method = "GET" if request.method in ("GET", "HEAD") else request.method
    fields = (request.scheme, request.authority or "", method, request.path, request.query)
    text = "".join(_field(field) for field in fields)
    digest = hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()
    return f"breakerpanel:page:{dependency}:{digest}"


def cookie_pairs(header: str) -> list[tuple[str, str]]:
    """``(name, value)`` of each cookie in a ``Cookie`` header, in order."""
    pairs = []
    for part in header.split(";"):
        name, _, value = part.partition("=")
        name = name.strip()
        if name:
            pairs.append((name, value.strip()))
    return pairs


def _shared(name: str, settings: PageSettings) -> bool:
    for pattern in settings.shared_cookies:
        if pattern.endswith("*"):
            if name.startswith(pattern[:-1]):
                return True
        elif name == pattern:
            return True
    return False


def _personal_cookies(request: PageRequest, settings: PageSettings) -> list[tuple[str, str]]:
    """The cookies that may personalise a page: neither shared nor key cookies."""
    header = request.header("cookie")
    if not header:
        return []
    return [
        (name, value)
        for name, value in cookie_pairs(header)
        if name not in settings.key_cookies and not _shared(name, settings)
    ]


def cache_directives(headers: Iterable[tuple[str, str]]) -> set[str]:
    """The ``Cache-Control`` directive names of ``headers``, lowercase, without arguments."""
    return {
        part.split("=", 1)[0].strip().lower()
        for name, value in headers
        if name.lower() == "cache-control"
        for part in value.split(",")
        if part.strip()
    }


def vary_names(headers: Iterable[tuple[str, str]]) -> tuple[str, ...]:
    """The request headers a response varies on, lowercase and sorted.

    A response with a ``Content-Encoding`` varies on ``Accept-Encoding`` even
    when it forgot to say so (a gzipped body must not reach a client that
    cannot read it).
    """
    names: set[str] = set()
    for name, value in headers:
        lowered = name.lower()
        if lowered == "vary":
            names.update(part.strip().lower() for part in value.split(",") if part.strip())
        elif lowered == "content-encoding" and value.strip().lower() != "identity":
            names.add("accept-encoding")
    return tuple(sorted(names))


def refusal(
    request: PageRequest,
    status: int,
    response_headers: list[tuple[str, str]],
    body_length: int | None,
    settings: PageSettings,
) -> str | None:
    """Why this response may not be kept and served to others, or None when it may."""
    if request.method != "GET":
        return f"the method is {request.method}, not GET"
    if request.authority is None:
        return "the framework refused the request's host"
    if status != 200:
        return f"the status is {status}, not 200"
    if body_length is None:
        return "the body is streamed"
    if body_length > settings.max_body:
        return f"the body is larger than max_body ({settings.max_body} bytes)"
    if any(name.lower() == "set-cookie" for name, _ in response_headers):
        return "the response sets a cookie"
    directives = cache_directives(response_headers)
    forbidding = directives & {"private", "no-store", "no-cache"}
    if forbidding:
        return f"the response says Cache-Control: {sorted(forbidding)[0]}"
    if "*" in vary_names(response_headers):
        return "the response says Vary: *"
    if "no-store" in cache_directives([("cache-control", request.header("cache-control") or "")]):
        return "the request says Cache-Control: no-store"
    if "public" in directives:
        return None
    for name in settings.credential_headers:
        if request.header(name) is not None:
            return f"the request carries {name} and the response is not Cache-Control: public"
    personal = _personal_cookies(request, settings)
    if personal:
        return (
            f"the request carries the cookie {personal[0][0]!r}, which may personalise the page, "
            "and the response is not Cache-Control: public"
        )
    return None


def variant(request: PageRequest, names: tuple[str, ...], settings: PageSettings) -> str:
    """The text that tells apart the copies of one page: ``Vary`` headers and key cookies."""
    if not names and not settings.key_cookies:
        return ""  # one copy for everyone: no header is read
    fields: list[str] = []
    if settings.key_cookies:
        cookies = dict(cookie_pairs(request.header("cookie") or ""))
        fields.extend(_field(cookies.get(name, "\x00")) for name in settings.key_cookies)
    for name in names:
        if name == "cookie":
            personal = sorted(f"{n}={v}" for n, v in _personal_cookies(request, settings))
            value = "; ".join(personal)
        else:
            found = request.header(name)
            value = "\x00" if found is None else found  # absent differs from empty
        fields.append(_field(name) + _field(value))
    return "".join(fields)
