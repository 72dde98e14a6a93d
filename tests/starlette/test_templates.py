"""``{% breaker %}`` blocks in FastAPI's own ``Jinja2Templates``, against a real upstream.

Two ways: an async environment rendered with ``render_template`` (the lazy call
awaits an httpx.AsyncClient), and a sync environment rendered by FastAPI's own
``templates.TemplateResponse`` in a ``def`` endpoint (FastAPI runs it in its
thread pool; the lazy call uses an httpx.Client).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("starlette")
pytest.importorskip("fastapi")
jinja2 = pytest.importorskip("jinja2")
httpx = pytest.importorskip("httpx")
breaker_jinja = pytest.importorskip("breaker_jinja")
if not hasattr(breaker_jinja, "BreakerExtension"):
    pytest.skip("breaker_jinja has no BreakerExtension yet", allow_module_level=True)

from fastapi import FastAPI, Request  # noqa: E402
from fastapi.responses import HTMLResponse  # noqa: E402
from fastapi.templating import Jinja2Templates  # noqa: E402
from starlette.testclient import TestClient  # noqa: E402

from breaker_core import ConfigurationError, Registry, State  # noqa: E402
from breaker_starlette import BreakerMiddleware, render_template, setup_templates  # noqa: E402
from example_apps.upstream import Upstream  # noqa: E402

PAGE = """<h1>Product {{ sku }}</h1>
{% if breakers.recommendations.is_open %}<p class="note">Picks are resting</p>{% endif %}
<aside>{% breaker "recommendations", vary_on=[user] %}<ul>
{%- for sku in recommended(user) %}<li>{{ sku }}</li>{% endfor -%}
</ul>{% fallback %}<p class="fallback">No picks today</p>{% endbreaker %}</aside>
<footer>{% breaker "recommendations" %}{{ recommended(user) | length }} picks
{%- endbreaker %}</footer>
"""


class PickService:
    """The lazy call the template makes, to the real upstream (unguarded: the tag guards it)."""

    def __init__(self, url: str) -> None:
        self.url = url

    async def async_picks(self, user: str) -> list[str]:
        async with httpx.AsyncClient(base_url=self.url, timeout=2, trust_env=False) as client:
            response = await client.get(f"/recommendations/{user}")
        response.raise_for_status()
        return list(response.json()["items"])

    def sync_picks(self, user: str) -> list[str]:
        with httpx.Client(base_url=self.url, timeout=2, trust_env=False) as client:
            response = client.get(f"/recommendations/{user}")
        response.raise_for_status()
        return list(response.json()["items"])


def build(mode: str, registry: Registry, folder: Path, service: PickService) -> FastAPI:
    (folder / "product.html").write_text(PAGE)
    if mode == "async":
        env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(folder), autoescape=True, enable_async=True
        )
        templates = setup_templates(Jinja2Templates(env=env), registry)
    else:
        templates = setup_templates(Jinja2Templates(directory=folder), registry)
    app = FastAPI()
    app.add_middleware(BreakerMiddleware, registry=registry)

    if mode == "async":

        @app.get("/products/{sku}", response_class=HTMLResponse)
        async def product_async(request: Request, sku: str, user: str) -> Any:
            context = {"sku": sku, "user": user, "recommended": service.async_picks}
            return await render_template(templates, request, "product.html", context)

    else:

        @app.get("/products/{sku}", response_class=HTMLResponse)
        def product_sync(request: Request, sku: str, user: str) -> Any:
            context = {"sku": sku, "user": user, "recommended": service.sync_picks}
            return templates.TemplateResponse(request, "product.html", context)

    return app


@pytest.fixture(params=["async", "sync"])
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def registry(clock, upstream: Upstream) -> Registry:
    return Registry.from_settings(
        {
            "dependencies": {
                "recommendations": {
                    "url": upstream.url,
                    "failure_threshold": 2,
                    "reset_timeout": 30,
                    "stale_for": 300,
                }
            }
        },
        clock=clock,
    )


@pytest.fixture
def client(
    mode: str, registry: Registry, tmp_path: Path, upstream: Upstream, backend: str
) -> Iterator[TestClient]:
    app = build(mode, registry, tmp_path, PickService(upstream.url))
    with TestClient(app, backend=backend) as test_client:
        yield test_client


def page(client: TestClient, user: str) -> str:
    response = client.get("/products/SKU-1", params={"user": user})
    assert response.status_code == 200
    return response.text


def picks(html: str) -> list[str]:
    aside = html.split("<aside>")[1].split("</aside>")[0]
    return [part.split("</li>")[0] for part in aside.split("<li>")[1:]]


def test_closed_renders_the_block_with_the_service_answer(client: TestClient, upstream: Upstream):
    html = page(client, "alice")
    assert picks(html) == ["SKU-16", "SKU-3", "SKU-10"]
    assert "<footer>3 picks</footer>" in html
    assert "Picks are resting" not in html
    assert upstream.stats()["requests"] == {"200": 2}


def test_a_failing_service_degrades_the_block_not_the_page(
    client: TestClient, registry: Registry, upstream: Upstream
):
    upstream.set_mode("errors", status=503)
    html = page(client, "carol")  # nothing kept for carol: the fallback part
    assert '<p class="fallback">No picks today</p>' in html
    assert "<footer></footer>" in html  # no fallback part: hidden
    assert "<h1>Product SKU-1</h1>" in html
    assert registry["recommendations"].state is State.OPEN  # both failures were recorded


def test_open_hides_the_block_without_calling_the_service(
    client: TestClient, registry: Registry, upstream: Upstream
):
    registry["recommendations"].force_open()
    html = page(client, "dave")
    assert "Picks are resting" in html
    assert '<p class="fallback">No picks today</p>' in html
    assert "<footer></footer>" in html
    assert upstream.stats()["connections"] == 0


def test_kept_renderings_are_served_per_user_only(
    client: TestClient, registry: Registry, upstream: Upstream, clock
):
    alice = picks(page(client, "alice"))
    upstream.set_mode("errors", status=503)
    registry["recommendations"].force_open()
    clock.advance(60)
    assert picks(page(client, "alice")) == alice  # her kept rendering
    bob = page(client, "bob")
    assert picks(bob) == []  # never alice's
    assert "No picks today" in bob
    clock.advance(241)  # past stale_for
    assert picks(page(client, "alice")) == []


def test_the_response_exposes_its_template_like_starlette(client: TestClient):
    response = client.get("/products/SKU-1", params={"user": "erin"})
    assert response.template.name == "product.html"  # type: ignore[attr-defined]
    assert response.context["user"] == "erin"  # type: ignore[attr-defined]


def test_setup_templates_is_idempotent_and_checks_its_registry(tmp_path: Path, registry: Registry):
    templates = Jinja2Templates(directory=tmp_path)
    setup_templates(templates, registry)
    setup_templates(templates, registry)
    assert len(templates.env.extensions) == 1
    assert templates.env.globals["breakers"] is registry
    with pytest.raises(ConfigurationError, match=r"expected a breaker_core\.Registry"):
        setup_templates(templates, {"dependencies": {}})  # type: ignore[arg-type]
