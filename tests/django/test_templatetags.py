"""``{% breaker %}`` and the ``breakers`` context processor, through the test client.

The widget's service is a real upstream on 127.0.0.1; its connection count proves
whether a page called it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

pytest.importorskip("django")
pytest.importorskip("httpx")

from django.contrib.auth import get_user_model
from django.template import Context, Template, TemplateSyntaxError, engines
from django.test import Client

from breaker_core import ConfigurationError
from breaker_django import breakers
from example_apps.upstream import Upstream
from example_apps.upstream.routes import recommendations_for
from tests.django.settings import BREAKERS


@pytest.fixture(scope="module")
def upstream() -> Iterator[Upstream]:
    with Upstream() as up:
        yield up


@pytest.fixture
def service(upstream, settings) -> Upstream:
    """The recommendations service: a healthy upstream the widget calls."""
    upstream.set_mode("healthy")
    upstream.reset_stats()
    dependencies = dict(BREAKERS["dependencies"])
    dependencies["recommendations"] = {
        "url": f"{upstream.url}/recommendations",
        "timeout": "2s",
        "stale_for": "5m",
    }
    settings.BREAKERS = {**BREAKERS, "dependencies": dependencies}
    return upstream


@pytest.fixture
def users(db):
    model = get_user_model()
    return model.objects.create_user("alice"), model.objects.create_user("bob")


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def items(user) -> list[str]:
    return recommendations_for(user.get_username())


def test_closed_block_renders_the_service_answer(service, users):
    alice, _ = users
    page = client_for(alice).get("/widget/").content.decode()
    assert '<ul id="recs">' + "".join(f"<li>{sku}</li>" for sku in items(alice)) in page
    assert "Popular right now" not in page
    assert "recommendations closed" in page
    assert service.stats()["requests"] == {"200": 1}


def test_failure_while_rendering_degrades_the_block_and_the_page_is_200(service, users, caplog):
    alice, _ = users
    service.set_mode("errors", status=503)
    with caplog.at_level(logging.WARNING, logger="breaker_core"):
        response = client_for(alice).get("/widget/")
    assert response.status_code == 200
    page = response.content.decode()
    assert '<p id="fallback">Popular right now</p>' in page
    assert '<ul id="recs">' not in page
    assert breakers["recommendations"].snapshot()["failures"] == 1
    assert "failed to render and degrades" in caplog.text


def test_open_breaker_hides_the_widget_without_calling_the_service(service, users):
    alice, _ = users
    service.set_mode("errors", status=503)
    client = client_for(alice)
    for _ in range(2):  # failure_threshold 2
        client.get("/widget/")
    assert breakers["recommendations"].is_open
    before = service.stats()["connections"]
    page = client.get("/widget/").content.decode()
    assert service.stats()["connections"] == before  # no connection was even opened
    assert "Popular right now" in page
    assert "recommendations open" in page  # {% if breakers.recommendations.is_open %}


def test_without_fallback_an_open_block_renders_nothing(service):
    breakers["recommendations"].force_open()
    exploding = ExplodingService()
    html = Template(
        '{% load breakers %}[{% breaker "recommendations" %}{{ service.items }}{% endbreaker %}]'
    ).render(Context({"service": exploding}))
    assert html == "[]"
    assert exploding.calls == 0  # the body was not rendered at all


class ExplodingService:
    def __init__(self) -> None:
        self.calls = 0

    @property
    def items(self) -> str:
        self.calls += 1
        raise OSError("must not be called while open")


def test_stale_fragment_goes_to_the_same_user_and_never_to_another(service, users, clock):
    alice, bob = users
    as_alice, as_bob = client_for(alice), client_for(bob)
    good = as_alice.get("/widget/").content.decode()
    assert all(sku in good for sku in items(alice))
    service.set_mode("errors", status=503)
    clock.advance(60)
    for _ in range(2):
        again = as_alice.get("/widget/").content.decode()
        assert '<ul id="recs">' + "".join(f"<li>{s}</li>" for s in items(alice)) in again
    assert breakers["recommendations"].is_open
    for_bob = as_bob.get("/widget/").content.decode()
    assert "Popular right now" in for_bob
    assert not any(f"<li>{sku}</li>" in for_bob for sku in items(alice) if sku not in items(bob))
    anonymous = Client().get("/widget/").content.decode()
    assert "Popular right now" in anonymous
    clock.advance(241)  # stored 301 s ago: stale_for is 5m
    assert "Popular right now" in as_alice.get("/widget/").content.decode()


def test_stale_for_argument_overrides_the_setting(service, clock):
    template = Template(
        '{% load breakers %}{% breaker "recommendations" stale_for="30s" %}'
        "{{ service.items.0 }}{% fallback %}fallback{% endbreaker %}"
    )
    good = template.render(Context({"service": GoodService("first")}))
    breakers["recommendations"].force_open()
    clock.advance(30)
    assert template.render(Context({"service": GoodService("second")})) == good == "first"
    clock.advance(1)
    assert template.render(Context({"service": GoodService("third")})) == "fallback"


class GoodService:
    def __init__(self, value: str) -> None:
        self.items = [value]


def test_distinct_blocks_and_templates_never_share_a_stored_rendering(service):
    one = Template('{% load breakers %}{% breaker "recommendations" %}A{% endbreaker %}')
    two = Template('{% load breakers %}{% breaker "recommendations" %}B{% endbreaker %}')
    assert one.render(Context()) == "A"
    assert two.render(Context()) == "B"
    breakers["recommendations"].force_open()
    assert (one.render(Context()), two.render(Context())) == ("A", "B")


def test_a_vary_on_value_that_does_not_resolve_turns_storing_off(service, caplog):
    template = Template(
        '{% load breakers %}{% breaker "recommendations" vary_on=usr.pk %}'
        "{{ secret }}{% fallback %}fallback{% endbreaker %}"
    )
    assert template.render(Context({"secret": "for alice"})) == "for alice"
    breakers["recommendations"].force_open()
    assert template.render(Context({"secret": "for bob"})) == "fallback"
    assert "vary_on=usr.pk does not resolve" in caplog.text


def test_vary_on_takes_several_values(service):
    template = Template(
        '{% load breakers %}{% breaker "recommendations" vary_on=a b %}'
        "{{ a }}-{{ b }}{% fallback %}fallback{% endbreaker %}"
    )
    assert template.render(Context({"a": 1, "b": 2})) == "1-2"
    breakers["recommendations"].force_open()
    assert template.render(Context({"a": 1, "b": 2})) == "1-2"
    assert template.render(Context({"a": 1, "b": 3})) == "fallback"


def test_fragments_are_stored_in_djangos_cache(service, settings):
    settings.BREAKERS = {**settings.BREAKERS, "cache": "django://fragments"}
    from django.core.cache import caches

    template = Template('{% load breakers %}{% breaker "recommendations" %}kept{% endbreaker %}')
    template.render(Context())
    assert caches["fragments"]._cache  # locmem's store: something was written there
    breakers["recommendations"].force_open()
    assert template.render(Context()) == "kept"
    caches["fragments"].clear()
    assert template.render(Context()) == ""


def test_vary_on_takes_plain_values_only(service):
    template = Template(
        '{% load breakers %}{% breaker "recommendations" vary_on=someone %}x{% endbreaker %}'
    )
    with pytest.raises(
        TemplateSyntaxError, match="vary_on=someone: vary_on: expected plain values"
    ):
        template.render(Context({"someone": object()}))


def test_errors_that_are_not_failures_are_raised(service):
    template = Template(
        '{% load breakers %}{% breaker "recommendations" %}{{ x.y }}{% endbreaker %}'
    )

    class Bug:
        @property
        def y(self) -> str:
            raise KeyboardInterrupt  # not an Exception: never a failure, never swallowed

    with pytest.raises(KeyboardInterrupt):
        template.render(Context({"x": Bug()}))


# -- the context processor -------------------------------------------------------------------


def test_context_processor_gives_templates_the_registry(settings):
    settings.BREAKERS = {"dependencies": {"client": {}, "recommendations": {}}}
    django_engine = engines["django"]
    template = django_engine.from_string(
        "{{ breakers.client.state.value }} {{ breakers.recommendations.is_open }} "
        "{{ breakers.names|length }}"
    )
    from django.test import RequestFactory

    request = RequestFactory().get("/")
    breakers["client"].force_open()
    assert template.render({}, request) == "forced_open False 2"


# -- syntax ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("{% breaker %}{% endbreaker %}", "needs the dependency's name first"),
        ("{% breaker stale_for=3 %}{% endbreaker %}", "needs the dependency's name first"),
        ('{% breaker "r" ttl=3 %}{% endbreaker %}', "unknown option 'ttl'"),
        ('{% breaker "r" stale_for=1 stale_for=2 %}{% endbreaker %}', "stale_for is given twice"),
        ('{% breaker "r" extra %}{% endbreaker %}', "unexpected 'extra'"),
        ('{% breaker "r" stale_for="10x" %}{% endbreaker %}', 'like "5m"'),
        ('{% breaker "r" stale_for=-1 %}{% endbreaker %}', 'like "5m"'),
        ('{% breaker "r" %}never closed', "endbreaker"),
    ],
)
def test_syntax_errors_name_the_fix(source, message):
    with pytest.raises(TemplateSyntaxError, match=message):
        Template("{% load breakers %}" + source)


def test_unknown_dependency_is_named_when_rendering():
    template = Template('{% load breakers %}{% breaker "recomendations" %}x{% endbreaker %}')
    with pytest.raises(TemplateSyntaxError, match="no dependency named 'recomendations'"):
        template.render(Context())


def test_stale_for_from_a_variable_is_checked_when_rendering(service):
    template = Template(
        '{% load breakers %}{% breaker "recommendations" stale_for=ttl %}x{% endbreaker %}'
    )
    assert template.render(Context({"ttl": "5m"})) == "x"
    with pytest.raises(TemplateSyntaxError, match="got 'soon'"):
        template.render(Context({"ttl": "soon"}))


def test_invalid_settings_surface_when_rendering(settings):
    settings.BREAKERS = {"dependencies": {"recommendations": {"window": "10x"}}}
    template = Template('{% load breakers %}{% breaker "recommendations" %}x{% endbreaker %}')
    with pytest.raises(ConfigurationError, match="window"):
        template.render(Context())


# -- a breaker client of the same dependency inside the block --------------------------------


class GuardedService:
    """Calls the service with ``breakers.client``: a second guard inside the block's own."""

    @property
    def items(self) -> list[str]:
        with breakers.client("recommendations") as client:
            response = client.get("/alice")
        response.raise_for_status()
        return list(response.json()["items"])


def test_a_failure_inside_the_block_counts_once_with_a_breaker_client(service):
    service.set_mode("errors", status=503)
    template = Template(
        '{% load breakers %}{% breaker "recommendations" %}{{ s.items }}'
        "{% fallback %}fallback{% endbreaker %}"
    )
    assert template.render(Context({"s": GuardedService()})) == "fallback"
    assert breakers["recommendations"].snapshot()["failures"] == 1


def test_a_healthy_probe_closes_the_breaker_with_a_breaker_client(service, clock):
    breakers["recommendations"].force_open()
    breakers["recommendations"].reset()
    for _ in range(2):
        with pytest.raises(OSError, match="down"):
            breakers["recommendations"].call(_down)
    clock.advance(10)  # half-open, the service is healthy again
    template = Template(
        '{% load breakers %}{% breaker "recommendations" %}{{ s.items|length }}'
        "{% fallback %}fallback{% endbreaker %}"
    )
    assert template.render(Context({"s": GuardedService()})) == "3"


def _down() -> None:
    raise OSError("down")
