"""Reconciliation: every object the manifest planned in a window, against its trace and its item.

complete   traced end to end, every part complete, no error, item written
lost       the upload failed or was dropped, or no item after the lag: the pipeline failed it
error      it arrived, but a function, a call or the upload had an error, fault or throttle
incomplete it arrived, but part of its trace is still in progress
untraced   the item was written, but no trace (or no invocation in it) could be read: the monitor's blind
           spot, not the pipeline's failure (a Transaction Search account read through BatchGetTraces, a
           retrieval that did not finish, a trace not yet readable); it counts as delivered
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from common.variants import PipelineVariant
from generator.manifest import ManifestRecord, Outcome
from reporter.figures import TransactionFigure, WindowFigures
from reporter.windows import Window
from traces.transactions import Transaction


class Verdict(StrEnum):
    COMPLETE = "complete"
    LOST = "lost"
    ERROR = "error"
    INCOMPLETE = "incomplete"
    UNTRACED = "untraced"


@dataclass(frozen=True)
class ObjectVerdict:
    key: str
    trace_id: str
    verdict: Verdict
    missing: tuple[str, ...] = ()  # what kept it from complete, for the log line
    variant: str = PipelineVariant.POWERTOOLS.value  # the pipeline twin it was sent to


@dataclass(frozen=True)
class Reconciliation:
    verdicts: list[ObjectVerdict]
    figures: WindowFigures

    def counts(self, variant: str | None = None) -> dict[str, int]:
        """Objects by verdict, of one pipeline twin's or of all."""
        counts = dict.fromkeys((verdict.value for verdict in Verdict), 0)
        for verdict in self.verdicts:
            if variant is None or verdict.variant == variant:
                counts[verdict.verdict.value] += 1
        return counts

    def variants(self) -> list[str]:
        """The pipeline twins the window's objects went to, in the order first met."""
        return list(dict.fromkeys(verdict.variant for verdict in self.verdicts))


def reconcile(
    window: Window,
    records: Iterable[ManifestRecord],
    transactions: Iterable[Transaction],
    items: Mapping[str, str | None],
    retrieved_trace_ids: Iterable[str],
    *,
    source: str = "X-Ray",
) -> Reconciliation:
    """Classify each planned object and gather the window's figures (without the reporter's own costs);
    `source` names where traces were read from, for the log lines."""
    by_trace: dict[str, Transaction] = {}
    for traced in transactions:
        if traced.trace_id is not None:
            by_trace.setdefault(traced.trace_id, traced)
    retrieved = set(retrieved_trace_ids)
    figures = WindowFigures(window)
    verdicts: list[ObjectVerdict] = []
    for record in records:
        figures.generated += 1
        transaction = by_trace.get(record.trace_id) if record.outcome is Outcome.SENT else None
        verdict = _judge(record, transaction, record.key in items, record.trace_id in retrieved, source)
        figures.transactions.append(
            TransactionFigure(
                key=record.key,
                trace_id=record.trace_id,
                verdict=verdict.verdict.value,
                end_to_end_ms=transaction.end_to_end_ms if transaction else None,
                s3_notification_ms=transaction.s3_notification_ms if transaction else None,
                put_object_ms=transaction.put_object_ms if transaction else None,
                missing=verdict.missing,
                variant=record.variant.value,
            )
        )
        if transaction is not None:
            for invocation in transaction.invocations:
                figures.add_invocation(invocation.to_dict())
        figures.complete += verdict.verdict is Verdict.COMPLETE
        figures.lost += verdict.verdict is Verdict.LOST
        figures.error += verdict.verdict is Verdict.ERROR
        figures.incomplete += verdict.verdict is Verdict.INCOMPLETE
        figures.untraced += verdict.verdict is Verdict.UNTRACED
        verdicts.append(verdict)
    return Reconciliation(verdicts, figures)


def _judge(
    record: ManifestRecord,
    transaction: Transaction | None,
    item_written: bool,
    trace_found: bool,
    source: str,
) -> ObjectVerdict:
    def verdict(kind: Verdict, *missing: str) -> ObjectVerdict:
        return ObjectVerdict(record.key, record.trace_id, kind, missing, record.variant.value)

    if record.outcome is not Outcome.SENT:
        return verdict(Verdict.LOST, f"upload {record.outcome.value}: {record.error or 'no reason recorded'}")
    blind = []
    if not trace_found:
        blind.append(f"no trace could be read from {source}")
    elif transaction is None or not transaction.invocations:
        blind.append("no invocation in the trace")
    if not item_written:
        return verdict(Verdict.LOST, *blind, "no item in the table")
    if blind:
        return verdict(Verdict.UNTRACED, *blind)
    assert transaction is not None  # a found trace with invocations
    if transaction.error:
        return verdict(Verdict.ERROR, *_errors(transaction))
    if not transaction.complete:
        return verdict(Verdict.INCOMPLETE, "part of the trace is still in progress")
    return verdict(Verdict.COMPLETE)


def _errors(transaction: Transaction) -> list[str]:
    found = []
    for invocation in transaction.invocations:
        if invocation.function_error:
            found.append(f"function error in {invocation.function}")
        for call in invocation.calls:
            flags = [name for name in ("error", "throttle", "fault") if getattr(call, name)]
            if flags:
                found.append(f"{call.service} {call.operation}: {'/'.join(flags)} in {invocation.function}")
    return found or ["the upload or a segment reported an error"]
