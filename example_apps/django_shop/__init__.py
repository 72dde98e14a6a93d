"""A small Django shop behind circuit breakers: ``python -m example_apps.django_shop``.

A product page shows stock from the Inventory service through
``breakers.client("inventory")``; a "Recommended for you" widget comes from the
Recommendations service inside ``{% breaker %}``; checkout is guarded by the
inventory's ``routes``; ``/about/`` needs nothing. Both services are
``example_apps.upstream`` (started for you when nothing listens on their port).
``/breakers/`` is the dashboard (staff: sign in as "admin"), ``/breakers/health/``
the health endpoint for load balancers (open to all). See ``docs/django.md``.
"""
