"""Every shared real trace, with the expected values worked out by hand from its JSON.

Each number is written as a literal with the arithmetic that gives it (times are the fixture's
`start_time`/`end_time`, seconds; durations are milliseconds). `approx` absorbs float rounding only.
"""

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.unit.traces.helpers import by_function, only
from traces.analysis import AnalysisResult, analyze_many
from traces.calls import Call

Analyze = Callable[[str], AnalysisResult]

THUMBNAIL = "triggerbench-sb_thumbnail_app_traces.json"
THUMBNAIL_CONSOLE = "triggerbench-sb_thumbnail_app_trace_web-console-rawdata.json"
THUMBNAIL_WARM = "triggerbench-sb_thumbnail_app_warm_traces.json"
THUMBNAIL_IN_PROGRESS = "triggerbench-sb_thumbnail_app_in_progress_traces.json"
THUMBNAIL_ERROR = "triggerbench-sb_thumbnail_app_error_fault_throttle_traces.json"
EVENT_PROCESSING = "triggerbench-sb_event_processing_app_traces.json"
REALWORLD = "triggerbench-sb_realworld_app_traces.json"
REALWORLD_COLD = "triggerbench-sb_realworld_app_missing_coldstart_traces.json"
MODEL_TRAINING = "triggerbench-sb_model_training_app_traces.json"
SCOREKEEP_2017 = "awsdocs-xray-devguide_batchgettraces_scorekeep-lambda-oldformat-2017.json"
SUMMARIES = "awsdocs-xray-devguide_gettracesummaries_scorekeep-2017.json"
NO_LAMBDA = "aws-cli-example_batchgettraces_scorekeep-dynamodb-updateitem_no-lambda-2019.json"
LONE_SERVICE_SEGMENT = (
    "aws-iatk_lambda-service_AWS-Lambda_async-202_dwell-time_attempt1_segment-document.json"
)


def call(
    service: str,
    operation: str,
    resource: str,
    duration_ms: float,
    *,
    error: bool = False,
    fault: bool = False,
    throttle: bool = False,
) -> Call:
    return Call(service, operation, resource, pytest.approx(duration_ms, abs=1e-3), error, fault, throttle)


@pytest.mark.parametrize("name", [THUMBNAIL, THUMBNAIL_CONSOLE])
def test_thumbnail_s3_to_lambda_async_old_format(analyze_fixture: Analyze, name: str) -> None:
    result = analyze_fixture(name)
    assert result.traces == 1
    assert result.skipped == []
    # The root, an API Gateway stage, holds a Lambda Invoke, not an S3 PutObject: no transaction.
    assert result.transactions == []
    upload = by_function(result)["thumbnail-generator-production-upload"]
    assert upload.trace_id == "1-5fbcfc1f-4d2e9bed6dc0c41c39dfdb2f"
    assert upload.start == pytest.approx(1606220835.429)
    assert upload.cold_start is True
    assert upload.init_ms == pytest.approx(2956.0)  # Initialization 1606220832.471 -> 1606220835.427
    assert upload.invocation_ms == pytest.approx(2333.0)  # no Invocation: segment 835.429 -> 837.762
    assert upload.overhead_ms is None
    # Its AWS::Lambda segment 09cf64b5fc54574f is the sync kind (HTTP 200, no subsegments).
    assert upload.dwell_ms is None
    assert upload.attempts == 0
    assert upload.s3_notification_ms is None  # that segment follows API Gateway's Invoke, not a PutObject
    assert upload.calls == (
        call("S3", "HeadBucket", "cmueller-tgen-images", 1479.0),  # 835.696 -> 837.175
        call("S3", "PutObject", "cmueller-tgen-images", 342.0),  # 837.335 -> 837.677
    )
    assert upload.function_error is False
    assert upload.complete is True

    consumer = by_function(result)["thumbnail-generator-production-thumbnail-generator"]
    assert consumer.start == pytest.approx(1606220840.361)
    assert consumer.cold_start is True
    assert consumer.init_ms == pytest.approx(1186.0)  # 839.172 -> 840.358
    assert consumer.invocation_ms == pytest.approx(6558.0)  # segment 840.361 -> 846.919
    assert consumer.overhead_ms is None
    # parent_id 1a4bad45b9acd2a6 is `Attempt #1` of AWS::Lambda 1bd28856f2142fa1 (HTTP 202).
    assert consumer.dwell_ms == pytest.approx(59.0)  # Dwell Time 838.776 -> 838.835
    assert consumer.attempts == 1
    # That service segment follows the upload's PutObject 7afdc379e1199035: 838.776 - 837.677.
    assert consumer.s3_notification_ms == pytest.approx(1099.0)
    assert consumer.calls == (
        call("S3", "GetObject", "cmueller-tgen-images", 1247.0),  # 844.561 -> 845.808
        call("S3", "PutObject", "cmueller-tgen-thumbnails", 237.0),  # 846.542 -> 846.779
    )
    assert consumer.function_error is False
    assert consumer.complete is True
    # In start order: the upload (835.429) before the consumer (840.361).
    assert [i.function for i in result.invocations] == [upload.function, consumer.function]


