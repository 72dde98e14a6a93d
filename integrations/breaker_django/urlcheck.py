"""Can any URL of the project match a dependency's ``routes`` pattern? (``breaker.W003``)

Regular languages are not compared here; instead candidate paths are built
from both sides (the pattern's ``*`` filled with short values, and each URL
pattern of the URLconf with sample values for its converters) and each is
tried against the real matchers: :func:`breaker_core.web.routes.compile_route`
for the pattern and :func:`django.urls.resolve` for the URLconf. When a URL
pattern cannot be sampled (a regular expression, a locale prefix), it is
taken to match any pattern whose literal start agrees with its own, so the
warning is only given when no URL can match.

Layer: integration. Imports breaker_core's declared interface only (breaker_core,
breaker_core.extension, .web, .ops).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from typing import Any

from django.urls import Resolver404, URLResolver, get_resolver, resolve  # type: ignore[import-untyped]
from django.urls.resolvers import RegexPattern, RoutePattern  # type: ignore[import-untyped]

from breaker_core.web.routes import Glob, compile_route

__all__ = ["unmatched_routes"]

_FILLS = ("", "1", "a", "1/", "a/", "a/b", "a/b/")
_SAMPLES = ("1", "a", "a/b", "00000000-0000-0000-0000-000000000000")
_PARAMETER = re.compile(r"<(?:(?P<converter>[^>:]+):)?(?P<parameter>[^>]+)>")
_REGEX_SPECIAL = set(".^$*+?{}[]\\|()")
_MAX_SAMPLES = 256


class _Unknown:
    """A part of a URL pattern that is not sampled: anything may follow."""


_UNKNOWN = _Unknown()
Piece = str | tuple[str, ...] | _Unknown  # literal text, sample values, or unknown


def _resolves(path: str) -> bool:
    try:
        resolve(path)
    except Resolver404:
        return False
    except Exception:  # a broken URLconf is Django's check to report, not ours
        return True
    return True


def _route_pieces(pattern: Any, fragments: list[str]) -> list[Piece]:
    route = str(pattern._route)
    converters = getattr(pattern, "converters", {})
    pieces: list[Piece] = []
    position = 0
    for match in _PARAMETER.finditer(route):
        pieces.append(route[position : match.start()])
        position = match.end()
        converter = converters.get(match.group("parameter"))
        regex = getattr(converter, "regex", None)
        if regex is None:
            pieces.append(_UNKNOWN)
            continue
        values = tuple(v for v in (*fragments, *_SAMPLES) if re.fullmatch(regex, v))
        pieces.append(values or _UNKNOWN)
    pieces.append(route[position:])
    return pieces


def _regex_pieces(pattern: Any) -> list[Piece]:
    regex = str(pattern._regex).removeprefix("^")
    literal = ""
    for index, char in enumerate(regex):
        if char in _REGEX_SPECIAL:
            rest = regex[index:]
            return [literal] if rest in ("$", r"\Z") else [literal, _UNKNOWN]
        literal += char
    return [literal]


def _pieces(pattern: Any, fragments: list[str]) -> list[Piece]:
    if isinstance(pattern, RoutePattern):
        return _route_pieces(pattern, fragments)
    if isinstance(pattern, RegexPattern):
        return _regex_pieces(pattern)
    return [_UNKNOWN]  # LocalePrefixPattern and third-party patterns


def _shapes(patterns: Any, prefix: list[Piece], fragments: list[str]) -> Iterator[list[Piece]]:
    for entry in patterns:
        pieces = prefix + _pieces(entry.pattern, fragments)
        if isinstance(entry, URLResolver):
            yield from _shapes(entry.url_patterns, pieces, fragments)
        else:
            yield pieces


def _shape_matches(pieces: list[Piece], route: Glob, literal_start: str) -> bool:
    if any(isinstance(piece, _Unknown) for piece in pieces):
        start = "/"
        for piece in pieces:
            if not isinstance(piece, str):
                break
            start += piece
        return start.startswith(literal_start) or literal_start.startswith(start)
    known: list[tuple[str, ...]] = []
    for piece in pieces:
        if isinstance(piece, str):
            known.append((piece,))
        elif isinstance(piece, tuple):
            known.append(piece)
    for combination in itertools.islice(itertools.product(*known), _MAX_SAMPLES):
        path = "/" + "".join(combination)
        if route.match(path) and _resolves(path):
            return True
    return False


def _pattern_matches(pattern: str, shapes: list[list[Piece]]) -> bool:
    route = compile_route(pattern)
    parts = pattern.split("*")
    fills = _FILLS if len(parts) <= 4 else ("",)
    for chosen in itertools.product(fills, repeat=len(parts) - 1):
        path = parts[0] + "".join(fill + part for fill, part in zip(chosen, parts[1:], strict=True))
        if route.match(path) and _resolves(path):
            return True
    return any(_shape_matches(shape, route, parts[0]) for shape in shapes)


def unmatched_routes(patterns: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The ``(pattern, dependency)`` pairs no URL of ``ROOT_URLCONF`` can match."""
    if not patterns:
        return []
    fragments = sorted(
        {piece for pattern, _ in patterns for piece in re.split(r"[*/]", pattern) if piece}
    )
    try:
        shapes = list(_shapes(get_resolver().url_patterns, [], fragments))
    except Exception:  # a broken URLconf is Django's check to report, not ours
        return []
    return [(pattern, name) for pattern, name in patterns if not _pattern_matches(pattern, shapes)]
