"""Where segment documents go: the X-Ray daemon over UDP (in Lambda) or the PutTraceSegments API (laptop).

Both are best effort and count what they could not deliver, so a lost segment shows in the run summary
rather than failing the run: the objects were sent and the manifest still records them.
"""

import json
import logging
import socket
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from common.errors import UserError

if TYPE_CHECKING:
    from mypy_boto3_xray import XRayClient

logger = logging.getLogger(__name__)

DAEMON_HEADER = b'{"format": "json", "version": 1}\n'
MAX_DOCUMENT_BYTES = 64 * 1024  # one UDP datagram to the daemon, and X-Ray's segment document limit
API_BATCH_SIZE = 50  # documents per PutTraceSegments call (the X-Ray daemon sends batches of 50 too)
API_ATTEMPTS = 3


@dataclass(frozen=True, slots=True)
class SinkStats:
    sent: int
    rejected: int


class SegmentSink(Protocol):
    """Takes finished segment documents; `flush` delivers what is buffered and says how it went."""

    @property
    def kind(self) -> str: ...

    def emit(self, document: Mapping[str, Any]) -> None: ...

    def flush(self) -> SinkStats: ...


def encode(document: Mapping[str, Any]) -> bytes:
    return json.dumps(document, separators=(",", ":")).encode()


class NullSink:
    """Drops every document: for runs that should not write to X-Ray."""

    kind = "off"

    def emit(self, document: Mapping[str, Any]) -> None:
        del document

    def flush(self) -> SinkStats:
        return SinkStats(sent=0, rejected=0)


def parse_daemon_address(text: str) -> tuple[str, int]:
    """`127.0.0.1:2000`, or `tcp:127.0.0.1:2000 udp:127.0.0.1:2001` (the UDP one), as Lambda sets it."""
    candidates = text.split()
    udp = [c.removeprefix("udp:") for c in candidates if c.startswith("udp:")]
    plain = [c for c in candidates if ":" in c and not c.startswith(("tcp:", "udp:"))]
    chosen = (udp or plain or [""])[0]
    host, _, port = chosen.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise UserError(f"X-Ray daemon address {text!r} is not HOST:PORT or 'tcp:HOST:PORT udp:HOST:PORT'")
    return host, int(port)


class DaemonSink:
    """One UDP datagram per segment: the daemon's JSON header line, then the document."""

    kind = "daemon"

    def __init__(self, address: str, sock: socket.socket | None = None) -> None:
        self._target = parse_daemon_address(address)
        self._socket = sock or socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._lock = threading.Lock()
        self._sent = 0
        self._rejected = 0

    def emit(self, document: Mapping[str, Any]) -> None:
        datagram = DAEMON_HEADER + encode(document)
        ok = len(datagram) <= MAX_DOCUMENT_BYTES
        if ok:
            try:
                self._socket.sendto(datagram, self._target)
            except OSError as error:
                logger.warning("could not send a segment to the X-Ray daemon at %s: %s", self._target, error)
                ok = False
        with self._lock:
            if ok:
                self._sent += 1
            else:
                self._rejected += 1

    def flush(self) -> SinkStats:
        with self._lock:
            return SinkStats(sent=self._sent, rejected=self._rejected)


class XRayApiSink:
    """Buffers documents and sends them with PutTraceSegments, 50 a call, retrying unprocessed ones."""

    kind = "api"

    def __init__(
        self,
        client: "XRayClient",
        batch_size: int = API_BATCH_SIZE,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not 1 <= batch_size <= API_BATCH_SIZE:
            raise ValueError(f"batch_size must be 1..{API_BATCH_SIZE}")
        self._client = client
        self._batch_size = batch_size
        self._sleep = sleep
        self._lock = threading.Lock()
        self._buffer: list[str] = []
        self._sent = 0
        self._rejected = 0

    def emit(self, document: Mapping[str, Any]) -> None:
        body = encode(document).decode()
        batch: list[str] = []
        with self._lock:
            if len(body) > MAX_DOCUMENT_BYTES:
                self._rejected += 1
                return
            self._buffer.append(body)
            if len(self._buffer) >= self._batch_size:
                batch, self._buffer = self._buffer, []
        if batch:
            self._send(batch)

    def flush(self) -> SinkStats:
        with self._lock:
            batch, self._buffer = self._buffer, []
        if batch:
            self._send(batch)
        with self._lock:
            return SinkStats(sent=self._sent, rejected=self._rejected)

    def _send(self, batch: list[str]) -> None:
        pending = batch
        for attempt in range(API_ATTEMPTS):
            if attempt:
                self._sleep(0.2 * 2**attempt)
            try:
                response = self._client.put_trace_segments(TraceSegmentDocuments=pending)
            except (ClientError, BotoCoreError) as error:
                logger.warning("PutTraceSegments failed (attempt %d): %s", attempt + 1, error)
                continue
            unprocessed_ids = {u.get("Id") for u in response.get("UnprocessedTraceSegments", [])}
            accepted = [doc for doc in pending if json.loads(doc)["id"] not in unprocessed_ids]
            with self._lock:
                self._sent += len(accepted)
            pending = [doc for doc in pending if json.loads(doc)["id"] in unprocessed_ids]
            if not pending:
                return
        with self._lock:
            self._rejected += len(pending)
        logger.warning("X-Ray did not take %d segment documents", len(pending))
