import json
import random

import pytest

from generator.payloads import (
    DEFAULT_MIX,
    PayloadClass,
    PayloadSpecError,
    extension_for,
    make_body,
    parse_mix,
    parse_size,
)


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("1", 1),
        ("512B", 512),
        ("1KiB", 1024),
        ("1kb", 1000),
        ("64KiB", 65536),
        ("1MiB", 1048576),
        ("2MB", 2_000_000),
    ],
)
def test_sizes_parse(text: str, size: int) -> None:
    assert parse_size(text) == size


def test_the_issue_example_parses_with_default_content_type() -> None:
    mix = parse_mix("1KiB:70,64KiB:25,1MiB:5")
    assert mix.classes == (
        PayloadClass(1024, 70, "application/octet-stream"),
        PayloadClass(65536, 25, "application/octet-stream"),
        PayloadClass(1048576, 5, "application/octet-stream"),
    )


def test_content_types_are_part_of_the_spec() -> None:
    mix = parse_mix("1KiB:70:application/json, 4KiB:30:text/csv")
    assert [c.content_type for c in mix.classes] == ["application/json", "text/csv"]
    assert parse_mix(DEFAULT_MIX).classes[0].content_type == "application/json"


@pytest.mark.parametrize(
    "spec",
    [
        "",
        "1KiB",
        "1KiB:",
        "1KiB:x",
        "1KiB:0",
        "1KiB:-3",
        "ten:5",
        "1GiB:5",
        "0B:1",
        "1KiB:1,,2KiB:1",
        "1KiB:1:json",
        "1XB:1",
    ],
)
def test_bad_specs_are_user_errors_naming_the_part(spec: str) -> None:
    with pytest.raises(PayloadSpecError) as caught:
        parse_mix(spec)
    assert "\n" not in str(caught.value)


def test_mix_proportions_follow_the_weights() -> None:
    mix = parse_mix("1KiB:70,64KiB:25,1MiB:5")
    rng = random.Random(7)
    picks = [mix.choose(rng).size for _ in range(20_000)]
    shares = {size: picks.count(size) / len(picks) for size in (1024, 65536, 1048576)}
    assert shares[1024] == pytest.approx(0.70, abs=0.015)
    assert shares[65536] == pytest.approx(0.25, abs=0.015)
    assert shares[1048576] == pytest.approx(0.05, abs=0.01)


@pytest.mark.parametrize("content_type", ["application/json", "text/plain", "application/octet-stream"])
@pytest.mark.parametrize("size", [1, 2, 10, 60, 1024, 65536])
def test_bodies_have_the_exact_size_and_are_deterministic(content_type: str, size: int) -> None:
    body = make_body(7, "run-1", 3, size, content_type)
    assert len(body) == size
    assert body == make_body(7, "run-1", 3, size, content_type)
    assert make_body(8, "run-1", 3, size, content_type) != body or size < 3


def test_json_bodies_are_json_with_run_and_sequence() -> None:
    document = json.loads(make_body(1, "run-9", 42, 1024, "application/json"))
    assert document["run_id"] == "run-9"
    assert document["sequence"] == 42


def test_extensions() -> None:
    assert extension_for("application/json") == ".json"
    assert extension_for("application/vnd.api+json") == ".json"
    assert extension_for("text/plain") == ".txt"
    assert extension_for("image/png") == ".bin"
