"""Run the shop: ``python -m example_apps.django_shop [--port 8002]``.

With no Django command, this is the demo: it starts the flaky upstream on
each service URL's port when nothing listens there yet (127.0.0.1:8001 by
default, control API on port + 1000), migrates the SQLite database, creates
the demo users and serves the shop with ``runserver`` on 127.0.0.1:8002.

With a Django command it is the shop's ``manage.py``:
``python -m example_apps.django_shop breakers``, ``... check``, ``... createsuperuser``.
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
import urllib.parse
from contextlib import ExitStack

from example_apps.upstream import Upstream

SETTINGS = "example_apps.django_shop.settings"
DEMO_USERS = (("alice", False), ("bob", False), ("admin", True))
DEMO_PASSWORD = "breakerpanel"


def _listening(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(0.2)
        return probe.connect_ex((host, port)) == 0


def _start_upstreams(stack: ExitStack, urls: list[str]) -> None:
    for url in dict.fromkeys(urls):
        parts = urllib.parse.urlsplit(url)
        host, port = parts.hostname or "", parts.port or 80
        if host != "127.0.0.1" or _listening(host, port):
            continue
        upstream = stack.enter_context(Upstream(host, port, port + 1000))
        print(f"Upstream service:  {upstream.url}  (control: {upstream.control_url})")
        print(
            f"  break it:        curl -X PUT {upstream.control_url} "
            """-d '{"mode": "errors", "status": 503}'"""
        )


def _demo_users() -> None:
    from django.contrib.auth import get_user_model  # type: ignore[import-untyped]

    users = get_user_model()
    for name, staff in DEMO_USERS:
        if not users.objects.filter(username=name).exists():
            users.objects.create_user(
                name, password=DEMO_PASSWORD, is_staff=staff, is_superuser=staff
            )


def demo(port: int) -> None:
    """Start the upstream(s) if needed, prepare the database and serve the shop."""
    import django  # type: ignore[import-untyped]
    from django.conf import settings  # type: ignore[import-untyped]
    from django.core.management import call_command  # type: ignore[import-untyped]

    django.setup()
    with ExitStack() as stack:
        _start_upstreams(stack, [settings.INVENTORY_URL, settings.RECOMMENDATIONS_URL])
        call_command("migrate", verbosity=0, interactive=False)
        _demo_users()
        print(f"Shop:              http://127.0.0.1:{port}/product/SKU-1/")
        print(
            f"  sign in as alice, bob or admin (password {DEMO_PASSWORD!r}); "
            f"admin sees http://127.0.0.1:{port}/breakers/"
        )
        call_command("runserver", f"127.0.0.1:{port}", use_reloader=False)


def main(argv: list[str]) -> None:
    """The demo without a command, else ``manage.py`` with ``argv``."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", SETTINGS)
    if argv and not argv[0].startswith("-"):
        from django.core.management import execute_from_command_line

        execute_from_command_line(["python -m example_apps.django_shop", *argv])
        return
    parser = argparse.ArgumentParser(prog="python -m example_apps.django_shop")
    parser.add_argument("--port", type=int, default=8002, help="port of the shop (8002)")
    demo(parser.parse_args(argv).port)


if __name__ == "__main__":
    main(sys.argv[1:])
