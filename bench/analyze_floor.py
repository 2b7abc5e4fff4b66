"""The floor for `tracecanary analyze`: read the file, parse it and every `Document` in it with orjson.

Run as its own process (`python bench/analyze_floor.py FILE`) so it pays the same interpreter start-up as the
CLI. Each parsed document is dropped at once: the least work and memory any analysis of the file can need
(an analyzer that works trace by trace can stay close to it).
"""

import sys
from pathlib import Path

import orjson


def parse_everything(path: Path) -> tuple[int, int]:
    """(traces, documents) after parsing the response and each of its documents."""
    response = orjson.loads(path.read_bytes())
    documents = 0
    for trace in response["Traces"]:
        for segment in trace["Segments"]:
            orjson.loads(segment["Document"])
            documents += 1
    return len(response["Traces"]), documents


def main() -> int:
    traces, documents = parse_everything(Path(sys.argv[1]))
    print(f"{traces} traces, {documents} documents")
    return 0


if __name__ == "__main__":
    sys.exit(main())
