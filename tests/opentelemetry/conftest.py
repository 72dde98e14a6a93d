"""The OpenTelemetry SDK with in-memory exporters, one provider pair per test."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

pytest.importorskip("opentelemetry.sdk")

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import (
    InMemorySpanExporter,
)


@dataclass
class Otel:
    """A meter provider read into memory and a tracer whose spans are kept in memory."""

    meter_provider: MeterProvider
    reader: InMemoryMetricReader
    tracer_provider: TracerProvider
    spans: InMemorySpanExporter

    @property
    def tracer(self) -> Any:
        return self.tracer_provider.get_tracer("tests")

    def points(self, name: str) -> list[Any]:
        """Every data point of the metric ``name`` in one collection."""
        data = self.reader.get_metrics_data()
        found: list[Any] = []
        if data is None:
            return found
        for resource in data.resource_metrics:
            for scope in resource.scope_metrics:
                for metric in scope.metrics:
                    if metric.name == name:
                        found.extend(metric.data.data_points)
        return found

    def metric(self, name: str) -> Any:
        data = self.reader.get_metrics_data()
        assert data is not None
        for resource in data.resource_metrics:
            for scope in resource.scope_metrics:
                for metric in scope.metrics:
                    if metric.name == name:
                        return metric
        raise AssertionError(f"no metric {name}")

    def value(self, name: str, **attributes: object) -> Any:
        """The value of the point of ``name`` whose attributes include ``attributes``."""
        wanted = {f"breakerpanel.{k}": v for k, v in attributes.items()}
        for point in self.points(name):
            if all(point.attributes.get(k) == v for k, v in wanted.items()):
                return point
        return None


@pytest.fixture
def otel() -> Iterator[Otel]:
    reader = InMemoryMetricReader()
    meter_provider = MeterProvider(metric_readers=[reader])
    spans = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    yield Otel(meter_provider, reader, tracer_provider, spans)
    meter_provider.shutdown()
    tracer_provider.shutdown()
