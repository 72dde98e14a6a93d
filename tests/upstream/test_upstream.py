"""The flaky upstream service, over real HTTP on 127.0.0.1."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from example_apps.upstream import ControlError, Upstream
from example_apps.upstream.__main__ import main
from tests.ports import free_port

ROOT = Path(__file__).resolve().parents[2]
HOST = "127.0.0.1"


def client(timeout: float = 5.0) -> httpx.Client:
    """A fresh client (so a fresh connection), ignoring any proxy settings."""
    return httpx.Client(timeout=timeout, trust_env=False)


def get(url: str, timeout: float = 5.0) -> httpx.Response:
    with client(timeout) as c:
        return c.get(url)


def put(url: str, body: object) -> httpx.Response:
    with client() as c:
        return c.put(url, content=json.dumps(body))


def wait_until(predicate: Callable[[], bool], what: str, timeout: float = 5.0) -> None:
    """Poll ``predicate`` until it holds, failing after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.005)


@pytest.fixture
def up() -> Iterator[Upstream]:
    with Upstream() as upstream:
        yield upstream


@pytest.fixture
def pool() -> Iterator[ThreadPoolExecutor]:
    with ThreadPoolExecutor(max_workers=4) as executor:
        yield executor


def control_url(up: Upstream, port: str) -> str:
    """``/_control`` on the service port or on the control port."""
    return f"{up.url}/_control" if port == "service" else up.control_url


# -- endpoints ----------------------------------------------------------------------------


def test_endpoints_answer_deterministic_json(up: Upstream):
    assert up.url == f"http://{HOST}:{up.port}"
    stock = get(f"{up.url}/inventory/SKU-1")
    assert stock.status_code == 200
    assert stock.json() == get(f"{up.url}/inventory/SKU-1").json()
    assert stock.json()["sku"] == "SKU-1"
    assert isinstance(stock.json()["stock"], int)
    recs = get(f"{up.url}/recommendations/alice").json()
    assert recs == get(f"{up.url}/recommendations/alice").json()
    assert recs["user"] == "alice"
    assert len(recs["items"]) == len(set(recs["items"])) == 3
    assert get(f"{up.url}/health").json() == {"ok": True}
    for path in ("/nope", "/inventory/", "/inventory/a/b"):
        missing = get(up.url + path)
        assert missing.status_code == 404
        assert missing.json()["error"] == "not found"


def test_status_endpoint_ignores_errors_and_slow_modes(up: Upstream):
    for code in (200, 404, 418, 503):
        assert get(f"{up.url}/status/{code}").status_code == code
    up.set_mode("errors", status=500)
    assert get(f"{up.url}/status/404").status_code == 404
    up.set_mode("slow", delay_ms=5000)
    began = time.monotonic()
    assert get(f"{up.url}/status/503").status_code == 503
    assert time.monotonic() - began < 2


# -- modes --------------------------------------------------------------------------------


def test_errors_mode_answers_the_configured_status(up: Upstream):
    up.set_mode("errors")
    failed = get(f"{up.url}/health")
    assert failed.status_code == 500
    assert "error" in failed.json()
    up.set_mode("errors", status=503)
    assert get(f"{up.url}/inventory/SKU-1").status_code == 503
    up.set_mode("healthy")
    assert get(f"{up.url}/inventory/SKU-1").status_code == 200


def test_slow_mode_waits_at_least_the_delay(up: Upstream):
    up.set_mode("slow", delay_ms=300)
    began = time.monotonic()
    response = get(f"{up.url}/inventory/SKU-1")
    assert time.monotonic() - began >= 0.3
    assert response.status_code == 200


@pytest.mark.parametrize("release_over", ["python", "http"])
def test_hang_holds_requests_until_the_mode_changes(
    up: Upstream, pool: ThreadPoolExecutor, release_over: str
):
    up.set_mode("hang")
    with pytest.raises(httpx.ReadTimeout):
        get(f"{up.url}/health", timeout=0.3)
    patient: Future[httpx.Response] = pool.submit(get, f"{up.url}/health", 5.0)
    wait_until(lambda: up.stats()["hanging"] == 2, "two hanging requests")
    if release_over == "python":
        up.set_mode("healthy")
    else:
        assert put(up.control_url, {"mode": "healthy"}).status_code == 200
    assert patient.result(timeout=5).status_code == 200
    wait_until(lambda: up.stats()["hanging"] == 0, "hanging requests released")


