"""Reading one segment or subsegment document (a "part") defensively: every field may be missing or mistyped.

Parts stay the plain dicts the JSON parser made (no copies: the engine reads 20,000 traces at a time);
these helpers return a typed value, or None where the field is absent or unusable.
"""

import math
from typing import Any

Part = dict[str, Any]

LAMBDA_FUNCTION_ORIGIN = "AWS::Lambda::Function"
LAMBDA_SERVICE_ORIGIN = "AWS::Lambda"
_ROUNDING_MAGIC = 6755399441055744.0  # 1.5 * 2**52: see `round_ms`


def number(value: object) -> float | None:
    """A finite float from a JSON number (int, float, exponent notation); None for anything else."""
    if type(value) is float:
        return value if value - value == 0.0 else None  # finite (inf - inf and nan - nan are nan), no call
    if type(value) is int:
        try:
            return float(value)
        except OverflowError:  # an integer too big for a float is not a usable time
            return None
    return None


def text(part: Part, key: str) -> str | None:
    value = part.get(key)
    return value if isinstance(value, str) else None


def part_id(part: Part) -> str | None:
    value = part.get("id")
    return value if isinstance(value, str) and value else None


def parent_id(part: Part) -> str | None:
    value = part.get("parent_id")
    return value if isinstance(value, str) and value else None


def start_of(part: Part) -> float | None:
    start = part.get("start_time")
    if start.__class__ is float:  # the common case, without the call to `number`
        return start if start - start == 0.0 else None
    return number(start)


def end_of(part: Part) -> float | None:
    """The end time of a finished part; None while it is in progress or when it has no usable end."""
    if part.get("in_progress") is True:
        return None
    end = part.get("end_time")
    if end.__class__ is float:  # the common case, without the call to `number`
        return end if end - end == 0.0 else None
    return number(end)


def is_finished(part: Part) -> bool:
    return end_of(part) is not None


def seconds_to_ms(seconds: float) -> float | None:
    """Milliseconds rounded to the microsecond (X-Ray's own precision), None where not finite."""
    value = seconds * 1000.0
    return round_ms(value) if math.isfinite(value) else None


def round_ms(value: float) -> float:
    """`round(value, 3)` of a finite float, bit for bit, mostly without round()'s decimal conversion (slow).

    The value in microseconds is rounded to a whole number instead, then divided back (a correctly rounded
    division, as round()'s own string-to-float step). That is exact unless the product lies within its
    rounding error of a tie, which the margin of 0.001 covers below 1e12 us; those cases, a zero (round()
    keeps its sign) and huge values go to round().
    """
    micros = value * 1000.0
    if -1e12 < micros < 1e12:
        # round(micros) without the call: adding and taking away 1.5 * 2**52 leaves the nearest whole
        # number, ties to even as round() (exact for any |micros| < 2**51).
        whole = micros + _ROUNDING_MAGIC - _ROUNDING_MAGIC
        if whole and -0.499 < micros - whole < 0.499:
            return whole / 1000.0
    return round(value, 3)


def duration_ms(part: Part) -> float | None:
    """End minus start of a finished part, in milliseconds."""
    start = part.get("start_time")
    end = part.get("end_time")
    if start.__class__ is float and end.__class__ is float:  # the common case, without the calls below
        if part.get("in_progress") is True:
            return None
        value = (end - start) * 1000.0
        return round_ms(value) if value - value == 0.0 else None  # finite: inf - inf is nan
    start, end = start_of(part), end_of(part)
    if start is None or end is None:
        return None
    return seconds_to_ms(end - start)


def is_finished_fast(part: Part) -> bool:
    """`is_finished` for the hot loops: a float end time is checked inline."""
    if part.get("in_progress") is True:
        return False
    end = part.get("end_time")
    if end.__class__ is float:
        return end - end == 0.0
    return number(end) is not None


def flag(part: Part, key: str) -> bool:
    """`error`, `fault`, `throttle`, `inferred`: only a JSON true counts."""
    return part.get(key) is True


def aws_fields(part: Part) -> dict[str, Any]:
    value = part.get("aws")
    return value if isinstance(value, dict) else {}


def is_inferred(part: Part) -> bool:
    return part.get("inferred") is True


def is_sdk_call(part: Part) -> bool:
    """An AWS SDK call subsegment: recognised by its namespace, never by its (SDK-specific) name."""
    namespace = part.get("namespace")
    return isinstance(namespace, str) and namespace.lower() == "aws"


def operation_of(part: Part) -> str | None:
    value = aws_fields(part).get("operation")
    return value if isinstance(value, str) and value else None


def is_put_object(part: Part) -> bool:
    """An S3 PutObject call subsegment (operation compared case-insensitively)."""
    operation = operation_of(part)
    return operation is not None and operation.lower() == "putobject" and is_sdk_call(part)


def is_function_segment(segment: Part) -> bool:
    return segment.get("origin") == LAMBDA_FUNCTION_ORIGIN and not is_inferred(segment)


def is_lambda_service_segment(segment: Part) -> bool:
    return segment.get("origin") == LAMBDA_SERVICE_ORIGIN and not is_inferred(segment)


def sort_key_by_start(part: Part) -> tuple[bool, float]:
    """Sorts parts by start time, those without one last (a stable sort keeps their input order)."""
    start = part.get("start_time")
    if start.__class__ is float and start - start == 0.0:  # a finite float: the common case, no calls
        return (False, start)
    start = number(start)
    return (start is None, 0.0 if start is None else start)
