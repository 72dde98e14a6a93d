"""A URLconf with converters and regular expressions, for the routes check."""

from __future__ import annotations

from django.http import HttpResponse
from django.urls import include, path, re_path


def view(request, **kwargs):
    return HttpResponse("ok")


urlpatterns = [
    path("product/<int:pk>/", view),
    path("files/<path:name>", view),
    path("orders/<uuid:order>/pay/", view),
    re_path(r"^legacy/(?P<year>[0-9]{4})/$", view),
    path("nested/", include([path("<slug:slug>/", view)])),
]
