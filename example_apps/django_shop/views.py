"""The shop's pages."""

from __future__ import annotations

import httpx
from django.http import (  # type: ignore[import-untyped]
    Http404,
    HttpRequest,
    HttpResponse,
    JsonResponse,
)
from django.shortcuts import render  # type: ignore[import-untyped]

from example_apps.django_shop import services


def home(request: HttpRequest) -> HttpResponse:
    """Every product, with links."""
    return render(request, "shop/home.html", {"products": services.PRODUCTS.items()})


def product(request: HttpRequest, sku: str) -> HttpResponse:
    """One product: stock from Inventory, and the "Recommended for you" widget.

    When Inventory cannot answer the page still renders, saying the stock is
    unknown; the widget degrades on its own inside ``{% breaker %}``.
    """
    if sku not in services.PRODUCTS:
        raise Http404(f"no product {sku}")
    context = {
        "sku": sku,
        "name": services.PRODUCTS[sku],
        "stock": services.stock(sku),
        "recommendations": services.Recommendations(request.user.get_username()),
    }
    return render(request, "shop/product.html", context)


def checkout(request: HttpRequest) -> HttpResponse:
    """Order a product. Needs Inventory: guarded by its ``routes`` ("/checkout/*").

    While Inventory's breaker is open the middleware answers 503 before this
    view runs; if it opens during the view, the ``CircuitOpenError`` escaping
    from ``services.reserve`` gets the same 503.
    """
    sku = request.POST.get("sku") or request.GET.get("sku") or "SKU-1"
    if sku not in services.PRODUCTS:
        raise Http404(f"no product {sku}")
    context = {"sku": sku, "name": services.PRODUCTS[sku]}
    if request.method == "POST":
        try:
            quantity = max(1, int(request.POST.get("quantity", "1")))
        except ValueError:
            quantity = 1
        available = services.reserve(sku, quantity)
        context["quantity"] = quantity
        template = "shop/ordered.html" if available else "shop/sold_out.html"
        return render(request, template, context)
    return render(request, "shop/checkout.html", context)


def api_stock(request: HttpRequest, sku: str) -> HttpResponse:
    """The stock of ``sku`` as JSON, the same for every visitor (so it may be kept).

    Inventory's ``routes`` may cover it with ``stale_for`` set: while the breaker
    is open the middleware then answers with the last good copy.
    """
    if sku not in services.PRODUCTS:
        raise Http404(f"no product {sku}")
    try:
        stock = services.current_stock(sku)  # a CircuitOpenError becomes the 503 (or a kept copy)
    except httpx.HTTPError:
        unavailable = JsonResponse({"error": "The inventory did not answer."}, status=503)
        unavailable["Retry-After"] = "1"
        return unavailable
    return JsonResponse({"sku": sku, "stock": stock})


def about(request: HttpRequest) -> HttpResponse:
    """A page that needs no service: it works whatever is down."""
    return render(request, "shop/about.html")
