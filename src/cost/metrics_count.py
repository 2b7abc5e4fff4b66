"""How many custom metrics and alarms tracecanary really has: counted from what the code emits."""

from datetime import UTC, datetime, timedelta
from typing import Any

from reporter.emf import window_emf_lines
from reporter.figures import CallFigures, FunctionFigures, WindowFigures
from reporter.windows import Window

# The pipeline's own EMF (src/handlers/pipeline.py), one dimension set [Pipeline, service].
PIPELINE_FUNCTION_METRICS = ("ItemsWritten", "DuplicatesSkipped", "RecordsFailed")


def count_custom_metrics(functions: int = 1, calls_per_function: int = 1, *, extension: bool = False) -> int:
    """Distinct metric name + dimension values: the reporter's for a window with `functions` functions
    each making `calls_per_function` kinds of call, the generator's, and the pipeline's own. `extension`:
    the functions run a Lambda extension, so their new-style traces carry `aws:extensionOverhead`."""
    start = datetime(2026, 1, 1, tzinfo=UTC)
    figures = WindowFigures(Window(start, start + timedelta(minutes=5)), generated=1, complete=1)
    figures.end_to_end_ms.append(1.0)
    figures.s3_notification_ms.append(1.0)
    for function in range(functions):
        figures.functions[f"f{function}"] = FunctionFigures(
            1, 1, 0, [1.0], [1.0], [1.0], [1.0], [1.0] if extension else []
        )
        for call in range(calls_per_function):
            figures.calls[(f"f{function}", f"s{call}", "op")] = CallFigures([1.0], 0, 0, 0)
    distinct = set()
    for line in window_emf_lines(figures, "TraceCanary", "stack"):
        directive = line["_aws"]["CloudWatchMetrics"][0]
        dimension_values = tuple(line[name] for name in directive["Dimensions"][0])
        for metric in directive["Metrics"]:
            distinct.add((metric["Name"], dimension_values))
    return len(distinct) + _generator_metric_count() + len(PIPELINE_FUNCTION_METRICS)


def _generator_metric_count() -> int:
    from generator.manifest import ManifestRecord, Outcome
    from generator.metrics import emit_run_metrics

    names: set[str] = set()

    class Recorder:
        def add_metric(self, name: str, unit: str, value: float) -> None:
            names.add(name)

    record = ManifestRecord("run", 0, "b", "k", "t", "s", "p", 0.0, Outcome.SENT, 1, "text/plain", 0.0, 1.0)
    emit_run_metrics(Recorder(), [record])
    return len(names)


def count_alarms(template: dict[str, Any]) -> int:
    return sum(
        1 for resource in template["Resources"].values() if resource["Type"] == "AWS::CloudWatch::Alarm"
    )
