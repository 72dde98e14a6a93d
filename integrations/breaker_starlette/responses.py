"""Turning a :class:`~breaker_core.web.pages.Answer` into ASGI messages or a Starlette response."""

from __future__ import annotations

from starlette.responses import Response
from starlette.types import Send

from breaker_core.web.pages import Answer

__all__ = ["answer_headers", "answer_response", "send_answer"]


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
