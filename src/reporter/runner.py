"""One reporter run: plan the due windows, reconcile each, claim it, then emit its metrics and logs."""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from common.emf import MetricsDetail
from generator.manifest import ManifestStore, Outcome
from reporter.checkpoints import CheckpointStore
from reporter.emf import run_emf_line, window_emf_lines
from reporter.items_lookup import ItemLookup
from reporter.reconcile import Reconciliation, Verdict, reconcile
from reporter.windows import Window, WindowPlan, plan_windows
from traces.analysis import analyze
from traces.sources.base import TraceSource
from traces.stats import distribution


class Log(Protocol):
    """What the runner needs of a logger (Powertools' Logger and logging.Logger both fit)."""

    def info(self, msg: object, *args: object, extra: Mapping[str, object] | None = None) -> None: ...

    def warning(self, msg: object, *args: object, extra: Mapping[str, object] | None = None) -> None: ...


class NullLog:
    """For callers that print their own account of a window (the CLI, the benchmark)."""

    def info(self, msg: object, *args: object, extra: Mapping[str, object] | None = None) -> None:
        del msg, args, extra

    def warning(self, msg: object, *args: object, extra: Mapping[str, object] | None = None) -> None:
        del msg, args, extra


@dataclass(frozen=True)
class ReporterConfig:
    pipeline: str
    namespace: str
    period: timedelta
    lag: timedelta
    max_windows_per_run: int = 12
    max_age: timedelta = timedelta(days=13)  # CloudWatch drops EMF older than 14 days
    metrics_detail: MetricsDetail = MetricsDetail.STANDARD  # which figures are metrics, which plain fields
    # A window whose traces are still being retrieved (Transaction Search) waits for the next run this many
    # times; after that it is emitted with what could be read, the rest untraced.
    max_deferrals: int = 3


@dataclass
class WindowReport:
    window: Window
    reconciliation: Reconciliation
    emf: list[dict[str, Any]] = field(default_factory=list)  # record lines: EMF where they declare metrics
    emitted: bool = False
    pending: list[str] = field(default_factory=list)  # trace ids still being retrieved when time ran out
    trace_source: str = "X-Ray"  # which API the traces were read through


@dataclass
class RunResult:
    plan: WindowPlan
    reports: list[WindowReport]
    deferred: str | None = None  # the window left for the next run, its retrieval not finished


