"""Every input form the contract names, turned into segment documents grouped by trace.

Accepted, at any nesting a user is likely to save: a whole `BatchGetTraces` response, one trace
(`{Id, Segments}`), a list of traces, `{Id, Document}` segment lists, bare segment documents, and
`Document` as a JSON string or an object. What cannot be read becomes a `Skipped` entry, never an exception.

Documents of a trace with a known id are parsed only when that trace is analysed, so a large input is held
once as text and each trace is expanded, analysed and released in turn.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from traces import jsonio
from traces.parts import Part, end_of

# Lists inside lists deeper than this are not a trace format anyone saves.
_MAX_LIST_DEPTH = 4


@dataclass(frozen=True, slots=True)
class Skipped:
    """Input that could not be read: which file, and why."""

    file: str
    reason: str

    def to_dict(self) -> dict[str, str]:
        return {"file": self.file, "reason": self.reason}


# PendingTrace and ParsedTrace are internal: plain classes, not dataclasses, which cost start-up to make.


class PendingTrace:
    """The documents of one trace as found in the input, not yet looked at.

    `segment_lists` are a trace's `Segments` lists as they came (read only when the trace is analysed);
    `documents` are documents found elsewhere (bare, or in a list without a trace id).
    """

    __slots__ = ("documents", "segment_lists", "trace_id")

    def __init__(self, trace_id: str | None) -> None:
        self.trace_id = trace_id
        self.segment_lists: list[tuple[list[Any], str]] = []  # (Segments, file)
        self.documents: list[tuple[str | Part, str]] = []  # (document, file)


class ParsedTrace:
    """One trace's segment documents, parsed and deduplicated: each by its segment id, in input order."""

    __slots__ = ("documents", "trace_id")

    def __init__(self, trace_id: str | None, documents: dict[str, Part]) -> None:
        self.trace_id = trace_id
        self.documents = documents


_DONE = PendingTrace(None)  # stands in for a trace already parsed, so its raw text can be freed


