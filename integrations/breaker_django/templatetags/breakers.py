"""``{% load breakers %}``: the ``{% breaker %}`` block tag.

::

    {% breaker "recommendations" stale_for=300 vary_on=user.pk %}
      {% for item in recommendations.items %}...{% endfor %}
    {% fallback %}
      <p>Popular right now: ...</p>
    {% endbreaker %}

A thin wrapper over :func:`breaker_core.web.fragments.render_fragment`: the
body renders under the dependency's breaker; a failure while rendering it is
recorded and the block degrades (the stored rendering if at most
``stale_for`` old, else the fallback part, else nothing); while the breaker
is open the body is not rendered at all. The cache key covers the
dependency, the template, the block and every ``vary_on`` value.

Layer: integration. Imports breaker_core's declared interface only (breaker_core,
breaker_core.extension, .web, .ops).
"""

from __future__ import annotations

import hashlib
import logging

from django import template  # type: ignore[import-untyped]
from django.template.base import (  # type: ignore[import-untyped]
    FilterExpression,
    Node,
    NodeList,
    Parser,
    Token,
    Variable,
    VariableDoesNotExist,
)
from django.template.context import Context  # type: ignore[import-untyped]

from breaker_core.extension import parse_duration
from breaker_core.web.fragments import fragment_key, render_fragment
from breaker_django import conf

__all__ = ["BreakerNode", "breaker"]

logger = logging.getLogger("breaker_django")

register = template.Library()

_OPTIONS = ("stale_for", "vary_on")
_USAGE = '{% breaker "name" [stale_for=seconds] [vary_on=value ...] %}'


class BreakerNode(Node):  # type: ignore[misc]  # Django is untyped
    """One ``{% breaker %}`` block of a compiled template."""

    child_nodelists = ("nodelist", "fallback")

    def __init__(
        self,
        name: FilterExpression,
        stale_for: FilterExpression | None,
        vary_on: list[FilterExpression],
        nodelist: NodeList,
        fallback: NodeList | None,
        block_id: str,
    ) -> None:
        self.name = name
        self.stale_for = stale_for
        self.vary_on = vary_on
        self.nodelist = nodelist
        self.fallback = fallback
        self.block_id = block_id
        self.warned = False

    def __repr__(self) -> str:
        return f"<BreakerNode {self.name.token}>"

    def render(self, context: Context) -> str:
        """Render the block under its breaker; see the module docs.

        Raises:
            TemplateSyntaxError: the name is not a declared dependency,
                ``stale_for`` is not a duration, or a ``vary_on`` value is not a
                plain value (vary on ``user.pk``, not ``user``).
            ConfigurationError: ``settings.BREAKERS`` is invalid.
        """
        registry = conf.get_registry()
        name = self.name.resolve(context)
        if not isinstance(name, str) or name not in registry:
            declared = ", ".join(registry.names) or "none"
            raise template.TemplateSyntaxError(
                f"{{% breaker {self.name.token} %}}: no dependency named {name!r} "
                f'(declared in settings.BREAKERS["dependencies"]: {declared})'
            )
        stale_for = self._stale_for(context)
        values, complete = self._vary_on(context)
        if not complete:
            stale_for = 0.0  # never share a rendering keyed on a value we could not read
        origin = getattr(self, "origin", None)
        template_name = str(getattr(origin, "template_name", None) or getattr(origin, "name", ""))
        try:
            key = fragment_key(name, template_name, self.block_id, values)
        except TypeError as exc:
            tokens = " ".join(str(expression.token) for expression in self.vary_on)
            raise template.TemplateSyntaxError(f"{{% breaker %}} vary_on={tokens}: {exc}") from None
        fallback = self.fallback
        return render_fragment(
            registry,
            name,
            key=key,
            body=lambda: str(self.nodelist.render(context)),
            fallback=None if fallback is None else lambda: str(fallback.render(context)),
            stale_for=stale_for,
        )

    def _stale_for(self, context: Context) -> float | None:
        if self.stale_for is None:
            return None
        value = self.stale_for.resolve(context)
        try:
            return parse_duration(value)
        except ValueError:
            raise template.TemplateSyntaxError(
                f'{{% breaker %}}: stale_for expects seconds or a duration like "5m" '
                f"(0 turns it off), got {value!r} from {self.stale_for.token!r}"
            ) from None

    def _vary_on(self, context: Context) -> tuple[list[object], bool]:
        values: list[object] = []
        complete = True
        for expression in self.vary_on:
            value = expression.resolve(context, ignore_failures=True)
            if value is None and isinstance(expression.var, Variable):
                try:
                    expression.var.resolve(context)
                except VariableDoesNotExist:
                    complete = False
                    self._warn_unresolved(expression)
            values.append(value)
        return values, complete

    def _warn_unresolved(self, expression: FilterExpression) -> None:
        if self.warned:
            return
        self.warned = True  # once per compiled block, not once per request
        logger.warning(
            "breakerpanel: {%% breaker %%} vary_on=%s does not resolve in %s; "
            "the block is rendered but never stored or served from the cache",
            expression.token,
            getattr(getattr(self, "origin", None), "name", "a template"),
        )


