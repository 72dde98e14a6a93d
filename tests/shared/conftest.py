"""A real Redis for the shared-state tests (REDIS_URL, default redis://127.0.0.1:6379/15).

The redis_url fixture is the root conftest's (skipped with the reason, or failing
under CI, when Redis is unreachable). Each test gets its own key prefix and cleans it up.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator

import pytest

from breaker_core import Registry
from tests.ports import free_port

redis = pytest.importorskip("redis")


@pytest.fixture
def prefix(redis_url: str) -> Iterator[str]:
    """A fresh key prefix; every key under it is deleted after the test."""
    name = "bbtest" + uuid.uuid4().hex[:10]
    yield name
    client = redis.Redis.from_url(redis_url)
    keys = list(client.scan_iter(match=f"*{name}*", count=1000))
    if keys:
        client.delete(*keys)
    client.close()


def _storage_url(redis_url: str, prefix: str, **options: str) -> str:
    query = "&".join(f"{k}={v}" for k, v in {"prefix": prefix, **options}.items())
    return f"{redis_url}{'&' if '?' in redis_url else '?'}{query}"


@pytest.fixture
def storage_url(redis_url: str, prefix: str) -> Callable[..., str]:
    """``storage_url(refresh="0")``: this test's Redis storage URL with options."""
    return lambda **options: _storage_url(redis_url, prefix, **options)


class RedisServer:
    """A redis-server of our own on a free port, which a test may kill and restart."""

    def __init__(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            message = "redis-server is not installed; it is needed to stop Redis mid-run"
            if os.environ.get("CI"):
                pytest.fail(message)
            pytest.skip(message)
        self.binary = binary
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                self.binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--enable-debug-command",
                "local",  # DEBUG SLEEP hangs it
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            client = redis.Redis(port=self.port, socket_timeout=0.2)
            try:
                client.ping()
                return
            except redis.RedisError:
                time.sleep(0.02)
            finally:
                client.close()
        raise RuntimeError("redis-server did not start")

    @contextlib.contextmanager
    def stopped(self) -> Iterator[None]:
        """Stop the server (SIGSTOP) for the block: connections open, nothing answered.

        On leaving, waits until it answers a new connection again: by then it has run
        what its clients sent while it was stopped.
        """
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)
        try:
            yield
        finally:
            self.process.send_signal(signal.SIGCONT)
            client = redis.Redis(port=self.port, socket_timeout=10)
            try:
                client.ping()
            finally:
                client.close()

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(10)
            self.process = None


@pytest.fixture
def own_redis() -> Iterator[RedisServer]:
    server = RedisServer()
    server.start()
    yield server
    server.kill()


Fleet = Callable[..., list[Registry]]


@pytest.fixture
def fleet(storage_url: Callable[..., str], clock: object) -> Iterator[Fleet]:
    """``fleet(n, **options)``: n registries ("processes") sharing breaker "dep".

    Redis storage with ``refresh=0`` (each test says when a process talks to
    Redis), ``reset_timeout`` 5 s, the injected clock; ``options`` are the
    dependency's other settings.
    """
    made: list[Registry] = []

    def build(processes: int = 2, **options: object) -> list[Registry]:
        settings = {
            "storage": storage_url(refresh="0"),
            "dependencies": {"dep": {"reset_timeout": 5, **options}},
        }
        registries = [Registry.from_settings(settings, clock=clock) for _ in range(processes)]
        made.extend(registries)
        return registries

    yield build
    for registry in made:
        registry.close()