def test_the_same_trace_from_the_api_and_the_console_counts_once(xray_fixtures_dir: Path) -> None:
    result = analyze_many(
        (name, json.loads((xray_fixtures_dir / name).read_text())) for name in (THUMBNAIL, THUMBNAIL_CONSOLE)
    )
    assert result.traces == 1
    assert len(result.invocations) == 2


def test_thumbnail_warm_upload_cold_consumer(analyze_fixture: Analyze) -> None:
    result = analyze_fixture(THUMBNAIL_WARM)
    assert result.traces == 1
    upload = by_function(result)["thumbnail-generator-prod-upload"]
    assert upload.cold_start is False
    assert upload.init_ms is None
    assert upload.invocation_ms == pytest.approx(68.0)  # 1615455019.072 -> 019.140
    assert upload.attempts == 0  # sync AWS::Lambda 741cdf1347fef68e
    assert upload.calls == (call("S3", "PutObject", "thumbgen-images-sb-3299", 63.0),)  # 019.076 -> 019.139
    consumer = by_function(result)["thumbnail-generator-prod-thumbnail-generator"]
    assert consumer.cold_start is True
    assert consumer.init_ms == pytest.approx(1029.0)  # 020.604 -> 021.633
    assert consumer.invocation_ms == pytest.approx(5780.0)  # 021.635 -> 027.415
    assert consumer.dwell_ms == pytest.approx(76.0)  # 020.183 -> 020.259
    assert consumer.attempts == 1
    assert consumer.s3_notification_ms == pytest.approx(1044.0)  # service 020.183 - PutObject end 019.139
    assert consumer.calls == (
        call("S3", "GetObject", "thumbgen-images-sb-3299", 1294.0),  # 025.094 -> 026.388
        call("S3", "PutObject", "thumbgen-thumbnails-sb-3299", 180.0),  # 027.049 -> 027.229
    )
    assert all(invocation.complete for invocation in result.invocations)


def test_thumbnail_dwell_time_still_in_progress(analyze_fixture: Analyze) -> None:
    result = analyze_fixture(THUMBNAIL_IN_PROGRESS)
    upload = by_function(result)["thumbnail-generator-dev-upload"]
    assert upload.invocation_ms == pytest.approx(35.0)  # 1619740005.057 -> 005.092
    assert upload.calls == (call("S3", "PutObject", "thumbgen-images-sb-4362", 32.0),)  # 005.059 -> 005.091
    assert upload.complete is True
    consumer = by_function(result)["thumbnail-generator-dev-thumbnail-generator"]
    assert consumer.cold_start is False
    assert consumer.invocation_ms == pytest.approx(115.0)  # 006.367 -> 006.482
    # Dwell Time starts 006.281 and is in progress: it ends where Attempt #1 starts, 006.359.
    assert consumer.dwell_ms == pytest.approx(78.0)
    assert consumer.attempts == 1
    assert consumer.s3_notification_ms == pytest.approx(1190.0)  # service 006.281 - PutObject end 005.091
    assert consumer.calls == (
        call("S3", "GetObject", "thumbgen-images-sb-4362", 22.0),  # 006.375 -> 006.397
        call("S3", "PutObject", "thumbgen-thumbnails-sb-4362", 31.0),  # 006.45 -> 006.481
    )
    assert consumer.complete is False  # its service segment holds a part in progress


