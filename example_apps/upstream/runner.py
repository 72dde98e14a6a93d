"""``Upstream``: the service and control servers, run in background threads."""

from __future__ import annotations

import sys
import threading
from types import TracebackType
from typing import Self

from example_apps.upstream.control import UpstreamError, parse_control
from example_apps.upstream.handlers import CONTROL_PATH, ControlHandler, ServiceHandler
from example_apps.upstream.modes import Mode, ModeState, Settings
from example_apps.upstream.server import ConnectionTracker, UpstreamHTTPServer
from example_apps.upstream.stats import Stats, StatsSnapshot

#: How often a serving thread checks whether it was asked to stop (bounds stop/refuse latency).
POLL_INTERVAL = 0.05
#: How long ``stop()`` waits for handler threads to finish after releasing them.
STOP_GRACE = 5.0


class Upstream:
    """A flaky HTTP service on a real socket, with a control API on a second port.

    ``port=0`` and ``control_port=0`` (the defaults) pick free ports; ``mode`` and
    ``**settings`` give the initial behaviour, as :meth:`set_mode` takes them::

        with Upstream() as up:
            httpx.get(f"{up.url}/inventory/SKU-1")
            up.set_mode("errors", status=503)

    ``max_hang_s`` caps how long ``hang`` mode holds a request before closing it unanswered.
    ``quiet=False`` logs each request and mode change to stderr. An instance runs once:
    :meth:`start`, then :meth:`stop` (or use it as a context manager).
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        control_port: int = 0,
        *,
        mode: str = "healthy",
        max_hang_s: float = 300.0,
        quiet: bool = True,
        **settings: object,
    ) -> None:
        self.host = host
        self.max_hang_s = max_hang_s
        self.quiet = quiet
        self.state = ModeState(parse_control({"mode": mode, **settings}))
        self.counters = Stats()
        self._ports = (port, control_port)
        self._tracker = ConnectionTracker()
        self._lock = threading.Lock()  # serialises start, mode changes and stop
        self._service: tuple[UpstreamHTTPServer, threading.Thread] | None = None
        self._control: tuple[UpstreamHTTPServer, threading.Thread] | None = None
        self._started = False
        self._stopped = threading.Event()

    # -- addresses --------------------------------------------------------------------------

    @property
    def port(self) -> int:
        """The service port (the real one once started, also while refusing)."""
        return self._ports[0]

    @property
    def control_port(self) -> int:
        """The control port."""
        return self._ports[1]

    @property
    def url(self) -> str:
        """The service base URL, e.g. ``http://127.0.0.1:8001``."""
        return f"http://{self.host}:{self.port}"

    @property
    def control_url(self) -> str:
        """The control endpoint on the control port, e.g. ``http://127.0.0.1:9001/_control``."""
        return f"http://{self.host}:{self.control_port}{CONTROL_PATH}"

    @property
    def listening(self) -> bool:
        """True while the service port accepts connections (false in ``refuse`` mode)."""
        return self._service is not None

    # -- lifecycle --------------------------------------------------------------------------

    def start(self) -> Self:
        """Bind both ports and serve them in daemon threads; returns ``self``.

        Raises ``OSError`` when a port cannot be bound (nothing is left open then).
        """
        with self._lock:
            if self._started or self._stopped.is_set():
                raise RuntimeError("an Upstream starts only once")
            self._started = True
            self._control = self._serve(self._ports[1], ControlHandler, count_connections=False)
            try:
                self._open_service(self._ports[0])
            except OSError:
                self._shut(self._control)
                self._control = None
                self._stopped.set()
                raise
            self._ports = (self._ports[0], self._control[0].server_port)
            if self.state.settings.mode is Mode.REFUSE:
                self._close_service()
        return self

    def stop(self) -> None:
        """Release hanging requests, close every socket and wait for the handler threads."""
        with self._lock:
            if self._stopped.is_set():
                return
            self._stopped.set()
            self.state.stop()
            self._close_service()
            if self._control is not None:
                self._shut(self._control)
                self._control = None
        self._tracker.release()
        self._tracker.join(STOP_GRACE)

    def wait(self, timeout: float | None = None) -> bool:
        """Block until :meth:`stop` was called (at most ``timeout`` s); True if it was."""
        return self._stopped.wait(timeout)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- behaviour --------------------------------------------------------------------------

    @property
    def mode(self) -> str:
        """The current mode's name."""
        return self.state.settings.mode.value

    def set_mode(self, mode: str, **settings: object) -> dict[str, object]:
        """Switch behaviour, exactly as ``PUT /_control`` with ``{"mode": mode, **settings}``.

        Settings: ``status`` (errors, flaky), ``delay_ms`` (slow), ``error_rate`` and ``seed``
        (flaky); left out, they take their defaults. Raises ``ControlError`` (a ``ValueError``)
        for bad input and ``UpstreamError`` when the service port cannot be re-opened.
        Returns :meth:`status`.
        """
        self.apply({"mode": mode, **settings})
        return self.status()

    def apply(self, payload: object) -> Settings:
        """Validate a control body and switch to it; the listener follows ``refuse``."""
        settings = parse_control(payload)
        with self._lock:
            if self._stopped.is_set():
                raise UpstreamError("the upstream is stopped")
            if settings.mode is Mode.REFUSE:
                self.state.set(settings)  # wakes hanging requests: they close unanswered
                if self._started:
                    self._close_service()
            else:
                if self._started and self._service is None:
                    try:
                        self._open_service(self.port)
                    except OSError as exc:
                        raise UpstreamError(f"cannot re-open {self.url}: {exc}") from exc
                self.state.set(settings)
        self._log(f"mode -> {settings}")
        return settings

    def status(self) -> dict[str, object]:
        """What ``GET /_control`` answers: mode, settings, listening, addresses and stats."""
        settings = self.state.settings
        return {
            "mode": settings.mode.value,
            "settings": settings.describe(),
            "listening": self.listening,
            "service_url": self.url,
            "control_url": self.control_url,
            "max_hang_s": self.max_hang_s,
            "stats": self.stats(),
        }

    def stats(self) -> StatsSnapshot:
        """Connections accepted on the service port, answers by status, hanging, dropped."""
        return self.counters.snapshot()

    def reset_stats(self) -> None:
        """Zero the counters (the ``hanging`` gauge keeps counting live requests)."""
        self.counters.reset()

    # -- listeners (called with self._lock held) ---------------------------------------------

    def _serve(
        self, port: int, handler: type[ServiceHandler | ControlHandler], *, count_connections: bool
    ) -> tuple[UpstreamHTTPServer, threading.Thread]:
        server = UpstreamHTTPServer(
            (self.host, port),
            handler,
            upstream=self,
            tracker=self._tracker,
            count_connections=count_connections,
        )
        thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": POLL_INTERVAL},
            name=f"upstream-{server.server_port}",
            daemon=True,
        )
        thread.start()
        return server, thread

    def _open_service(self, port: int) -> None:
        self._service = self._serve(port, ServiceHandler, count_connections=True)
        self._ports = (self._service[0].server_port, self._ports[1])

    def _close_service(self) -> None:
        if self._service is not None:
            self._shut(self._service)
            self._service = None

    @staticmethod
    def _shut(served: tuple[UpstreamHTTPServer, threading.Thread]) -> None:
        """Stop accepting and close the listening socket; accepted connections live on."""
        server, thread = served
        server.shutdown()
        server.server_close()
        thread.join()

    def _log(self, message: str) -> None:
        if not self.quiet:
            print(f"[upstream] {message}", file=sys.stderr, flush=True)
