"""The engine's entry points: raw trace JSON in, invocations and transactions out. No AWS calls here."""

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from traces import jsonio
from traces.documents import DocumentCollector, PendingTrace, Skipped
from traces.invocations import Invocation, function_segments, invocation_of
from traces.parallel import map_slices
from traces.transactions import Transaction, find_transactions
from traces.tree import TraceTree, build_tree

DEFAULT_SOURCE = "<input>"
# Below this many traces, forking costs more than it saves.
PARALLEL_MIN_TRACES = 2000


@dataclass(slots=True)
class AnalysisResult:
    invocations: list[Invocation] = field(default_factory=list)
    transactions: list[Transaction] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    traces: int = 0  # distinct traces with at least one readable segment document

    def to_dict(self) -> dict[str, Any]:
        """The contract's JSON: `{"invocations", "traces", "skipped"}`, plus `"transactions"`."""
        return {
            "invocations": [invocation.to_dict() for invocation in self.invocations],
            "traces": self.traces,
            "skipped": [skipped.to_dict() for skipped in self.skipped],
            "transactions": [transaction.to_dict() for transaction in self.transactions],
        }

    def to_json(self, *, indent: bool = False) -> bytes:
        """`to_dict()` as JSON bytes; the records are serialised straight from their dataclasses (fast)."""
        return jsonio.dumps(
            {
                "invocations": self.invocations,
                "traces": self.traces,
                "skipped": self.skipped,
                "transactions": [transaction.to_dict() for transaction in self.transactions],
            },
            indent=indent,
        )


class Analyzer:
    """Feed it inputs (any form the contract names) one by one, then take the result.

    The same trace (or segment) fed twice counts once; documents are expanded one trace at a time.
    """

    def __init__(self) -> None:
        self._collector = DocumentCollector()

    def add(self, data: Any, source: str = DEFAULT_SOURCE) -> None:
        """Add parsed JSON; `source` names it (a file name) in skipped entries."""
        self._collector.add(data, source)

    def skip(self, source: str, reason: str) -> None:
        """Record input that could not even be parsed (a missing file, text that is not JSON)."""
        self._collector.skip(source, reason)

    def trees(self) -> Iterator[TraceTree]:
        """Each trace's tree, built once; consumes what was added."""
        for parsed in self._collector.drain():
            yield build_tree(parsed.trace_id, parsed.documents, hand_over=True)

    def result(self, *, workers: int = 1) -> AnalysisResult:
        """Analyse everything added; with `workers` > 1 (and enough traces), in forked processes too."""
        pending = self._collector.take()
        if workers > 1 and len(pending) >= PARALLEL_MIN_TRACES:
            parts = map_slices(self._analyze, pending, workers)
        else:
            parts = [self._analyze(pending)]
        result = AnalysisResult(skipped=list(self._collector.skipped))
        for part in parts:
            result.invocations.extend(part.invocations)
            result.transactions.extend(part.transactions)
            result.skipped.extend(part.skipped)
            result.traces += part.traces
        return result

    def _analyze(self, pending: list[PendingTrace]) -> AnalysisResult:
        """Analyse these traces; the result's `skipped` holds only what their parsing added."""
        collector = self._collector
        skipped_before = len(collector.skipped)
        result = AnalysisResult()
        invocations, transactions = result.invocations, result.transactions
        for parsed in collector.parse_all(pending):
            tree = build_tree(parsed.trace_id, parsed.documents, hand_over=True)
            result.traces += 1
            functions = function_segments(tree)
            if not functions:  # no invocation, so no transaction either
                continue
            found = [(segment, invocation_of(tree, segment)) for segment in functions]
            invocations.extend([invocation for _, invocation in found])
            transactions.extend(find_transactions(tree, found))
        result.skipped = collector.skipped[skipped_before:]
        del collector.skipped[skipped_before:]
        return result

    @property
    def skipped(self) -> list[Skipped]:
        return list(self._collector.skipped)


def analyze(data: Any, *, source: str = DEFAULT_SOURCE) -> AnalysisResult:
    """Analyse one parsed JSON input: a BatchGetTraces response, a trace, traces, segments or documents."""
    analyzer = Analyzer()
    analyzer.add(data, source)
    return analyzer.result()


def analyze_many(inputs: Iterable[tuple[str, Any]]) -> AnalysisResult:
    """Analyse several `(source, parsed JSON)` inputs together, so a trace found in two counts once."""
    analyzer = Analyzer()
    for source, data in inputs:
        analyzer.add(data, source)
    return analyzer.result()


def build_trees(data: Any, *, source: str = DEFAULT_SOURCE) -> tuple[list[TraceTree], list[Skipped]]:
    """Every trace's tree in one input (for drawing); and what could not be read."""
    analyzer = Analyzer()
    analyzer.add(data, source)
    trees = list(analyzer.trees())
    return trees, analyzer.skipped
