"""The demo: the flaky upstream and the three example shops under real servers.

``python -m example_apps.demo`` (what ``make demo`` runs) starts
``example_apps.upstream`` as Inventory and Recommendations on port 8001
(control API on 9001), the Django and Flask shops under gunicorn with several
sync workers (ports 8002 and 8003) and the FastAPI shop under uvicorn (8004),
waits until every one answers, prints where to look and how to break
Inventory, and stops them all on Ctrl-C. See ``docs/demo.md``.

Submodules: :mod:`~example_apps.demo.supervisor` (start, watch and stop child
processes), :mod:`~example_apps.demo.servers` (the command of each server),
:mod:`~example_apps.demo.apps` (the WSGI and ASGI apps the servers load),
:mod:`~example_apps.demo.switches` (the shops' ``SHOP_MODE`` and friends).
"""
