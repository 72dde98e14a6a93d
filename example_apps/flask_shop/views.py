"""The shop's pages: products, checkout, about, and a fake login."""

from __future__ import annotations

import httpx
from flask import Blueprint, abort, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue

from breaker_flask.csrf import FIELD, check_csrf, csrf_token
from example_apps.flask_shop.services import Recommendations, reserve, stock_of
from example_apps.flask_shop.settings import CATALOGUE

shop = Blueprint("shop", __name__)

recommendations = Recommendations()


def current_user() -> str:
    """The logged-in user's name, or "guest" (a fake login: ``/login?user=alice``)."""
    user = session.get("user")
    return user if isinstance(user, str) else "guest"


def is_admin() -> bool:
    """Who may see and operate the breakers dashboard (log in as "admin")."""
    return current_user() == "admin"


@shop.app_context_processor
def shop_context() -> dict[str, object]:
    return {
        "user": current_user(),
        "catalogue": CATALOGUE,
        "is_admin": is_admin(),
        "csrf_field": FIELD,
        "csrf_token": csrf_token,
    }


@shop.get("/")
def index() -> ResponseReturnValue:
    return render_template("index.html")


@shop.get("/product/<sku>")
def product(sku: str) -> ResponseReturnValue:
    if sku not in CATALOGUE:
        abort(404)
    return render_template(
        "product.html",
        sku=sku,
        name=CATALOGUE[sku],
        stock=stock_of(sku),
        recommendations=recommendations,
    )


@shop.route("/checkout/", methods=["GET", "POST"])
def checkout() -> ResponseReturnValue:
    # The inventory's "routes" cover /checkout/*: while it is open this view does
    # not run; the visitor gets a 503 with Retry-After instead.
    sku = request.values.get("sku", "SKU-1")
    if sku not in CATALOGUE:
        abort(404)
    if request.method == "GET":
        return render_template("checkout.html", sku=sku, name=CATALOGUE[sku])
    check_csrf()  # placing an order changes state: same-origin, with the session's token
    try:
        stock = reserve(sku)  # a CircuitOpenError escaping here also becomes the 503
    except httpx.HTTPError:
        message = "The inventory did not answer; your order was not placed. Please try again."
        return render_template("checkout.html", sku=sku, name=CATALOGUE[sku], error=message), 503
    if stock == 0:
        message = f"Sorry, {CATALOGUE[sku]} is out of stock."
        return render_template("checkout.html", sku=sku, name=CATALOGUE[sku], error=message), 409
    return render_template("ordered.html", sku=sku, name=CATALOGUE[sku])


@shop.get("/api/stock/<sku>")
def api_stock(sku: str) -> ResponseReturnValue:
    """The stock of ``sku`` as JSON, the same for every visitor (so it may be kept).

    Inventory's ``routes`` may cover it with ``stale_for`` set: while the breaker
    is open the extension then answers with the last good copy.
    """
    if sku not in CATALOGUE:
        abort(404)
    try:
        stock = reserve(sku)  # a CircuitOpenError becomes the 503 (or a kept copy)
    except httpx.HTTPError:
        return {"error": "The inventory did not answer."}, 503, {"Retry-After": "1"}
    return {"sku": sku, "stock": stock}


@shop.get("/about")
def about() -> ResponseReturnValue:
    return render_template("about.html")


@shop.get("/login")
def login() -> ResponseReturnValue:
    user = request.args.get("user", "").strip()
    if user.isalnum() and len(user) <= 32:
        session["user"] = user
    else:
        session.pop("user", None)
    return redirect(url_for("shop.index"))
