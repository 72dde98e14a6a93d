"""Shared breaker state in Redis: one breaker per dependency across processes and hosts.

``storage = "redis://..."`` attaches a :class:`~breaker_core.shared.link.Link`
to every breaker. Outcomes are counted locally and flushed in batches by one
background thread per storage, which also refreshes each breaker's state: the
CLOSED and OPEN hot paths never wait on Redis. Every transition is decided on
the server by a Lua script (:mod:`breaker_core.shared.scripts`). When Redis is
unreachable each process carries on with its own in-memory breaker and rejoins
when Redis answers again. redis-py is imported lazily.
"""
