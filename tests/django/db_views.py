"""Pages reading their stock from the guarded alias ``shopdb`` (tests/django/test_db.py)."""

from __future__ import annotations

from django.db import connections
from django.http import HttpResponse
from django.template import engines
from django.urls import path

WIDGET = engines["django"].from_string(
    '{% load breakers %}<p>shop</p>{% breaker "shopdb" %}<p>stock: {{ stock.level }}</p>'
    "{% fallback %}<p>stock unavailable</p>{% endbreaker %}"
)


class Stock:
    """Reads the stock level when the template asks for it (lazily, inside the block)."""

    @property
    def level(self) -> int:
        with connections["shopdb"].cursor() as cursor:
            cursor.execute("SELECT 1")
            return int(cursor.fetchone()[0])


def stock(request):
    return HttpResponse(f"stock: {Stock().level}")


def stock_widget(request):
    return HttpResponse(WIDGET.render({"stock": Stock()}, request))


urlpatterns = [path("stock/", stock), path("stock/widget/", stock_widget)]