def _block_id(token: Token, nodelist: NodeList, fallback: NodeList | None) -> str:
    """Identify the block by its line and its source, so distinct blocks never share keys."""
    digest = hashlib.sha256(token.contents.encode())
    for nodes in (nodelist, fallback or NodeList()):
        for node in nodes.get_nodes_by_type(Node):
            inner = getattr(node, "token", None)
            if inner is not None:
                digest.update(b"\x1f" + str(inner.contents).encode())
        digest.update(b"\x1e")
    return f"{token.lineno}:{digest.hexdigest()[:32]}"


def _parse_options(
    parser: Parser, bits: list[str]
) -> tuple[FilterExpression | None, list[FilterExpression]]:
    stale_for: FilterExpression | None = None
    vary_on: list[FilterExpression] = []
    current: str | None = None
    seen: set[str] = set()
    for bit in bits:
        key, _, value = bit.partition("=")
        if _is_option(bit):
            if key not in _OPTIONS:
                raise template.TemplateSyntaxError(
                    f"{{% breaker %}}: unknown option {key!r}; allowed: "
                    f"{', '.join(_OPTIONS)} (usage: {_USAGE})"
                )
            if key in seen:
                raise template.TemplateSyntaxError(f"{{% breaker %}}: {key} is given twice")
            if not value:
                raise template.TemplateSyntaxError(
                    f"{{% breaker %}}: {key}= needs a value, with no space after '='"
                )
            seen.add(key)
            current = key
            expression = parser.compile_filter(value)
            if key == "stale_for":
                stale_for = expression
            else:
                vary_on.append(expression)
        elif current == "vary_on":
            vary_on.append(parser.compile_filter(bit))
        else:
            raise template.TemplateSyntaxError(
                f"{{% breaker %}}: unexpected {bit!r}; usage: {_USAGE}"
            )
    return stale_for, vary_on


def breaker(parser: Parser, token: Token) -> BreakerNode:
    """Compile ``{% breaker "name" [stale_for=N] [vary_on=a b ...] %}…{% endbreaker %}``.

    Raises:
        TemplateSyntaxError: the name is missing, an option is unknown or
            repeated, or ``{% endbreaker %}`` is missing.
    """
    bits = token.split_contents()
    if len(bits) < 2 or _is_option(bits[1]):
        raise template.TemplateSyntaxError(
            f"{{% breaker %}} needs the dependency's name first; usage: {_USAGE}"
        )
    name = parser.compile_filter(bits[1])
    stale_for, vary_on = _parse_options(parser, bits[2:])
    if stale_for is not None:
        _check_literal_duration(stale_for)
    nodelist = parser.parse(("fallback", "endbreaker"))
    fallback: NodeList | None = None
    if parser.next_token().contents == "fallback":
        fallback = parser.parse(("endbreaker",))
        parser.delete_first_token()
    return BreakerNode(
        name, stale_for, vary_on, nodelist, fallback, _block_id(token, nodelist, fallback)
    )


def _is_option(bit: str) -> bool:
    key, equals, _ = bit.partition("=")
    return bool(equals) and key.isidentifier()


def _check_literal_duration(expression: FilterExpression) -> None:
    """Refuse a literal ``stale_for`` that is not a duration when the template compiles."""
    var = expression.var
    literal = var.literal if isinstance(var, Variable) else var
    if literal is None or expression.filters:
        return  # a variable: checked when rendering
    try:
        parse_duration(literal)
    except ValueError:
        raise template.TemplateSyntaxError(
            f'{{% breaker %}}: stale_for expects seconds or a duration like "5m" '
            f"(0 turns it off), got {expression.token!r}"
        ) from None


register.tag("breaker", breaker)
