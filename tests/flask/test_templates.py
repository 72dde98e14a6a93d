"""The {% breaker %} tag in a Flask app: degrade, hide without calling, stale per user."""

from __future__ import annotations

import pytest

flask = pytest.importorskip("flask")

from breaker_core import State  # noqa: E402

ALICE = "<ul><li>pick-for-alice</li><li>&lt;kettle&gt;</li></ul>"
FALLBACK = "<p>No recommendations right now</p>"


def login(app, user: str):
    client = app.test_client()
    assert client.get(f"/login/{user}").status_code == 200
    return client


def test_the_widget_renders_through_the_breaker(app, registry, recommendations):
    page = login(app, "alice").get("/product/SKU-1").text
    assert page == f"<h1>SKU-1</h1>{ALICE}"
    assert recommendations.calls == 1
    assert registry["recommendations"].snapshot()["successes"] == 1


def test_a_failing_service_degrades_the_widget_not_the_page(app, registry, recommendations):
    recommendations.down = True
    response = login(app, "bob").get("/product/SKU-1")
    assert response.status_code == 200
    assert response.text == f"<h1>SKU-1</h1>{FALLBACK}"
    assert registry["recommendations"].snapshot()["failures"] == 1


def test_open_breaker_hides_the_widget_without_calling(app, registry, recommendations):
    alice = login(app, "alice")
    recommendations.down = True
    for _ in range(2):
        assert alice.get("/product/SKU-2").text.startswith(f"<h1>SKU-2</h1>{FALLBACK}")
    assert registry["recommendations"].state is State.OPEN
    calls = recommendations.calls
    page = login(app, "carol").get("/product/SKU-1").text
    assert page == f"<h1>SKU-1</h1>{FALLBACK}<!-- recs open -->"
    assert recommendations.calls == calls


def test_kept_widget_is_served_to_its_user_only(app, registry, recommendations, clock):
    alice = login(app, "alice")
    bob = login(app, "bob")
    assert alice.get("/product/SKU-1").text == f"<h1>SKU-1</h1>{ALICE}"
    registry["recommendations"].force_open()
    clock.advance(60)
    assert alice.get("/product/SKU-9").text == f"<h1>SKU-9</h1>{ALICE}<!-- recs open -->"
    assert bob.get("/product/SKU-1").text == f"<h1>SKU-1</h1>{FALLBACK}<!-- recs open -->"
    assert recommendations.calls == 1
    clock.advance(241)  # older than the dependency's stale_for (5m)
    assert alice.get("/product/SKU-1").text == f"<h1>SKU-1</h1>{FALLBACK}<!-- recs open -->"


def test_render_template_string_has_the_tag_and_the_global(app, registry):
    source = (
        '{% breaker "payments" %}ok{% fallback %}down{% endbreaker %}:{{ breakers.payments.state }}'
    )
    with app.test_request_context("/"):
        assert flask.render_template_string(source) == "ok:closed"
        registry["payments"].force_open()
        assert flask.render_template_string(source) == "down:forced_open"
