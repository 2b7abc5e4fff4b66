"""PutObject with a trace header of our own on the wire.

The X-Ray SDK (and so Powertools Tracer) patches botocore and writes its own `X-Amzn-Trace-Id` in
`Endpoint.prepare_request`. botocore emits `before-send` after that, right before the bytes go out, so a
`before-send` handler is the last word on the header. The header is not signed (SigV4 skips
`X-Amzn-Trace-Id`), so setting it there is safe. The handler reads the header of the PutObject being made
on the current thread, set by `S3ObjectStore.put` around that single call.
"""

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

TRACE_HEADER = "X-Amzn-Trace-Id"
_HOOK_ID = "tracecanary-per-object-trace-header"
_current = threading.local()


@dataclass(frozen=True, slots=True)
class PutRequest:
    bucket: str
    key: str
    body: bytes
    content_type: str
    metadata: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class PutResult:
    status: int | None
    request_id: str | None = None
    extended_request_id: str | None = None
    retries: int = 0
    error_code: str | None = None
    error_message: str | None = None


class ObjectStore(Protocol):
    @property
    def region(self) -> str: ...

    def put(self, request: PutRequest, trace_header: str) -> PutResult: ...


def _inject_trace_header(request: Any, **_: Any) -> None:
    header = getattr(_current, "header", None)
    if header:
        request.headers[TRACE_HEADER] = header


class S3ObjectStore:
    """PutObject with SHA-256 additional checksum and the object's own trace header."""

    def __init__(self, client: "S3Client") -> None:
        self._client = client
        client.meta.events.register("before-send.s3.PutObject", _inject_trace_header, unique_id=_HOOK_ID)

    @property
    def region(self) -> str:
        return self._client.meta.region_name or "us-east-1"

    def put(self, request: PutRequest, trace_header: str) -> PutResult:
        _current.header = trace_header
        try:
            response = self._client.put_object(
                Bucket=request.bucket,
                Key=request.key,
                Body=request.body,
                ContentType=request.content_type,
                Metadata=dict(request.metadata),
                ChecksumAlgorithm="SHA256",
            )
        except ClientError as error:
            meta: Mapping[str, Any] = error.response.get("ResponseMetadata", {})
            details: Mapping[str, Any] = error.response.get("Error", {})
            return PutResult(
                status=meta.get("HTTPStatusCode"),
                request_id=meta.get("RequestId"),
                extended_request_id=meta.get("HostId"),
                retries=int(meta.get("RetryAttempts", 0)),
                error_code=str(details.get("Code", "ClientError")),
                error_message=str(details.get("Message", error)),
            )
        except BotoCoreError as error:
            return PutResult(status=None, error_code=type(error).__name__, error_message=str(error))
        finally:
            _current.header = None
        response_meta = response["ResponseMetadata"]
        return PutResult(
            status=response_meta["HTTPStatusCode"],
            request_id=response_meta.get("RequestId"),
            extended_request_id=response_meta.get("HostId"),
            retries=response_meta.get("RetryAttempts", 0),
        )