class DocumentCollector:
    """Gathers segment documents from any number of inputs; the same trace from two inputs is merged."""

    def __init__(self) -> None:
        self._traces: dict[str | None, PendingTrace] = {}
        self.skipped: list[Skipped] = []
        self._added = 0  # segment lists and documents taken from the current input

    def add(self, data: Any, file: str) -> None:
        """Add one parsed JSON input (the content of `file`)."""
        if data == [] or data == {}:  # noqa: PLR1714 - an empty input holds nothing, and that is no error
            return
        self._added = 0
        skipped_before = len(self.skipped)
        self._add_value(data, file, depth=0)
        if not self._added and len(self.skipped) == skipped_before:
            self.skip(file, "holds no X-Ray segment documents")

    def skip(self, file: str, reason: str) -> None:
        self.skipped.append(Skipped(file, reason))

    def drain(self) -> Iterator[ParsedTrace]:
        """Yield each trace parsed and deduplicated, forgetting it as it goes (to bound memory)."""
        yield from self.parse_all(self.take())

    def take(self) -> list[PendingTrace]:
        """The traces gathered so far, unparsed, in the order first met; the collector forgets them."""
        pending = list(self._traces.values())
        self._traces.clear()
        return pending

    def parse_all(self, pending: list[PendingTrace]) -> Iterator[ParsedTrace]:
        """Parse each trace in turn, dropping it from `pending` once parsed; empty traces are left out."""
        for index, trace in enumerate(pending):
            pending[index] = _DONE
            parsed = self._parse(trace)
            if parsed.documents:
                yield parsed

    # -- input forms -------------------------------------------------------------------------------------

    def _add_value(self, value: Any, file: str, depth: int) -> None:
        if isinstance(value, dict):
            self._add_object(value, file)
        elif isinstance(value, list):
            if depth >= _MAX_LIST_DEPTH:
                self.skip(file, "lists nested too deep to be traces")
                return
            for item in value:
                self._add_value(item, file, depth + 1)
        elif isinstance(value, str):
            self._add_document_text(value, None, file, "a JSON string")
        else:
            self.skip(file, f"a JSON {type(value).__name__} is not a trace, a segment list or a segment")

    def _add_object(self, value: dict[str, Any], file: str) -> None:
        if "Traces" in value:
            self._add_response(value, file)
        elif "Segments" in value:
            self._add_trace(value, file)
        elif "Document" in value:
            self._add_entry(value, None, file)
        elif "TraceSummaries" in value:
            self.skip(file, "a GetTraceSummaries response: summaries hold no segment documents")
        elif "id" in value or "trace_id" in value:
            self._add_document(value, None, file)
        else:
            self.skip(file, "an object that is not a trace, a BatchGetTraces response or a segment")

    def _add_response(self, response: dict[str, Any], file: str) -> None:
        traces = response.get("Traces")
        if not isinstance(traces, list):
            self.skip(file, "`Traces` is not a list")
        else:
            for trace in traces:
                if isinstance(trace, dict):
                    self._add_trace(trace, file)
                else:
                    self.skip(file, "an entry of `Traces` is not an object")
        unprocessed = response.get("UnprocessedTraceIds")
        if isinstance(unprocessed, list):
            for trace_id in unprocessed:
                self.skip(file, f"trace {trace_id}: unprocessed by BatchGetTraces (fetch it again)")

    def _add_trace(self, trace: dict[str, Any], file: str) -> None:
        raw_id = trace.get("Id")
        trace_id = raw_id if isinstance(raw_id, str) and raw_id else None
        segments = trace.get("Segments")
        if trace_id is not None and segments.__class__ is list and segments:
            # The common case, kept cheap: the entries are read when this trace is analysed.
            self._pending(trace_id).segment_lists.append((segments, file))
            self._added += 1
            return
        label = f"trace {trace_id}" if trace_id else "a trace without an Id"
        if not isinstance(segments, list):
            self.skip(file, f"{label}: `Segments` is not a list")
        elif not segments:
            self.skip(file, f"{label}: no segments")
        else:
            for entry in segments:
                self._add_segment_entry(entry, None, file, label)

    def _add_segment_entry(self, entry: Any, trace_id: str | None, file: str, label: str) -> None:
        if isinstance(entry, dict) and "Document" in entry:
            self._add_entry(entry, trace_id, file)
        elif isinstance(entry, dict):
            self._add_document(entry, trace_id, file)
        else:
            self.skip(file, f"{label}: a segment entry is not an object")

    def _add_entry(self, entry: dict[str, Any], trace_id: str | None, file: str) -> None:
        """A `{Id, Document}` entry; the document is parsed later when its trace is known."""
        document = entry["Document"]
        where = f"segment {entry.get('Id')}" if isinstance(entry.get("Id"), str) else "a segment"
        if isinstance(document, dict):
            self._add_document(document, trace_id, file)
        elif isinstance(document, str):
            self._add_document_text(document, trace_id, file, where)
        else:
            self.skip(file, f"{where}: `Document` is neither a JSON string nor an object")

    def _add_document_text(self, document: str, trace_id: str | None, file: str, where: str) -> None:
        try:
            parsed = jsonio.loads(document)
        except jsonio.JSONDecodeError:
            self.skip(file, f"{where}: not valid JSON")
            return
        if isinstance(parsed, dict):
            self._add_document(parsed, trace_id, file)
        else:
            self.skip(file, f"{where}: not a segment document object")

    def _add_document(self, document: Part, trace_id: str | None, file: str) -> None:
        own_trace_id = document.get("trace_id")
        key = own_trace_id if isinstance(own_trace_id, str) and own_trace_id else trace_id
        self._pending(key).documents.append((document, file))
        self._added += 1

    def _pending(self, trace_id: str | None) -> PendingTrace:
        pending = self._traces.get(trace_id)
        if pending is None:
            pending = self._traces[trace_id] = PendingTrace(trace_id)
        return pending

    # -- parsing and deduplication -----------------------------------------------------------------------

    def _parse(self, pending: PendingTrace) -> ParsedTrace:
        """Parse and deduplicate one trace's documents (the hot loop of a large input: kept lean)."""
        by_id: dict[str, Part] = {}
        loads = jsonio.loads
        for segments, file in pending.segment_lists:
            for entry in segments:
                document = entry.get("Document") if entry.__class__ is dict else None
                if document.__class__ is str:
                    try:
                        document = loads(document)
                    except jsonio.JSONDecodeError:
                        self.skip(file, f"{_label(pending)}: a segment `Document` is not valid JSON")
                        continue
                elif document is None and entry.__class__ is dict and "Document" not in entry:
                    document = entry  # a bare document in the Segments list
                if document.__class__ is dict:  # the common case, inline: a new segment id
                    segment_id = document.get("id")
                    if segment_id.__class__ is str and segment_id and segment_id not in by_id:
                        by_id[segment_id] = document
                        continue
                self._keep(by_id, document, file, pending)
        for raw, file in pending.documents:
            self._keep(by_id, raw, file, pending)
        return ParsedTrace(pending.trace_id, by_id)

    def _keep(self, by_id: dict[str, Part], document: Any, file: str, pending: PendingTrace) -> None:
        if document.__class__ is not dict:
            self.skip(file, f"{_label(pending)}: a segment `Document` is not an object")
            return
        segment_id = document.get("id")
        if segment_id.__class__ is not str or not segment_id:
            self.skip(file, f"{_label(pending)}: a segment document without an `id`")
            return
        kept = by_id.get(segment_id)
        if kept is None:
            by_id[segment_id] = document
        elif end_of(kept) is None and end_of(document) is not None:
            # The same segment twice counts once; a finished copy replaces one still in progress.
            by_id[segment_id] = document


def _label(pending: PendingTrace) -> str:
    """How a skipped entry names the trace (made only when something is skipped: most traces need none)."""
    return f"trace {pending.trace_id}" if pending.trace_id else "a trace without an id"
