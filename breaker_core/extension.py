"""The interface for integrations: what a framework adapter, client or driver may import.

Users import :mod:`breaker_core`'s top-level names. The integrations
(``breaker_django``, ``breaker_flask``, ``breaker_starlette``, ``breaker_jinja``,
``breaker_http``, ``breaker_opentelemetry``, ``breaker_retry``,
``breaker_sqlalchemy``) and third-party
adapters written like them import those, this module, the framework-free web
layer (:mod:`breaker_core.web`) and the operations layer (:mod:`breaker_core.ops`),
and nothing else of ``breaker_core``: the engine's other modules may move or
change. The import contract in ``pyproject.toml`` checks it.

Part of the engine: standard library only, imports only the engine's modules.

Layer: engine. Imports the standard library and other engine modules only.
"""

from __future__ import annotations

from breaker_core import database
from breaker_core.attempt import Attempt
from breaker_core.cache import Cache, CachedValue
from breaker_core.clock import Clock
from breaker_core.deprecation import warn_deprecated
from breaker_core.durations import parse_duration
from breaker_core.events import ContextGate
from breaker_core.guard import MISSING
from breaker_core.imports import import_string
from breaker_core.keyed import DEFAULT_KEY_LABELS, KeyLabels, split_key_name
from breaker_core.keys import PLAIN_TYPES, encode_key
from breaker_core.links import docs_url
from breaker_core.logtext import describe_exception
from breaker_core.problems import Invalid, describe, key_path
from breaker_core.registry import on_reconfigure
from breaker_core.retry import RetryBudget, is_retryable, retry_after_of
from breaker_core.settings import dependency_warnings, settings_problems
from breaker_core.storage import CacheFactory

__all__ = [
    "DEFAULT_KEY_LABELS",
    "MISSING",
    "PLAIN_TYPES",
    "Attempt",
    "Cache",
    "CacheFactory",
    "CachedValue",
    "Clock",
    "ContextGate",
    "Invalid",
    "KeyLabels",
    "RetryBudget",
    "database",
    "dependency_warnings",
    "describe",
    "describe_exception",
    "docs_url",
    "encode_key",
    "import_string",
    "is_retryable",
    "key_path",
    "on_reconfigure",
    "parse_duration",
    "retry_after_of",
    "settings_problems",
    "split_key_name",
    "warn_deprecated",
]
