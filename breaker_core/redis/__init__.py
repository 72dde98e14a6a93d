"""Shared breaker state in Redis: one breaker per dependency across processes and hosts.

``storage = "redis://..."`` gives every breaker a
:class:`~breaker_core.redis.coordination.RedisCoordination`, the Redis sibling
of the memory implementation of the port in :mod:`breaker_core.coordination`.
Outcomes are counted locally and flushed in batches by one background thread
per storage, which also refreshes each breaker's state: the CLOSED and OPEN
hot paths never wait on Redis. Every shared transition is decided on the
server by a Lua script (:mod:`breaker_core.redis.script_common`). When Redis is
unreachable each process carries on with its own in-memory breaker and
rejoins when Redis answers again. redis-py is imported lazily.

This package imports the engine's public names and its port, never the machine.

Layer: Redis driver. Imports the engine only (and redis-py).
"""
