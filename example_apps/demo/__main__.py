"""``python -m example_apps.demo``: the upstream and the three shops, until Ctrl-C.

Options choose ports, the number of gunicorn workers, the breakers' shared
storage (``--storage redis://127.0.0.1:6379/0``) and the shops' ``SHOP_MODE``.
Exits 0 after Ctrl-C (or SIGTERM), 1 when a server fails to start or dies.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import sys
import urllib.parse
from collections.abc import Sequence
from pathlib import Path

from example_apps.demo import servers
from example_apps.demo.supervisor import ChildExited, Supervisor
from example_apps.demo.switches import MODES

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_ADMIN_PASSWORD = "breakerpanel"
"""The FastAPI dashboard's password unless ``SHOP_ADMIN_PASSWORD`` is set (demo only)."""


def build_parser() -> argparse.ArgumentParser:
    """The command-line options."""
    parser = argparse.ArgumentParser(
        prog="python -m example_apps.demo",
        description="Run the flaky upstream and the Django, Flask and FastAPI shops "
        "under real servers until Ctrl-C.",
    )
    parser.add_argument(
        "--storage",
        default=os.environ.get("BREAKERS_STORAGE") or None,
        help="breaker state storage for every shop, e.g. redis://127.0.0.1:6379/0 "
        "(default: memory, one set of breakers per worker process)",
    )
    parser.add_argument(
        "--mode",
        choices=MODES,
        default=os.environ.get("SHOP_MODE") or "breakerpanel",
        help="how the product pages call Inventory (default: breakerpanel)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        help="gunicorn sync worker processes per WSGI shop (default: 3 with --storage; "
        "without it, 1 process with 4 threads, so that one set of breakers sees every request)",
    )
    parser.add_argument("--upstream-port", type=int, default=8001)
    parser.add_argument("--control-port", type=int, help="default: --upstream-port + 1000")
    parser.add_argument("--django-port", type=int, default=8002)
    parser.add_argument("--flask-port", type=int, default=8003)
    parser.add_argument("--fastapi-port", type=int, default=8004)
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=ROOT / "build" / "demo",
        help="where the Django shop's SQLite database goes (default: build/demo)",
    )
    return parser


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # As the servers do: connections of a previous run in TIME_WAIT do not make it busy.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((servers.HOST, port))
        except OSError:
            return False
    return True


def _check_ports(parser: argparse.ArgumentParser, ports: dict[str, int]) -> None:
    if len(set(ports.values())) != len(ports):
        parser.error(f"the ports must differ: {ports}")
    for option, port in ports.items():
        if not 0 < port < 65536:
            parser.error(f"{option} must be from 1 to 65535, got {port}")
        if not _port_free(port):
            parser.error(f"port {port} is in use; stop what uses it or pick another {option}")


def _warn_unreachable_storage(url: str) -> None:
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("redis", "rediss"):
        return
    try:
        socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 6379), 1).close()
    except OSError:
        print(
            f"warning: nothing answers at {parts.hostname}:{parts.port or 6379}; each worker "
            "keeps its own breakers until Redis is up (start it: redis-server)",
            file=sys.stderr,
        )


def storage_for(url: str, shop: str) -> str:
    """``url`` with a key prefix of the shop's own, for Redis URLs (others as they are).

    The three shops are three apps: sharing one Redis, each keeps its own breakers
    (``prefix=breakerpanel-django``, or ``<your prefix>-django``).
    """
    if urllib.parse.urlsplit(url).scheme not in ("redis", "rediss", "unix"):
        return url
    base, _, raw = url.partition("?")
    query = urllib.parse.parse_qsl(raw, keep_blank_values=True)
    prefix = next((value for key, value in query if key == "prefix"), "breakerpanel")
    query = [(key, value) for key, value in query if key != "prefix"]
    query.append(("prefix", f"{prefix}-{shop}"))
    return f"{base}?{urllib.parse.urlencode(query)}"


