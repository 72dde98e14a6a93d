"""A real flaky upstream and a registry guarding it, with every guarded attempt counted."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from breaker_core import Event, Registry
from breaker_core.clock import FakeClock
from example_apps.upstream import Upstream


@dataclass
class Counted:
    """Events of the guarded attempts, by kind."""

    kinds: list[str] = field(default_factory=list)

    def __call__(self, event: Event) -> None:
        if event.kind != "state_change":
            self.kinds.append(event.kind)

    def count(self, kind: str) -> int:
        return self.kinds.count(kind)


@pytest.fixture
def make_registry(upstream: Upstream, clock: FakeClock):
    made: list[Registry] = []

    def make(failure_threshold: int = 10**6) -> tuple[Registry, Counted]:
        registry = Registry.from_settings(
            {
                "dependencies": {
                    "inventory": {
                        "url": f"{upstream.url}/inventory",
                        "failure_threshold": failure_threshold,
                        "timeout": "5s",
                    }
                }
            },
            clock=clock,
        )
        counted = Counted()
        registry.add_listener(counted)
        made.append(registry)
        return registry, counted

    yield make
    for registry in made:
        registry.close()
