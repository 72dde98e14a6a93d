"""The demo's command line: shared storage per shop, and ports checked before anything starts."""

from __future__ import annotations

import socket

import pytest

from example_apps.demo.__main__ import main, storage_for
from tests.ports import free_ports


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/0?prefix=breakerpanel-django"),
        (
            "redis://127.0.0.1:6379/0?prefix=shop&timeout=100ms",
            "redis://127.0.0.1:6379/0?timeout=100ms&prefix=shop-django",
        ),
        ("unix:///tmp/redis.sock?db=1", "unix:///tmp/redis.sock?db=1&prefix=breakerpanel-django"),
        ("memory://", "memory://"),
    ],
)
def test_each_shop_gets_its_own_redis_prefix(url, expected):
    assert storage_for(url, "django") == expected


def test_a_port_in_use_stops_the_demo_before_anything_starts(capsys):
    upstream, control, django, fastapi = free_ports(4)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(SystemExit) as exited:
            main(
                [
                    *("--upstream-port", str(upstream), "--control-port", str(control)),
                    *("--django-port", str(django), "--fastapi-port", str(fastapi)),
                    *("--flask-port", str(port)),
                ]
            )
    assert exited.value.code == 2
    assert f"port {port} is in use; stop what uses it or pick another --flask-port" in (
        capsys.readouterr().err
    )


def test_ports_must_differ(capsys):
    with pytest.raises(SystemExit):
        main(["--django-port", "8003", "--flask-port", "8003"])
    assert "the ports must differ" in capsys.readouterr().err
