"""Optional drivers the engine names but never imports: one table of dotted paths.

The engine is standard-library only and imports nothing else of the project.
Where it offers something that lives elsewhere (Redis storage and cache, the
ready HTTP clients of :meth:`Registry.client <breaker_core.Registry.client>`),
it names the module here and loads it on first use, so the layers point one
way (drivers and integrations import the engine, never the reverse) and a
missing extra is one clear :class:`~breaker_core.ConfigurationError`.
Standard library only; imports nothing of the project but ``errors``.

Layer: engine. Imports the standard library and other engine modules only.
"""

from __future__ import annotations

import dataclasses
import importlib
from typing import Any

from breaker_core.errors import ConfigurationError

__all__ = ["DRIVERS", "Driver", "load_driver"]


@dataclasses.dataclass(frozen=True)
class Driver:
    """What an optional driver is (for messages), where it lives (``"package.module"``
    or ``"package.module:Name"``), the extra that installs its libraries, and the
    top-level names of those libraries."""

    what: str
    path: str
    extra: str
    libraries: tuple[str, ...]


DRIVERS: dict[str, Driver] = {
    "redis-storage": Driver(
        "Redis storage and caches", "breaker_core.redis.storage:RedisStorage", "redis", ("redis",)
    ),
    "redis-cache": Driver(
        "Redis storage and caches", "breaker_core.redis.cache:RedisCache", "redis", ("redis",)
    ),
    "http-clients": Driver(
        "HTTP clients",
        "breaker_http.clients",
        "http",
        ("httpx", "httpcore", "requests", "urllib3", "anyio", "h11", "idna", "certifi"),
    ),
}
"""Every optional driver the engine can load, by kind."""


def load_driver(kind: str) -> Any:
    """Import the driver ``kind`` of :data:`DRIVERS` and return its module or class.

    Raises:
        ConfigurationError: a library of the driver is not installed; the
            message names the extra to install.
    """
    driver = DRIVERS[kind]
    module_name, _, attribute = driver.path.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        if (exc.name or "").split(".")[0] in driver.libraries:
            raise ConfigurationError(
                f"{driver.what} need the {driver.extra} extra: "
                f'pip install "breakerpanel[{driver.extra}]" '
                f"({exc.name} is not installed)"
            ) from exc
        raise
    return getattr(module, attribute) if attribute else module
