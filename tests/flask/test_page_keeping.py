"""The ``request_finished`` receiver: connected for the app only while a page is to be kept."""

from __future__ import annotations

import gc

import pytest

flask = pytest.importorskip("flask")

from flask.signals import request_finished  # noqa: E402

from breaker_core.web.pages import REFRESH  # noqa: E402


def receivers(app: flask.Flask) -> int:
    """How many ``request_finished`` receivers a response of ``app`` would run."""
    return len(list(request_finished.receivers_for(app)))


@pytest.fixture
def peek(app) -> list[int]:
    """``/checkout/peek`` (a kept page) and ``/peek`` (unguarded) note the receivers they see."""
    seen: list[int] = []

    def view() -> str:
        seen.append(receivers(app))
        return "peek"

    app.add_url_rule("/checkout/peek", "kept_peek", view)
    app.add_url_rule("/peek", "plain_peek", view)
    return seen


def test_the_receiver_runs_only_for_requests_with_a_page_to_keep(app, client, clock, peek):
    assert receivers(app) == 0
    assert client.get("/peek").text == "peek"  # no dependency guards it
    assert client.get("/checkout/peek").text == "peek"  # a fresh copy is wanted
    assert receivers(app) == 0  # disconnected once the page was judged
    assert client.get("/checkout/peek").text == "peek"  # kept a moment ago: nothing to do
    clock.advance(REFRESH)
    assert client.get("/checkout/peek").text == "peek"  # wanted again
    assert peek == [0, 1, 0, 1]
    assert receivers(app) == 0


def test_the_page_is_kept_while_the_receiver_is_connected_for_it(app, client, registry, peek):
    assert client.get("/checkout/peek").text == "peek"
    registry["inventory"].force_open()
    response = client.get("/checkout/peek")
    assert (response.status_code, response.headers["X-Breakerpanel"]) == (200, "stale")


def test_another_app_never_runs_the_receiver(make_app, app, client, clock):
    other = make_app()
    seen: list[int] = []

    @other.get("/checkout/other")
    def other_view() -> str:
        seen.append(receivers(other))
        return "other"

    @app.get("/checkout/slow")
    def slow() -> str:  # while this app's page is being kept, the other app answers
        seen.append(receivers(app))
        assert other.test_client().get("/checkout/other").text == "other"
        return "slow"

    assert client.get("/checkout/slow").text == "slow"
    assert seen == [1, 1]  # each app's own receiver, for its own page
    assert receivers(app) == receivers(other) == 0


def test_a_request_that_never_finishes_is_forgotten(app, client, registry, clock, peek):
    @app.get("/checkout/broken")
    def broken() -> str:
        raise ValueError("broken view")

    # TESTING: the exception leaves the app, the response is never finished.
    with pytest.raises(ValueError, match="broken view"):
        client.get("/checkout/broken")
    gc.collect()  # the traceback held the request
    assert client.get("/peek").text == "peek"  # any response of the app tidies up
    assert receivers(app) == 0
    assert client.get("/checkout/peek").text == "peek"  # pages are still kept
    registry["inventory"].force_open()
    assert client.get("/checkout/peek").headers["X-Breakerpanel"] == "stale"


def test_requests_sharing_an_app_context_keep_only_their_own_page(app, client, registry):
    with app.app_context():  # both requests run in this app context (one flask.g)
        assert client.get("/checkout/?step=2").text == "checkout page 2"
        assert client.get("/about").text == "about us"
    registry["inventory"].force_open()
    response = client.get("/checkout/?step=2")
    assert (response.status_code, response.text) == (200, "checkout page 2")


def test_with_the_raw_key_every_request_gets_its_own_kept_copy(clock):
    from werkzeug.test import EnvironBuilder

    from breaker_core.web.pages import PageGuard
    from breaker_flask.pages import page_request, raw_key
    from tests.pagekeys import check_own_copies, registry

    def make(host: str, path: str, cookie: str | None) -> flask.Request:
        headers = {"Host": host, "Accept": "text/html"}
        if cookie is not None:
            headers["Cookie"] = cookie
        return flask.Request(EnvironBuilder(path=path, headers=headers).get_environ())

    guard = PageGuard(registry(clock))
    assert guard.settings.key_cookies == ()  # Flask's raw key needs no cookie
    check_own_copies(guard, make, page_request, raw_key)
