"""In-memory stand-ins for the generator's adapters."""

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from generator.sinks import SinkStats
from generator.uploader import PutRequest, PutResult


class FakeClock:
    """Time moves only when someone sleeps (or a fake store takes time)."""

    def __init__(self, start: float = 1_795_600_000.0) -> None:
        self._now = start
        self._lock = threading.Lock()
        self.sleeps: list[float] = []

    def now(self) -> float:
        with self._lock:
            return self._now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(seconds)
            self._now += max(seconds, 0.0)

    def advance(self, seconds: float) -> None:
        self.sleep(seconds)


@dataclass
class FakeStore:
    """Records every PutObject; fails the keys it is told to, with the given status and code."""

    region: str = "eu-west-1"
    failures: Mapping[str, tuple[int | None, str]] = field(default_factory=dict)
    clock: FakeClock | None = None
    latency: float = 0.0
    block: threading.Event | None = None
    puts: list[tuple[PutRequest, str]] = field(default_factory=list)

    def put(self, request: PutRequest, trace_header: str) -> PutResult:
        self.puts.append((request, trace_header))
        if self.block is not None:
            self.block.wait(timeout=10)
        if self.clock is not None and self.latency:
            self.clock.advance(self.latency)
        if request.key in self.failures:
            status, code = self.failures[request.key]
            return PutResult(status=status, error_code=code, error_message=f"{code} happened")
        return PutResult(status=200, request_id=f"req-{len(self.puts)}", extended_request_id="host")


@dataclass
class ListSink:
    kind: str = "list"
    documents: list[Mapping[str, Any]] = field(default_factory=list)

    def emit(self, document: Mapping[str, Any]) -> None:
        self.documents.append(document)

    def flush(self) -> SinkStats:
        return SinkStats(sent=len(self.documents), rejected=0)
