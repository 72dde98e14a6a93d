"""The unmanaged ``Breaker`` model that carries the ``change_breaker_state`` permission.

Layer: integration. Imports breaker_core's declared interface only (breaker_core,
breaker_core.extension, .web, .ops).
"""

from __future__ import annotations

from django.db import migrations, models  # type: ignore[import-untyped]


class Migration(migrations.Migration):  # type: ignore[misc]  # Django is untyped
    initial = True

    dependencies: list[tuple[str, str]] = []  # noqa: RUF012  (Django's migration shape)

    operations = [  # noqa: RUF012
        migrations.CreateModel(
            name="Breaker",
            fields=[
                (
                    "id",
                    models.AutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
            ],
            options={
                "verbose_name": "circuit breaker",
                "permissions": (
                    ("change_breaker_state", "Can change the state of circuit breakers"),
                ),
                "managed": False,
                "default_permissions": (),
            },
        ),
    ]
