"""How fast `tracecanary analyze --format json` reads a large input, against the floor of parsing it.

    .venv/bin/python -m bench.analyze_throughput [--traces 20000] [--runs 5] [--profile] [--compare-git REV]

Builds one BatchGetTraces-shaped file of fresh copies of the shared real traces (bench/analyze_input.py),
then times whole processes, alternating: the floor (bench/analyze_floor.py: read + orjson of the file and of
every Document) and the CLI, stdout to /dev/null. Peak memory is each child's own max RSS (os.wait4).
Prints a markdown section for BENCHMARKS.md. Goals: time <= 1.5x the floor, peak RSS < 3x the input's size.
With `--compare-git REV`, the `src/` of that commit (exported from git) is measured in the same alternation,
so a change's cost is a ratio against the code before it, on the same machine in the same minutes.
"""

import argparse
import cProfile
import io
import os
import platform
import pstats
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import orjson

from bench.analyze_input import DEFAULT_FIXTURES_DIR, BuiltInput, build_input, load_templates

TIME_RATIO_GOAL = 1.5
MEMORY_RATIO_GOAL = 3.0
FLOOR_SCRIPT = Path(__file__).resolve().parent / "analyze_floor.py"
TRACECANARY = Path(sys.executable).parent / "tracecanary"  # the console script of this same environment
MIB = 1024 * 1024
DESCRIPTIONS = {
    "floor": "floor: read + orjson of the file and every Document",
    "analyze": "`tracecanary analyze --format json`",
    "earlier": "`tracecanary analyze --format json` at the compared commit",
}


@dataclass(frozen=True)
class Run:
    seconds: float
    max_rss_bytes: int


@dataclass(frozen=True)
class Measured:
    label: str
    command: list[str]
    runs: list[Run]

    @property
    def median_seconds(self) -> float:
        return statistics.median(run.seconds for run in self.runs)

    @property
    def min_seconds(self) -> float:
        return min(run.seconds for run in self.runs)

    @property
    def peak_rss_bytes(self) -> int:
        return max(run.max_rss_bytes for run in self.runs)


def run_once(command: list[str], stdout_path: Path | None = None, env: dict[str, str] | None = None) -> Run:
    """Run one child; wall time and that child's own peak RSS (not the max over all children so far)."""
    with tempfile.TemporaryFile() as stderr, open(stdout_path or os.devnull, "wb") as stdout:
        started = time.perf_counter()
        process = subprocess.Popen(command, stdout=stdout, stderr=stderr, env=env)
        _, status, usage = os.wait4(process.pid, 0)
        elapsed = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(
            status
        )  # os.wait4 reaped it, Popen must not wait again
        if process.returncode != 0:
            stderr.seek(0)
            message = stderr.read().decode(errors="replace").strip().splitlines()
            raise RuntimeError(
                f"{' '.join(command)} exited {process.returncode}: {message[-1] if message else ''}"
            )
    return Run(seconds=elapsed, max_rss_bytes=usage.ru_maxrss * 1024)  # Linux reports KiB


def check_analyze(input_path: Path, work_dir: Path) -> tuple[bool, str]:
    """Does the CLI analyse the file and print the contract's JSON? Also warms the page cache."""
    output_path = work_dir / "analyze-output.json"
    try:
        run_once([str(TRACECANARY), "analyze", "--format", "json", str(input_path)], output_path)
        output = orjson.loads(output_path.read_bytes())
    except (RuntimeError, orjson.JSONDecodeError, OSError) as error:
        return False, str(error)
    if not isinstance(output, dict) or "invocations" not in output:
        return False, "the output is JSON but not the contract's {invocations, traces, skipped}"
    skipped = output.get("skipped") or []
    return (
        True,
        f"{len(output['invocations'])} invocations, {output.get('traces')} traces, {len(skipped)} skipped",
    )


def measure(
    commands: dict[str, list[str]], repeats: int, envs: dict[str, dict[str, str]] | None = None
) -> list[Measured]:
    runs: dict[str, list[Run]] = {label: [] for label in commands}
    for _ in range(repeats):
        for label, command in commands.items():  # alternate, so drift hits both alike
            runs[label].append(run_once(command, env=(envs or {}).get(label)))
    return [Measured(label, command, runs[label]) for label, command in commands.items()]


def profile_analyze(input_path: Path, top: int = 30) -> str:
    """cProfile of the CLI in this process (same code path as the console script)."""
    from cli.main import main as tracecanary_main

    profiler = cProfile.Profile()
    saved_stdout = sys.stdout
    with open(os.devnull, "w") as devnull:
        sys.stdout = devnull
        try:
            profiler.runcall(tracecanary_main, ["analyze", "--format", "json", str(input_path)])
        finally:
            sys.stdout = saved_stdout
    report = io.StringIO()
    stats = pstats.Stats(profiler, stream=report).strip_dirs()
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top)
    return report.getvalue()