def test_thumbnail_error_fault_throttle(analyze_fixture: Analyze) -> None:
    upload = only(analyze_fixture(THUMBNAIL_ERROR))
    assert upload.function == "thumbnail-generator-dev-upload"
    assert upload.invocation_ms == pytest.approx(7093.0)  # 1619753254.14 -> 261.233
    assert upload.function_error is True  # the function segment has `error` (and a `cause`)
    assert upload.attempts == 0  # its AWS::Lambda segment is sync (HTTP 200, `error`)
    assert upload.calls == (  # S3 503 SlowDown, 254.142 -> 261.12
        call("S3", "PutObject", "thumbgen-images-sb-8579", 6978.0, error=True, fault=True, throttle=True),
    )
    assert upload.complete is True


def test_event_processing_sns_to_lambda_new_format(analyze_fixture: Analyze) -> None:
    result = analyze_fixture(EVENT_PROCESSING)
    ingest = by_function(result)["event-processing-dev-ingest"]
    assert ingest.start == pytest.approx(1619760991.8856246)
    assert ingest.cold_start is False
    assert ingest.invocation_ms == pytest.approx(30.4207, abs=1e-3)  # Invocation 991.885675 -> 991.9160957
    assert ingest.overhead_ms == pytest.approx(0.4156, abs=1e-3)  # Overhead 991.9161391 -> 991.9165547
    assert ingest.attempts == 0  # sync AWS::Lambda 5d98752257e51041
    assert ingest.calls == (
        call("SNS", "Publish", "arn:aws:sns:eu-west-1:123456789012:format-state-change", 29.0),  # .886->.915
    )
    consumer = by_function(result)["event-processing-dev-format_state_change"]
    assert consumer.invocation_ms == pytest.approx(26.3226, abs=1e-3)  # 991.9686358 -> 991.9949584
    assert consumer.overhead_ms == pytest.approx(0.6693, abs=1e-3)  # 991.9949834 -> 991.9956527
    assert consumer.dwell_ms == pytest.approx(32.0)  # 991.926 -> 991.958 (listed after Attempt #1)
    assert consumer.attempts == 1
    assert consumer.s3_notification_ms is None  # the service segment follows the inferred SNS segment
    assert consumer.calls == (  # 991.969 -> 991.994
        call("SQS", "SendMessage", "https://sqs.eu-west-1.amazonaws.com/123456789012/EventIngestQueue", 25.0),
    )
    assert all(invocation.complete for invocation in result.invocations)


def test_realworld_dynamodb_calls_in_start_order(analyze_fixture: Analyze) -> None:
    invocation = only(analyze_fixture(REALWORLD))
    assert invocation.function == "realworld-dev-getComments"
    assert invocation.cold_start is False
    assert invocation.invocation_ms == pytest.approx(22.5475, abs=1e-3)  # 1619794900.8622751 -> .8848226
    assert invocation.overhead_ms == pytest.approx(0.3122, abs=1e-3)  # .884848 -> .8851602
    # Query is listed first in the document, but GetItem starts first (.863 vs .871).
    assert invocation.calls == (
        call("DynamoDB", "GetItem", "realworld-dev-users", 7.0),  # .863 -> .870
        call("DynamoDB", "Query", "realworld-dev-comments", 12.0),  # .871 -> .883
    )


