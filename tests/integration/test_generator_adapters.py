"""The generator's real adapters against the moto server."""

import base64
import hashlib
import json
import socket
import sys
import textwrap
import time
from pathlib import Path

import boto3
import pytest

from demo.moto_server import LocalAws
from generator.aws import s3_client, xray_client
from generator.manifest import DynamoDbManifest, Outcome
from generator.payloads import make_body, parse_mix
from generator.plan import Arrival, build_plan
from generator.runner import execute
from generator.segments import TRACE_HEADER_PATTERN
from generator.sinks import DAEMON_HEADER, DaemonSink, XRayApiSink
from generator.uploader import S3ObjectStore
from tests.fresh_process import run_fresh

from .generator_support import (
    BUCKET,
    TABLE,
    HeaderRecorder,
    check_traces,
    create_bucket,
    create_manifest_table,
)

pytestmark = pytest.mark.integration
PROJECT_ROOT = Path(__file__).resolve().parents[2]


def small_plan(count: int = 30, bucket: str = BUCKET):  # type: ignore[no-untyped-def]
    return build_plan(
        run_id="it-run",
        bucket=bucket,
        prefix="synthetic/",
        count=count,
        span=0.3,
        arrival=Arrival.UNIFORM,
        mix=parse_mix("1KiB:50:application/json,70KiB:50:text/plain"),
        seed=11,
        started_at=time.time(),
    )


def test_objects_headers_checksums_segments_and_manifest(local_aws: LocalAws) -> None:
    create_bucket()
    create_manifest_table()
    session = boto3.session.Session()
    client = s3_client(session, workers=4)
    recorder = HeaderRecorder()
    recorder.attach(client.meta.events)
    sink = XRayApiSink(xray_client(session))
    plan = small_plan()

    records = execute(plan, store=S3ObjectStore(client), sink=sink, workers=4, deadline=plan.started_at + 30)
    assert sink.flush().sent == 30
    manifest = DynamoDbManifest(boto3.client("dynamodb"), TABLE)
    manifest.write(records)

    assert all(r.outcome is Outcome.SENT for r in records)
    s3 = boto3.client("s3")
    for record in records:
        # the header on the wire is the object's own, on every attempt
        assert recorder.by_key[record.key] == [
            f"Root={record.trace_id};Parent={record.put_subsegment_id};Sampled=1"
        ]
        assert TRACE_HEADER_PATTERN.match(recorder.by_key[record.key][0])
        head = s3.head_object(Bucket=BUCKET, Key=record.key, ChecksumMode="ENABLED")
        body = make_body(plan.seed, plan.run_id, record.sequence, record.size, record.content_type)
        assert head["ContentLength"] == record.size
        assert head["ContentType"] == record.content_type
        assert head["ChecksumSHA256"] == base64.b64encode(hashlib.sha256(body).digest()).decode()
        assert head["Metadata"] == {
            "tracecanary-run-id": "it-run",
            "tracecanary-sequence": str(record.sequence),
            "tracecanary-trace-id": record.trace_id,
        }
    check_traces(records)
    assert manifest.read_window(plan.started_at, plan.started_at + 1) == records
    assert manifest.read_window(plan.started_at + 1, plan.started_at + 2) == []


def test_a_failing_put_object_is_a_failed_record_and_an_error_segment(local_aws: LocalAws) -> None:
    session = boto3.session.Session()
    sink = XRayApiSink(xray_client(session))
    plan = small_plan(count=3, bucket="no-such-bucket")
    records = execute(
        plan, store=S3ObjectStore(s3_client(session, 2)), sink=sink, workers=2, deadline=plan.started_at + 30
    )
    sink.flush()
    assert [r.outcome for r in records] == [Outcome.FAILED] * 3
    assert all(r.http_status == 404 and (r.error or "").startswith("NoSuchBucket") for r in records)
    check_traces(records)
    segment = json.loads(
        boto3.client("xray").batch_get_traces(TraceIds=[records[0].trace_id])["Traces"][0]["Segments"][0][
            "Document"
        ]
    )
    assert segment["subsegments"][0]["error"] is True
    assert segment["subsegments"][0]["cause"]["exceptions"][0]["type"] == "NoSuchBucket"


def test_segments_reach_a_daemon_as_one_datagram_each(local_aws: LocalAws) -> None:
    create_bucket()
    daemon = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    daemon.bind(("127.0.0.1", 0))
    daemon.settimeout(5)
    port = daemon.getsockname()[1]
    sink = DaemonSink(f"tcp:127.0.0.1:{port} udp:127.0.0.1:{port}")
    plan = small_plan(count=5)
    records = execute(
        plan,
        store=S3ObjectStore(s3_client(boto3.session.Session(), 2)),
        sink=sink,
        workers=2,
        deadline=plan.started_at + 30,
    )
    datagrams = [daemon.recv(65536) for _ in range(5)]
    daemon.close()
    assert all(d.startswith(DAEMON_HEADER) for d in datagrams)
    documents = {
        json.loads(d[len(DAEMON_HEADER) :])["trace_id"]: json.loads(d[len(DAEMON_HEADER) :])
        for d in datagrams
    }
    assert set(documents) == {r.trace_id for r in records}
    assert sink.flush().sent == 5


PATCHED_SCRIPT = textwrap.dedent(
    """
    import json, sys
    import boto3
    from aws_xray_sdk.core import patch, xray_recorder
    xray_recorder.configure(context_missing="IGNORE_ERROR", sampling=False)
    patch(["botocore"])
    from generator.uploader import PutRequest, S3ObjectStore

    wire = []
    client = boto3.client("s3")
    client.meta.events.register_last(
        "before-send.s3.PutObject", lambda request, **_: wire.append(request.headers.get("X-Amzn-Trace-Id"))
    )
    ours = "Root=1-6b06d674-55240469c4e0ff4e2a403f43;Parent=ee4a152b3850bf6d;Sampled=1"
    segment = xray_recorder.begin_segment("generator-invocation", sampling=1)
    client.put_object(Bucket=sys.argv[1], Key="plain", Body=b"x")  # the SDK's own header
    result = S3ObjectStore(client).put(PutRequest(sys.argv[1], "traced", b"y", "text/plain", {}), ours)
    xray_recorder.end_segment()
    decoded = [h.decode() if isinstance(h, bytes) else h for h in wire]
    print(json.dumps({"wire": decoded, "sdk_trace": segment.trace_id, "status": result.status}))
    """
)


def test_xray_sdk_patching_does_not_overwrite_the_per_object_header(
    local_aws: LocalAws, tmp_path: Path
) -> None:
    create_bucket()
    script = tmp_path / "patched.py"
    script.write_text(PATCHED_SCRIPT)
    env = {**local_aws.environment(), "PYTHONPATH": str(PROJECT_ROOT / "src"), "PATH": "/usr/bin:/bin"}
    printed = run_fresh([sys.executable, str(script), BUCKET], env)
    result = json.loads(printed.strip().splitlines()[-1])
    plain, traced = result["wire"]
    assert plain.startswith(f"Root={result['sdk_trace']}")  # the patch is really active
    assert traced == "Root=1-6b06d674-55240469c4e0ff4e2a403f43;Parent=ee4a152b3850bf6d;Sampled=1"
    assert result["status"] == 200
