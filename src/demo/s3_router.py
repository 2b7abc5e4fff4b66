"""S3 -> Lambda for the local stack: each ObjectCreated notification to the function, with its trace header.

moto delivers the bucket's notifications to an SQS queue; the router takes them off and invokes the function
asynchronously, as S3 does, with the trace header the object's PutObject carried (kept by the local S3).
"""

import threading
import urllib.parse
from collections.abc import Callable
from typing import Any

from demo.s3_notifications import receive_s3_events
from demo.s3_trace_headers import TraceHeaders

Deliver = Callable[[dict[str, Any], str | None], object]


class S3NotificationRouter:
    def __init__(self, sqs: Any, queue_url: str, trace_headers: TraceHeaders, deliver: Deliver) -> None:
        self._sqs = sqs
        self._queue_url = queue_url
        self._trace_headers = trace_headers
        self._deliver = deliver
        self._uploads_done = threading.Event()
        self._thread = threading.Thread(target=self._route, name="s3-notifications", daemon=True)
        self.delivered = 0
        self.failure: Exception | None = None

    def start(self) -> "S3NotificationRouter":
        self._thread.start()
        return self

    def finish(self, timeout: float = 60.0) -> None:
        """Deliver what is still queued, then stop (every upload has finished; moto queues synchronously)."""
        self._uploads_done.set()
        self._thread.join(timeout)
        if self.failure is not None:
            raise RuntimeError(f"S3 notification routing failed: {self.failure}") from self.failure

    def _route(self) -> None:
        try:
            while True:
                uploads_done = self._uploads_done.is_set()
                events = receive_s3_events(self._sqs, self._queue_url, wait_seconds=0 if uploads_done else 1)
                for event in events:
                    self._deliver(event, self._header_of(event))
                    self.delivered += 1
                if uploads_done and not events:
                    return
        except Exception as error:  # noqa: BLE001 - surfaced by finish(), not lost in a thread
            self.failure = error

    def _header_of(self, event: dict[str, Any]) -> str | None:
        record = event["Records"][0]
        key = urllib.parse.unquote_plus(record["s3"]["object"]["key"])
        return self._trace_headers.take(record["s3"]["bucket"]["name"], key)
