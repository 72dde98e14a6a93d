"""The {% breaker %} tag in plain Jinja environments, sync and async, autoescape on."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

jinja2 = pytest.importorskip("jinja2")

from breaker_core import Registry, State  # noqa: E402
from breaker_jinja import BreakerExtension  # noqa: E402

WIDGET = (
    "<main>"
    '{% breaker "recs", vary_on=[user_id] %}'
    "<ul>{% for item in items() %}<li>{{ item }}</li>{% endfor %}</ul>"
    "{% fallback %}<p>No picks for {{ who }} today</p>"
    "{% endbreaker %}"
    "</main>"
)


class Renderer:
    """Renders templates from a dict in a sync or an async environment."""

    def __init__(self, mode: str, registry: Registry, autoescape: bool = True) -> None:
        self.mode = mode
        self.env = jinja2.Environment(
            loader=jinja2.DictLoader({}),
            extensions=[BreakerExtension],
            autoescape=autoescape,
            enable_async=mode == "async",
        )
        self.env.globals["breakers"] = registry

    def add(self, name: str, source: str) -> None:
        self.env.loader.mapping[name] = source  # type: ignore[union-attr]

    def render(self, name: str, **context: Any) -> str:
        template = self.env.get_template(name)
        if self.mode == "async":
            return asyncio.run(template.render_async(**context))
        return template.render(**context)

    def render_string(self, source: str, **context: Any) -> str:
        template = self.env.from_string(source)
        if self.mode == "async":
            return asyncio.run(template.render_async(**context))
        return template.render(**context)


class Service:
    """A lazy call to a recommendations service, counting calls; can be broken."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.calls = 0
        self.error: Exception | None = None
        self.items = ["SKU-1", "<script>"]

    def __call__(self) -> Any:
        self.calls += 1
        if self.mode == "async":
            return self._async()
        return self._answer()

    def _answer(self) -> list[str]:
        if self.error is not None:
            raise self.error
        return list(self.items)

    async def _async(self) -> list[str]:
        await asyncio.sleep(0)
        return self._answer()


@pytest.fixture
def registry(clock):
    return Registry.from_settings(
        {
            "dependencies": {
                "recs": {"failure_threshold": 2, "reset_timeout": "10s", "stale_for": "5m"},
                "client": {},
            }
        },
        clock=clock,
    )


@pytest.fixture(params=["sync", "async"])
def mode(request) -> str:
    return str(request.param)


@pytest.fixture
def renderer(mode, registry) -> Renderer:
    renderer = Renderer(mode, registry)
    renderer.add("widget.html", WIDGET)
    return renderer


@pytest.fixture
def service(mode) -> Service:
    return Service(mode)


ALICE_LIST = "<main><ul><li>SKU-1</li><li>&lt;script&gt;</li></ul></main>"


def test_closed_renders_the_body_escaped_once(renderer, service):
    html = renderer.render("widget.html", items=service, user_id=1, who="alice")
    assert html == ALICE_LIST
    assert service.calls == 1


def test_failure_while_rendering_is_recorded_and_degrades(renderer, service, registry, clock):
    service.error = ConnectionError("recommendations down")
    # Nothing kept yet for user 2: the fallback part, escaped.
    html = renderer.render("widget.html", items=service, user_id=2, who="<bob>")
    assert html == "<main><p>No picks for &lt;bob&gt; today</p></main>"
    assert registry["recs"].snapshot()["failures"] == 1
    renderer.render("widget.html", items=service, user_id=2, who="bob")
    assert registry["recs"].state is State.OPEN  # failure_threshold 2


def test_failure_serves_the_kept_rendering_of_the_same_user(renderer, service, clock):
    assert renderer.render("widget.html", items=service, user_id=1, who="alice") == ALICE_LIST
    service.error = ConnectionError("down")
    clock.advance(60)
    # Same user: the kept rendering, not double-escaped.
    assert renderer.render("widget.html", items=service, user_id=1, who="alice") == ALICE_LIST
    clock.advance(300)  # now older than stale_for
    html = renderer.render("widget.html", items=service, user_id=1, who="alice")
    assert html == "<main><p>No picks for alice today</p></main>"


def test_open_breaker_hides_the_block_without_calling_the_service(renderer, service, registry):
    registry["recs"].force_open()
    html = renderer.render("widget.html", items=service, user_id=1, who="alice")
    assert html == "<main><p>No picks for alice today</p></main>"
    assert service.calls == 0
    renderer.add("bare.html", '<b>{% breaker "recs" %}{{ items() }}{% endbreaker %}</b>')
    assert renderer.render("bare.html", items=service) == "<b></b>"  # no fallback: hidden
    assert service.calls == 0


