"""The shop's own stock table: what ``SHOP_STOCK_SOURCE=database`` reads, through the guard."""

from __future__ import annotations

from django.db import models  # type: ignore[import-untyped]


class StockLevel(models.Model):  # type: ignore[misc]  # Django is untyped
    """Units of one SKU in the shop's stockroom."""

    sku = models.CharField(max_length=20, primary_key=True)
    units = models.PositiveIntegerField()

    def __str__(self) -> str:
        return f"{self.sku}: {self.units}"


def initial_units(number: int) -> int:
    """The seeded stock of ``SKU-<number>`` (some sold out, most not)."""
    return (number * 37) % 23
