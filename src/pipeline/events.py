"""Reading S3 event notifications: which records to write, which to skip, and what is malformed.

Validation is a small table of the fields the pipeline reads and one walker over it, not pydantic, whose
import and first models cost the function ~80 ms CPU of cold start. The messages keep pydantic's wording,
which the pipeline's errors used before and the other functions' settings errors still use.
"""

import re
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# S3 sequencers differ in length; AWS says to right-pad the shorter with zeros before comparing. Every
# sequencer is padded to this width, so DynamoDB's string comparison orders them as S3 does.
SEQUENCER_WIDTH = 32


class MalformedEventError(ValueError):
    """The event is not an S3 notification this function can read; the message says what is wrong."""


@dataclass(frozen=True)
class ObjectCreated:
    """One S3 ObjectCreated record, with its key decoded."""

    position: int
    bucket: str
    key: str
    size: int
    etag: str | None
    sequencer: str
    event_time: str
    event_name: str
    version_id: str | None


@dataclass(frozen=True)
class RecordProblem:
    """A record that was skipped or could not be read, and why."""

    position: int
    reason: str


@dataclass(frozen=True)
class ParsedEvent:
    created: list[ObjectCreated]
    skipped: list[RecordProblem]
    malformed: list[RecordProblem]


_MISSING: Any = object()  # an absent key; as a field's default, the field is required
_SEQUENCER_PATTERN = re.compile(f"^[0-9A-Fa-f]{{1,{SEQUENCER_WIDTH}}}$")


@dataclass(frozen=True)
class _Field:
    """One value the pipeline reads from a record, where it is, and what makes it valid."""

    path: tuple[str, ...]  # JSON keys from the record down to the value
    kind: type[str] | type[int]
    default: object = _MISSING  # the value when the key is absent; _MISSING: the key is required
    nullable: bool = False  # JSON null is read as None
    min_length: int = 0
    minimum: int | None = None
    pattern: re.Pattern[str] | None = None  # must match the whole string


# Only what the pipeline uses; records from S3 look-alikes (moto, replays) often lack the rest. Checked in
# this order, so the problems of a record are listed as S3 nests its fields.
_RECORD_FIELDS: dict[str, _Field] = {
    "event_source": _Field(("eventSource",), str),
    "event_name": _Field(("eventName",), str),
    "event_time": _Field(("eventTime",), str, min_length=1),
    "bucket": _Field(("s3", "bucket", "name"), str, min_length=1),
    "key": _Field(("s3", "object", "key"), str, min_length=1),
    "size": _Field(("s3", "object", "size"), int, default=0, minimum=0),
    "etag": _Field(("s3", "object", "eTag"), str, default=None, nullable=True),
    "sequencer": _Field(("s3", "object", "sequencer"), str, pattern=_SEQUENCER_PATTERN),
    "version_id": _Field(("s3", "object", "versionId"), str, default=None, nullable=True),
}


def decode_key(raw_key: str) -> str:
    """S3 URL-encodes keys in events, with `+` for a space (so a real plus arrives as `%2B`)."""
    return urllib.parse.unquote_plus(raw_key, encoding="utf-8", errors="strict")


def normalise_sequencer(sequencer: str) -> str:
    return sequencer.upper().ljust(SEQUENCER_WIDTH, "0")


def is_test_event(event: Mapping[str, Any]) -> bool:
    """S3 sends `s3:TestEvent` once when a notification configuration is saved."""
    return event.get("Event") == "s3:TestEvent"


