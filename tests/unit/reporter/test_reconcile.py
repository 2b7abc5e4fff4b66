import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from common.variants import PipelineVariant
from generator.manifest import Outcome
from reporter.reconcile import Verdict, reconcile
from reporter.windows import Window
from tests.unit.reporter.traces import FUNCTION, as_trace, transaction
from traces.analysis import analyze

START = datetime(2026, 11, 25, 12, 5, tzinfo=UTC)
WINDOW = Window(START, START + timedelta(minutes=5))
T0 = START.timestamp() + 10


def run(
    cases: list[tuple[object, list[dict[str, object]]]], items: set[str], retrieved: set[str] | None = None
):  # type: ignore[no-untyped-def]
    records = [record for record, _ in cases]
    traces = [as_trace(record.trace_id, segments) for record, segments in cases]  # type: ignore[attr-defined]
    if retrieved is not None:
        traces = [trace for trace in traces if trace["Id"] in retrieved]
    analysis = analyze({"Traces": traces})
    return reconcile(
        WINDOW,
        records,  # type: ignore[arg-type]
        analysis.transactions,
        dict.fromkeys(items),
        [trace["Id"] for trace in traces],
    )


def test_a_traced_written_object_is_complete_and_its_parts_are_counted() -> None:
    case = transaction(T0, "synthetic/a", cold=True)
    result = run([case], {"synthetic/a"})
    [verdict] = result.verdicts
    assert verdict.verdict is Verdict.COMPLETE
    figures = result.figures
    assert (figures.generated, figures.complete, figures.lost) == (1, 1, 0)
    # PutObject at T0; the function segment, the last to end, ends 40 + 100 + 30 + 5 + 200 + 40 + 1 ms later.
    assert figures.end_to_end_ms == [pytest.approx(416.0, abs=0.01)]
    assert figures.s3_notification_ms == [pytest.approx(100.0, abs=0.01)]
    [invocation] = figures.invocations
    assert (invocation.function, invocation.cold_start, invocation.function_error) == (FUNCTION, True, False)
    assert invocation.trace_id == verdict.trace_id
    assert invocation.init_ms == pytest.approx(200.0, abs=0.01)
    assert invocation.dwell_ms == pytest.approx(30.0, abs=0.01)
    assert invocation.invocation_ms == pytest.approx(40.0, abs=0.01)
    assert figures.call_values("DynamoDB", "PutItem") == [pytest.approx(12.0, abs=0.01)]
    [call] = figures.calls
    assert (call.function, call.trace_id) == (FUNCTION, verdict.trace_id)
    [object_figure] = figures.transactions
    assert (object_figure.key, object_figure.verdict, object_figure.missing) == (
        "synthetic/a",
        "complete",
        (),
    )
    assert figures.success_rate == 100.0


def test_no_item_means_lost() -> None:
    result = run([transaction(T0, "synthetic/a")], set())
    [verdict] = result.verdicts
    assert verdict.verdict is Verdict.LOST
    assert verdict.missing == ("no item in the table",)
    assert result.figures.lost == 1
    [object_figure] = result.figures.transactions
    assert (object_figure.verdict, object_figure.missing) == ("lost", ("no item in the table",))
    assert object_figure.end_to_end_ms is not None  # traced, so its time still counts


def test_no_invocation_means_lost() -> None:
    result = run([transaction(T0, "synthetic/a", with_invocation=False)], set())
    assert result.verdicts[0].missing == ("no invocation in the trace", "no item in the table")


def test_an_item_written_without_a_readable_trace_is_untraced_not_lost() -> None:
    # The monitor's blind spot (a Transaction Search account read through BatchGetTraces, say): the
    # pipeline delivered, so the object counts as delivered and never as lost.
    traced = transaction(T0, "synthetic/a")
    blind = transaction(T0 + 1, "synthetic/b")
    result = run([traced, blind], {"synthetic/a", "synthetic/b"}, retrieved={traced[0].trace_id})
    assert [verdict.verdict for verdict in result.verdicts] == [Verdict.COMPLETE, Verdict.UNTRACED]
    assert result.verdicts[1].missing == ("no trace could be read from X-Ray",)
    figures = result.figures
    assert (figures.complete, figures.untraced, figures.lost) == (1, 1, 0)
    assert figures.success_rate == 100.0  # untraced objects count as delivered
    assert figures.untraced_share == 50.0
    assert result.counts()["untraced"] == 1
    assert [t.verdict for t in figures.transactions] == ["complete", "untraced"]


