"""The manifest: one record per planned object, readable by planned-time window.

DynamoDB layout (one small table, on demand, TTL):

- partition key `hour` (S): the UTC hour of the planned time, `2026-11-25T12`;
- sort key `sk` (S): `<planned time, ISO 8601 UTC with milliseconds>#<run id>#<sequence, 6 digits>`;
- `expires_at` (N): TTL, planned time + `ttl_days` (default 8, so a week of history is always there).

The records of a window [start, end) are one `Query` per UTC hour the window touches
(`hour = :h AND sk BETWEEN :start AND :end`): a window of up to an hour is one or two queries, reading only
the records it returns. ISO timestamps of equal width sort as text in time order, and `sk` always has a
suffix after the time, so `sk <= iso(end)` is the same as `planned < end` at millisecond resolution.

For a laptop the same records can go to a JSON-lines file instead (`JsonLinesManifest`).
"""

import json
import logging
import math
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from common.errors import UserError
from common.variants import PipelineVariant

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef, WriteRequestTypeDef

logger = logging.getLogger(__name__)

DEFAULT_TTL_DAYS = 8
BATCH_WRITE_SIZE = 25  # BatchWriteItem's limit
BATCH_WRITE_ATTEMPTS = 8
MAX_WINDOW_SECONDS = 31 * 86400  # one query per hour: a longer window is a mistake, not a report


class Outcome(StrEnum):
    SENT = "sent"
    FAILED = "failed"
    DROPPED = "dropped"


@dataclass(frozen=True, slots=True)
class ManifestRecord:
    """One planned object. Times are epoch seconds; `planned_at` has millisecond resolution."""

    run_id: str
    sequence: int
    bucket: str
    key: str
    trace_id: str
    segment_id: str  # the generator's root segment of this object's trace
    put_subsegment_id: str  # its S3 PutObject subsegment: the `Parent` in the header S3 received
    planned_at: float
    outcome: Outcome
    size: int
    content_type: str
    started_at: float | None = None  # when the PutObject started; None when dropped
    put_ms: float | None = None  # PutObject latency (all retries); None when dropped
    http_status: int | None = None
    error: str | None = None  # `Code: message` for failed, the reason for dropped
    request_id: str | None = None
    # The pipeline twin the object was sent to; records written before there were twins have none: powertools.
    variant: PipelineVariant = PipelineVariant.POWERTOOLS

    @property
    def lag_ms(self) -> float | None:
        """Schedule lag: actual start minus planned time."""
        return None if self.started_at is None else (self.started_at - self.planned_at) * 1000

    def to_json(self) -> dict[str, Any]:
        return {name: value for name, value in asdict(self).items() if value is not None}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "ManifestRecord":
        def optional_float(name: str) -> float | None:
            return None if data.get(name) is None else float(data[name])

        return cls(
            run_id=str(data["run_id"]),
            sequence=int(data["sequence"]),
            bucket=str(data["bucket"]),
            key=str(data["key"]),
            trace_id=str(data["trace_id"]),
            segment_id=str(data["segment_id"]),
            put_subsegment_id=str(data["put_subsegment_id"]),
            planned_at=float(data["planned_at"]),
            outcome=Outcome(data["outcome"]),
            size=int(data["size"]),
            content_type=str(data["content_type"]),
            started_at=optional_float("started_at"),
            put_ms=optional_float("put_ms"),
            http_status=None if data.get("http_status") is None else int(data["http_status"]),
            error=None if data.get("error") is None else str(data["error"]),
            request_id=None if data.get("request_id") is None else str(data["request_id"]),
            variant=PipelineVariant(data.get("variant", PipelineVariant.POWERTOOLS)),
        )


class ManifestReader(Protocol):
    """What the reporter needs: the records of a window of planned times."""

    def read_window(self, start: float, end: float) -> list[ManifestRecord]:
        """Every record with start <= planned_at < end, in planned order."""


class ManifestStore(ManifestReader, Protocol):
    @property
    def description(self) -> str: ...

    def verify(self) -> None:
        """Raise UserError if the store cannot be written (missing table, missing folder)."""

    def write(self, records: Sequence[ManifestRecord]) -> None: ...


