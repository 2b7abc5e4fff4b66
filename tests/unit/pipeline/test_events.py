import copy
import urllib.parse

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
    assert record.key == "synthetic/2026-11-25/run-7f3a/000001.json"
    assert record.bucket == "tracecanary-incomingbucket-1x2y3z4w5v6u"
    assert record.size == 1024
    assert record.etag == "d41d8cd98f00b204e9800998ecf8427e"
    assert record.sequencer == "0067447B6C1D8E2F53".ljust(32, "0")
    assert record.event_time == "2026-11-25T12:00:00.123Z"


def test_encoded_key_event_is_decoded() -> None:
    [record] = parse_s3_event(load_event("s3-put-encoded-key.json")).created
    assert record.key == "synthetic/reports/Q3 summary + notes été.txt"


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
