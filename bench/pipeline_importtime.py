"""Reading `python -X importtime` output: the import tree of one module, and its time by owning package."""

import sys
from collections import defaultdict
from dataclasses import dataclass

# Their self time includes running their module bodies (dataclasses, field tables, compiled patterns).
OWN = "the function's own modules (handlers, pipeline, common, instrumentation)"
OPENTELEMETRY = "opentelemetry (API, SDK, semconv, OTLP encoders, botocore instrumentation, X-Ray propagator)"
# Who owns a top-level module, for the summary. Anything third-party not listed is "other third-party".
OWNERS = {
    "aws_lambda_powertools": "aws_lambda_powertools",
    "aws_xray_sdk": "aws_xray_sdk",
    "wrapt": "wrapt (the X-Ray SDK's and OpenTelemetry's patching)",
    "opentelemetry": OPENTELEMETRY,
    "amazon": "aws-opentelemetry-distro (its UDP exporter)",
    "google": "protobuf",
    "pydantic": "pydantic (+ pydantic_core, annotated_types, typing_inspection)",
    "pydantic_core": "pydantic (+ pydantic_core, annotated_types, typing_inspection)",
    "annotated_types": "pydantic (+ pydantic_core, annotated_types, typing_inspection)",
    "typing_inspection": "pydantic (+ pydantic_core, annotated_types, typing_inspection)",
    "boto3": "boto3/botocore (+ s3transfer, urllib3, jmespath, dateutil, six)",
    "botocore": "boto3/botocore (+ s3transfer, urllib3, jmespath, dateutil, six)",
    "s3transfer": "boto3/botocore (+ s3transfer, urllib3, jmespath, dateutil, six)",
    "urllib3": "boto3/botocore (+ s3transfer, urllib3, jmespath, dateutil, six)",
    "jmespath": "boto3/botocore (+ s3transfer, urllib3, jmespath, dateutil, six)",
    "dateutil": "boto3/botocore (+ s3transfer, urllib3, jmespath, dateutil, six)",
    "six": "boto3/botocore (+ s3transfer, urllib3, jmespath, dateutil, six)",
    "handlers": OWN,
    "pipeline": OWN,
    "common": OWN,
    "instrumentation": OWN,
}
STDLIB = "stdlib"


@dataclass(frozen=True)
class ImportEntry:
    name: str
    self_us: int
    cumulative_us: int
    depth: int


@dataclass(frozen=True)
class ImportTree:
    """Entries in importtime's order: each module after everything it imported (post-order)."""

    entries: tuple[ImportEntry, ...]

    def subtree(self, root: str) -> list[ImportEntry]:
        """The first import of `root` and everything imported while it was being imported."""
        for index, entry in enumerate(self.entries):
            if entry.name == root:
                start = index
                while start > 0 and self.entries[start - 1].depth > entry.depth:
                    start -= 1
                return list(self.entries[start : index + 1])
        raise KeyError(f"{root} is not in the importtime output")


def parse_importtime(stderr: str) -> ImportTree:
    entries = []
    for line in stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        self_part, cumulative_part, name_part = line.removeprefix("import time:").split("|", 2)
        # The name comes after one space, indented two spaces per level of nesting.
        indent = len(name_part) - len(name_part.lstrip(" ")) - 1
        entries.append(ImportEntry(name_part.strip(), int(self_part), int(cumulative_part), indent // 2))
    return ImportTree(tuple(entries))


def owner(module: str) -> str:
    top = module.partition(".")[0]
    if top in OWNERS:
        return OWNERS[top]
    if top in sys.stdlib_module_names:
        return STDLIB
    return "other third-party"


def group_self_times(tree: ImportTree, root: str) -> dict[str, float]:
    """Self time (µs) of everything `root` imports, by owner; a stdlib module counts for the package that
    imported it (so boto3's `http.client` is boto3's cost, pydantic's `inspect` is pydantic's)."""
    entries = tree.subtree(root)
    totals: dict[str, float] = defaultdict(float)
    # Walking backwards visits each parent before its children: remember the nearest non-stdlib owner.
    owner_at_depth: dict[int, str] = {}
    for entry in reversed(entries):
        own = owner(entry.name)
        if own == STDLIB:
            own = owner_at_depth.get(entry.depth - 1, STDLIB)
        owner_at_depth[entry.depth] = own
        totals[own] += entry.self_us
    return dict(totals)
