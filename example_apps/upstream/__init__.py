"""A small flaky HTTP service to put breakers in front of: ``python -m example_apps.upstream``.

It plays the "Inventory" and "Recommendations" services of the example shops and of the
tests. It serves real HTTP on 127.0.0.1 (standard library only) and its behaviour (healthy,
errors, slow, hang, refuse, flaky) switches at run time over HTTP (``/_control``, also on a
separate control port that stays open in every mode) or from Python::

    from example_apps.upstream import Upstream

    with Upstream() as up:              # free ports on 127.0.0.1, background threads
        up.set_mode("errors", status=503)
        up.stats()["connections"]

See ``docs/upstream.md``.
"""

from example_apps.upstream.control import ControlError, UpstreamError
from example_apps.upstream.modes import Mode, Settings
from example_apps.upstream.runner import Upstream
from example_apps.upstream.stats import StatsSnapshot

__all__ = ["ControlError", "Mode", "Settings", "StatsSnapshot", "Upstream", "UpstreamError"]
