"""breakerpanel for Jinja2: the ``{% breaker %}`` block tag, shared by Flask and Starlette.

::

    from breaker_jinja import BreakerExtension

    env.add_extension(BreakerExtension)
    env.globals["breakers"] = registry      # the tag's registry, and state in templates

See ``docs/jinja.md``.

Layer: integration. Imports breaker_core's declared interface only (breaker_core,
breaker_core.extension, .web, .ops).
"""

from __future__ import annotations

from breaker_jinja.extension import GLOBAL_NAME, BreakerExtension

__all__ = ["GLOBAL_NAME", "BreakerExtension"]
