"""The service endpoints and their deterministic data, as a healthy upstream answers them."""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from urllib.parse import unquote

#: The products the recommendations are drawn from; ``/inventory/<sku>`` accepts any SKU.
CATALOGUE = tuple(f"SKU-{n}" for n in range(1, 21))
RECOMMENDATIONS_PER_USER = 3


@dataclass(frozen=True)
class Reply:
    """A status code and a JSON body (``None``: no body)."""

    status: int
    body: object
    pinned: bool = False
    """True for ``/status/<code>``: only ``hang`` and ``refuse`` affect it."""
    headers: tuple[tuple[str, str], ...] = ()


def _digest(text: str) -> int:
    """A number derived from ``text``, the same in every process (unlike ``hash``)."""
    return zlib.crc32(text.encode("utf-8"))


def stock_for(sku: str) -> int:
    """How many of ``sku`` are in stock: 0 to 49, always the same for a SKU."""
    return _digest(sku) % 50


def recommendations_for(user: str) -> list[str]:
    """Three distinct SKUs of :data:`CATALOGUE`, always the same for a user."""
    start = _digest(user) % len(CATALOGUE)
    return [CATALOGUE[(start + 7 * i) % len(CATALOGUE)] for i in range(RECOMMENDATIONS_PER_USER)]


def error_reply(status: int, mode: str) -> Reply:
    """The answer of ``errors`` and ``flaky`` modes."""
    return Reply(status, {"error": f"upstream failing on purpose (mode {mode})", "status": status})


def not_found(path: str) -> Reply:
    """The JSON 404 for any unknown path."""
    return Reply(404, {"error": "not found", "path": path})


def resolve(method: str, path: str) -> Reply:
    """The answer of a healthy upstream to ``method path`` (``path`` without query string)."""
    parts = path.split("/")
    if len(parts) == 2 and parts[1] == "health":
        reply = Reply(200, {"ok": True})
    elif len(parts) == 3 and parts[0] == "" and parts[2]:
        reply = _resource(parts[1], unquote(parts[2]), path)
    else:
        reply = not_found(path)
    if method not in ("GET", "HEAD") and reply.status != 404:
        return Reply(405, {"error": f"method {method} not allowed"}, headers=(("Allow", "GET"),))
    return reply


def _resource(kind: str, key: str, path: str) -> Reply:
    if kind == "inventory":
        return Reply(200, {"sku": key, "stock": stock_for(key)})
    if kind == "recommendations":
        return Reply(200, {"user": key, "items": recommendations_for(key)})
    if kind == "status":
        if not key.isdigit() or not 200 <= int(key) <= 599:
            return Reply(400, {"error": "the status must be an integer from 200 to 599"})
        code = int(key)
        body = None if code in (204, 304) else {"status": code}
        return Reply(code, body, pinned=True)
    return not_found(path)