def test_stop_releases_hanging_requests_at_once(pool: ThreadPoolExecutor):
    upstream = Upstream(mode="hang").start()
    try:
        hung = pool.submit(get, f"{upstream.url}/health", 5.0)
        wait_until(lambda: upstream.stats()["hanging"] == 1, "a hanging request")
    finally:
        began = time.monotonic()
        upstream.stop()
    assert time.monotonic() - began < 1
    with pytest.raises(httpx.RemoteProtocolError):
        hung.result(timeout=5)


def test_hang_cap_closes_the_connection_unanswered():
    with Upstream(mode="hang", max_hang_s=0.2) as upstream:
        with pytest.raises(httpx.RemoteProtocolError):
            get(f"{upstream.url}/health", timeout=5)
        assert upstream.stats()["dropped"] == 1


def test_refuse_closes_the_port_and_healthy_reopens_the_same_one(up: Upstream):
    port = up.port
    up.set_mode("refuse")
    with pytest.raises(httpx.ConnectError):
        get(f"{up.url}/health")
    assert up.stats()["connections"] == 0
    assert get(up.control_url).json()["listening"] is False
    up.set_mode("healthy")
    assert up.port == port
    assert get(f"http://{HOST}:{port}/health").status_code == 200


def test_refuse_set_over_the_service_port_is_lifted_over_the_control_port(up: Upstream):
    assert put(f"{up.url}/_control", {"mode": "refuse"}).json()["mode"] == "refuse"
    with pytest.raises(httpx.ConnectError):
        get(f"{up.url}/health")
    assert put(up.control_url, {"mode": "healthy"}).json()["listening"] is True
    assert get(f"{up.url}/health").status_code == 200


def test_starting_in_refuse_mode_still_reserves_a_port():
    with Upstream(mode="refuse") as upstream:
        assert upstream.port != 0
        with pytest.raises(httpx.ConnectError):
            get(f"{upstream.url}/health")
        upstream.set_mode("healthy")
        assert get(f"{upstream.url}/health").status_code == 200


def test_flaky_mode_is_seeded(up: Upstream):
    def statuses() -> list[int]:
        with client() as c:  # the upstream closes every connection: still 20 connections
            return [c.get(f"{up.url}/health").status_code for _ in range(20)]

    up.set_mode("flaky", error_rate=0.5, status=503, seed=7)
    first = statuses()
    up.set_mode("flaky", error_rate=0.5, status=503, seed=7)
    assert statuses() == first
    assert set(first) == {200, 503}


# -- control API --------------------------------------------------------------------------


@pytest.mark.parametrize("port", ["service", "control"])
def test_control_api_over_http(up: Upstream, port: str):
    url = control_url(up, port)
    changed = put(url, {"mode": "errors", "status": 503})
    assert changed.status_code == 200
    assert changed.json()["mode"] == "errors"
    assert changed.json()["settings"] == {"status": 503}
    assert up.mode == "errors"
    assert get(f"{up.url}/health").status_code == 503
    with client() as c:
        assert c.post(url, json={"mode": "slow", "delay_ms": 50}).status_code == 200
    shown = get(url).json()
    assert (shown["mode"], shown["settings"]) == ("slow", {"delay_ms": 50})
    assert shown["control_url"] == up.control_url


def test_python_api_shows_what_http_shows(up: Upstream):
    up.set_mode("flaky", error_rate=0.25, seed=3)
    shown = get(up.control_url).json()
    assert shown == up.status()
    assert shown["settings"] == {"error_rate": 0.25, "status": 500, "seed": 3}


BAD_BODIES = [
    pytest.param(b"not json", None, id="not-json"),
    pytest.param(b"[1, 2]", None, id="not-an-object"),
    pytest.param(b"{}", "mode", id="missing-mode"),
    pytest.param(b'{"mode": "broken"}', "mode", id="unknown-mode"),
    pytest.param(b'{"mode": "healthy", "colour": "red"}', "colour", id="unknown-field"),
    pytest.param(b'{"mode": "errors", "status": "503"}', "status", id="status-string"),
    pytest.param(b'{"mode": "errors", "status": 200}', "status", id="status-range"),
    pytest.param(b'{"mode": "errors", "status": true}', "status", id="status-bool"),
    pytest.param(b'{"mode": "errors", "delay_ms": 5}', "delay_ms", id="field-of-other-mode"),
    pytest.param(b'{"mode": "slow", "delay_ms": -1}', "delay_ms", id="negative-delay"),
    pytest.param(b'{"mode": "flaky", "error_rate": 1.5}', "error_rate", id="rate-range"),
]