def test_the_source_is_named_in_what_was_missing() -> None:
    record, _ = transaction(T0, "synthetic/a")
    result = reconcile(WINDOW, [record], [], {"synthetic/a": None}, [], source="Transaction Search")
    assert result.verdicts[0].missing == ("no trace could be read from Transaction Search",)


def test_a_trace_without_an_invocation_but_with_the_item_is_untraced() -> None:
    record, segments = transaction(T0, "synthetic/a")
    generator_only = [segment for segment in segments if "Lambda" not in str(segment.get("origin", ""))]
    result = run([(record, generator_only)], {"synthetic/a"})
    assert result.verdicts[0].verdict is Verdict.UNTRACED
    assert result.verdicts[0].missing == ("no invocation in the trace",)


def test_no_trace_and_no_item_is_lost() -> None:
    record, segments = transaction(T0, "synthetic/a")
    result = run([(record, segments)], set(), retrieved=set())
    assert result.verdicts[0].verdict is Verdict.LOST
    assert result.verdicts[0].missing == ("no trace could be read from X-Ray", "no item in the table")
    assert result.figures.success_rate == 0.0


@pytest.mark.parametrize("outcome", [Outcome.FAILED, Outcome.DROPPED])
def test_uploads_that_never_happened_are_lost(outcome: Outcome) -> None:
    record, _ = transaction(T0, "synthetic/a")
    record = dataclasses.replace(record, outcome=outcome, error="SlowDown: Please reduce your request rate")
    result = run([(record, [])], set())
    assert result.verdicts[0].verdict is Verdict.LOST
    assert result.verdicts[0].missing == (
        f"upload {outcome.value}: SlowDown: Please reduce your request rate",
    )
    assert result.figures.generated == 1


def test_a_throttled_call_is_an_error_not_complete() -> None:
    result = run([transaction(T0, "synthetic/a", dynamodb_status=429)], {"synthetic/a"})
    [verdict] = result.verdicts
    assert verdict.verdict is Verdict.ERROR
    assert verdict.missing == (f"DynamoDB PutItem: error/throttle in {FUNCTION}",)
    [call] = result.figures.calls
    assert (call.error, call.throttle, call.fault) == (True, True, False)
    assert result.figures.success_rate == 0.0
    assert (result.figures.error, result.figures.incomplete) == (1, 0)


def test_a_function_error_is_counted() -> None:
    result = run([transaction(T0, "synthetic/a", function_error="boom")], {"synthetic/a"})
    assert result.verdicts[0].verdict is Verdict.ERROR
    assert [invocation.function_error for invocation in result.figures.invocations] == [True]


def test_a_trace_still_in_progress_is_incomplete() -> None:
    result = run([transaction(T0, "synthetic/a", in_progress=True)], {"synthetic/a"})
    assert result.verdicts[0].verdict is Verdict.INCOMPLETE
    assert result.counts() == {"complete": 0, "lost": 0, "error": 0, "incomplete": 1, "untraced": 0}


def test_each_twins_objects_are_counted_apart_and_keep_their_variant() -> None:
    first = transaction(T0, "synthetic/powertools/a")
    twin_record, twin_segments = transaction(T0 + 1, "synthetic/opentelemetry/b")
    twin = (dataclasses.replace(twin_record, variant=PipelineVariant.OPENTELEMETRY), twin_segments)
    lost_record, lost_segments = transaction(T0 + 2, "synthetic/opentelemetry/c")
    lost = (dataclasses.replace(lost_record, variant=PipelineVariant.OPENTELEMETRY), lost_segments)
    result = run([first, twin, lost], {"synthetic/powertools/a", "synthetic/opentelemetry/b"})
    assert result.variants() == ["powertools", "opentelemetry"]
    assert result.counts("powertools")["complete"] == 1
    assert (result.counts("opentelemetry")["complete"], result.counts("opentelemetry")["lost"]) == (1, 1)
    assert result.counts() == {
        name: result.counts("powertools")[name] + result.counts("opentelemetry")[name]
        for name in result.counts()
    }
    assert [(figure.key, figure.variant) for figure in result.figures.transactions] == [
        ("synthetic/powertools/a", "powertools"),
        ("synthetic/opentelemetry/b", "opentelemetry"),
        ("synthetic/opentelemetry/c", "opentelemetry"),
    ]
