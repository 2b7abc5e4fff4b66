"""`python -m bench`: run every benchmark in turn; each prints its markdown section for BENCHMARKS.md."""

import importlib
import sys

BENCHMARKS = (
    "bench.pipeline_cold_start",
    "bench.analyze_throughput",
    "bench.generator_throughput",
    "bench.reporter_window",
)


def main() -> int:
    selected = sys.argv[1:] or [name.removeprefix("bench.") for name in BENCHMARKS]
    for name in selected:
        module = importlib.import_module(f"bench.{name}")
        print(f"\n<!-- python -m bench.{name} -->", flush=True)
        sys.argv = [f"bench.{name}"]
        result = module.main()
        if result:
            return int(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
