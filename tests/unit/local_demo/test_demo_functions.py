"""The demo's three functions as the local Lambda runs them: one trace format for all, the extension the
pipeline's only."""

import pytest

from demo.local_stack import LocalStack
from demo.loop import DemoOptions, function_configs
from demo.runtime_config import TraceFormat

STACK = LocalStack(
    stack_name="tracecanary-demo",
    bucket="tracecanary-demo-incomingbucket",
    synthetic_prefix="synthetic/",
    tables={"ItemsTable": "i", "ManifestTable": "m", "ReporterStateTable": "r"},
    queues={"PipelineFailureQueue": "q"},
    notifications_queue_url="n",
)


def test_by_default_every_function_traces_in_the_new_style_without_an_extension() -> None:
    configs = function_configs(DemoOptions(), STACK, {})
    assert [(config.name, config.trace_format, config.extension_overhead_ms) for config in configs] == [
        ("tracecanary-demo-pipeline", "v2", 0.0),
        ("tracecanary-demo-generator", "v2", 0.0),
        ("tracecanary-demo-reporter", "v2", 0.0),
    ]


@pytest.mark.parametrize("trace_format", ["v1", "v2"])
def test_the_chosen_format_is_every_functions_and_the_extension_the_pipelines(
    trace_format: TraceFormat,
) -> None:
    options = DemoOptions(lambda_trace_format=trace_format, extension_overhead_ms=25.0)
    pipeline, generator, reporter = function_configs(options, STACK, {})
    assert {pipeline.trace_format, generator.trace_format, reporter.trace_format} == {trace_format}
    assert (
        pipeline.extension_overhead_ms,
        generator.extension_overhead_ms,
        reporter.extension_overhead_ms,
    ) == (
        25.0,
        0.0,
        0.0,
    )


def test_each_twin_is_a_function_as_the_template_has_it_and_the_generator_sends_to_both() -> None:
    from common.variants import PipelineVariant

    both = (PipelineVariant.POWERTOOLS, PipelineVariant.OPENTELEMETRY)
    *twins, generator, _ = function_configs(DemoOptions(variants=both), STACK, {})
    assert [(twin.name, twin.handler) for twin in twins] == [
        ("tracecanary-demo-pipeline", "handlers.pipeline.lambda_handler"),
        ("tracecanary-demo-pipeline-otel", "handlers.pipeline_otel.lambda_handler"),
    ]
    powertools, otel = twins
    assert powertools.layers == ()
    assert [layer.name for layer in otel.layers] == ["opentelemetry"]
    assert [twin.environment["POWERTOOLS_SERVICE_NAME"] for twin in twins] == ["pipeline", "pipeline-otel"]
    assert otel.on_failure_queue_url == powertools.on_failure_queue_url == "q"
    assert generator.environment["PIPELINE_VARIANTS"] == "powertools,opentelemetry"
    _, generator_alone, _ = function_configs(DemoOptions(), STACK, {})
    assert generator_alone.environment["PIPELINE_VARIANTS"] == "powertools"
