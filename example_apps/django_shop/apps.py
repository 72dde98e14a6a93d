"""The shop app: templates, and the stock table read with ``SHOP_STOCK_SOURCE=database``."""

from __future__ import annotations

from django.apps import AppConfig  # type: ignore[import-untyped]


class ShopConfig(AppConfig):  # type: ignore[misc]  # Django is untyped
    """The example shop."""

    name = "example_apps.django_shop"
    label = "shop"
    verbose_name = "breakerpanel example shop"
