"""JSON in and out: orjson where installed (fast), the standard library otherwise (the Lambda runtime)."""

import dataclasses
from collections.abc import Callable
from typing import Any

try:
    import orjson
except ImportError:  # pragma: no cover - the reporter Lambda ships without orjson
    orjson = None  # type: ignore[assignment]
    import json  # only then: the standard library's json costs start-up where orjson does the work

# What `loads` raises on text that is not JSON, whichever parser is in use.
JSONDecodeError: tuple[type[Exception], ...] = (ValueError, RecursionError)


def _loads_json(text: bytes | str) -> Any:
    return json.loads(text)


# Parse JSON text; raises one of `JSONDecodeError` when it is not JSON. orjson's own function where
# installed: no wrapper call for each of the documents of a large input.
loads: Callable[[bytes | str], Any] = orjson.loads if orjson is not None else _loads_json


def dumps(value: Any, *, indent: bool = False) -> bytes:
    """Serialise to UTF-8 JSON bytes (dataclasses as objects, tuples as arrays), never NaN or Infinity."""
    if orjson is not None:
        return orjson.dumps(value, option=orjson.OPT_INDENT_2 if indent else 0)
    text = json.dumps(
        value, indent=2 if indent else None, allow_nan=False, ensure_ascii=False, default=_dataclass_fields
    )
    return text.encode()


def _dataclass_fields(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")
