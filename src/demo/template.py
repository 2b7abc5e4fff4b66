"""Reading template.yaml, so the local stack is made from the same definitions `sam deploy` uses."""

from pathlib import Path
from typing import Any

import yaml

from common.errors import UserError
from common.variants import PipelineVariant, parse_variants

TEMPLATE_PATH = Path(__file__).resolve().parents[2] / "template.yaml"


class _CloudFormationLoader(yaml.SafeLoader):
    """Reads CloudFormation's short tags (!Ref, !Sub, !GetAtt ...) as their long JSON forms."""


def _construct_tag(loader: yaml.SafeLoader, tag_suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = "Ref" if tag_suffix == "Ref" else f"Fn::{tag_suffix}"
    value: Any
    if isinstance(node, yaml.ScalarNode):
        scalar = loader.construct_scalar(node)
        value = scalar.split(".", 1) if tag_suffix == "GetAtt" else scalar
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {name: value}


_CloudFormationLoader.add_multi_constructor("!", _construct_tag)


def load_template(path: Path = TEMPLATE_PATH) -> dict[str, Any]:
    template: dict[str, Any] = yaml.load(path.read_text(), Loader=_CloudFormationLoader)  # noqa: S506
    return template


def resource_properties(template: dict[str, Any], logical_id: str) -> dict[str, Any]:
    properties: dict[str, Any] = template["Resources"][logical_id].get("Properties", {})
    return properties


def offered_variants(template: dict[str, Any], text: str, where: str) -> tuple[PipelineVariant, ...]:
    """The pipeline twins `text` names, if the template's PipelineVariants takes them (in that order)."""
    twins = parse_variants(text, where=where)
    allowed = template["Parameters"]["PipelineVariants"]["AllowedValues"]
    if ",".join(twins) not in allowed:
        raise UserError(f"{where}: {','.join(twins)} is not one the template takes ({' or '.join(allowed)})")
    return twins


def parameter_default(template: dict[str, Any], name: str) -> Any:
    return template["Parameters"][name]["Default"]


def translate(template: dict[str, Any], region: str = "us-east-1") -> dict[str, Any]:
    """The plain CloudFormation that SAM makes of the template, as `sam deploy` would have it made.

    Local code paths become placeholder S3 URIs first, as `sam package` would upload them.
    """
    import copy
    import os

    from samtranslator.translator.transform import transform

    packaged = copy.deepcopy(template)
    function_globals = packaged.get("Globals", {}).get("Function", {})
    if "CodeUri" in function_globals:
        function_globals["CodeUri"] = "s3://tracecanary-artifacts/code.zip"
    for resource in packaged["Resources"].values():
        if resource["Type"] == "AWS::Serverless::Function" and "CodeUri" in resource.get("Properties", {}):
            resource["Properties"]["CodeUri"] = "s3://tracecanary-artifacts/code.zip"
        is_layer = resource["Type"] == "AWS::Serverless::LayerVersion"
        if is_layer and "ContentUri" in resource.get("Properties", {}):
            resource["Properties"]["ContentUri"] = "s3://tracecanary-artifacts/layer.zip"

    class _NoManagedPolicies:
        def load(self) -> dict[str, str]:
            return {}

    previous_region = os.environ.get("AWS_DEFAULT_REGION")
    os.environ["AWS_DEFAULT_REGION"] = region  # the translator reads the region from the environment
    try:
        translated: dict[str, Any] = transform(packaged, {}, _NoManagedPolicies())
    finally:
        if previous_region is None:
            del os.environ["AWS_DEFAULT_REGION"]
        else:
            os.environ["AWS_DEFAULT_REGION"] = previous_region
    return translated
