"""OpenTelemetry in the Django app: one call in ready(), following rebuilt registries."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

pytest.importorskip("django")
pytest.importorskip("opentelemetry.sdk")

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from breaker_core import CircuitOpenError
from breaker_django import breakers
from breaker_opentelemetry import names
from breaker_opentelemetry.django import instrument_django, uninstrument_django


@pytest.fixture
def reader() -> Iterator[InMemoryMetricReader]:
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    instrument_django(meter_provider=provider)
    yield reader
    uninstrument_django()
    provider.shutdown()


def failures(reader: InMemoryMetricReader) -> dict[str, int]:
    data = reader.get_metrics_data()
    found: dict[str, int] = {}
    for resource in data.resource_metrics:
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                if metric.name == names.CALLS:
                    for point in metric.data.data_points:
                        if point.attributes[names.OUTCOME] == "failure":
                            found[str(point.attributes[names.DEPENDENCY])] = point.value
    return found


def boom() -> None:
    raise RuntimeError("down")


def test_instrument_django_counts_and_follows_settings(reader, settings) -> None:
    assert instrument_django() is instrument_django()
    with pytest.raises(RuntimeError):
        breakers["inventory"].call(boom)
    assert failures(reader) == {"inventory": 1}
    settings.BREAKERS = {"dependencies": {"payments": {"failure_threshold": 1}}}
    with pytest.raises(RuntimeError):
        breakers["payments"].call(boom)
    with pytest.raises(CircuitOpenError):
        breakers["payments"].call(boom)
    assert failures(reader) == {"inventory": 1, "payments": 1}


def test_uninstrument_django_restores_the_fast_path(reader) -> None:
    assert not breakers["catalogue"]._plain
    uninstrument_django()
    assert not breakers["catalogue"]._listening
