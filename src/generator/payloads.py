"""The payload mix: weighted sizes and content types, and deterministic object bodies.

A mix spec is a comma-separated list of `SIZE:WEIGHT[:CONTENT_TYPE]`, for example
`1KiB:70:application/json,64KiB:25:text/plain,1MiB:5`. SIZE is an integer with an optional unit
(`B`, `KB`, `KiB`, `MB`, `MiB`); WEIGHT is a positive number; CONTENT_TYPE defaults to
`application/octet-stream`. Bodies depend only on (seed, run, sequence, size, content type).
"""

import hashlib
import json
import random
import re
from dataclasses import dataclass

from common.errors import UserError

DEFAULT_CONTENT_TYPE = "application/octet-stream"
DEFAULT_MIX = "1KiB:70:application/json,64KiB:25:text/plain,1MiB:5:application/octet-stream"
# One PutObject body is held in memory per busy worker: keep a single object well below Lambda's memory.
MAX_OBJECT_BYTES = 64 * 1024 * 1024

_UNITS = {"": 1, "b": 1, "kb": 1000, "kib": 1024, "mb": 1000**2, "mib": 1024**2}
_SIZE = re.compile(r"^\s*(\d+)\s*([A-Za-z]*)\s*$")
_CONTENT_TYPE = re.compile(r"^[A-Za-z0-9][\w.+-]*/[A-Za-z0-9][\w.+-]*$")
_EXTENSIONS = {"application/json": ".json", "text/plain": ".txt", "text/csv": ".csv"}


class PayloadSpecError(UserError):
    """A payload mix spec that does not parse."""


@dataclass(frozen=True, slots=True)
class PayloadClass:
    size: int
    weight: float
    content_type: str


@dataclass(frozen=True, slots=True)
class PayloadMix:
    classes: tuple[PayloadClass, ...]

    def choose(self, rng: random.Random) -> PayloadClass:
        """One class, drawn with probability proportional to its weight."""
        return rng.choices(self.classes, weights=[c.weight for c in self.classes])[0]

    @property
    def mean_size(self) -> float:
        total = sum(c.weight for c in self.classes)
        return sum(c.size * c.weight for c in self.classes) / total

    def describe(self) -> str:
        return ",".join(f"{c.size}B:{c.weight:g}:{c.content_type}" for c in self.classes)


def parse_size(text: str) -> int:
    """`1KiB` -> 1024; raises PayloadSpecError on anything else than an integer with a known unit."""
    match = _SIZE.match(text)
    if match is None or match.group(2).lower() not in _UNITS:
        raise PayloadSpecError(f"size {text!r} is not a number of bytes with a unit of B, KB, KiB, MB or MiB")
    size = int(match.group(1)) * _UNITS[match.group(2).lower()]
    if not 0 < size <= MAX_OBJECT_BYTES:
        raise PayloadSpecError(f"size {text!r} must be between 1 byte and {MAX_OBJECT_BYTES // 1024**2} MiB")
    return size


def parse_mix(spec: str) -> PayloadMix:
    """Parse `SIZE:WEIGHT[:CONTENT_TYPE],...`; raises PayloadSpecError naming the bad part."""
    parts = [part.strip() for part in spec.split(",")]
    if not spec.strip() or any(not part for part in parts):
        raise PayloadSpecError(
            f"payload mix {spec!r} is empty or has an empty entry; expected SIZE:WEIGHT,..."
        )
    classes = []
    for part in parts:
        fields = part.split(":", 2)
        if len(fields) < 2:
            raise PayloadSpecError(f"payload mix entry {part!r} is not SIZE:WEIGHT[:CONTENT_TYPE]")
        size = parse_size(fields[0])
        try:
            weight = float(fields[1])
        except ValueError:
            raise PayloadSpecError(f"weight {fields[1]!r} in {part!r} is not a number") from None
        if not weight > 0 or weight == float("inf"):
            raise PayloadSpecError(f"weight {fields[1]!r} in {part!r} must be a positive number")
        content_type = fields[2].strip() if len(fields) == 3 else DEFAULT_CONTENT_TYPE
        if not _CONTENT_TYPE.match(content_type):
            raise PayloadSpecError(f"content type {content_type!r} in {part!r} is not TYPE/SUBTYPE")
        classes.append(PayloadClass(size=size, weight=weight, content_type=content_type))
    return PayloadMix(classes=tuple(classes))


def extension_for(content_type: str) -> str:
    """A file extension for the key, so objects are easy to open by hand."""
    if content_type in _EXTENSIONS:
        return _EXTENSIONS[content_type]
    return ".json" if content_type.endswith("+json") else ".bin"


def object_seed(seed: int, run_id: str, sequence: int) -> int:
    digest = hashlib.sha256(f"{seed}/{run_id}/{sequence}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


def make_body(seed: int, run_id: str, sequence: int, size: int, content_type: str) -> bytes:
    """Exactly `size` bytes, the same for the same arguments: JSON, text (hex lines) or binary."""
    rng = random.Random(object_seed(seed, run_id, sequence))
    if content_type == "application/json" or content_type.endswith("+json"):
        return _json_body(rng, run_id, sequence, size)
    if content_type.startswith("text/"):
        return _text_body(rng, size)
    return rng.randbytes(size)


def _text_body(rng: random.Random, size: int) -> bytes:
    hex_text = rng.randbytes((size + 1) // 2).hex()
    lines = [hex_text[i : i + 63] for i in range(0, len(hex_text), 64)]
    return "\n".join(lines).encode().ljust(size, b"\n")[:size]


def _json_body(rng: random.Random, run_id: str, sequence: int, size: int) -> bytes:
    head: dict[str, object] = {"tracecanary": True, "run_id": run_id, "sequence": sequence, "pad": ""}
    empty = json.dumps(head, separators=(",", ":")).encode()
    room = size - len(empty)
    if room < 0:  # too small for the envelope: still valid JSON of the right length
        return b"0" if size < 2 else b'"' + rng.randbytes(size).hex()[: size - 2].encode() + b'"'
    head["pad"] = rng.randbytes((room + 1) // 2).hex()[:room]
    return json.dumps(head, separators=(",", ":")).encode()