def test_realworld_cold_start_new_format(analyze_fixture: Analyze) -> None:
    invocation = only(analyze_fixture(REALWORLD_COLD))
    assert invocation.function == "realworld-dev-followUser"
    assert invocation.cold_start is True
    assert invocation.init_ms == pytest.approx(540.72, abs=1e-3)  # 1639726876.3918383 -> 876.9325583
    assert invocation.invocation_ms == pytest.approx(166.1691, abs=1e-3)  # 876.9346693 -> 877.1008384
    assert invocation.overhead_ms == pytest.approx(4.5908, abs=1e-3)  # 877.1009102 -> 877.105501
    assert invocation.dwell_ms is None
    assert invocation.calls == (
        call("DynamoDB", "GetItem", "realworld-dev-users", 74.0),  # 876.939 -> 877.013
        call("DynamoDB", "GetItem", "realworld-dev-users", 27.0),  # 877.018 -> 877.045
        call("DynamoDB", "PutItem", "realworld-dev-users", 28.0),  # 877.046 -> 877.074
        call("DynamoDB", "PutItem", "realworld-dev-users", 24.0),  # 877.075 -> 877.099
    )


def test_model_training_explicit_in_progress_false(analyze_fixture: Analyze) -> None:
    invocation = only(analyze_fixture(MODEL_TRAINING))
    assert invocation.invocation_ms == pytest.approx(9014.158, abs=1e-3)  # 1624353522.851027 -> 531.865185
    assert invocation.overhead_ms == pytest.approx(0.1978, abs=1e-3)  # 531.8652244 -> 531.8654222
    assert invocation.calls == (
        call("S3", "GetObject", "amazon-review10mb-data-6505", 121.9143),  # 522.8519514 -> 522.9738657
        call("S3", "PutObject", "amazon-review10mb-model-6505", 74.3266),  # 531.782555 -> 531.8568816
    )
    assert invocation.complete is True  # `"in_progress": false` with an end_time is finished


def test_scorekeep_2017_initialization_beside_user_subsegments(analyze_fixture: Analyze) -> None:
    result = analyze_fixture(SCOREKEEP_2017)
    invocation = only(result)
    assert invocation.function == "random-name"
    assert invocation.start == pytest.approx(1499473412.83)  # written 1.49947341283E9
    assert invocation.cold_start is True
    assert invocation.init_ms == pytest.approx(755.0)  # 412.064 -> 412.819
    assert invocation.invocation_ms == pytest.approx(1740.0)  # no Invocation: segment 412.83 -> 414.57
    assert invocation.overhead_ms is None
    assert invocation.attempts == 0  # AWS::Lambda 1fb07842d944e714, sync
    # The `annotations` subsegment is not an AWS call; the root's DynamoDB call is not this function's.
    assert invocation.calls == (
        call(
            "SNS",
            "Publish",
            "arn:aws:sns:us-west-2:123456789012:awseb-e-ruag3jyweb-stack-NotificationTopic-6B829NT9V5O9",
            959.0,  # 413.112 -> 414.071
        ),
    )
    assert result.transactions == []  # the root holds a Lambda Invoke and a DynamoDB call, no PutObject


def test_get_trace_summaries_response_is_skipped(analyze_fixture: Analyze) -> None:
    result = analyze_fixture(SUMMARIES)
    assert result.traces == 0
    assert result.invocations == []
    assert len(result.skipped) == 1
    assert result.skipped[0].file == SUMMARIES
    assert "GetTraceSummaries" in result.skipped[0].reason


def test_trace_without_lambda_has_no_invocation_and_no_error(analyze_fixture: Analyze) -> None:
    result = analyze_fixture(NO_LAMBDA)
    assert (result.traces, result.invocations, result.skipped) == (1, [], [])


def test_lone_lambda_service_segment_is_not_an_invocation(analyze_fixture: Analyze) -> None:
    result = analyze_fixture(LONE_SERVICE_SEGMENT)
    assert (result.traces, result.invocations, result.skipped) == (1, [], [])
