"""breaker_core stays standard-library only at import time."""

from __future__ import annotations

import json
import subprocess
import sys

FORBIDDEN = (
    "django",
    "flask",
    "werkzeug",
    "starlette",
    "fastapi",
    "jinja2",
    "httpx",
    "httpcore",
    "requests",
    "urllib3",
    "redis",
    "prometheus_client",
    "anyio",
    "blinker",
)


def test_importing_breaker_core_imports_no_framework_client_or_redis():
    code = (
        "import sys, json, breaker_core, breaker_core.registry, breaker_core.storage;"
        "print(json.dumps(sorted(sys.modules)))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True
    ).stdout
    loaded = json.loads(out)
    offenders = sorted(name for name in loaded if name.split(".")[0] in FORBIDDEN)
    assert offenders == []


def test_building_a_registry_with_memory_storage_imports_nothing_optional():
    code = (
        "import sys, json\n"
        "from breaker_core import Registry\n"
        "r = Registry.from_settings({'dependencies': {'inventory': {}}})\n"
        "r['inventory'].call(int)\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True
    ).stdout
    assert not [n for n in json.loads(out) if n.split(".")[0] in FORBIDDEN]


def test_every_module_declares_all_and_public_names_are_exported():
    import breaker_core

    expected = {
        "CircuitBreaker",
        "BreakerConfig",
        "Registry",
        "State",
        "Event",
        "BreakerError",
        "CircuitOpenError",
        "BulkheadFullError",
        "ConfigurationError",
        "StorageError",
    }
    assert expected <= set(breaker_core.__all__)
    for name in breaker_core.__all__:
        assert getattr(breaker_core, name).__doc__, f"{name} has no docstring"
