import copy
import urllib.parse
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline.events import (
    SEQUENCER_WIDTH,
    MalformedEventError,
    decode_key,
    is_test_event,
    normalise_sequencer,
    parse_s3_event,
)
from tests.conftest import load_event


@pytest.mark.parametrize(
    ("raw", "decoded"),
    [
        ("synthetic/a+b.txt", "synthetic/a b.txt"),  # S3 sends a space as +
        ("synthetic/a%2Bb.txt", "synthetic/a+b.txt"),  # and a real plus as %2B
        ("synthetic/%C3%A9t%C3%A9/%E2%9C%93.json", "synthetic/été/✓.json"),
        ("synthetic/50%25+off", "synthetic/50% off"),
        ("plain/key.json", "plain/key.json"),
    ],
)
def test_decode_key_undoes_s3_url_encoding(raw: str, decoded: str) -> None:
    assert decode_key(raw) == decoded


@given(st.text(min_size=1, max_size=200))
def test_decode_key_inverts_s3_encoding_of_any_key(key: str) -> None:
    encoded = urllib.parse.quote_plus(key, safe="/", encoding="utf-8", errors="surrogatepass")
    try:
        expected = key.encode("utf-8").decode("utf-8")
    except UnicodeEncodeError:
        return  # lone surrogates cannot be S3 keys
    assert decode_key(encoded) == expected


@given(
    st.text(alphabet="0123456789ABCDEF", min_size=1, max_size=SEQUENCER_WIDTH),
    st.text(alphabet="0123456789ABCDEF", min_size=1, max_size=SEQUENCER_WIDTH),
)
def test_normalised_sequencers_order_as_right_padded_hex_numbers(first: str, second: str) -> None:
    def value(sequencer: str) -> int:
        return int(sequencer.ljust(SEQUENCER_WIDTH, "0"), 16)

    assert (normalise_sequencer(first) < normalise_sequencer(second)) == (value(first) < value(second))
    assert (normalise_sequencer(first) == normalise_sequencer(second)) == (value(first) == value(second))


def test_normalise_sequencer_ignores_case() -> None:
    assert normalise_sequencer("0a1b") == normalise_sequencer("0A1B") == "0A1B" + "0" * 28


def test_plain_put_event_is_one_created_record() -> None:
    parsed = parse_s3_event(load_event("s3-put.json"))
    assert parsed.skipped == []
    assert parsed.malformed == []
    [record] = parsed.created
    assert record.key == "synthetic/powertools/2026-11-25/run-7f3a/000001.json"
    assert record.bucket == "tracecanary-incomingbucket-1x2y3z4w5v6u"
    assert record.size == 1024
    assert record.etag == "d41d8cd98f00b204e9800998ecf8427e"
    assert record.sequencer == "0067447B6C1D8E2F53".ljust(32, "0")
    assert record.event_time == "2026-11-25T12:00:00.123Z"


def test_encoded_key_event_is_decoded() -> None:
    [record] = parse_s3_event(load_event("s3-put-encoded-key.json")).created
    assert record.key == "synthetic/powertools/reports/Q3 summary + notes été.txt"


def test_multi_record_event_keeps_every_record_in_order() -> None:
    parsed = parse_s3_event(load_event("s3-put-multi.json"))
    assert [record.position for record in parsed.created] == [0, 1, 2]
    assert [record.event_name for record in parsed.created] == [
        "ObjectCreated:Put",
        "ObjectCreated:CompleteMultipartUpload",
        "ObjectCreated:Copy",
    ]


def test_other_event_types_are_skipped_with_a_reason() -> None:
    event = load_event("s3-put-multi.json")
    event["Records"][1]["eventName"] = "ObjectRemoved:Delete"
    del event["Records"][1]["s3"]["object"]["size"]  # deletes carry no size
    parsed = parse_s3_event(event)
    assert [record.position for record in parsed.created] == [0, 2]
    assert len(parsed.skipped) == 1
    assert parsed.skipped[0].position == 1
    assert "ObjectRemoved:Delete" in parsed.skipped[0].reason


def test_test_event_is_recognised() -> None:
    assert is_test_event(load_event("s3-test-event.json"))
    assert not is_test_event(load_event("s3-put.json"))


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ([], "event: expected a JSON object, got list"),
        ({"detail": {}}, "event: missing 'Records'"),
        ({"Records": "nope"}, "event.Records: expected a list, got str"),
    ],
)
def test_an_event_that_is_no_s3_notification_is_rejected_clearly(event: object, message: str) -> None:
    with pytest.raises(MalformedEventError, match=message):
        parse_s3_event(event)


def test_a_malformed_record_names_what_is_missing_and_spares_the_others() -> None:
    event = load_event("s3-put-multi.json")
    broken = copy.deepcopy(event["Records"][1])
    del broken["s3"]["object"]["key"]
    broken["s3"]["object"]["sequencer"] = "not-hex"
    event["Records"][1] = broken
    parsed = parse_s3_event(event)
    assert [record.position for record in parsed.created] == [0, 2]
    [problem] = parsed.malformed
    assert "Records[1].s3.object.key: Field required" in problem.reason
    assert "Records[1].s3.object.sequencer: String should match pattern" in problem.reason


def put_record() -> dict[str, Any]:
    record: dict[str, Any] = load_event("s3-put.json")["Records"][0]
    return record


def reasons_for(record: object) -> list[str]:
    return [problem.reason for problem in parse_s3_event({"Records": [put_record(), record]}).malformed]


def test_a_record_without_s3_is_reported_once_at_s3() -> None:
    record = put_record()
    del record["s3"]
    assert reasons_for(record) == ["Records[1].s3: Field required"]


