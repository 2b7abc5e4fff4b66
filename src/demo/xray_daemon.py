"""A local X-Ray daemon: segments over UDP in, `PutTraceSegments` on the moto server out.

It speaks the daemon protocol (`demo.xray_datagrams`): the header `{"format": "json", "version": 1}`, a
newline, then either one segment or subsegment document, as the X-Ray SDKs send it, or OTLP spans over UDP,
as `aws-opentelemetry-distro` sends them to the Lambda X-Ray endpoint (`T1S`/`T1U`, then the base64 of a
protobuf `ExportTraceServiceRequest`): sampled spans become segment documents as X-Ray makes them
(`demo.otlp_segments`), unsampled ones are counted and dropped. A malformed datagram is logged, counted and
dropped; the daemon keeps running. Then it does what the X-Ray *service* does and moto does not: a
subsegment sent as a document of its own (`"type": "subsegment"`: as the X-Ray SDK sends them inside Lambda,
`parent_id` being the id from `_X_AMZN_TRACE_ID`'s Parent; or a CLIENT span whose SERVER span came in
another datagram) is nested into the part with that id before the segment is stored, so `BatchGetTraces`
returns what real X-Ray returns. moto stores every document it is given (a second document with the same id
is a duplicate, not an update), so merging has to happen here, before forwarding:
- a segment is held for `settle_seconds` after it arrives, taking in the subsegments that name any part of
  its tree, then forwarded (`flush()` forwards at once);
- a subsegment that arrives first waits for its parent; one whose parent was already forwarded, and any
  still waiting after `orphan_seconds` (or at stop), is forwarded as its own document, which X-Ray also
  accepts and the analysis engine reads.
"""

import contextlib
import json
import logging
import secrets
import socket
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3

from demo.xray_datagrams import (
    Datagram,
    MalformedDatagramError,
    encode_datagram,
    is_standalone_subsegment,
    read_datagram,
)

logger = logging.getLogger(__name__)

Document = dict[str, Any]
PutSegments = Callable[[list[str]], int]  # JSON documents -> how many the service refused

MAX_DATAGRAM_BYTES = 64 * 1024
PUT_BATCH_SIZE = 50  # the real daemon sends at most 50 documents per PutTraceSegments call
_FLUSH_PREFIX = b"\x00tracecanary-flush:"
_FORWARDED_IDS_KEPT = 200_000  # enough to recognise late subsegments of any recent segment


def _walk(part: Document) -> Iterator[Document]:
    stack = [part]
    while stack:
        current = stack.pop()
        yield current
        children = current.get("subsegments")
        if isinstance(children, list):
            stack.extend(child for child in children if isinstance(child, dict))


def _nested(subsegment: Document) -> Document:
    """A standalone subsegment document as it looks inside its parent: without the linking fields."""
    return {key: value for key, value in subsegment.items() if key not in ("type", "parent_id", "trace_id")}


@dataclass
class _HeldSegment:
    document: Document
    ready_at: float
    attached: list[Document] = field(default_factory=list)  # standalone subsegments taken in


@dataclass
class _Orphan:
    document: Document
    arrived_at: float


