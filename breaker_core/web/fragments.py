"""Template fragments under a breaker: the logic of ``{% breaker %}`` in every engine.

Django's tag and the Jinja extension render a block through
:func:`render_fragment` (or :func:`render_fragment_async` for async Jinja):

- the breaker admits the render: the body is rendered (the lazy call to the
  service happens there); a good rendering is stored for ``stale_for``;
- the render fails in a way the breaker records: the failure is counted and
  logged, and the block degrades instead of failing the page;
- the breaker rejects (open, or bulkhead full): the block degrades without
  rendering the body.

Degrading serves the stored rendering if it is at most ``stale_for`` old, else
the fallback part, else nothing (the feature is hidden). The cache key covers
the breaker, the template, the block and every ``vary_on`` value, so a
personalised fragment is never served to another user.

Layer: web. Imports the engine and breaker_core.ops, never the Redis driver.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Awaitable, Callable, Sequence

from breaker_core.errors import CircuitOpenError
from breaker_core.keys import encode_values
from breaker_core.logtext import describe_exception
from breaker_core.registry import Registry

__all__ = ["fragment_key", "render_fragment", "render_fragment_async"]

logger = logging.getLogger("breaker_core")


def fragment_key(
    dependency: str, template: str, block: str | int, vary_on: Sequence[object]
) -> str:
    """The cache key of one block of one template for one set of ``vary_on`` values.

    Raises:
        PlainValueError: a ``vary_on`` value is not a plain value (the one rule of
            :mod:`breaker_core.keys`, shared with ``registry.guard(key=...)``). An
            object's ``repr()`` may name its memory address, which another user's
            object can reuse later: vary on ``user.pk``, not on ``user``.
    """
    values = encode_values(vary_on, "vary_on")
    parts = [dependency, template, str(block), values]
    text = "".join(f"{len(part)}:{part}" for part in parts)
    digest = hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()
    return f"breakerpanel:fragment:{dependency}:{digest}"


class _Block:
    """What one rendering of a block needs, shared by the sync and async paths."""

    def __init__(self, registry: Registry, dependency: str, key: str, stale_for: float | None):
        self.registry = registry
        self.breaker = registry[dependency]
        self.key = key
        self.stale_for = self.breaker.config.stale_for if stale_for is None else stale_for

    def keep(self, html: str) -> None:
        if self.stale_for > 0:
            self.registry.cache.set(self.key, html, self.stale_for)

    def stored(self) -> str | None:
        if self.stale_for <= 0:
            return None
        entry = self.registry.cache.get(self.key)
        if entry is None or not isinstance(entry.value, str):
            return None
        if entry.age > self.stale_for:
            return None
        return entry.value

    def degraded(self, fallback: Callable[[], str] | None) -> str:
        """The stored rendering if fresh enough, else the fallback part, else nothing."""
        stored = self.stored()
        if stored is not None:
            return stored
        return fallback() if fallback is not None else ""

    def should_degrade(self, error: Exception) -> bool:
        if isinstance(error, CircuitOpenError):
            return True
        if self.breaker.is_failure(error):
            logger.warning(
                "breaker %s: a {%% breaker %%} block failed to render and degrades (%s)",
                self.breaker.name,
                describe_exception(error),
            )
            return True
        return False


def render_fragment(
    registry: Registry,
    dependency: str,
    *,
    key: str,
    body: Callable[[], str],
    fallback: Callable[[], str] | None = None,
    stale_for: float | None = None,
) -> str:
    """Render a block under ``dependency``'s breaker; see the module docs.

    ``stale_for`` defaults to the dependency's setting. Errors the breaker
    does not count as failures (the template's own bugs) are raised.
    """
    block = _Block(registry, dependency, key, stale_for)
    try:
        # An attempt, not call(): a guarded client used inside the body (the lazy
        # call to the service) then passes through and is counted once, here.
        with block.breaker.attempt() as attempt:
            html = body()
    except Exception as error:
        if not block.should_degrade(error):
            raise
        return block.degraded(fallback)
    if attempt.failed:
        # An inner guarded call saw a failing answer (a 503) the body rendered
        # without raising: counted as a failure, so degrade and never keep it.
        return block.degraded(fallback)
    block.keep(html)
    return html


async def render_fragment_async(
    registry: Registry,
    dependency: str,
    *,
    key: str,
    body: Callable[[], Awaitable[str]],
    fallback: Callable[[], Awaitable[str]] | None = None,
    stale_for: float | None = None,
) -> str:
    """The async twin of :func:`render_fragment` (async Jinja environments)."""
    block = _Block(registry, dependency, key, stale_for)
    try:
        async with block.breaker.attempt() as attempt:
            html = await body()
    except Exception as error:
        if not block.should_degrade(error):
            raise
        stored = block.stored()
        if stored is not None:
            return stored
        return await fallback() if fallback is not None else ""
    if attempt.failed:
        stored = block.stored()
        if stored is not None:
            return stored
        return await fallback() if fallback is not None else ""
    block.keep(html)
    return html
