"""The trace header each S3 PutObject carried, so the local notification can pass it on as S3 does.

Real S3 continues the caller's trace into the Lambda invocation it triggers. moto drops the header, so a
WSGI middleware in front of the moto server records `X-Amzn-Trace-Id` of every S3 PUT by bucket and key.
"""

import threading
import urllib.parse
from collections.abc import Callable, Iterable
from typing import Any

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class TraceHeaders:
    """bucket/key -> the trace header of the newest PUT of that object (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._headers: dict[tuple[str, str], str] = {}

    def record(self, bucket: str, key: str, header: str) -> None:
        with self._lock:
            self._headers[(bucket, key)] = header

    def take(self, bucket: str, key: str) -> str | None:
        with self._lock:
            return self._headers.pop((bucket, key), None)


def recording_middleware(app: WsgiApp, headers: TraceHeaders) -> WsgiApp:
    def middleware(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        header = environ.get("HTTP_X_AMZN_TRACE_ID")
        if (
            header
            and environ.get("REQUEST_METHOD") == "PUT"
            and "/s3/" in environ.get("HTTP_AUTHORIZATION", "")
        ):
            # Path-style addressing (an IP endpoint): /bucket/key, the key URL-encoded.
            path = environ.get("RAW_URI") or environ.get("PATH_INFO", "")
            bucket, _, key = path.split("?", 1)[0].lstrip("/").partition("/")
            if bucket and key:
                headers.record(bucket, urllib.parse.unquote(key), header)
        return app(environ, start_response)

    return middleware
