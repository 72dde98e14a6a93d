"""How the {% breaker %} tag finds its registry, and the errors it gives."""

from __future__ import annotations

import asyncio

import pytest

jinja2 = pytest.importorskip("jinja2")

from breaker_core import ConfigurationError, Registry  # noqa: E402
from breaker_jinja import BreakerExtension  # noqa: E402


@pytest.fixture
def registry(clock):
    return Registry.from_settings({"dependencies": {"recs": {"stale_for": 60}}}, clock=clock)


def environment(**options) -> jinja2.Environment:
    return jinja2.Environment(extensions=[BreakerExtension], autoescape=True, **options)


def test_the_registry_comes_from_the_global(registry):
    env = environment()
    env.globals["breakers"] = registry
    assert env.from_string('{% breaker "recs" %}hi{% endbreaker %}').render() == "hi"
    assert registry["recs"].snapshot()["successes"] == 1


def test_the_registry_can_be_a_render_variable_or_an_environment_attribute(registry, clock):
    env = environment()
    template = env.from_string('{% breaker "recs" %}hi{% endbreaker %}')
    assert template.render(breakers=registry) == "hi"
    assert registry["recs"].snapshot()["successes"] == 1

    other = Registry.from_settings({"dependencies": {"recs": {}}}, clock=clock)
    env.breakers_registry = other  # wins over the context variable
    assert template.render(breakers=registry) == "hi"
    assert other["recs"].snapshot()["successes"] == 1
    assert registry["recs"].snapshot()["successes"] == 1


def test_no_registry_names_the_fix():
    env = environment()
    template = env.from_string('\n{% breaker "recs" %}hi{% endbreaker %}')
    with pytest.raises(ConfigurationError, match=r"line 2: no breaker registry: set env\.globals"):
        template.render()
    # A template variable that happens to be called "breakers" is not taken for one.
    with pytest.raises(ConfigurationError, match="no breaker registry"):
        template.render(breakers=["MCB 16A", "RCD 30mA"])
    env.breakers_registry = {"recs": None}
    with pytest.raises(ConfigurationError, match=r"env\.breakers_registry must be a .*Registry"):
        template.render()


def test_unknown_dependency_names_the_declared_ones(registry):
    env = environment(loader=jinja2.DictLoader({"p.html": '{% breaker "rec" %}x{% endbreaker %}'}))
    env.globals["breakers"] = registry
    with pytest.raises(ConfigurationError) as info:
        env.get_template("p.html").render()
    assert str(info.value) == (
        "{% breaker 'rec' %} in 'p.html' line 1: no dependency named 'rec' (declared: recs); "
        'declare it in BREAKERS["dependencies"]'
    )


def test_bad_stale_for(registry):
    env = environment()
    env.globals["breakers"] = registry
    template = env.from_string('{% breaker "recs", stale_for="5 minutes" %}x{% endbreaker %}')
    with pytest.raises(
        ConfigurationError, match=r'stale_for= expects seconds or a duration like "5m"'
    ):
        template.render()


@pytest.mark.parametrize(
    ("value", "error"),
    [
        ("object()", TypeError),
        ("[1, obj]", TypeError),
        ("[(1, obj)]", TypeError),
        ("[missing]", jinja2.UndefinedError),
        ("missing", jinja2.UndefinedError),
    ],
)
def test_vary_on_takes_plain_values_only(registry, value, error):
    env = environment()
    env.globals["breakers"] = registry
    template = env.from_string(f'{{% breaker "recs", vary_on={value} %}}x{{% endbreaker %}}')
    with pytest.raises(error):
        template.render(obj=object(), object=object)


@pytest.mark.parametrize(
    "value", ["42", "[42, 'fr', none, true]", "[(1, 2)]", "'alice'", "[1.5, [2, 3]]"]
)
def test_vary_on_plain_values_render(registry, value):
    env = environment()
    env.globals["breakers"] = registry
    template = env.from_string(f'{{% breaker "recs", vary_on={value} %}}x{{% endbreaker %}}')
    assert template.render() == "x"


@pytest.mark.parametrize(
    ("source", "message"),
    [
        (
            '{% breaker "recs", ttl=3 %}x{% endbreaker %}',
            "takes stale_for= and vary_on=, not 'ttl'",
        ),
        ('{% breaker "recs", stale_for=1, stale_for=2 %}x{% endbreaker %}', "given twice"),
        ('{% breaker "recs" %}x', "endbreaker"),
        ('{% breaker "recs" %}x{% fallback %}y{% fallback %}z{% endbreaker %}', "fallback"),
        ("{% breaker %}x{% endbreaker %}", "unexpected"),
    ],
)
def test_syntax_errors(source, message):
    with pytest.raises(jinja2.TemplateSyntaxError, match=message):
        environment().from_string(source)


def test_commas_between_options_are_optional(registry):
    env = environment()
    env.globals["breakers"] = registry
    source = '{% breaker "recs" stale_for=1 vary_on=[1] %}x{% fallback %}y{% endbreaker %}'
    assert env.from_string(source).render() == "x"


def test_async_environment_reports_the_same_errors(registry):
    env = environment(enable_async=True)
    template = env.from_string('{% breaker "nope" %}x{% endbreaker %}')
    with pytest.raises(ConfigurationError, match="no dependency named 'nope'"):
        asyncio.run(template.render_async(breakers=registry))


def test_nested_blocks_render_under_their_own_breakers(clock):
    registry = Registry.from_settings({"dependencies": {"a": {}, "b": {}}}, clock=clock)
    env = environment()
    env.globals["breakers"] = registry
    source = (
        '{% breaker "a" %}A[{% breaker "b" %}B{% fallback %}b-down{% endbreaker %}]'
        "{% fallback %}a-down{% endbreaker %}"
    )
    template = env.from_string(source)
    assert template.render() == "A[B]"
    registry["b"].force_open()
    assert template.render() == "A[b-down]"
    registry["a"].force_open()
    assert template.render() == "a-down"
