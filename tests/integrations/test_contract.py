"""The integration contract: written once, run against Django, Flask and Starlette.

Each case runs against every app of ``conftest.DRIVERS``: Flask and Starlette
through their test clients and under real servers (werkzeug, uvicorn), Django
under its threaded server in a process of its own. A page's body names what it
was built from (path, query, host, cookie, header), so a copy served to the
wrong request shows.
"""

from __future__ import annotations

import json

import pytest

from breaker_core.web.dashboard import SECURITY_HEADERS
from tests.integrations.drivers import Driver

STALE = "x-breakerpanel"


def keep_then_open(app: Driver, target: str, **headers: str) -> str:
    """Load ``target`` while healthy (it may be kept), then open the dependency."""
    first = app.get(target, **headers)
    assert first.status == 200, first
    app.control("open")
    return first.text


# -- keys ------------------------------------------------------------------------------


def test_a_kept_page_is_served_while_open_with_age(app: Driver):
    body = keep_then_open(app, "/p/product?id=1")
    app.control("advance-5")
    stale = app.get("/p/product?id=1")
    assert (stale.status, stale.text) == (200, body)
    assert stale.headers[STALE] == "stale"
    assert stale.headers["age"] == "5"


def test_the_host_is_in_the_key(app: Driver):
    keep_then_open(app, "/p/tenant-page", Host="a.example")
    other = app.get("/p/tenant-page", Host="b.example")
    assert other.status == 503
    assert "a.example" not in other.text
    assert app.get("/p/tenant-page", Host="a.example").status == 200


def test_the_query_is_in_the_key(app: Driver):
    keep_then_open(app, "/p/search?q=alice")
    assert app.get("/p/search?q=bob").status == 503
    assert app.get("/p/search").status == 503


def test_an_encoded_question_mark_cannot_plant_a_page_under_another_url(app: Driver):
    planted = keep_then_open(app, "/p/evil%3Fq=1")
    assert app.get("/p/evil%3Fq=1").text == planted
    victim = app.get("/p/evil?q=1?")
    assert victim.status == 503


def test_head_reads_what_get_kept_without_a_body(app: Driver):
    body = keep_then_open(app, "/p/head")
    head = app.request("HEAD", "/p/head")
    assert head.status == 200
    assert head.body == b""
    assert head.headers[STALE] == "stale"
    assert head.headers["content-length"] == str(len(body.encode()))


def test_an_age_is_never_negative(app: Driver):
    keep_then_open(app, "/p/age")
    assert app.get("/p/age").headers["age"] == "0"


# -- shareability ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "headers"),
    [
        ("/private", {}),
        ("/setcookie", {}),
        ("/big", {}),
        ("/p/auth", {"Authorization": "Bearer alice"}),
        ("/apikey", {"X-Api-Key": "alice-key"}),
        ("/p/nostore", {"Cache-Control": "no-store"}),
    ],
)
def test_what_a_shared_cache_could_not_store_is_never_kept(app: Driver, target, headers):
    keep_then_open(app, target, **headers)
    assert app.get(target).status == 503


def test_a_page_read_from_a_plain_cookie_never_reaches_anyone_else(app: Driver):
    keep_then_open(app, "/cookie", Cookie="uid=alice")
    for cookie in ("", "uid=bob", "uid=alice"):
        reply = app.get("/cookie", Cookie=cookie) if cookie else app.get("/cookie")
        assert reply.status == 503
        assert "alice" not in reply.text


def test_analytics_cookies_do_not_stop_the_anonymous_page_being_kept(app: Driver):
    body = keep_then_open(app, "/cookie", Cookie="_ga=GA1.2.3; _gid=x")
    assert body == "hello nobody"
    assert app.get("/cookie").text == "hello nobody"


def test_a_public_page_is_kept_whatever_cookies_came_with_it(app: Driver):
    body = keep_then_open(app, "/public", Cookie="uid=carol")
    assert app.get("/public").text == body


def test_every_vary_header_is_honoured(app: Driver):
    keep_then_open(app, "/vary", X_Tenant="a")
    assert app.get("/vary", X_Tenant="a").text == "tenant a"
    other = app.get("/vary", X_Tenant="b")
    assert other.status == 503
    assert app.get("/vary").status == 503


def test_the_language_cookie_never_gives_one_visitors_language_to_another(app: Driver):
    keep_then_open(app, "/lang", Cookie="django_language=fr")
    english = app.get("/lang", Cookie="django_language=en")
    nobody = app.get("/lang")
    assert "fr" not in english.text
    assert "fr" not in nobody.text
    if app.name.startswith("django"):  # Django keys pages on its language cookie
        assert app.get("/lang", Cookie="django_language=fr").text == "lang fr"


# -- the 503 -------------------------------------------------------------------------------


def test_the_503_is_html_by_default_with_retry_after_and_no_store(app: Driver):
    app.control("open")
    reply = app.get("/p/never-kept")
    assert reply.status == 503
    assert reply.headers["content-type"].startswith("text/html")
    assert int(reply.headers["retry-after"]) >= 1
    assert "no-store" in reply.headers["cache-control"]
    assert "catalog" not in reply.text  # internal names are not the visitor's business


def test_the_503_is_json_for_json_clients(app: Driver):
    app.control("open")
    reply = app.get("/p/never-kept", Accept="application/json")
    assert reply.status == 503
    assert reply.headers["content-type"].startswith("application/json")
    assert json.loads(reply.text)["error"] == "service_unavailable"


# -- dashboards ------------------------------------------------------------------------------


def test_the_dashboard_is_refused_to_anonymous_visitors(app: Driver):
    for target in ("/breakers/", app.status_path):
        reply = app.get(target)
        assert reply.status in (302, 403), (target, reply)
        assert "catalog" not in reply.text


def test_the_dashboard_sends_one_set_of_security_headers(app: Driver):
    for target in ("/breakers/", app.status_path):
        reply = app.get(target, X_Test_Staff="1")
        assert reply.status == 200, reply
        for name, value in SECURITY_HEADERS.items():
            if name == "Cache-Control":
                assert "no-store" in reply.headers["cache-control"]
            else:
                assert reply.headers[name.lower()] == value, (target, name)


def test_a_state_change_without_the_csrf_token_is_refused(app: Driver):
    reply = app.request(
        "POST",
        "/breakers/action",
        {"X-Test-Staff": "1", "Content-Type": "application/x-www-form-urlencoded"},
        b"name=catalog&action=open",
    )
    assert reply.status == 403
    status = json.loads(app.get(app.status_path, X_Test_Staff="1").text)
    assert {b["name"]: b["state"] for b in status["breakers"]} == {"catalog": "closed"}
