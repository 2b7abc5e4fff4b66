"""Powertools state is per process: each handler test starts cold, with its settings read afresh."""

from collections.abc import Iterator

import pytest
from aws_lambda_powertools.logging import logger as powertools_logger
from aws_lambda_powertools.metrics.provider import cold_start

HANDLER_ENVIRONMENT = {
    "POWERTOOLS_SERVICE_NAME": "pipeline",
    "POWERTOOLS_METRICS_NAMESPACE": "TraceCanary",
    "POWERTOOLS_TRACE_DISABLED": "true",  # no X-Ray daemon in unit tests
    "PIPELINE_NAME": "tracecanary-test",
    "ITEMS_TABLE_NAME": "items-test",
    "AWS_DEFAULT_REGION": "eu-central-1",
    "_X_AMZN_TRACE_ID": "Root=1-6745a1b0-0123456789abcdef01234567;Parent=53995c3f42cd8ad8;Sampled=1",
}


@pytest.fixture(autouse=True)
def lambda_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name, value in HANDLER_ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    cold_start.is_cold_start = True
    powertools_logger.is_cold_start = True
    from handlers import pipeline

    cached_item_store = pipeline.item_store  # tests may replace it; clear the real cache afterwards
    pipeline.settings.cache_clear()
    yield
    pipeline.settings.cache_clear()
    cached_item_store.cache_clear()
