"""``BreakerExtension``: the ``{% breaker %}`` block tag for Jinja2.

::

    {% breaker "recommendations", stale_for=300, vary_on=[user.id] %}
      {% for item in recommendations(user) %}...{% endfor %}
    {% fallback %}
      <p>Recommendations are taking a break.</p>
    {% endbreaker %}

The tag compiles to a call block whose caller renders either part on demand,
so the body (and the lazy call to the service inside it) only runs when the
breaker admits it. The decision (render, record, degrade, serve the kept
rendering) is :func:`breaker_core.web.fragments.render_fragment`, the same
code Django's tag runs; this module only translates Jinja's idiom into it.

Layer: integration. Imports breaker_core's declared interface only (breaker_core,
breaker_core.extension, .web, .ops).
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from typing import Any

from jinja2 import Environment, nodes
from jinja2.ext import Extension
from jinja2.parser import Parser
from jinja2.runtime import Context
from markupsafe import Markup

from breaker_core import ConfigurationError, Registry
from breaker_core.extension import parse_duration
from breaker_core.web.fragments import fragment_key, render_fragment, render_fragment_async
from breaker_jinja.keys import vary_on_values

__all__ = ["GLOBAL_NAME", "BreakerExtension"]

GLOBAL_NAME = "breakers"
"""The template variable (usually a global) the tag takes the registry from."""

_KEYWORDS = ("stale_for", "vary_on")
_PART = "_breakerpanel_part"  # the caller's parameter: which part to render


class BreakerExtension(Extension):
    """The ``{% breaker %}`` tag: ``{% breaker "name"[, stale_for=N][, vary_on=[...]] %}``.

    ``…{% fallback %}…{% endbreaker %}``; the fallback part is optional.

    Install with ``env.add_extension(BreakerExtension)`` (or
    ``Environment(extensions=[BreakerExtension])``) and give templates the
    registry as ``env.globals["breakers"] = registry``, which also lets them
    read state: ``{% if breakers.recommendations.is_open %}``. The tag looks
    the registry up in this order: ``env.breakers_registry`` (an attribute this
    extension adds, ``None`` by default), then the ``breakers`` variable of the
    template's context (a global or a render variable).

    Works in sync and async (``enable_async=True``) environments and with
    autoescaping on. Errors at render time: ``ConfigurationError`` (no
    registry, unknown dependency, bad ``stale_for``), ``TypeError`` (a
    ``vary_on`` value that is not a plain value) and ``UndefinedError`` (an
    undefined ``vary_on`` value). Syntax errors are ``TemplateSyntaxError``.
    """

    tags = {"breaker"}  # noqa: RUF012 (jinja2 declares tags as a plain class attribute)

    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        environment.extend(breakers_registry=None)

    # -- compile time ----------------------------------------------------------------

    def parse(self, parser: Parser) -> nodes.Node:
        """Parse one ``{% breaker %}`` block (called by Jinja)."""
        lineno = next(parser.stream).lineno
        dependency = parser.parse_expression()
        options: dict[str, nodes.Expr] = {}
        while parser.stream.current.type != "block_end":
            parser.stream.skip_if("comma")
            if parser.stream.current.type == "block_end":
                break
            token = parser.stream.expect("name")
            if token.value not in _KEYWORDS:
                parser.fail(
                    f"{{% breaker %}} takes stale_for= and vary_on=, not {token.value!r}",
                    token.lineno,
                )
            if token.value in options:
                parser.fail(f"{{% breaker %}}: {token.value}= given twice", token.lineno)
            parser.stream.expect("assign")
            options[token.value] = parser.parse_expression()

        body = parser.parse_statements(("name:fallback", "name:endbreaker"))
        fallback: list[nodes.Node] | None = None
        if next(parser.stream).value == "fallback":
            fallback = parser.parse_statements(("name:endbreaker",), drop_needle=True)

        template = parser.name if parser.name is not None else "<string>"
        # The block is named by its line and a digest of its content, so two
        # unnamed templates (from_string) with a tag on the same line never
        # share a kept rendering.
        digest = hashlib.sha256(repr((body, fallback)).encode()).hexdigest()[:16]
        call = self.call_method(
            "_render",
            [
                dependency,
                options.get("stale_for", nodes.Const(None)),
                options.get("vary_on", nodes.List([])),
                nodes.Const(template),
                nodes.Const(f"{lineno}:{digest}"),
                nodes.Const(lineno),
                nodes.Const(fallback is not None),
                nodes.ContextReference(),
            ],
        )
        caller_body: list[nodes.Node] = body
        if fallback is not None:
            test = nodes.Compare(
                nodes.Name(_PART, "load"), [nodes.Operand("eq", nodes.Const("fallback"))]
            )
            caller_body = [nodes.If(test, fallback, [], body)]
        return nodes.CallBlock(call, [nodes.Name(_PART, "param")], [], caller_body).set_lineno(
            lineno
        )

    # -- render time -------------------------------------------------------------------

    def _registry(self, context: Context, where: str) -> Registry:
        explicit = getattr(self.environment, "breakers_registry", None)
        if isinstance(explicit, Registry):
            return explicit
        if explicit is not None:
            raise ConfigurationError(
                f"{where}: env.breakers_registry must be a breaker_core.Registry, "
                f"got {type(explicit).__name__}"
            )
        found = context.get(GLOBAL_NAME)
        if isinstance(found, Registry):
            return found
        raise ConfigurationError(
            f"{where}: no breaker registry: set env.globals[{GLOBAL_NAME!r}] = registry "
            "(Flask: Breakers(app) does it) or env.breakers_registry = registry"
        )

    def _render(
        self,
        dependency: object,
        stale_for: object,
        vary_on: object,
        template: str,
        block: str,
        lineno: int,
        has_fallback: bool,
        context: Context,
        caller: Callable[[str], Any],
    ) -> Markup | Awaitable[Markup]:
        where = f"{{% breaker {dependency!r} %}} in {template!r} line {lineno}"
        registry = self._registry(context, where)
        if not isinstance(dependency, str) or dependency not in registry:
            declared = ", ".join(registry.names) or "none"
            raise ConfigurationError(
                f"{where}: no dependency named {dependency!r} (declared: {declared}); "
                'declare it in BREAKERS["dependencies"]'
            )
        seconds: float | None = None
        if stale_for is not None:
            try:
                seconds = parse_duration(stale_for)
            except ValueError:
                raise ConfigurationError(
                    f'{where}: stale_for= expects seconds or a duration like "5m" '
                    f"(0 to turn it off), got {stale_for!r}"
                ) from None
        key = fragment_key(dependency, template, block, vary_on_values(vary_on, where))
        if self.environment.is_async:
            return self._render_async(registry, dependency, key, seconds, has_fallback, caller)

        def body() -> str:
            return str(caller("body"))

        def fallback() -> str:
            return str(caller("fallback"))

        html = render_fragment(
            registry,
            dependency,
            key=key,
            body=body,
            fallback=fallback if has_fallback else None,
            stale_for=seconds,
        )
        return Markup(html)

    async def _render_async(
        self,
        registry: Registry,
        dependency: str,
        key: str,
        stale_for: float | None,
        has_fallback: bool,
        caller: Callable[[str], Any],
    ) -> Markup:
        async def body() -> str:
            return str(await caller("body"))

        async def fallback() -> str:
            return str(await caller("fallback"))

        html = await render_fragment_async(
            registry,
            dependency,
            key=key,
            body=body,
            fallback=fallback if has_fallback else None,
            stale_for=stale_for,
        )
        return Markup(html)
