"""Operations: what an operator reads and does, the same for every framework.

The JSON status and health documents and their JSON Schemas
(:mod:`~breaker_core.ops.status`, :mod:`~breaker_core.ops.health`,
:mod:`~breaker_core.ops.schemas`), the state changes an operator may ask for
(:mod:`~breaker_core.ops.actions`), the table the listing commands print
(:mod:`~breaker_core.ops.tables`), ``python -m breaker_core``
(:mod:`~breaker_core.ops.cli`) and Prometheus metrics
(:mod:`~breaker_core.ops.metrics`).

Imports the engine (``breaker_core``'s top-level modules) and nothing else of
the project: never the web layer, the Redis driver or an integration (the
import contract in ``pyproject.toml`` checks it). Standard library only;
``prometheus_client`` is loaded when metrics are turned on.

Layer: ops. Imports the engine only.
"""
