"""Environment switches of the example shops, set by the demo and the scenario.

Every shop's settings module reads them the same way, so one variable means the
same thing in the Django, Flask and FastAPI shops:

- ``SHOP_MODE``: how the product page calls Inventory. ``breakerpanel`` (the
  default): through the inventory breaker. ``bulkhead``: the same, with
  ``max_concurrent`` set on the inventory dependency (``SHOP_MAX_CONCURRENT``,
  default 2). ``naive``: the way the breaker exists to replace: no breaker, a
  long timeout (``SHOP_NAIVE_TIMEOUT``, default ``"30s"``) and a retry loop
  (``SHOP_NAIVE_RETRIES`` attempts in all, default 3).
- ``BREAKERS_STORAGE``: the ``storage`` URL of ``BREAKERS`` (``redis://...`` to
  share breaker state between worker processes); unset: the shop's default.
- ``SHOP_INVENTORY_BREAKER``: a JSON object merged over the inventory
  dependency's settings, e.g. ``{"timeout": "1s", "reset_timeout": "3s"}``;
  breakerpanel validates it like any setting.

Unset variables change nothing: a shop started without them runs as written.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Mapping
from typing import Any

from breaker_core import ConfigurationError
from breaker_core.durations import parse_duration

__all__ = ["MODES", "Switches", "apply", "from_environ"]

MODES = ("breakerpanel", "bulkhead", "naive")
"""The values ``SHOP_MODE`` accepts."""


@dataclasses.dataclass(frozen=True, slots=True)
class Switches:
    """The switches read from the environment; the defaults change nothing."""

    mode: str = "breakerpanel"
    storage: str | None = None
    inventory: Mapping[str, object] = dataclasses.field(default_factory=dict)
    max_concurrent: int = 2
    naive_timeout: float = 30.0
    naive_retries: int = 3


def _positive_int(environ: Mapping[str, str], name: str, default: int) -> int:
    raw = environ.get(name)
    if raw is None or raw == "":
        return default
    if not (raw.isascii() and raw.isdigit()) or int(raw) < 1:
        raise ConfigurationError(f"{name}: expected a positive integer like {default}, got {raw!r}")
    return int(raw)


def from_environ(environ: Mapping[str, str] | None = None) -> Switches:
    """Read the switches from ``environ`` (default ``os.environ``).

    Raises:
        ConfigurationError: a variable holds a value it does not accept; the
            message names the variable, the value and what is allowed.
    """
    env = os.environ if environ is None else environ
    mode = env.get("SHOP_MODE") or "breakerpanel"
    if mode not in MODES:
        raise ConfigurationError(f"SHOP_MODE: expected one of {', '.join(MODES)}, got {mode!r}")
    raw_timeout = env.get("SHOP_NAIVE_TIMEOUT") or "30s"
    try:
        naive_timeout = parse_duration(raw_timeout)
    except ValueError:
        naive_timeout = 0.0
    if naive_timeout <= 0:
        raise ConfigurationError(
            f'SHOP_NAIVE_TIMEOUT: expected a positive duration like "30s", got {raw_timeout!r}'
        )
    raw_inventory = env.get("SHOP_INVENTORY_BREAKER") or "{}"
    try:
        inventory = json.loads(raw_inventory)
    except json.JSONDecodeError:
        inventory = None
    if not isinstance(inventory, dict):
        raise ConfigurationError(
            'SHOP_INVENTORY_BREAKER: expected a JSON object like {"timeout": "1s"}, '
            f"got {raw_inventory!r}"
        )
    return Switches(
        mode=mode,
        storage=env.get("BREAKERS_STORAGE") or None,
        inventory=inventory,
        max_concurrent=_positive_int(env, "SHOP_MAX_CONCURRENT", 2),
        naive_timeout=naive_timeout,
        naive_retries=_positive_int(env, "SHOP_NAIVE_RETRIES", 3),
    )


def apply(breakers: Mapping[str, Any], switches: Switches) -> dict[str, Any]:
    """Return a copy of the ``BREAKERS`` mapping ``breakers`` with ``switches`` applied.

    The mapping given is not modified. Its ``dependencies`` must include
    ``inventory`` when ``SHOP_INVENTORY_BREAKER`` or the bulkhead mode is used.

    Raises:
        ConfigurationError: the switches need an ``inventory`` dependency and
            there is none.
    """
    result = dict(breakers)
    if switches.storage is not None:
        result["storage"] = switches.storage
    overrides = dict(switches.inventory)
    if switches.mode == "bulkhead":
        overrides.setdefault("max_concurrent", switches.max_concurrent)
    if overrides:
        dependencies = dict(result.get("dependencies") or {})
        if "inventory" not in dependencies:
            raise ConfigurationError(
                'SHOP_INVENTORY_BREAKER and SHOP_MODE=bulkhead need BREAKERS["dependencies"]'
                '["inventory"]; this shop declares none'
            )
        dependencies["inventory"] = {**dependencies["inventory"], **overrides}
        result["dependencies"] = dependencies
    return result