def test_a_kept_rendering_is_never_served_to_another_user(renderer, service, registry):
    assert renderer.render("widget.html", items=service, user_id=1, who="alice") == ALICE_LIST
    registry["recs"].force_open()
    bob = renderer.render("widget.html", items=service, user_id=2, who="bob")
    assert bob == "<main><p>No picks for bob today</p></main>"
    assert renderer.render("widget.html", items=service, user_id=1, who="alice") == ALICE_LIST
    assert service.calls == 1


def test_stale_for_on_the_tag_overrides_the_setting(renderer, service, registry, clock):
    renderer.add(
        "short.html",
        '{% breaker "recs", stale_for="30s" %}{{ items()|join(",") }}'
        "{% fallback %}fb{% endbreaker %}",
    )
    renderer.add(
        "off.html",
        '{% breaker "recs", stale_for=0 %}{{ items()|join(",") }}{% fallback %}fb{% endbreaker %}',
    )
    assert renderer.render("short.html", items=service) == "SKU-1,&lt;script&gt;"
    assert renderer.render("off.html", items=service) == "SKU-1,&lt;script&gt;"
    registry["recs"].force_open()
    assert renderer.render("short.html", items=service) == "SKU-1,&lt;script&gt;"
    assert renderer.render("off.html", items=service) == "fb"  # nothing was kept
    clock.advance(31)
    assert renderer.render("short.html", items=service) == "fb"


def test_half_open_block_is_the_probe_and_closes_the_breaker(renderer, service, registry, clock):
    service.error = ConnectionError("down")
    for _ in range(2):
        renderer.render("widget.html", items=service, user_id=1, who="a")
    assert registry["recs"].is_open
    clock.advance(10)
    service.error = None
    assert renderer.render("widget.html", items=service, user_id=1, who="a") == ALICE_LIST
    assert registry["recs"].state is State.CLOSED


def test_errors_the_breaker_does_not_count_fail_the_page(mode, clock):
    registry = Registry.from_settings(
        {"dependencies": {"recs": {"record": ["builtins.ConnectionError"]}}}, clock=clock
    )
    renderer = Renderer(mode, registry)
    renderer.add("t.html", '{% breaker "recs" %}{{ 1 // zero }}{% fallback %}fb{% endbreaker %}')
    with pytest.raises(ZeroDivisionError):
        renderer.render("t.html", zero=0)
    assert registry["recs"].snapshot()["failures"] == 0


def test_blocks_and_unnamed_templates_do_not_share_kept_renderings(renderer, registry):
    first = '{% breaker "recs", stale_for=60 %}first{% endbreaker %}'
    second = '{% breaker "recs", stale_for=60 %}second{% endbreaker %}'
    assert renderer.render_string(first) == "first"
    assert renderer.render_string(second) == "second"
    renderer.add("two.html", first + "|" + second.replace("second", "other"))
    assert renderer.render("two.html") == "first|other"
    registry["recs"].force_open()
    assert renderer.render_string(first) == "first"
    assert renderer.render_string(second) == "second"
    assert renderer.render("two.html") == "first|other"


def test_in_a_loop_the_body_sees_loop_variables(renderer, registry):
    renderer.add(
        "loop.html",
        "{% for p in products %}"
        '{% breaker "recs", stale_for=60, vary_on=[p.id] %}[{{ p.name }}]{% endbreaker %}'
        "{% endfor %}",
    )
    products = [{"id": 1, "name": "kettle"}, {"id": 2, "name": "toaster"}]
    assert renderer.render("loop.html", products=products) == "[kettle][toaster]"
    registry["recs"].force_open()
    assert renderer.render("loop.html", products=products) == "[kettle][toaster]"
    assert renderer.render("loop.html", products=[{"id": 3, "name": "new"}]) == ""


def test_autoescape_off_renders_raw(mode, registry):
    renderer = Renderer(mode, registry, autoescape=False)
    renderer.add("t.txt", '{% breaker "recs" %}{{ "<b>" }}{% endbreaker %}')
    assert renderer.render("t.txt") == "<b>"


def test_state_is_readable_in_templates(renderer, registry):
    source = (
        "{% if breakers.recs.is_open %}open{% else %}closed{% endif %}"
        '/{{ breakers["client"].state.value }}'
    )
    assert renderer.render_string(source) == "closed/closed"
    registry["recs"].force_open()
    registry["client"].disable()
    assert renderer.render_string(source) == "open/disabled"