@pytest.mark.parametrize(("body", "field"), BAD_BODIES)
def test_bad_control_bodies_get_a_400_naming_the_field(
    up: Upstream, body: bytes, field: str | None
):
    with client() as c:
        refused = c.put(up.control_url, content=body)
    assert refused.status_code == 400
    error = refused.json()
    assert error["error"]
    assert error.get("field") == field
    assert error["allowed"]
    assert up.mode == "healthy"


def test_bad_mode_lists_the_allowed_modes_on_both_ports(up: Upstream):
    for port in ("service", "control"):
        error = put(control_url(up, port), {"mode": "sideways"}).json()
        assert error["field"] == "mode"
        assert error["allowed"] == ["healthy", "errors", "slow", "hang", "refuse", "flaky"]


def test_set_mode_rejects_what_http_rejects(up: Upstream):
    with pytest.raises(ControlError, match="mode"):
        up.set_mode("sideways")
    with pytest.raises(ControlError, match="status"):
        up.set_mode("errors", status=99)
    with pytest.raises(ControlError, match="does not apply"):
        up.set_mode("hang", delay_ms=10)


# -- stats --------------------------------------------------------------------------------


def test_every_connection_is_counted_even_without_a_request(up: Upstream):
    for _ in range(5):
        assert get(f"{up.url}/inventory/SKU-1").status_code == 200
    assert up.stats()["connections"] == 5
    assert up.stats()["requests"] == {"200": 5}
    with socket.create_connection((HOST, up.port)):
        pass  # connect, send nothing, close
    wait_until(lambda: up.stats()["connections"] == 6, "the bare connect to be counted")
    with socket.create_connection((HOST, up.port)):  # held open, silent
        wait_until(lambda: up.stats()["connections"] == 7, "the silent connection to be counted")
    assert up.stats()["requests_total"] == 5
    get(up.control_url)  # the control port counts nothing
    assert up.stats()["connections"] == 7


def test_reset_stats_over_http_and_python(up: Upstream):
    get(f"{up.url}/health")
    get(f"{up.url}/nope")
    assert up.stats()["requests"] == {"200": 1, "404": 1}
    with client() as c:
        reset = c.post(f"{up.control_url}/reset-stats")
        assert c.get(f"{up.control_url}/reset-stats").status_code == 405
    assert reset.status_code == 200
    zero = {"connections": 0, "requests": {}, "requests_total": 0, "hanging": 0, "dropped": 0}
    assert reset.json()["stats"] == zero
    get(f"{up.url}/health")
    assert up.stats()["connections"] == 1
    up.reset_stats()
    assert up.stats() == zero


# -- lifecycle ----------------------------------------------------------------------------


def test_stop_does_not_wait_for_silent_connections():
    upstream = Upstream().start()
    with socket.create_connection((HOST, upstream.port)):
        wait_until(lambda: upstream.stats()["connections"] == 1, "the connection")
        began = time.monotonic()
        upstream.stop()
        assert time.monotonic() - began < 1


def test_a_taken_port_fails_to_start_and_leaks_nothing(up: Upstream):
    with pytest.raises(OSError, match="in use"):
        Upstream(port=up.port).start()


def test_cli_rejects_settings_of_another_mode(capsys: pytest.CaptureFixture[str]):
    with pytest.raises(SystemExit) as exited:
        main(["--mode", "healthy", "--status", "503"])
    assert exited.value.code == 2
    assert "--status" in capsys.readouterr().err


@pytest.mark.slow
def test_cli_serves_and_stops_on_sigint_without_traceback():
    port, control_port = free_port(), free_port()
    args = ["--port", str(port), "--control-port", str(control_port)]
    args += ["--mode", "errors", "--status", "503"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "example_apps.upstream", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        url = f"http://{HOST}:{port}"

        def answers() -> bool:
            try:
                return get(f"{url}/health", timeout=1).status_code == 503
            except httpx.TransportError:
                return False

        wait_until(answers, "the CLI upstream to answer", timeout=10)
        control = f"http://{HOST}:{control_port}/_control"
        assert put(control, {"mode": "refuse"}).status_code == 200
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    assert f"{url}  (mode: errors (status=503))" in out
    assert f'curl -X PUT {control} -d \'{{"mode":"hang"}}\'' in out
    assert out.rstrip().endswith("Stopped.")
