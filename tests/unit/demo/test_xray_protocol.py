"""The daemon protocol: a JSON header line, then one segment or subsegment document."""

import json

import pytest

from demo.xray_daemon import MalformedDatagramError, encode_datagram, parse_datagram

SEGMENT = {"id": "1a2b3c4d5e6f7081", "trace_id": "1-6745a1b0-00000000000000000000abcd", "name": "f"}


def test_the_x_ray_sdk_datagram_is_read() -> None:
    # Byte for byte what aws_xray_sdk's UDPEmitter sends.
    datagram = b'{"format":"json","version":1}\n' + json.dumps(SEGMENT).encode()
    assert parse_datagram(datagram) == SEGMENT


def test_encoded_datagrams_read_back() -> None:
    subsegment = {**SEGMENT, "type": "subsegment", "parent_id": "0102030405060708"}
    assert parse_datagram(encode_datagram(subsegment)) == subsegment


@pytest.mark.parametrize(
    ("datagram", "reason"),
    [
        (b"", "no newline"),
        (json.dumps(SEGMENT).encode(), "no newline"),
        (b'{"format":"json","version":1}' + json.dumps(SEGMENT).encode(), "no newline"),
        (b"format json\n{}", "header is not JSON"),
        (b'{"format":"xml","version":1}\n{}', "unsupported header"),
        (b'{"format":"json","version":2}\n{}', "unsupported header"),
        (b'["json", 1]\n{}', "unsupported header"),
        (b'{"format":"json","version":1}\n{"id": ', "document is not JSON"),
        (b'{"format":"json","version":1}\n[1, 2]', "not a JSON object"),
        (b'{"format":"json","version":1}\n{"trace_id": "1-2-3"}', "no 'id'"),
        (b'{"format":"json","version":1}\n{"id": "a", "trace_id": ""}', "no 'trace_id'"),
        (
            b'{"format":"json","version":1}\n{"id": "a", "trace_id": "t", "type": "subsegment"}',
            "no 'parent_id'",
        ),
        (b'{"format":"json","version":1}\n\xff\xfe', "document is not JSON"),
    ],
)
def test_malformed_datagrams_say_why(datagram: bytes, reason: str) -> None:
    with pytest.raises(MalformedDatagramError, match=reason):
        parse_datagram(datagram)