def test_every_problem_of_a_record_is_listed_in_the_order_s3_nests_them() -> None:
    record = put_record()
    del record["eventName"]
    record["eventTime"] = ""
    record["s3"]["bucket"] = "not-an-object"
    record["s3"]["object"].update(key=7, size=-1, eTag=5, sequencer="0A\n", versionId=[])
    assert reasons_for(record) == [
        "; ".join(
            [
                "Records[1].eventName: Field required",
                "Records[1].eventTime: String should have at least 1 character",
                "Records[1].s3.bucket: Input should be a valid dictionary",
                "Records[1].s3.object.key: Input should be a valid string",
                "Records[1].s3.object.size: Input should be greater than or equal to 0",
                "Records[1].s3.object.eTag: Input should be a valid string",
                # A trailing newline is no hex digit, although re.match's `$` would let it through.
                "Records[1].s3.object.sequencer: String should match pattern '^[0-9A-Fa-f]{1,32}$'",
                "Records[1].s3.object.versionId: Input should be a valid string",
            ]
        )
    ]


@pytest.mark.parametrize(
    ("record", "reason"),
    [
        (None, "Records[1]: Input should be a valid dictionary"),
        (
            {},
            "Records[1].eventSource: Field required; Records[1].eventName: Field required; "
            "Records[1].eventTime: Field required; Records[1].s3: Field required",
        ),
    ],
)
def test_a_record_that_is_no_object_or_empty_is_malformed(record: object, reason: str) -> None:
    assert reasons_for(record) == [reason]


@pytest.mark.parametrize(
    ("size", "reason"),
    [
        (None, "Input should be a valid integer"),
        (True, "Input should be a valid integer"),
        ("1024", "Input should be a valid integer"),
        (-5, "Input should be greater than or equal to 0"),
    ],
)
def test_size_must_be_a_whole_number_of_bytes(size: object, reason: str) -> None:
    record = put_record()
    record["s3"]["object"]["size"] = size
    assert reasons_for(record) == [f"Records[1].s3.object.size: {reason}"]


def test_optional_object_fields_may_be_absent_or_null() -> None:
    record = put_record()
    del record["s3"]["object"]["size"]
    del record["s3"]["object"]["eTag"]
    record["s3"]["object"]["versionId"] = None
    [_, created] = parse_s3_event({"Records": [put_record(), record]}).created
    assert (created.size, created.etag, created.version_id) == (0, None, None)


def test_version_id_is_kept() -> None:
    record = put_record()
    record["s3"]["object"]["versionId"] = "3HL4kqtJlcpXroDTDmJ-rmSpXd3dIbrHY"
    [created] = parse_s3_event({"Records": [record]}).created
    assert created.version_id == "3HL4kqtJlcpXroDTDmJ-rmSpXd3dIbrHY"


def test_a_key_that_is_not_url_encoded_utf8_is_malformed() -> None:
    record = put_record()
    record["s3"]["object"]["key"] = "synthetic/%E9t%E9"  # Latin-1 bytes
    assert reasons_for(record) == ["Records[1].s3.object.key: not URL-encoded UTF-8"]


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=10), children, max_size=3)
    ),
    max_leaves=10,
)
RECORD_PATHS = [
    ("eventSource",),
    ("eventName",),
    ("eventTime",),
    ("s3",),
    ("s3", "bucket"),
    ("s3", "bucket", "name"),
    ("s3", "object"),
    ("s3", "object", "key"),
    ("s3", "object", "size"),
    ("s3", "object", "eTag"),
    ("s3", "object", "sequencer"),
    ("s3", "object", "versionId"),
]


@st.composite
def damaged_records(draw: st.DrawFn) -> object:
    """A real record with some of its fields removed or replaced by any JSON value (or no record at all)."""
    if draw(st.booleans()) and draw(st.booleans()):
        return draw(JSON_VALUES)
    record: dict[str, Any] = copy.deepcopy(draw(st.sampled_from(load_event("s3-put-multi.json")["Records"])))
    for path in draw(st.lists(st.sampled_from(RECORD_PATHS), max_size=4)):
        parent: Any = record
        for part in path[:-1]:
            parent = parent.get(part) if isinstance(parent, dict) else None
        if isinstance(parent, dict):
            if draw(st.booleans()):
                parent.pop(path[-1], None)
            else:
                parent[path[-1]] = draw(JSON_VALUES)
    return record


@given(st.lists(damaged_records(), max_size=4))
def test_every_record_is_created_skipped_or_malformed_and_nothing_raises(records: list[object]) -> None:
    parsed = parse_s3_event({"Records": records})
    positions = [record.position for record in parsed.created]
    positions += [problem.position for problem in parsed.skipped + parsed.malformed]
    assert sorted(positions) == list(range(len(records)))
    for problem in parsed.malformed:
        assert problem.reason.startswith(f"Records[{problem.position}]")
    for created in parsed.created:
        assert len(created.sequencer) == SEQUENCER_WIDTH
        assert created.size >= 0


@given(JSON_VALUES.filter(lambda value: not isinstance(value, dict)))
def test_an_event_that_is_no_object_raises_only_malformed_event_error(event: object) -> None:
    with pytest.raises(MalformedEventError, match="event: expected a JSON object"):
        parse_s3_event(event)


@given(
    st.dictionaries(
        st.sampled_from(["Records", "Event"]) | st.text(max_size=8),
        st.lists(damaged_records(), max_size=3) | JSON_VALUES,
        max_size=3,
    )
)
def test_an_object_event_is_parsed_when_it_has_a_records_list_and_rejected_otherwise(
    event: dict[str, object],
) -> None:
    if isinstance(event.get("Records"), list):
        parse_s3_event(event)
    else:
        with pytest.raises(MalformedEventError, match=r"^event(\.Records)?: "):
            parse_s3_event(event)