def iso_ms(epoch: float) -> str:
    """`2026-11-25T12:34:56.789Z` (UTC, always this width, so text order is time order)."""
    millis = math.floor(round(epoch * 1000, 3))
    moment = datetime.fromtimestamp(millis // 1000, UTC)
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{millis % 1000:03d}Z"


def hour_bucket(epoch: float) -> str:
    return iso_ms(epoch)[:13]


def sort_key(record: ManifestRecord) -> str:
    return f"{iso_ms(record.planned_at)}#{record.run_id}#{record.sequence:06d}"


def window_hours(start: float, end: float) -> list[str]:
    """The hour buckets that [start, end) touches, oldest first."""
    if end <= start:
        return []
    first = math.floor(start / 3600)
    last = math.floor((math.ceil(round(end * 1000, 3)) - 1) / 1000 / 3600)
    return [hour_bucket(hour * 3600) for hour in range(first, last + 1)]


def _in_window(record: ManifestRecord, start: float, end: float) -> bool:
    return iso_ms(start) <= iso_ms(record.planned_at) < iso_ms(end)


def _ordered(records: Iterator[ManifestRecord] | list[ManifestRecord]) -> list[ManifestRecord]:
    return sorted(records, key=lambda r: (r.planned_at, r.run_id, r.sequence))


def to_item(record: ManifestRecord, ttl_days: float = DEFAULT_TTL_DAYS) -> dict[str, "AttributeValueTypeDef"]:
    item: dict[str, AttributeValueTypeDef] = {
        "hour": {"S": hour_bucket(record.planned_at)},
        "sk": {"S": sort_key(record)},
        "expires_at": {"N": str(int(record.planned_at + ttl_days * 86400))},
    }
    for name, value in record.to_json().items():
        if isinstance(value, bool) or not isinstance(value, int | float):
            item[name] = {"S": str(value)}
        else:
            item[name] = {"N": _number(value)}
    return item


def _number(value: float) -> str:
    """Shortest text that reads back as the same float; plain digits (no exponent) for DynamoDB."""
    if not math.isfinite(value):
        raise ValueError(f"cannot store {value!r} in DynamoDB")
    text = repr(value)
    return f"{value:.9f}" if "e" in text.lower() else text


def from_item(item: Mapping[str, Any]) -> ManifestRecord:
    plain = {name: next(iter(value.values())) for name, value in item.items()}
    return ManifestRecord.from_json(plain)


class DynamoDbManifest:
    """The manifest table (see the module docstring for the key design)."""

    def __init__(
        self,
        client: "DynamoDBClient",
        table: str,
        ttl_days: float = DEFAULT_TTL_DAYS,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._client = client
        self._table = table
        self._ttl_days = ttl_days
        self._sleep = sleep

    @property
    def description(self) -> str:
        return f"DynamoDB table {self._table}"

    def verify(self) -> None:
        try:
            self._client.describe_table(TableName=self._table)
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            if code == "ResourceNotFoundException":
                raise UserError(f"manifest table {self._table!r} does not exist") from None
            raise UserError(f"cannot use manifest table {self._table!r}: {error}") from None
        except BotoCoreError as error:
            raise UserError(f"cannot reach DynamoDB for manifest table {self._table!r}: {error}") from None

    def write(self, records: Sequence[ManifestRecord]) -> None:
        """BatchWriteItem, 25 at a time, retrying unprocessed items with backoff."""
        for first in range(0, len(records), BATCH_WRITE_SIZE):
            chunk = records[first : first + BATCH_WRITE_SIZE]
            pending: list[WriteRequestTypeDef] = [
                {"PutRequest": {"Item": to_item(record, self._ttl_days)}} for record in chunk
            ]
            for attempt in range(BATCH_WRITE_ATTEMPTS):
                if attempt:
                    self._sleep(min(0.05 * 2**attempt, 2.0))
                response = self._client.batch_write_item(RequestItems={self._table: pending})
                unprocessed = response.get("UnprocessedItems", {}).get(self._table, [])
                pending = [
                    {"PutRequest": {"Item": dict(u["PutRequest"]["Item"])}}
                    for u in unprocessed
                    if "PutRequest" in u
                ]
                if not pending:
                    break
            if pending:
                raise RuntimeError(
                    f"manifest table {self._table}: {len(pending)} records still unprocessed "
                    f"after {BATCH_WRITE_ATTEMPTS} attempts"
                )

    def read_window(self, start: float, end: float) -> list[ManifestRecord]:
        if end - start > MAX_WINDOW_SECONDS:
            raise ValueError(f"a manifest window is at most {MAX_WINDOW_SECONDS // 86400} days")
        records: list[ManifestRecord] = []
        for hour in window_hours(start, end):
            query: dict[str, Any] = {
                "TableName": self._table,
                "KeyConditionExpression": "#hour = :hour AND #sk BETWEEN :start AND :end",
                "ExpressionAttributeNames": {"#hour": "hour", "#sk": "sk"},
                "ExpressionAttributeValues": {
                    ":hour": {"S": hour},
                    ":start": {"S": iso_ms(start)},
                    ":end": {"S": iso_ms(end)},
                },
            }
            while True:
                page = self._client.query(**query)
                records.extend(from_item(item) for item in page.get("Items", []))
                if "LastEvaluatedKey" not in page:
                    break
                query["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        return _ordered([r for r in records if _in_window(r, start, end)])


class JsonLinesManifest:
    """The manifest as a local JSON-lines file, appended to by each run (for laptops)."""

    def __init__(self, path: Path) -> None:
        self._path = path

    @property
    def description(self) -> str:
        return f"file {self._path}"

    def verify(self) -> None:
        folder = self._path.parent
        if not folder.is_dir():
            raise UserError(f"manifest folder {folder} does not exist")
        if self._path.exists() and not self._path.is_file():
            raise UserError(f"manifest {self._path} is not a file")

    def write(self, records: Sequence[ManifestRecord]) -> None:
        with self._path.open("a", encoding="utf-8") as out:
            for record in records:
                out.write(json.dumps(record.to_json(), separators=(",", ":")) + "\n")

    def read_window(self, start: float, end: float) -> list[ManifestRecord]:
        if not self._path.exists():
            return []
        with self._path.open(encoding="utf-8") as lines:
            records = (ManifestRecord.from_json(json.loads(line)) for line in lines if line.strip())
            return _ordered([r for r in records if _in_window(r, start, end)])
