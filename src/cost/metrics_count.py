"""What tracecanary really emits, for the bill: its custom metrics and the bytes of its record lines.

Both are measured on the lines the functions' own code builds (the reporter's window and run heartbeat,
the generator's run, the pipeline's event) at the chosen `MetricsDetail`, never taken from a list kept
beside them.
"""

import itertools
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from common.emf import MetricIdentity, MetricsDetail, declared_metrics, render
from common.variants import DEFAULT_VARIANTS, PipelineVariant, function_name
from cost.model import RecordBytes
from reporter.emf import run_emf_line, window_emf_lines
from reporter.figures import TransactionFigure, WindowFigures
from reporter.windows import Window

STACK = "tracecanary"
# Real-shaped identifiers, so the measured line lengths are those of a deployment.
TRACE_ID = "1-6745a1b0-0123456789abcdef01234567"
KEY = "synthetic/4f/2026-11-25/20261125T124804Z-e2dc71/000000.json"


def emitted_metrics(
    detail: MetricsDetail,
    functions: int = 1,
    calls_per_function: int = 1,
    *,
    extension: bool = False,
    variants: Sequence[PipelineVariant] = DEFAULT_VARIANTS,
) -> set[MetricIdentity]:
    """Every distinct metric (name and dimension values) the functions emit over a month: the reporter's
    for windows with `functions` functions each making `calls_per_function` kinds of call (a cold start
    among them) in each pipeline twin of `variants`, the generator's and each twin's own. `extension`: the
    functions run a Lambda extension, so their new-style traces carry `aws:extensionOverhead`."""
    figures = _sample_window(functions, calls_per_function, extension=extension, cold=True, variants=variants)
    lines = [*window_emf_lines(figures, "TraceCanary", STACK, detail), *_generator_lines(detail)]
    lines += [*(_pipeline_line(detail, variant) for variant in variants), _run_line(detail)]
    return declared_metrics(lines)


def count_custom_metrics(
    detail: MetricsDetail = MetricsDetail.STANDARD,
    functions: int = 1,
    calls_per_function: int = 1,
    *,
    extension: bool = False,
    variants: Sequence[PipelineVariant] = DEFAULT_VARIANTS,
) -> int:
    return len(emitted_metrics(detail, functions, calls_per_function, extension=extension, variants=variants))


def record_bytes(detail: MetricsDetail) -> RecordBytes:
    """The ingested size of each kind of record line, from lines built as the functions build them."""
    window_lines = window_emf_lines(_sample_window(1, 1), "TraceCanary", STACK, detail)
    window_line, object_lines = window_lines[0], window_lines[1:]
    *generator_objects, generator_run = _generator_lines(detail)
    return RecordBytes(
        reporter_per_window=_size(window_line) + _size(_run_line(detail)),  # one run a window
        reporter_per_object=sum(_size(line) for line in object_lines),
        generator_per_run=_size(generator_run),
        generator_per_object=sum(_size(line) for line in generator_objects),
        pipeline_per_object=_size(_pipeline_line(detail)),
    )


def _run_line(detail: MetricsDetail) -> dict[str, Any]:
    scheduled = datetime(2026, 11, 25, 12, 13, tzinfo=UTC)
    window = "2026-11-25T12:05:00Z"
    return run_emf_line(
        scheduled,
        windows=[window],
        objects=10,
        deferred=None,
        namespace="TraceCanary",
        pipeline=STACK,
        detail=detail,
    )


def _size(line: dict[str, Any]) -> int:
    return len(render(line).encode()) + 1


def _sample_window(
    functions: int,
    calls_per_function: int,
    *,
    extension: bool = False,
    cold: bool = False,
    variants: Sequence[PipelineVariant] = DEFAULT_VARIANTS,
) -> WindowFigures:
    """One object, traced through `functions` invocations with their calls, durations as X-Ray gives them,
    in each twin of `variants` (the twins' functions are named apart, so their metrics are)."""
    start = datetime(2026, 11, 25, 12, 5, tzinfo=UTC)
    figures = WindowFigures(
        Window(start, start + timedelta(minutes=5)),
        generated=1,
        complete=1,
        traces_retrieved=1,
        xray_api_calls=1,
    )
    figures.transactions.append(TransactionFigure(KEY, TRACE_ID, "complete", 412.345, 87.654, 35.123))
    for variant, function in itertools.product(variants, range(functions)):
        calls = [
            {
                "service": "DynamoDB" if call == 0 else f"Service{call}",
                "operation": "PutItem",
                "resource": "tracecanary-ItemsTable-1A2B3C4D5E6F",
                "duration_ms": 12.345,
                "error": False,
                "fault": False,
                "throttle": False,
            }
            for call in range(calls_per_function)
        ]
        figures.add_invocation(
            {
                "trace_id": TRACE_ID,
                "function": function_name(STACK, variant) + (f"-{function}" if function else ""),
                "format": "v2",
                "cold_start": cold,
                "init_ms": 186.012 if cold else None,
                "invocation_ms": 62.345,
                "overhead_ms": 7.512,
                "runtime_overhead_ms": 7.512,
                "extension_overhead_ms": 30.123 if extension else None,
                "response_duration_ms": 0.512,
                "dwell_ms": 12.345,
                "attempts": 1,
                "calls": calls,
                "function_error": False,
            }
        )
    return figures


def _generator_lines(detail: MetricsDetail) -> list[dict[str, Any]]:
    from generator.manifest import ManifestRecord, Outcome
    from generator.metrics import run_record_lines

    planned = 1795608301.123
    record = ManifestRecord(
        run_id="20261125T124804Z-e2dc71",
        sequence=0,
        bucket="tracecanary-incomingbucket-1a2b3c4d5e6f",
        key=KEY,
        trace_id=TRACE_ID,
        segment_id="53995c3f42cd8ad8",
        put_subsegment_id="6f1c3f0e2b5e4a8c",
        planned_at=planned,
        outcome=Outcome.SENT,
        size=1024,
        content_type="application/json",
        started_at=planned + 0.001,
        put_ms=35.123,
    )
    return run_record_lines(
        [record], run_id=record.run_id, pipeline=STACK, namespace="TraceCanary", detail=detail
    )


def _pipeline_line(
    detail: MetricsDetail, variant: PipelineVariant = PipelineVariant.POWERTOOLS
) -> dict[str, Any]:
    from pipeline.metrics import event_record_line
    from pipeline.processor import EventOutcome
    from pipeline.settings import PipelineSettings

    settings = PipelineSettings(
        items_table_name="items",
        pipeline_name=STACK,
        service_name=variant.function_suffix,  # each twin's POWERTOOLS_SERVICE_NAME in template.yaml
        metrics_detail=detail,
    )
    return event_record_line(EventOutcome(total=1, written=[KEY]), settings, TRACE_ID, timestamp_ms=0)


def count_alarms(template: dict[str, Any], parameters: Mapping[str, str]) -> int:
    """The alarms a stack with these parameter values has (a conditional alarm only where it holds)."""
    from demo.alarm_preview import is_deployed

    return sum(
        1
        for resource in template["Resources"].values()
        if resource["Type"] == "AWS::CloudWatch::Alarm" and is_deployed(template, resource, parameters)
    )
