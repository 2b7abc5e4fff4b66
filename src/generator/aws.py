"""The real adapters, built from a boto3 session (the normal credential chain; AWS_ENDPOINT_URL honoured)."""

from typing import TYPE_CHECKING

import boto3
from botocore.config import Config

from common.errors import UserError
from generator.sinks import DaemonSink, NullSink, SegmentSink, XRayApiSink

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_xray import XRayClient


def s3_client(session: boto3.session.Session, workers: int) -> "S3Client":
    """One connection per worker (botocore's default pool of 10 would serialize a larger pool)."""
    config = Config(
        max_pool_connections=workers + 2,
        retries={"mode": "standard", "max_attempts": 3},
        connect_timeout=5,
        read_timeout=30,
    )
    return session.client("s3", config=config)


def dynamodb_client(session: boto3.session.Session) -> "DynamoDBClient":
    return session.client("dynamodb", config=Config(retries={"mode": "standard", "max_attempts": 5}))


def xray_client(session: boto3.session.Session) -> "XRayClient":
    return session.client("xray", config=Config(retries={"mode": "standard", "max_attempts": 5}))


def make_sink(choice: str, daemon_address: str | None, session: boto3.session.Session) -> SegmentSink:
    """`auto`: the daemon where one is configured (Lambda), else the PutTraceSegments API."""
    if choice == "off":
        return NullSink()
    if choice == "daemon" or (choice == "auto" and daemon_address):
        if not daemon_address:
            raise UserError("X-Ray daemon chosen but AWS_XRAY_DAEMON_ADDRESS is not set")
        return DaemonSink(daemon_address)
    if choice in {"api", "auto"}:
        return XRayApiSink(xray_client(session))
    raise UserError(f"unknown X-Ray sink {choice!r}; choose auto, daemon, api or off")
