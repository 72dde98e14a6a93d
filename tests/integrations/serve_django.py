"""Serve the Django contract app with Django's threaded server; print the port, serve forever."""

from __future__ import annotations

import os
import sys

os.environ["DJANGO_SETTINGS_MODULE"] = "tests.integrations.django_site"

import django

django.setup()

from django.core.handlers.wsgi import WSGIHandler  # noqa: E402
from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler  # noqa: E402


class QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


server = ThreadedWSGIServer(("127.0.0.1", 0), QuietHandler)
server.set_app(WSGIHandler())
print(server.server_address[1], flush=True)
sys.stdout.close()
server.serve_forever()