def banner(args: argparse.Namespace, control_port: int, password: str) -> str:
    """What the demo prints once every server answers."""
    host = servers.HOST
    control = f"http://{host}:{control_port}/_control"
    dj, fl, fa = (
        f"http://{host}:{p}" for p in (args.django_port, args.flask_port, args.fastapi_port)
    )
    state = (
        f"shared in {args.storage}"
        if args.storage
        else "in memory, per worker process (STORAGE=redis://... shares it)"
    )
    processes = _processes(args)
    return f"""
breakerpanel demo is up (Ctrl-C stops everything). Shops in {args.mode!r} mode; \
breaker state {state}.

  Upstream (Inventory + Recommendations)   http://{host}:{args.upstream_port}   control: {control}
  Django shop   gunicorn, {processes}   {dj}/product/SKU-1/
      dashboard  {dj}/breakers/   sign in at {dj}/login/ as admin, password breakerpanel
  Flask shop    gunicorn, {processes}   {fl}/product/SKU-1
      dashboard  {fl}/breakers/   log in first: {fl}/login?user=admin
  FastAPI shop  uvicorn                    {fa}/product/SKU-1
      dashboard  {fa}/breakers/   HTTP Basic: admin / {password}

  Break Inventory:  curl -X PUT {control} -d '{{"mode": "hang"}}'
      (or "errors", "slow", "refuse"; "healthy" to recover)
"""


def _workers(args: argparse.Namespace) -> tuple[int, int]:
    """gunicorn's ``(workers, threads)`` for the WSGI shops.

    With in-memory state each worker process has its own breakers: three sync workers would
    each need their own failures before "reload a few times" trips what the next reload
    meets. So without ``--storage`` the default is one process with four threads; with
    shared state, three sync workers (they share one breaker per dependency).
    """
    if args.workers is not None:
        return args.workers, 1
    return (3, 1) if args.storage else (1, 4)


def _processes(args: argparse.Namespace) -> str:
    workers, threads = _workers(args)
    if threads > 1:
        return f"{workers} process, {threads} threads"
    return f"{workers} sync workers"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the demo until Ctrl-C; return the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    control_port = args.control_port or args.upstream_port + 1000
    if args.workers is not None and args.workers < 1:
        parser.error("--workers must be 1 or more")
    workers, threads = _workers(args)
    _check_ports(
        parser,
        {
            "--upstream-port": args.upstream_port,
            "--control-port": control_port,
            "--django-port": args.django_port,
            "--flask-port": args.flask_port,
            "--fastapi-port": args.fastapi_port,
        },
    )
    if args.storage:
        _warn_unreachable_storage(args.storage)
    args.data_dir.mkdir(parents=True, exist_ok=True)
    password = os.environ.get("SHOP_ADMIN_PASSWORD") or DEFAULT_ADMIN_PASSWORD
    upstream_url = f"http://{servers.HOST}:{args.upstream_port}"
    env = {
        "INVENTORY_URL": upstream_url,
        "RECOMMENDATIONS_URL": upstream_url,
        "SHOP_MODE": args.mode,
        "SHOP_DATABASE": str(args.data_dir / "django-shop.sqlite3"),
        "SHOP_ADMIN_PASSWORD": password,
    }

    def storage(shop: str) -> dict[str, str]:
        return {"BREAKERS_STORAGE": storage_for(args.storage, shop)} if args.storage else {}

    supervisor = Supervisor(env={**os.environ, **env})
    signal.signal(signal.SIGINT, supervisor.request_stop)
    signal.signal(signal.SIGTERM, supervisor.request_stop)
    with supervisor:
        try:
            supervisor.start(servers.upstream(args.upstream_port, control_port))
            supervisor.run_once("django", [sys.executable, "-m", "example_apps.demo.django_setup"])
            for shop, port, about in (
                ("django", args.django_port, "/about/"),
                ("flask", args.flask_port, "/about"),
            ):
                service = servers.gunicorn(
                    shop,
                    port,
                    workers=workers,
                    threads=threads,
                    ready_path=about,
                    env=storage(shop),
                )
                supervisor.start(service)
            supervisor.start(
                servers.uvicorn(args.fastapi_port, ready_path="/about", env=storage("fastapi"))
            )
            supervisor.wait_ready()
            print(banner(args, control_port, password), flush=True)
            supervisor.watch()
        except InterruptedError:
            pass
        except (ChildExited, TimeoutError) as exc:
            print(f"demo: {exc}; stopping everything", file=sys.stderr, flush=True)
            return 1
        finally:
            print("demo: stopping...", flush=True)
    print("demo: stopped.", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