class SegmentAssembler:
    """Joins standalone subsegments to their segments; pure bookkeeping, the clock is passed in."""

    def __init__(self, settle_seconds: float = 0.5, orphan_seconds: float = 30.0) -> None:
        self.settle_seconds = settle_seconds
        self.orphan_seconds = orphan_seconds
        self._held: dict[str, _HeldSegment] = {}  # segment id -> held segment
        self._part_owner: dict[str, str] = {}  # id of any part of a held segment -> the segment id
        self._parts: dict[str, Document] = {}  # id of any part of a held segment -> the part
        self._orphans: dict[str, list[_Orphan]] = {}  # missing parent id -> subsegments waiting for it
        self._forwarded: OrderedDict[str, None] = OrderedDict()  # ids of parts already forwarded
        self.attached = 0
        self.late = 0

    def add(self, document: Document, now: float) -> list[Document]:
        """Take one document; return what must be forwarded at once (subsegments whose parent left)."""
        if is_standalone_subsegment(document):
            return self._add_subsegment(document, now)
        self._add_segment(document, now)
        return []

    def take_ready(self, now: float) -> list[Document]:
        """Segments whose settle time is over, and subsegments that waited too long for their parent."""
        ready: list[_HeldSegment] = []
        for held in self._held.values():  # in arrival order, so in ready order: stop at the first not due
            if held.ready_at > now:
                break
            ready.append(held)
        documents = [self._release(held) for held in ready]
        stale = [
            parent
            for parent, waiting in self._orphans.items()
            if waiting[0].arrived_at + self.orphan_seconds <= now
        ]
        for parent in stale:
            documents += self._release_orphans(parent)
        return documents

    def take_all(self, *, orphans: bool) -> list[Document]:
        """Every held segment (and, with `orphans`, every subsegment still waiting for its parent)."""
        documents = [self._release(held) for held in list(self._held.values())]
        if orphans:
            for parent in list(self._orphans):
                documents += self._release_orphans(parent)
        return documents

    @property
    def held(self) -> int:
        return len(self._held)

    @property
    def waiting(self) -> int:
        return sum(len(waiting) for waiting in self._orphans.values())

    def _add_segment(self, document: Document, now: float) -> None:
        segment_id: str = document["id"]
        previous = self._held.pop(segment_id, None)
        if previous is not None:  # a newer version (an in-progress segment, then the finished one)
            self._forget_parts(previous.document)
        held = _HeldSegment(document, now + self.settle_seconds)
        self._held[segment_id] = held
        self._index(held.document, segment_id)
        for subsegment in previous.attached if previous else []:
            self._attach(held, subsegment)
        self._adopt_orphans(held)

    def _add_subsegment(self, document: Document, now: float) -> list[Document]:
        parent: str = document["parent_id"]
        owner = self._part_owner.get(parent)
        if owner is not None:
            held = self._held[owner]
            self._attach(held, document)
            self._adopt_orphans(held)
            return []
        if parent in self._forwarded:
            self.late += 1
            self._remember_forwarded(document)
            return [document]
        self._orphans.setdefault(parent, []).append(_Orphan(document, now))
        return []

    def _attach(self, held: _HeldSegment, subsegment: Document) -> None:
        parent = self._parts[subsegment["parent_id"]]
        nested = _nested(subsegment)
        children = parent.setdefault("subsegments", [])
        own_id = nested.get("id")
        # A newer version of a subsegment (sent again when it finished) replaces the older one.
        children[:] = [
            child for child in children if not (isinstance(child, dict) and child.get("id") == own_id)
        ]
        children.append(nested)
        held.attached.append(subsegment)
        self._index(nested, held.document["id"])
        self.attached += 1

    def _adopt_orphans(self, held: _HeldSegment) -> None:
        """Attach waiting subsegments whose parent is now in this segment's tree (and theirs, in turn)."""
        adopted = True
        while adopted:
            adopted = False
            for parent in [
                parent for parent in self._orphans if self._part_owner.get(parent) == held.document["id"]
            ]:
                for orphan in self._orphans.pop(parent):
                    self._attach(held, orphan.document)
                adopted = True

    def _index(self, part: Document, segment_id: str) -> None:
        for inner in _walk(part):
            inner_id = inner.get("id")
            if isinstance(inner_id, str):
                self._part_owner[inner_id] = segment_id
                self._parts[inner_id] = inner

    def _forget_parts(self, document: Document) -> None:
        for inner in _walk(document):
            inner_id = inner.get("id")
            if isinstance(inner_id, str):
                self._part_owner.pop(inner_id, None)
                self._parts.pop(inner_id, None)

    def _release(self, held: _HeldSegment) -> Document:
        del self._held[held.document["id"]]
        self._forget_parts(held.document)
        self._remember_forwarded(held.document)
        return held.document

    def _release_orphans(self, parent: str) -> list[Document]:
        documents = [orphan.document for orphan in self._orphans.pop(parent)]
        for document in documents:
            self._remember_forwarded(document)
        return documents

    def _remember_forwarded(self, document: Document) -> None:
        for inner in _walk(document):
            inner_id = inner.get("id")
            if isinstance(inner_id, str):
                self._forwarded[inner_id] = None
        while len(self._forwarded) > _FORWARDED_IDS_KEPT:
            self._forwarded.popitem(last=False)