def export_src(revision: str, into: Path) -> Path:
    """`src/` of a commit, exported from this repository's git (nothing checked out in the work tree)."""
    into.mkdir(parents=True)
    root = Path(__file__).resolve().parent.parent
    archive = subprocess.run(
        ["git", "-C", str(root), "archive", revision, "src"],
        check=True,
        capture_output=True,
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into / "src"


def machine_description() -> str:
    cpu_model = "unknown CPU"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    memory = ""
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        total_kib = int(meminfo.read_text().split("MemTotal:", 1)[1].split()[0])
        memory = f", {total_kib / MIB:.1f} GiB RAM"
    return (
        f"nproc {len(os.sched_getaffinity(0))}, {cpu_model}{memory}; "
        f"{platform.system()} {platform.release()}; "
        f"Python {platform.python_version()} ({sys.executable}), orjson {orjson.__version__}"
    )


def markdown_report(
    built: BuiltInput, results: list[Measured], *, repeats: int, analyze_note: str, profile: str | None
) -> str:
    size_mib = built.size_bytes / MIB
    lines = [
        "## `tracecanary analyze` throughput",
        "",
        f"Run: `{Path(sys.executable).name} -m bench.analyze_throughput --traces {built.traces} "
        f"--runs {repeats}` on {time.strftime('%Y-%m-%d', time.gmtime())}.",
        f"Machine: {machine_description()}.",
        "",
        f"Input: {built.traces:,} traces ({built.segments:,} segment documents), fresh copies "
        f"(new trace, segment and subsegment ids) of the {len(built.templates)} traces in the shared "
        f"fixtures, one BatchGetTraces-shaped file of {size_mib:.1f} MiB with `Document` as JSON strings.",
        f"Each command ran {repeats} times as its own process, alternating, after one warm-up; "
        "wall time of the whole process (interpreter start-up included), peak RSS of that child (os.wait4).",
        "",
        "| command | median s | min s | traces/s (median) | peak RSS MiB | RSS / input size |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for result in results:
        lines.append(
            f"| {DESCRIPTIONS[result.label]} | {result.median_seconds:.2f} | {result.min_seconds:.2f} | "
            f"{built.traces / result.median_seconds:,.0f} | {result.peak_rss_bytes / MIB:.0f} | "
            f"{result.peak_rss_bytes / built.size_bytes:.2f}x |"
        )
    by_label = {result.label: result for result in results}
    floor, analyze, earlier = by_label.get("floor"), by_label.get("analyze"), by_label.get("earlier")
    lines.append("")
    if floor and analyze and earlier:
        lines.append(
            f"- Against the compared commit: {analyze.median_seconds / earlier.median_seconds:.3f}x its time "
            f"(it was {earlier.median_seconds / floor.median_seconds:.2f}x the floor in this run)."
        )
    if floor and analyze:
        time_ratio = analyze.median_seconds / floor.median_seconds
        memory_ratio = analyze.peak_rss_bytes / built.size_bytes
        lines += [
            f"- Time: analyze / floor = **{time_ratio:.2f}x** (goal <= {TIME_RATIO_GOAL}x): "
            f"{'met' if time_ratio <= TIME_RATIO_GOAL else 'MISSED'}.",
            f"- Memory: analyze peak RSS / input size = **{memory_ratio:.2f}x** "
            f"(goal < {MEMORY_RATIO_GOAL}x): {'met' if memory_ratio < MEMORY_RATIO_GOAL else 'MISSED'}; "
            "the floor itself needs "
            f"{floor.peak_rss_bytes / built.size_bytes:.2f}x.",
            f"- Beyond the floor, analyze spends {analyze.median_seconds - floor.median_seconds:+.2f} s and "
            f"{(analyze.peak_rss_bytes - floor.peak_rss_bytes) / MIB:+.0f} MiB of peak RSS.",
            f"- Output check: {analyze_note}.",
        ]
    else:
        lines.append(f"- `tracecanary analyze` could not be measured: {analyze_note}. Floor numbers only.")
    lines += [
        "",
        "Floor: `python bench/analyze_floor.py FILE` (orjson of the file, then of every Document, "
        "each dropped once parsed); analyze: `tracecanary analyze --format json FILE > /dev/null`.",
    ]
    if profile:
        lines += [
            "",
            "cProfile of `tracecanary analyze --format json` on the same input:",
            "",
            "```",
            profile,
            "```",
        ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.analyze_throughput", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--traces", type=int, default=20_000, help="traces in the input (default 20000)")
    parser.add_argument("--runs", type=int, default=5, help="timed runs of each command (default 5)")
    parser.add_argument(
        "--fixtures", type=Path, default=DEFAULT_FIXTURES_DIR, help="the shared X-Ray fixtures"
    )
    parser.add_argument("--profile", action="store_true", help="add a cProfile of analyze to the report")
    parser.add_argument("--keep", type=Path, help="also copy the input to this path, for profiling by hand")
    parser.add_argument(
        "--compare-git", metavar="REV", help="also measure `src/` of this commit, in the same alternation"
    )
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="tracecanary-bench-") as work:
        work_dir = Path(work)
        built = build_input(
            load_templates(args.fixtures), args.traces, work_dir / f"traces-{args.traces}.json"
        )
        if args.keep:
            args.keep.write_bytes(built.path.read_bytes())
        floor_command = [sys.executable, str(FLOOR_SCRIPT), str(built.path)]
        analyze_command = [str(TRACECANARY), "analyze", "--format", "json", str(built.path)]
        run_once(floor_command)  # warm-up: page cache, .pyc files
        analyze_ok, analyze_note = check_analyze(built.path, work_dir)
        commands = {"floor": floor_command}
        envs: dict[str, dict[str, str]] = {}
        if analyze_ok:
            commands["analyze"] = analyze_command
        if args.compare_git:
            earlier_src = export_src(args.compare_git, work_dir / "earlier")
            commands["earlier"] = [
                sys.executable,
                "-m",
                "cli.main",
                "analyze",
                "--format",
                "json",
                str(built.path),
            ]
            envs["earlier"] = {**os.environ, "PYTHONPATH": str(earlier_src)}
        results = measure(commands, args.runs, envs)
        profile = profile_analyze(built.path) if args.profile and analyze_ok else None
        print(markdown_report(built, results, repeats=args.runs, analyze_note=analyze_note, profile=profile))
    return 0


if __name__ == "__main__":
    sys.exit(main())
