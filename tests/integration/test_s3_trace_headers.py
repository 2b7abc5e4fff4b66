from typing import Any

import boto3

from demo.moto_server import LocalAws

HEADER = "Root=1-6745a1b0-0123456789abcdef01234567;Parent=53995c3f42cd8ad8;Sampled=1"


def test_the_header_of_each_put_is_kept_by_bucket_and_key(local_aws: LocalAws) -> None:
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="trace-headers")

    def with_header(request: Any, **_: Any) -> None:
        request.headers["X-Amzn-Trace-Id"] = HEADER

    s3.meta.events.register("before-send.s3.PutObject", with_header)
    s3.put_object(Bucket="trace-headers", Key="synthetic/été ✓/a+b.json", Body=b"{}")
    assert local_aws.trace_headers.take("trace-headers", "synthetic/été ✓/a+b.json") == HEADER
    assert local_aws.trace_headers.take("trace-headers", "synthetic/été ✓/a+b.json") is None  # taken once


def test_puts_without_a_header_record_nothing(local_aws: LocalAws) -> None:
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="trace-headers")
    s3.put_object(Bucket="trace-headers", Key="k", Body=b"{}")
    assert local_aws.trace_headers.take("trace-headers", "k") is None
