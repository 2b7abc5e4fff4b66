"""Reading S3 event notifications: which records to write, which to skip, and what is malformed."""

import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

# S3 sequencers differ in length; AWS says to right-pad the shorter with zeros before comparing. Every
# sequencer is padded to this width, so DynamoDB's string comparison orders them as S3 does.
SEQUENCER_WIDTH = 32


class MalformedEventError(ValueError):
    """The event is not an S3 notification this function can read; the message says what is wrong."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class _S3Object(_Model):
    key: str = Field(min_length=1)
    size: int = Field(default=0, ge=0)
    e_tag: str | None = Field(default=None, alias="eTag")
    sequencer: str = Field(pattern=r"^[0-9A-Fa-f]{1,32}$")
    version_id: str | None = Field(default=None, alias="versionId")


class _S3Bucket(_Model):
    name: str = Field(min_length=1)


class _S3Entity(_Model):
    bucket: _S3Bucket
    object: _S3Object


class _S3Record(_Model):
    # Only what the pipeline uses; records from S3 look-alikes (moto, replays) often lack the rest.
    event_source: str = Field(alias="eventSource")
    event_name: str = Field(alias="eventName")
    event_time: str = Field(alias="eventTime", min_length=1)
    s3: _S3Entity


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
        try:
            record = _S3Record.model_validate(raw)
        except ValidationError as error:
            malformed.append(RecordProblem(position, _describe(position, error)))
            continue
        if record.event_source != "aws:s3" or not record.event_name.startswith("ObjectCreated:"):
            reason = f"not an S3 ObjectCreated record ({record.event_source} {record.event_name})"
            skipped.append(RecordProblem(position, reason))
            continue
        try:
            key = decode_key(record.s3.object.key)
        except UnicodeDecodeError:
            malformed.append(
                RecordProblem(position, f"Records[{position}].s3.object.key: not URL-encoded UTF-8")
            )
            continue
        created.append(
            ObjectCreated(
                position=position,
                bucket=record.s3.bucket.name,
                key=key,
                size=record.s3.object.size,
                etag=record.s3.object.e_tag,
                sequencer=normalise_sequencer(record.s3.object.sequencer),
                event_time=record.event_time,
                event_name=record.event_name,
                version_id=record.s3.object.version_id,
            )
        )
    return ParsedEvent(created=created, skipped=skipped, malformed=malformed)


def _describe(position: int, error: ValidationError) -> str:
    problems = []
    for issue in error.errors():
        path = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in issue["loc"])
        problems.append(f"Records[{position}]{path}: {issue['msg']}")
    return "; ".join(problems)
