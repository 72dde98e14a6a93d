"""Templates with ``{% breaker %}`` blocks, rendered without blocking the event loop.

Starlette's ``templates.TemplateResponse(...)`` renders synchronously, on the
event loop when the endpoint is ``async def``: fine while the template only
formats data, not when a ``{% breaker %}`` block makes the lazy call to a
service. :func:`render_template` renders the same templates (same context,
same context processors, same ``response.template`` in tests) either with
``render_async`` (an ``enable_async=True`` environment, whose blocks may await
``registry.async_client(...)`` calls) or, for a sync environment, in
Starlette's thread pool.

Layer: integration. Imports breaker_core's declared interface only (breaker_core,
breaker_core.extension, .web, .ops) and breaker_jinja.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.templating import Jinja2Templates
from starlette.types import Receive, Scope, Send

from breaker_core import ConfigurationError, Registry

__all__ = ["RenderedTemplate", "render_template", "setup_templates"]


def setup_templates(templates: Jinja2Templates, registry: Registry) -> Jinja2Templates:
    """Add the ``{% breaker %}`` tag and the ``breakers`` global to ``templates``; return it.

    Raises:
        ConfigurationError: ``registry`` is not a ``Registry``.
    """
    if not isinstance(registry, Registry):
        raise ConfigurationError(
            f"setup_templates(templates, registry): expected a breaker_core.Registry, "
            f"got {type(registry).__name__}"
        )
    from breaker_jinja import GLOBAL_NAME, BreakerExtension

    if not any(isinstance(ext, BreakerExtension) for ext in templates.env.extensions.values()):
        templates.env.add_extension(BreakerExtension)
    templates.env.globals[GLOBAL_NAME] = registry
    return templates


class RenderedTemplate(HTMLResponse):
    """An HTML response holding its ``template`` and ``context``, like Starlette's own.

    As with ``TemplateResponse``, Starlette's TestClient sees them as
    ``response.template`` and ``response.context``.
    """

    def __init__(
        self,
        template: Any,
        context: dict[str, Any],
        content: str,
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
        media_type: str | None = None,
        background: BackgroundTask | None = None,
    ) -> None:
        self.template = template
        self.context = context
        super().__init__(content, status_code, headers, media_type, background)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if "http.response.debug" in scope.get("extensions", {}):
            await send(
                {
                    "type": "http.response.debug",
                    "info": {"template": self.template, "context": self.context},
                }
            )
        await super().__call__(scope, receive, send)


async def render_template(
    templates: Jinja2Templates,
    request: Request,
    name: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
    headers: Mapping[str, str] | None = None,
    media_type: str | None = None,
    background: BackgroundTask | None = None,
) -> RenderedTemplate:
    """``templates.TemplateResponse(request, name, context)``, rendered off the event loop.

    An async environment (``enable_async=True``) is rendered with
    ``render_async``; a sync one in Starlette's thread pool. The context gets
    ``request`` and the templates' context processors, as with Starlette.

    Raises:
        jinja2.TemplateNotFound: no template is called ``name``.
        Exception: whatever rendering raises (``{% breaker %}`` blocks degrade
            on the failures their breaker records instead of raising).
    """
    context = dict(context or {})
    context.setdefault("request", request)
    for processor in templates.context_processors:
        context.update(processor(request))
    template = templates.get_template(name)
    if templates.env.is_async:
        content = await template.render_async(context)
    else:
        content = await run_in_threadpool(template.render, context)
    return RenderedTemplate(
        template,
        context,
        content,
        status_code=status_code,
        headers=headers,
        media_type=media_type,
        background=background,
    )
