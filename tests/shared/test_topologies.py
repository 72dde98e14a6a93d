"""Sentinel and Cluster, through redis-py, against real redis-server processes."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.failures import Boom, fail

redis = pytest.importorskip("redis")

from breaker_core import CircuitOpenError, Registry, State  # noqa: E402

WAIT = 20.0
SETTINGS = {"failure_threshold": 2, "reset_timeout": 5}


def _binary() -> str:
    binary = shutil.which("redis-server")
    if binary is None:
        message = "redis-server is not installed; Sentinel and Cluster tests need it"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return binary


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _cluster_port(taken: set[int]) -> int:
    """A free port whose cluster bus port (port + 10000) is free and valid too."""
    for _ in range(200):
        port = _free_port()
        if port + 10000 > 65535 or port in taken:
            continue
        try:
            with socket.socket() as bus:
                bus.bind(("127.0.0.1", port + 10000))
        except OSError:
            continue
        taken.add(port)
        return port
    raise RuntimeError("no free port pair for a cluster node")


def _wait(check, what: str) -> None:
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except (redis.RedisError, OSError):
            pass
        time.sleep(0.05)  # waiting for servers to start, not moving breaker time
    raise RuntimeError(f"{what} did not come up")


def _ping(port: int) -> bool:
    client = redis.Redis(port=port, socket_timeout=0.5)
    try:
        return bool(client.ping())
    finally:
        client.close()


def _start(args: list[str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


@pytest.fixture
def sentinel_url(tmp_path: Path) -> Iterator[str]:
    binary = _binary()
    master, sentinel = _free_port(), _free_port()
    config = tmp_path / "sentinel.conf"
    config.write_text(
        f"port {sentinel}\nbind 127.0.0.1\n"
        f"sentinel monitor shop 127.0.0.1 {master} 1\n"
        "sentinel down-after-milliseconds shop 5000\n"
    )
    processes = [
        _start([binary, "--port", str(master), "--bind", "127.0.0.1", "--save", ""]),
        _start([binary, str(config), "--sentinel"]),
    ]
    try:
        _wait(lambda: _ping(master) and _ping(sentinel), "redis sentinel")
        yield f"redis+sentinel://127.0.0.1:{sentinel}/shop/0?refresh=0&prefix=sent"
    finally:
        for process in processes:
            process.kill()
            process.wait(10)


@pytest.fixture
def cluster_url(tmp_path: Path) -> Iterator[str]:
    binary = _binary()
    cli = shutil.which("redis-cli")
    if cli is None:
        pytest.skip("redis-cli is not installed; it is needed to create a cluster")
    taken: set[int] = set()
    ports = [_cluster_port(taken) for _ in range(3)]
    processes = [
        _start(
            [
                binary,
                "--port",
                str(p),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--cluster-enabled",
                "yes",
                "--cluster-config-file",
                f"nodes-{p}.conf",
                "--dir",
                str(tmp_path),
            ]
        )
        for p in ports
    ]
    try:
        _wait(lambda: all(_ping(p) for p in ports), "cluster nodes")
        subprocess.run(
            [
                cli,
                "--cluster",
                "create",
                *(f"127.0.0.1:{p}" for p in ports),
                "--cluster-replicas",
                "0",
                "--cluster-yes",
            ],
            check=True,
            capture_output=True,
            timeout=WAIT,
        )

        def ready() -> bool:
            client = redis.Redis(port=ports[0], socket_timeout=0.5)
            try:
                return client.cluster("info").get("cluster_state") == "ok"
            finally:
                client.close()

        _wait(ready, "the cluster")
        yield f"redis+cluster://127.0.0.1:{ports[0]}?refresh=0&prefix=clus"
    finally:
        for process in processes:
            process.kill()
            process.wait(10)


@pytest.mark.slow
@pytest.mark.parametrize("topology", ["sentinel_url", "cluster_url"])
def test_two_processes_share_a_breaker(topology, request, clock):
    url = request.getfixturevalue(topology)
    cache_url = url.replace("refresh=0&", "")  # the cache takes prefix, not refresh
    settings = {"storage": url, "cache": cache_url, "dependencies": {"dep": SETTINGS}}
    first = Registry.from_settings(settings, clock=clock)
    second = Registry.from_settings(settings, clock=clock)
    try:
        for _ in range(2):
            with pytest.raises(Boom):
                first["dep"].call(fail)
        assert first.storage.sync_now()
        assert second.storage.sync_now()
        assert first["dep"].state is State.OPEN
        assert second["dep"].state is State.OPEN
        clock.advance(5)
        probe = first["dep"].attempt(detached=True)
        probe.__enter__()
        with pytest.raises(CircuitOpenError):
            second["dep"].call(int)  # the one probe slot is taken, in another "process"
        probe.__exit__(None, None, None)
        assert first.storage.sync_now()
        assert second.storage.sync_now()
        assert second["dep"].state is State.CLOSED
        first.cache.set("k", "v", 60)  # the cache works through the same topology
        assert second.cache.get("k").value == "v"
        assert not first.storage.degraded
    finally:
        first.close()
        second.close()
