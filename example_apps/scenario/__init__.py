"""The cascade, measured: ``python -m example_apps.scenario`` (``make scenario``).

An "Order Service" page (each shop's product page, which needs Inventory)
and an unrelated page (/about) under the same bounded load, while Inventory
hangs and later recovers, in three configurations: naive (long timeout, retry
loop, no breaker), breakerpanel (a breaker with a short timeout) and bulkhead
(breakerpanel plus ``max_concurrent``). See ``docs/scenario.md``.

Modules: :mod:`~example_apps.scenario.plan` (timeline, load, settings),
:mod:`~example_apps.scenario.run` (one shop in one configuration),
:mod:`~example_apps.scenario.load` (the load generator),
:mod:`~example_apps.scenario.probes` and :mod:`~example_apps.scenario.apps`
(what runs inside the servers), :mod:`~example_apps.scenario.summary`,
:mod:`~example_apps.scenario.tables` and :mod:`~example_apps.scenario.chart`
(the report).
"""
