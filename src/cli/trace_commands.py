"""`tracecanary analyze` and `tracecanary show`: the trace analysis engine from the command line."""

import argparse
import gc
import os
import shutil
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from cli.fetch import (
    Fetched,
    check_trace_ids,
    default_source,
    describe_cost,
    fetch_traces,
    is_trace_id,
    parse_since,
)
from common.errors import UserError
from traces import jsonio
from traces.analysis import Analyzer, build_trees
from traces.parallel import available_workers
from traces.tree import TraceTree

if TYPE_CHECKING:
    from traces.sources.xray import TraceSource

SourceFactory = Callable[[str], "TraceSource"]  # the --trace-source setting -> the source
XRAY_LABEL = "X-Ray"  # the `file` of skipped entries about traces fetched from AWS


def register(subparsers: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    analyze = subparsers.add_parser(
        "analyze",
        help="where the time of each Lambda invocation goes, from X-Ray traces",
        description="Turn X-Ray traces (saved batch-get-traces output, console raw data, segment "
        "documents; or fetched from AWS) into invocations: cold start, init, dwell, invocation, overhead "
        "and every AWS call, with their distributions.",
    )
    analyze.add_argument("files", nargs="*", metavar="FILE", help="JSON files with traces ('-': stdin)")
    analyze.add_argument("--format", choices=("table", "json"), default="table", help="default: table")
    analyze.add_argument(
        "--trace-ids", nargs="+", default=[], metavar="ID", help="fetch these traces from X-Ray"
    )
    analyze.add_argument("--since", metavar="DURATION", help="fetch the traces of the last 30s/15m/2h/1d")
    analyze.add_argument("--filter", metavar="EXPR", help="an X-Ray filter expression for --since")
    add_trace_source_option(analyze)
    analyze.add_argument(
        "--jobs",
        type=_jobs,
        default=1,
        metavar="N",
        help="analyse a large input in N forked processes (default 1; 0: one per CPU). Pays off on idle "
        "CPUs only: forking a big input costs copy-on-write page faults and pickling the results back",
    )
    analyze.set_defaults(run=run_analyze)

    show = subparsers.add_parser(
        "show",
        help="draw one trace as a timeline, like the X-Ray console",
        description="Draw each trace of FILE (or the trace TRACE_ID, fetched from X-Ray) as a waterfall: "
        "one row per segment and subsegment, a bar scaled to time, durations and error marks.",
    )
    show.add_argument("target", metavar="FILE|TRACE_ID")
    show.add_argument("--trace-id", help="of the traces in FILE, draw only this one")
    show.add_argument("--width", type=int, help="line width (default: the terminal's)")
    add_trace_source_option(show)
    show.set_defaults(run=run_show)


def add_trace_source_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--trace-source",
        choices=("auto", "xray", "transaction-search"),
        default="auto",
        help="how traces are read from AWS: auto (default) asks where the account's spans go; xray reads "
        "the X-Ray index (BatchGetTraces); transaction-search uses CloudWatch Transaction Search's "
        "retrieval (StartTraceRetrieval), for accounts that send spans there",
    )


def _jobs(value: str) -> int:
    try:
        jobs = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {value!r}") from None
    if jobs < 0:
        raise argparse.ArgumentTypeError("expected 0 (one per CPU) or more")
    return jobs or available_workers()


# -- analyze ---------------------------------------------------------------------------------------------


