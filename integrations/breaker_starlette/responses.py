"""ASGI requests as the page rules see them, the page guard, and answers as ASGI messages
or responses.

Layer: integration. Imports breaker_core's declared interface only (breaker_core,
breaker_core.extension, .web, .ops) and breaker_jinja.
"""

from __future__ import annotations

from starlette.responses import Response
from starlette.types import Scope, Send

from breaker_core import Registry
from breaker_core.web.pages import Answer, PageGuard
from breaker_core.web.shareable import PageRequest

__all__ = [
    "CSRF_COOKIE",
    "answer_headers",
    "answer_response",
    "page_guard",
    "page_request",
    "raw_key",
    "send_answer",
]

CSRF_COOKIE = "breakerpanel_csrf"
"""The dashboard's CSRF cookie (``breaker_starlette.csrf.COOKIE``): it never personalises a page."""


def page_guard(registry: Registry) -> PageGuard:
    """A page guard with Starlette's additions to ``BREAKERS["pages"]`` (the dashboard cookie)."""
    return PageGuard(registry, shared_cookies=(CSRF_COOKIE,))


def raw_key(scope: Scope) -> tuple[object, ...]:
    """The scope values :func:`page_request`'s scheme, authority, path and query come from.

    The first ``Host`` header (as :func:`page_request` reads it: the scan stops
    there, most often at the first header), else the server address, with the
    scheme, ``root_path``, path and query string. No ``Cookie`` header: the page
    guard of :func:`page_guard` has no key cookies, so cookies never pick a
    copy's variant (see :data:`breaker_core.web.pages.RawKey`). Optional scope
    keys are read by subscript, with ``get`` only for a scope that lacks one.
    """
    host: object = None
    for name, value in scope["headers"]:
        if name == b"host":
            host = value
            break
    if host is None:
        server = scope.get("server")
        host = None if server is None else tuple(server)
    try:
        return (scope["scheme"], host, scope["root_path"], scope["path"], scope["query_string"])
    except KeyError:  # a server leaving optional keys out
        return (
            scope.get("scheme"),
            host,
            scope.get("root_path"),
            scope["path"],
            scope.get("query_string"),
        )


def page_request(scope: Scope) -> PageRequest:
    """An ASGI HTTP request as the page rules see it.

    The authority is the ``Host`` header (put ``TrustedHostMiddleware`` in
    front to refuse hosts you do not serve), else the server address; the path
    is ``root_path`` + ``path``; the query string is the raw bytes, each byte one
    character.
    """
    headers = scope["headers"]
    authority = None
    for name, value in headers:
        if name == b"host":
            authority = value.decode("latin-1")
            break
    if authority is None:
        server = scope.get("server")
        authority = f"{server[0]}:{server[1]}" if server else ""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    if root and not path.startswith(root):
        path = root + path
    return PageRequest(
        scope["method"],
        scope.get("scheme", "http"),
        authority,
        path,
        scope.get("query_string", b"").decode("latin-1"),
        lambda: [(k.decode("latin-1"), v.decode("latin-1")) for k, v in headers],
    )


def answer_headers(answer: Answer, method: str) -> list[tuple[bytes, bytes]]:
    """The answer's headers as ASGI pairs (lowercase names), with ``Content-Length`` added.

    A kept page is stored without ``Content-Length`` (it is a hop-by-hop
    detail); it is set again from the body, except for HEAD, whose body is empty.
    """
    raw = [
        (name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in answer.headers
    ]
    if method != "HEAD" and not any(name == b"content-length" for name, _ in raw):
        raw.append((b"content-length", str(len(answer.body)).encode("latin-1")))
    return raw


async def send_answer(send: Send, answer: Answer, method: str) -> None:
    """Send ``answer`` as a complete response through the ASGI ``send`` callable."""
    await send(
        {
            "type": "http.response.start",
            "status": answer.status,
            "headers": answer_headers(answer, method),
        }
    )
    await send({"type": "http.response.body", "body": answer.body})


def answer_response(answer: Answer, method: str) -> Response:
    """``answer`` as a Starlette :class:`~starlette.responses.Response` (for exception handlers)."""
    response = Response(content=answer.body, status_code=answer.status)
    response.raw_headers = answer_headers(answer, method)
    return response
