"""Views of the test project: guarded pages, escaping errors, a widget under a breaker."""

from __future__ import annotations

import itertools

from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.template.response import TemplateResponse

from breaker_django import breakers

renders = itertools.count(1)  # numbers each rendering of the catalogue page


class Recommendations:
    """Fetches the user's recommendations when the template reads them (lazily)."""

    def __init__(self, username: str) -> None:
        self.username = username or "anonymous"

    @property
    def items(self) -> list[str]:
        with breakers.client("recommendations") as client:
            response = client.get(f"/{self.username}")
        response.raise_for_status()
        return list(response.json()["items"])


def widget(request):
    context = {"recommendations": Recommendations(request.user.get_username())}
    return render(request, "tests/widget.html", context)


def checkout(request):
    return HttpResponse("checkout ok")


async def async_checkout(request):
    return HttpResponse(f"async checkout ok, {len(request.breakers)} breakers")


def catalogue(request):
    return HttpResponse(f"catalogue rendering {next(renders)}")


def catalogue_session(request):
    request.session["seen"] = True
    return HttpResponse(f"catalogue for a session, rendering {next(renders)}")


def catalogue_cookie(request):
    response = HttpResponse(f"catalogue with a cookie, rendering {next(renders)}")
    response.set_cookie("tracking", "alice")
    return response


def catalogue_stream(request):
    return StreamingHttpResponse(iter([b"catalogue ", b"streamed"]))


def catalogue_escape(request):
    # The view's own call to a dependency that is open: CircuitOpenError escapes.
    return HttpResponse(breakers["catalogue"].call(lambda: "catalogue from the service"))


def escape(request):
    return HttpResponse(breakers["inventory"].call(lambda: "inventory answered"))


async def async_escape(request):
    async def fetch() -> str:
        return "inventory answered"

    return HttpResponse(await breakers["inventory"].call_async(fetch))


class _Lazy:
    @property
    def value(self) -> str:
        return breakers["inventory"].call(lambda: "lazy value")


def template_escape(request):
    # The error escapes while Django renders the TemplateResponse, after the view returned.
    return TemplateResponse(request, "tests/lazy.html", {"lazy": _Lazy()})


def broken(request):
    raise ValueError("a bug in the view, not a breaker")
