"""Helpers named by dotted paths in settings: a frozen clock and a cache backend that fails."""

from __future__ import annotations

from django.core.cache.backends.base import BaseCache


def frozen() -> float:
    return 42.0


class BrokenCache(BaseCache):
    """A cache whose server is down."""

    def __init__(self, location, params):
        super().__init__(params)

    def get(self, key, default=None, version=None):
        raise ConnectionError("cache server unreachable")

    def set(self, key, value, timeout=None, version=None):
        raise TimeoutError()  # a hang cut short says nothing in str()

    def delete(self, key, version=None):
        raise ConnectionError("cache server unreachable")