def run_analyze(
    args: argparse.Namespace,
    *,
    make_source: SourceFactory = default_source,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> int:
    """Analyse every input; a file that cannot be read is reported on stderr and makes the exit code 1."""
    if args.filter and not args.since:
        raise UserError("--filter needs --since (it selects among the traces of that period)")
    since = parse_since(args.since) if args.since else None
    trace_ids = check_trace_ids(args.trace_ids)
    if not args.files and not trace_ids and since is None:
        raise UserError("nothing to analyse: give FILE..., --trace-ids ID... or --since DURATION")
    # The engine keeps no reference cycles: the cyclic collector would only rescan the parsed input, and
    # then every record of the result while it is written out.
    gc.disable()
    try:
        analyzer = Analyzer()
        failed = _add_files(analyzer, args.files)
        if trace_ids or since is not None:
            fetched = fetch_traces(
                make_source(args.trace_source),
                trace_ids=trace_ids,
                since=since,
                filter_expression=args.filter,
                now=now(),
            )
            failed |= _add_fetched(analyzer, fetched)
        # --jobs > 1 forks workers for a large input; the result is the same either way.
        result = analyzer.result(workers=args.jobs)
        if args.format == "json":
            _write_bytes(sys.stdout, result.to_json(indent=sys.stdout.isatty()) + b"\n")
        else:
            from cli.render_table import render_report  # only the table needs it: less start-up

            print(render_report(result))
    finally:
        gc.enable()
    return 1 if failed else 0


def _add_files(analyzer: Analyzer, files: list[str]) -> bool:
    """Add each file; True where one could not be read (said on stderr, and as a skipped entry)."""
    failed = False
    for file in files:
        try:
            data = read_json(file)
        except UserError as error:
            print(f"tracecanary analyze: {error}", file=sys.stderr)
            analyzer.skip(file, str(error).removeprefix(f"{file}: "))
            failed = True
            continue
        analyzer.add(data, file)
        del data  # the analyzer keeps what it needs; the rest can go before the next file is read
    return failed


def _add_fetched(analyzer: Analyzer, fetched: Fetched) -> bool:
    """Add what was fetched; True where a trace asked for by id was not returned."""
    analyzer.add({"Traces": fetched.traces}, XRAY_LABEL)
    pending = set(fetched.pending)
    for trace_id in fetched.missing_asked:
        if trace_id in pending:
            reason = "still being retrieved by Transaction Search when the wait ended (try again)"
        else:
            reason = "not returned (unknown, not yet readable or unprocessed)"
        print(f"tracecanary analyze: trace {trace_id}: {reason}", file=sys.stderr)
        analyzer.skip(XRAY_LABEL, f"trace {trace_id}: {reason}")
    for trace_id in fetched.missing_found:
        analyzer.skip(XRAY_LABEL, f"trace {trace_id}: listed by GetTraceSummaries but not returned")
    print(fetched.cost, file=sys.stderr)
    return bool(fetched.missing_asked)


def read_json(file: str) -> Any:
    """The parsed content of a file ('-': stdin); a UserError saying why where it cannot be read."""
    try:
        raw = sys.stdin.buffer.read() if file == "-" else Path(file).read_bytes()
    except FileNotFoundError:
        raise UserError(f"{file}: no such file") from None
    except IsADirectoryError:
        raise UserError(f"{file}: is a directory, not a file") from None
    except OSError as error:
        raise UserError(f"{file}: cannot be read ({error.strerror or error})") from None
    try:
        return jsonio.loads(raw)
    except jsonio.JSONDecodeError as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise UserError(f"{file}: not JSON ({reason})") from None


def _write_bytes(stream: IO[str], data: bytes) -> None:
    stream.flush()
    buffer = getattr(stream, "buffer", None)
    if buffer is not None:
        buffer.write(data)
        buffer.flush()
    else:  # a text-only stream (some test harnesses)
        stream.write(data.decode())


# -- show ------------------------------------------------------------------------------------------------


def run_show(args: argparse.Namespace, *, make_source: SourceFactory = default_source) -> int:
    target: str = args.target
    if target == "-" or Path(target).exists():
        trees, skipped = build_trees(read_json(target), source=target)
        for entry in skipped:
            print(f"tracecanary show: {entry.file}: {entry.reason}", file=sys.stderr)
    elif is_trace_id(target):
        trees = _fetch_tree(make_source(args.trace_source), target)
    else:
        raise UserError(f"{target}: no such file, and not an X-Ray trace id (1-<8 hex>-<24 hex>)")
    if args.trace_id:
        trees = [tree for tree in trees if tree.trace_id == args.trace_id]
        if not trees:
            raise UserError(f"{target}: holds no trace {args.trace_id}")
    if not trees:
        raise UserError(f"{target}: holds no trace with segment documents")
    from cli.waterfall import render_waterfall  # only `show` needs it: less start-up for `analyze`

    width = args.width or shutil.get_terminal_size((120, 24)).columns
    color = use_color(sys.stdout)
    print("\n\n".join(render_waterfall(tree, width=width, color=color) for tree in trees))
    return 0


def _fetch_tree(source: "TraceSource", trace_id: str) -> list[TraceTree]:
    batch = source.get_traces([trace_id])
    print(describe_cost(source), file=sys.stderr)
    if not batch.traces:
        where = getattr(source, "name", "X-Ray")
        if batch.pending:
            raise UserError(
                f"trace {trace_id}: {where} was still retrieving it when the wait ended; try again"
            )
        raise UserError(f"trace {trace_id}: not found in {where} (unknown, or not yet readable)")
    trees, _ = build_trees({"Traces": batch.traces}, source=XRAY_LABEL)
    return trees


def use_color(stream: IO[str]) -> bool:
    """ANSI colour only on a terminal, and never where NO_COLOR is set (https://no-color.org)."""
    if os.environ.get("NO_COLOR"):
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())