@dataclass(frozen=True)
class DaemonStats:
    datagrams: int = 0  # every datagram received (flush markers excluded)
    malformed: int = 0  # datagrams that were not the protocol (dropped whole)
    otlp_datagrams: int = 0  # datagrams of OTLP spans (T1S or T1U), malformed ones excluded
    spans: int = 0  # sampled spans turned into segment documents
    unsampled_spans: int = 0  # spans of T1U datagrams, dropped as X-Ray drops them
    segments: int = 0  # segment documents received (or made of spans)
    subsegments: int = 0  # standalone subsegment documents received (or made of spans)
    attached: int = 0  # subsegments nested into their parent before forwarding
    late_subsegments: int = 0  # subsegments whose parent was already forwarded (sent on their own)
    forwarded: int = 0  # documents accepted by PutTraceSegments
    put_errors: int = 0  # documents refused, or lost to a failed call

    @property
    def errors(self) -> int:
        return self.malformed + self.put_errors


def moto_put_segments(endpoint_url: str, region: str = "us-east-1") -> PutSegments:
    """`PutTraceSegments` on the moto server; returns how many documents it refused."""
    client = boto3.client("xray", endpoint_url=endpoint_url, region_name=region)

    def put(documents: list[str]) -> int:
        response = client.put_trace_segments(TraceSegmentDocuments=documents)
        return len(response.get("UnprocessedTraceSegments", []))

    return put


