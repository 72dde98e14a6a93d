"""Checking a Redis storage or cache URL at start-up, before anything connects.

Every problem is a ``ValueError`` whose text names the bad part and what is
allowed; ``breaker_core.storage`` turns it into a ConfigurationError naming the
setting. What is checked: the port of every host, the database number, the
Sentinel service, options we own, options that belong to the other URL (the
storage's in the cache URL and the other way round) and the redis-py options
we pass on (an unknown one would only fail later, at the first connection).

Layer: Redis driver. Imports the engine only (and redis-py).
"""

from __future__ import annotations

import urllib.parse

from breaker_core.durations import parse_duration

__all__ = [
    "CACHE_OPTIONS",
    "DRIVER_OPTIONS",
    "STORAGE_OPTIONS",
    "duration_param",
    "split_options",
]

STORAGE_OPTIONS = ("prefix", "timeout", "refresh", "clock")
"""Options of the storage URL (see docs/shared.md)."""

CACHE_OPTIONS = ("prefix", "timeout", "max_entries")
"""Options of the cache URL."""

DRIVER_OPTIONS = (
    "db",
    "client_name",
    "health_check_interval",
    "max_connections",
    "protocol",
    "socket_keepalive",
    "ssl_ca_certs",
    "ssl_cert_reqs",
    "ssl_certfile",
    "ssl_check_hostname",
    "ssl_keyfile",
    "username",
    "password",
)
"""redis-py connection options passed on (timeouts and retries are ours to set)."""


def _check_port(item: str) -> None:
    if item.startswith("["):  # [::1]:6379
        rest = item.partition("]")[2]
        port = rest[1:] if rest.startswith(":") else None
    else:
        _, sep, tail = item.rpartition(":")
        port = tail if sep else None
    if port is None:
        return  # no port: the default
    if not (port.isascii() and port.isdigit()) or not 0 < int(port) <= 65535:
        raise ValueError(f"port {port!r} of {item!r} is not a port (1 to 65535)")


def _check_db(text: str) -> None:
    if not (text.isascii() and text.isdigit()):
        raise ValueError(f"database {text!r} is not a number (0, 1, ...)")


def split_options(
    url: str, own: tuple[str, ...], other: tuple[str, ...], other_kind: str
) -> tuple[dict[str, str], str]:
    """Check ``url``; return our options and the URL for redis-py (our options removed).

    Raises:
        ValueError: what is wrong, and what is allowed.
    """
    parts = urllib.parse.urlsplit(url)
    query = urllib.parse.parse_qs(parts.query, keep_blank_values=True)
    base, _, kind = parts.scheme.partition("+")
    for name in query:
        if name in own or name in DRIVER_OPTIONS:
            continue
        if name in other:
            raise ValueError(f"option {name!r} belongs in the {other_kind} URL, not this one")
        allowed = ", ".join((*own, *DRIVER_OPTIONS))
        raise ValueError(f"unknown option {name!r} (allowed: {allowed})")
    for item in parts.netloc.rpartition("@")[2].split(","):
        if item:
            _check_port(item)
    segments = [s for s in parts.path.split("/") if s]
    if kind == "sentinel":
        if not segments:
            raise ValueError(
                f'{parts.scheme}:// URLs name the service: "{parts.scheme}://host:26379/mymaster/0"'
            )
        if len(segments) > 2:
            raise ValueError(f"path {parts.path!r} is not /service or /service/db")
        if len(segments) == 2:
            _check_db(segments[1])
    elif kind == "cluster":
        if segments and segments != ["0"]:
            raise ValueError(f"path {parts.path!r}: a Redis Cluster has only database 0")
    elif base != "unix":
        if len(segments) > 1:
            raise ValueError(f"path {parts.path!r} is not a database number like /0")
        if segments:
            _check_db(segments[0])
    if "db" in query:
        _check_db(query["db"][-1])
    options = {key: values[-1] for key, values in query.items() if key in own}
    rest = [(k, v) for k, values in query.items() if k not in own for v in values]
    driver_url = urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(rest)))
    return options, driver_url


def duration_param(text: str) -> float:
    """A duration in a URL query: ``250ms``, ``1s`` or a bare number of seconds.

    Raises:
        ValueError: not a duration.
    """
    try:
        return parse_duration(float(text))
    except ValueError:
        return parse_duration(text)