def parse_s3_event(event: object) -> ParsedEvent:
    """Split an S3 notification into records to write, records to skip, and malformed records.

    Raises MalformedEventError when the event as a whole cannot be an S3 notification.
    """
    if not isinstance(event, Mapping):
        raise MalformedEventError(f"event: expected a JSON object, got {type(event).__name__}")
    records = event.get("Records")
    if records is None:
        raise MalformedEventError("event: missing 'Records' (not an S3 event notification)")
    if not isinstance(records, list):
        raise MalformedEventError(f"event.Records: expected a list, got {type(records).__name__}")

    created: list[ObjectCreated] = []
    skipped: list[RecordProblem] = []
    malformed: list[RecordProblem] = []
    for position, raw in enumerate(records):
        values, problems = _read_fields(raw, _RECORD_FIELDS)
        if problems:
            reason = "; ".join(f"Records[{position}]{where}: {message}" for where, message in problems)
            malformed.append(RecordProblem(position, reason))
            continue
        source, name = values["event_source"], values["event_name"]
        if source != "aws:s3" or not name.startswith("ObjectCreated:"):
            skipped.append(RecordProblem(position, f"not an S3 ObjectCreated record ({source} {name})"))
            continue
        try:
            key = decode_key(values["key"])
        except UnicodeDecodeError:
            malformed.append(
                RecordProblem(position, f"Records[{position}].s3.object.key: not URL-encoded UTF-8")
            )
            continue
        created.append(
            ObjectCreated(
                position=position,
                bucket=values["bucket"],
                key=key,
                size=values["size"],
                etag=values["etag"],
                sequencer=normalise_sequencer(values["sequencer"]),
                event_time=values["event_time"],
                event_name=name,
                version_id=values["version_id"],
            )
        )
    return ParsedEvent(created=created, skipped=skipped, malformed=malformed)


def _read_fields(raw: object, fields: Mapping[str, _Field]) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """The valid value of every field, or the problems as (where, message), where like `.s3.object.key`."""
    values: dict[str, Any] = {}
    problems: list[tuple[str, str]] = []
    reported: set[tuple[str, ...]] = set()  # containers found missing or not an object
    for name, field in fields.items():
        *container_path, key = field.path
        container = _container(raw, tuple(container_path), problems, reported)
        if container is None:
            continue
        value = container.get(key, _MISSING)
        if value is _MISSING:
            if field.default is _MISSING:
                problems.append((_where(field.path), "Field required"))
            else:
                values[name] = field.default
        elif value is None and field.nullable:
            values[name] = None
        elif message := _check(value, field):
            problems.append((_where(field.path), message))
        else:
            values[name] = value
    return values, problems


def _container(
    node: object,
    path: tuple[str, ...],
    problems: list[tuple[str, str]],
    reported: set[tuple[str, ...]],
    depth: int = 0,
) -> Mapping[str, Any] | None:
    """The object at `path` below `node`, or None when it or a parent is missing or not an object.

    Each such container is reported once, as pydantic did, not again for every field inside it.
    """
    where = path[:depth]
    if where in reported:
        return None
    if node is _MISSING or not isinstance(node, Mapping):
        reported.add(where)
        problems.append(
            (_where(where), "Field required" if node is _MISSING else "Input should be a valid dictionary")
        )
        return None
    if depth == len(path):
        return node
    return _container(node.get(path[depth], _MISSING), path, problems, reported, depth + 1)


def _check(value: object, field: _Field) -> str | None:
    """What is wrong with a present value, in pydantic's words, or None."""
    if not isinstance(value, field.kind) or isinstance(value, bool):  # bool is an int to Python, not to us
        return f"Input should be a valid {'integer' if field.kind is int else 'string'}"
    if isinstance(value, int):
        below = field.minimum is not None and value < field.minimum
        return f"Input should be greater than or equal to {field.minimum}" if below else None
    if len(value) < field.min_length:
        plural = "s" if field.min_length > 1 else ""
        return f"String should have at least {field.min_length} character{plural}"
    # fullmatch: re.match would let `$` match before a trailing newline, which pydantic rejected.
    if field.pattern and not field.pattern.fullmatch(value):
        return f"String should match pattern '{field.pattern.pattern}'"
    return None


def _where(path: tuple[str, ...]) -> str:
    return "".join(f".{part}" for part in path)