class Reporter:
    def __init__(
        self,
        config: ReporterConfig,
        *,
        manifest: ManifestStore,
        traces: TraceSource,
        items: ItemLookup,
        checkpoints: CheckpointStore,
        log: Log,
        emit: Callable[[dict[str, Any]], None],
    ) -> None:
        self._config = config
        self._manifest = manifest
        self._traces = traces
        self._items = items
        self._checkpoints = checkpoints
        self._log = log
        self._emit = emit

    def run(self, now: datetime, *, deadline: float | None = None) -> RunResult:
        """Emit every due window, oldest first; stop at the first window another run already claimed, or
        whose traces are still being retrieved when `deadline` (a `time.monotonic()` value) comes: that one
        waits for the next run, at most `max_deferrals` times, and the later ones wait behind it. Every run
        ends with its heartbeat line, stamped `now` (the time it was scheduled for)."""
        result = self._emit_due_windows(now, deadline)
        self._emit(
            run_emf_line(
                now,
                windows=[report.window.label() for report in result.reports],
                objects=sum(report.reconciliation.figures.generated for report in result.reports),
                deferred=result.deferred,
                namespace=self._config.namespace,
                pipeline=self._config.pipeline,
                detail=self._config.metrics_detail,
            )
        )
        return result

    def _emit_due_windows(self, now: datetime, deadline: float | None) -> RunResult:
        plan = plan_windows(
            now,
            period=self._config.period,
            lag=self._config.lag,
            last_emitted_start=self._checkpoints.last_emitted(),
            max_windows_per_run=self._config.max_windows_per_run,
            max_age=self._config.max_age,
        )
        if plan.expired:
            self._log.warning(
                "windows too old for CloudWatch were skipped", extra={"expired_windows": plan.expired}
            )
        reports: list[WindowReport] = []
        for window in plan.due:
            report = self.reconcile_window(window, deadline=deadline)
            if report.pending:
                deferrals = self._checkpoints.defer(window)
                if deferrals <= self._config.max_deferrals:
                    self._log.info(
                        "window deferred: its traces are still being retrieved",
                        extra={
                            "window": window.label(),
                            "pending_traces": len(report.pending),
                            "deferrals": deferrals,
                            "max_deferrals": self._config.max_deferrals,
                        },
                    )
                    return RunResult(plan, reports, deferred=window.label())
                self._log.warning(
                    "window emitted with traces still being retrieved: they count as untraced",
                    extra={"window": window.label(), "pending_traces": len(report.pending)},
                )
            if not self._checkpoints.claim(window):
                self._log.info("window already emitted by another run", extra={"window": window.label()})
                break
            self.publish(report)
            reports.append(report)
        return RunResult(plan, reports)

    def reconcile_window(self, window: Window, *, deadline: float | None = None) -> WindowReport:
        """Read, fetch and classify one window; nothing is emitted or claimed."""
        records = self._manifest.read_window(window.start.timestamp(), window.end.timestamp())
        sent_ids = [record.trace_id for record in records if record.outcome is Outcome.SENT]
        before = self._traces.stats.snapshot()
        # The traces of the window's objects started inside it; the lag covers clocks and late starts.
        time_range = (window.start - self._config.lag, window.end + self._config.lag)
        batch = self._traces.get_traces(sent_ids, time_range=time_range, deadline=deadline)
        analysis = analyze({"Traces": batch.traces}, source=f"window {window.label()}")
        items = self._items.find(record.key for record in records if record.outcome is Outcome.SENT)
        retrieved = [str(trace.get("Id")) for trace in batch.traces]
        reconciliation = reconcile(
            window, records, analysis.transactions, items, retrieved, source=self._traces.name
        )
        work = self._traces.stats.since(before)
        figures = reconciliation.figures
        figures.xray_api_calls = work.api_calls
        figures.traces_retrieved = work.traces_retrieved
        figures.xray_calls_by_operation = work.calls_by_operation
        report = WindowReport(
            window, reconciliation, pending=list(batch.pending), trace_source=self._traces.name
        )
        report.emf = window_emf_lines(
            figures, self._config.namespace, self._config.pipeline, self._config.metrics_detail
        )
        return report

    def publish(self, report: WindowReport) -> None:
        """Print the window's record lines, its summary line and one line per object that was not complete."""
        for line in report.emf:
            self._emit(line)
        report.emitted = True
        self._log.info("window reported", extra=window_summary(report))
        for verdict in report.reconciliation.verdicts:
            if verdict.verdict is not Verdict.COMPLETE:
                self._log.warning(
                    f"object {verdict.verdict.value}",
                    extra={
                        "window": report.window.label(),
                        "key": verdict.key,
                        "trace_id": verdict.trace_id,
                        "variant": verdict.variant,
                        "missing": list(verdict.missing),
                    },
                )


def window_summary(report: WindowReport) -> dict[str, Any]:
    figures = report.reconciliation.figures
    percentiles = {
        name: {"p50": summary.p50, "p99": summary.p99, "count": summary.count}
        for name, summary in (
            ("end_to_end_ms", distribution(figures.end_to_end_ms)),
            ("s3_notification_ms", distribution(figures.s3_notification_ms)),
            ("dwell_ms", distribution(figures.invocation_values("dwell_ms"))),
            ("invocation_ms", distribution(figures.invocation_values("invocation_ms"))),
        )
    }
    return {
        "window": report.window.label(),
        "window_end": report.window.end.isoformat(),
        "generated": figures.generated,
        **report.reconciliation.counts(),
        # Side by side where the run went to twins: each one's objects by verdict.
        "by_variant": {
            variant: report.reconciliation.counts(variant) for variant in report.reconciliation.variants()
        },
        "success_rate": figures.success_rate,
        "untraced_share": figures.untraced_share,
        "trace_source": report.trace_source,
        "traces_retrieved": figures.traces_retrieved,
        "xray_api_calls": figures.xray_api_calls,
        "xray_api_calls_by_operation": dict(figures.xray_calls_by_operation),
        **percentiles,
    }
