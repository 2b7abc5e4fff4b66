import json
from typing import Any

import pytest

from common.errors import UserError
from generator.sinks import DAEMON_HEADER, DaemonSink, NullSink, XRayApiSink, parse_daemon_address


def doc(n: int, size: int = 0) -> dict[str, Any]:
    return {"id": f"{n:016x}", "trace_id": "1-00000000-000000000000000000000000", "pad": "x" * size}


class FakeSocket:
    def __init__(self, fail: bool = False) -> None:
        self.sent: list[tuple[bytes, tuple[str, int]]] = []
        self.fail = fail

    def sendto(self, data: bytes, address: tuple[str, int]) -> int:
        if self.fail:
            raise OSError("network is unreachable")
        self.sent.append((data, address))
        return len(data)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("127.0.0.1:2000", ("127.0.0.1", 2000)),
        ("169.254.79.129:2000", ("169.254.79.129", 2000)),
        ("tcp:127.0.0.1:2000 udp:127.0.0.2:2001", ("127.0.0.2", 2001)),
    ],
)
def test_daemon_addresses(text: str, expected: tuple[str, int]) -> None:
    assert parse_daemon_address(text) == expected


@pytest.mark.parametrize("text", ["", "localhost", "host:port", "127.0.0.1:70000"])
def test_bad_daemon_addresses(text: str) -> None:
    with pytest.raises(UserError):
        parse_daemon_address(text)


def test_the_daemon_gets_one_datagram_per_segment_with_the_header_line() -> None:
    sock = FakeSocket()
    sink = DaemonSink("127.0.0.1:2000", sock)  # type: ignore[arg-type]
    sink.emit(doc(1))
    sink.emit(doc(2, size=70_000))  # over 64 KB: never sent
    ((data, address),) = sock.sent
    assert address == ("127.0.0.1", 2000)
    assert data.startswith(DAEMON_HEADER)
    assert json.loads(data[len(DAEMON_HEADER) :]) == doc(1)
    stats = sink.flush()
    assert (stats.sent, stats.rejected) == (1, 1)


def test_daemon_send_errors_are_counted_not_raised() -> None:
    sink = DaemonSink("127.0.0.1:2000", FakeSocket(fail=True))  # type: ignore[arg-type]
    sink.emit(doc(1))
    assert sink.flush().rejected == 1


class FakeXRay:
    def __init__(self, unprocessed_rounds: int = 0) -> None:
        self.calls: list[list[str]] = []
        self.unprocessed_rounds = unprocessed_rounds

    def put_trace_segments(self, TraceSegmentDocuments: list[str]) -> dict[str, Any]:
        self.calls.append(list(TraceSegmentDocuments))
        if self.unprocessed_rounds:
            self.unprocessed_rounds -= 1
            first = json.loads(TraceSegmentDocuments[0])["id"]
            return {"UnprocessedTraceSegments": [{"Id": first, "ErrorCode": "Throttled"}]}
        return {"UnprocessedTraceSegments": []}


def test_the_api_sink_sends_at_most_50_documents_a_call() -> None:
    client = FakeXRay()
    sink = XRayApiSink(client, sleep=lambda _: None)  # type: ignore[arg-type]
    for n in range(120):
        sink.emit(doc(n))
    assert [len(c) for c in client.calls] == [50, 50]
    stats = sink.flush()
    assert [len(c) for c in client.calls] == [50, 50, 20]
    assert (stats.sent, stats.rejected) == (120, 0)
    sent = [json.loads(d)["id"] for call in client.calls for d in call]
    assert sent == [f"{n:016x}" for n in range(120)]


def test_unprocessed_segments_are_retried_then_counted() -> None:
    client = FakeXRay(unprocessed_rounds=1)
    sink = XRayApiSink(client, sleep=lambda _: None)  # type: ignore[arg-type]
    sink.emit(doc(1))
    sink.emit(doc(2))
    assert sink.flush().sent == 2
    assert [len(c) for c in client.calls] == [2, 1]

    stubborn = FakeXRay(unprocessed_rounds=99)
    sink = XRayApiSink(stubborn, sleep=lambda _: None)  # type: ignore[arg-type]
    sink.emit(doc(1))
    stats = sink.flush()
    assert (stats.sent, stats.rejected) == (0, 1)
    assert len(stubborn.calls) == 3


def test_null_sink() -> None:
    sink = NullSink()
    sink.emit(doc(1))
    assert sink.flush().sent == 0