class XRayDaemon:
    """The UDP listener and its forwarding thread; use `xray_daemon(...)` to run one."""

    def __init__(
        self,
        put_segments: PutSegments,
        *,
        settle_seconds: float = 0.5,
        orphan_seconds: float = 30.0,
        poll_seconds: float = 0.05,
    ) -> None:
        self._put = put_segments
        self._assembler = SegmentAssembler(settle_seconds, orphan_seconds)
        self._poll_seconds = poll_seconds
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 * 1024 * 1024)  # ride out bursts
        self._socket.bind(("127.0.0.1", 0))
        self._socket.settimeout(poll_seconds)
        self._counts: dict[str, int] = dict.fromkeys(DaemonStats.__dataclass_fields__, 0)
        self._counts_lock = threading.Lock()
        self._flushes: dict[bytes, threading.Event] = {}
        self._flushes_lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="local-xray-daemon", daemon=True)

    @property
    def address(self) -> str:
        """`127.0.0.1:PORT`, for AWS_XRAY_DAEMON_ADDRESS."""
        host, port = self._socket.getsockname()
        return f"{host}:{port}"

    def stats(self) -> DaemonStats:
        with self._counts_lock:
            counts = dict(self._counts)
        counts["attached"] = self._assembler.attached
        counts["late_subsegments"] = self._assembler.late
        return DaemonStats(**counts)

    def start(self) -> None:
        self._thread.start()

    def flush(self, timeout: float = 10.0) -> bool:
        """Forward everything sent to the daemon before this call; False if that took over `timeout`.

        A marker datagram goes through the same socket queue, so once the thread meets it, every earlier
        datagram has been read.
        """
        return self._barrier(timeout, orphans=False)

    def stop(self, timeout: float = 10.0) -> None:
        """Forward everything, waiting subsegments included, and close the socket."""
        if self._thread.is_alive():
            self._barrier(timeout, orphans=True)
            self._stopping.set()
            self._thread.join(timeout)
        self._socket.close()

    def _barrier(self, timeout: float, *, orphans: bool) -> bool:
        if not self._thread.is_alive():
            return False
        token = _FLUSH_PREFIX + (b"all" if orphans else b"held") + b":" + secrets.token_hex(8).encode()
        done = threading.Event()
        with self._flushes_lock:
            self._flushes[token] = done
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
            sender.sendto(token, self._socket.getsockname())
        finished = done.wait(timeout)
        with self._flushes_lock:
            self._flushes.pop(token, None)
        return finished

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                data, _ = self._socket.recvfrom(MAX_DATAGRAM_BYTES)
            except TimeoutError:
                data = b""
            except OSError:
                return  # the socket was closed
            if data.startswith(_FLUSH_PREFIX):
                orphans = data[len(_FLUSH_PREFIX) :].startswith(b"all")
                self._forward(self._assembler.take_all(orphans=orphans))
                with self._flushes_lock:
                    done = self._flushes.get(data)
                if done is not None:
                    done.set()
                continue
            if data:
                self._receive(data)
            self._forward(self._assembler.take_ready(time.time()))

    def _receive(self, data: bytes) -> None:
        self._count("datagrams")
        try:
            datagram = read_datagram(data)
        except MalformedDatagramError as error:
            self._count("malformed")
            logger.warning("local X-Ray daemon: dropped a malformed datagram: %s", error)
            return
        except Exception as error:  # noqa: BLE001 - spans this conversion did not foresee: never fatal
            self._count("malformed")
            logger.warning("local X-Ray daemon: dropped a datagram it could not read: %r", error)
            return
        self._count_datagram(datagram)
        now = time.time()
        for document in datagram.documents:
            self._count("subsegments" if is_standalone_subsegment(document) else "segments")
            self._forward(self._assembler.add(document, now))

    def _count_datagram(self, datagram: Datagram) -> None:
        if datagram.otlp:
            self._count("otlp_datagrams")
            self._count("spans", datagram.spans)
            self._count("unsampled_spans", datagram.unsampled_spans)

    def _forward(self, documents: list[Document]) -> None:
        for start in range(0, len(documents), PUT_BATCH_SIZE):
            batch = [json.dumps(document) for document in documents[start : start + PUT_BATCH_SIZE]]
            try:
                refused = self._put(batch)
            except Exception as error:  # noqa: BLE001 - a daemon keeps running, as the real one does
                logger.warning("local X-Ray daemon: PutTraceSegments failed: %s", error)
                refused = len(batch)
            self._count("put_errors", refused)
            self._count("forwarded", len(batch) - refused)

    def _count(self, name: str, amount: int = 1) -> None:
        with self._counts_lock:
            self._counts[name] += amount


@contextlib.contextmanager
def xray_daemon(
    endpoint_url: str,
    *,
    region: str = "us-east-1",
    settle_seconds: float = 0.5,
    orphan_seconds: float = 30.0,
    put_segments: PutSegments | None = None,
) -> Iterator[XRayDaemon]:
    """Run a local X-Ray daemon forwarding to the X-Ray API at `endpoint_url` (the moto server)."""
    daemon = XRayDaemon(
        put_segments or moto_put_segments(endpoint_url, region),
        settle_seconds=settle_seconds,
        orphan_seconds=orphan_seconds,
    )
    daemon.start()
    try:
        yield daemon
    finally:
        daemon.stop()


def send_document(sock: socket.socket, address: str, document: Document) -> None:
    """Send one segment document to a daemon at `HOST:PORT`, as the X-Ray SDK does."""
    host, _, port = address.rpartition(":")
    sock.sendto(encode_datagram(document), (host, int(port)))
