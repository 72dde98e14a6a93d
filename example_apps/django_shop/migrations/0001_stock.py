"""The stock table, seeded with every SKU of the catalogue."""

from __future__ import annotations

from typing import Any, ClassVar

from django.db import migrations, models  # type: ignore[import-untyped]


def seed(apps: Any, schema_editor: Any) -> None:
    from example_apps.django_shop.models import initial_units
    from example_apps.django_shop.services import PRODUCTS

    stock_level = apps.get_model("shop", "StockLevel")
    stock_level.objects.using(schema_editor.connection.alias).bulk_create(
        stock_level(sku=sku, units=initial_units(int(sku.removeprefix("SKU-")))) for sku in PRODUCTS
    )


class Migration(migrations.Migration):  # type: ignore[misc]  # Django is untyped
    initial = True
    dependencies: ClassVar[list[tuple[str, str]]] = []
    operations: ClassVar[list[Any]] = [
        migrations.CreateModel(
            name="StockLevel",
            fields=[
                ("sku", models.CharField(max_length=20, primary_key=True, serialize=False)),
                ("units", models.PositiveIntegerField()),
            ],
        ),
        migrations.RunPython(seed, migrations.RunPython.noop),
    ]
