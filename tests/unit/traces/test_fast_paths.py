"""The engine's fast paths give exactly what the plain forms they replace give."""

import random
import struct

from tests.unit.traces.helpers import function_segment, part, segment
from traces.analysis import analyze, build_trees
from traces.parts import round_ms
from traces.tree import build_tree


def _bits(value: float) -> bytes:
    return struct.pack("<d", value)


def test_round_ms_is_round_to_three_places_bit_for_bit() -> None:
    generator = random.Random(7)
    values = [generator.uniform(-1e9, 1e9) for _ in range(20_000)]
    values += [generator.uniform(-100.0, 100.0) for _ in range(20_000)]
    # Ties and near-ties in the third decimal place, both signs.
    values += [
        generator.randint(-(10**6), 10**6) / 1000 + 0.0005 * generator.choice((-1, 1)) for _ in range(20_000)
    ]
    values += [k / 2000 for k in range(-20_000, 20_000)]
    values += [0.0, -0.0, 1e-9, -1e-9, 0.0005, -0.0005, 0.0015, 2.5e-4, 1e9 - 0.0005, 4.5e11, -4.5e11, 1e15]
    for value in values:
        assert _bits(round_ms(value)) == _bits(round(value, 3)), value


def test_function_segments_are_found_while_the_tree_is_built() -> None:
    inferred = segment("b000000000000001", "fn", 1.0, 2.0, origin="AWS::Lambda::Function", inferred=True)
    first = function_segment("f000000000000001", 3.0, 4.0)
    second = function_segment("f000000000000002", 1.0, 2.0)
    other = segment("c000000000000001", "api", 0.5, 5.0, origin="AWS::ApiGateway::Stage")
    documents = {str(doc["id"]): doc for doc in (inferred, first, other, second)}
    tree = build_tree("1-00000000-000000000000000000000000", documents)
    assert tree.functions == [first, second]  # input order; the inferred copy is no invocation
    result = analyze([inferred, first, other, second])
    assert [invocation.start for invocation in result.invocations] == [1.0, 3.0]  # start order


def test_a_handed_over_index_gives_the_same_tree() -> None:
    call = part("s000000000000001", "S3", 1.1, 1.2, namespace="aws")
    function = function_segment("f000000000000001", 1.0, 2.0, subsegments=[call])
    (copied,), _ = build_trees([function])
    handed = build_tree(copied.trace_id, {"f000000000000001": function}, hand_over=True)
    assert handed.by_id == copied.by_id
    assert handed.owner == copied.owner
    assert handed.functions == copied.functions == [function]
