import json

import pytest

from common.emf import METRIC_PLAN, MetricsDetail, declared_metrics, parse_metrics_detail, record_line, render

DIMENSIONS = {"Pipeline": "tc", "FunctionName": "tc-pipeline"}


def line(detail: MetricsDetail, **figures: object) -> dict[str, object]:
    return record_line(
        "invocation",
        figures,  # type: ignore[arg-type]
        dimensions=DIMENSIONS,
        namespace="TraceCanary",
        timestamp_ms=1795608300000,
        detail=detail,
    )


def test_a_record_line_declares_the_planned_figures_of_its_level_and_keeps_the_rest_plain() -> None:
    figures = {"trace_id": "1-abc", "DwellTime": 12.5, "InvocationDuration": 40.0, "RuntimeOverhead": 1.0}
    assert line(MetricsDetail.STANDARD, **figures) == {
        "_aws": {
            "Timestamp": 1795608300000,
            "CloudWatchMetrics": [
                {
                    "Namespace": "TraceCanary",
                    "Dimensions": [["Pipeline", "FunctionName"]],
                    "Metrics": [{"Name": "DwellTime", "Unit": "Milliseconds"}],
                }
            ],
        },
        "Pipeline": "tc",
        "FunctionName": "tc-pipeline",
        "record": "invocation",
        **figures,
    }
    full = line(MetricsDetail.FULL, **figures)
    assert full["_aws"]["CloudWatchMetrics"][0]["Metrics"] == [  # type: ignore[index]
        {"Name": "DwellTime", "Unit": "Milliseconds"},
        {"Name": "InvocationDuration", "Unit": "Milliseconds"},
    ]  # RuntimeOverhead is in no plan: a plain field at every level


def test_each_dimension_set_gets_its_own_directive_on_one_line() -> None:
    both = line(MetricsDetail.FULL, DwellTime=1.0, S3NotificationLatency=2.0)
    directives = both["_aws"]["CloudWatchMetrics"]  # type: ignore[index]
    assert [d["Dimensions"] for d in directives] == [[["Pipeline", "FunctionName"]], [["Pipeline"]]]
    assert declared_metrics([both]) == {
        ("DwellTime", (("Pipeline", "tc"), ("FunctionName", "tc-pipeline"))),
        ("S3NotificationLatency", (("Pipeline", "tc"),)),
    }


def test_a_line_without_a_declared_metric_is_a_plain_log_line_and_none_is_left_out() -> None:
    plain = line(MetricsDetail.STANDARD, InvocationDuration=40.0, InitDuration=None)
    assert plain == {
        "Pipeline": "tc",
        "FunctionName": "tc-pipeline",
        "record": "invocation",
        "InvocationDuration": 40.0,
    }
    assert declared_metrics([plain]) == set()
    assert json.loads(render(plain)) == plain
    assert "\n" not in render(plain)
    assert " " not in render(plain)


def test_a_metric_needs_a_number_and_its_dimensions() -> None:
    with pytest.raises(TypeError, match="metric DwellTime needs a number, got 'slow'"):
        line(MetricsDetail.STANDARD, DwellTime="slow")
    with pytest.raises(TypeError, match="needs a number, got True"):
        line(MetricsDetail.STANDARD, FunctionErrors=True)
    with pytest.raises(ValueError, match=r"CallLatency needs the dimensions \['Service', 'Operation'\]"):
        line(MetricsDetail.STANDARD, CallLatency=3.0)


def test_the_standard_plan_holds_what_the_alarms_need_and_stays_within_ten() -> None:
    standard = [name for name, planned in METRIC_PLAN.items() if planned.standard]
    assert len(standard) == 9  # one pipeline function, one kind of call: one metric each
    assert {"UntracedShare", "ObjectsReported"} <= set(standard)  # the untraced and heartbeat alarms'
    assert "TransactionsUntraced" not in standard  # a plain field at standard, a metric at full
    assert len(standard) <= 10


@pytest.mark.parametrize(
    ("text", "detail"), [("standard", MetricsDetail.STANDARD), (" FULL ", MetricsDetail.FULL)]
)
def test_metrics_detail_is_read_in_any_case(text: str, detail: MetricsDetail) -> None:
    assert parse_metrics_detail(text) is detail


def test_a_bad_metrics_detail_is_one_clear_error() -> None:
    with pytest.raises(ValueError, match=r"^METRICS_DETAIL must be 'standard' or 'full', got 'verbose'$"):
        parse_metrics_detail("verbose")
