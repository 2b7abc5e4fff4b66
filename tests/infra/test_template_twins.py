"""The OpenTelemetry twin in template.yaml: deployed only when PipelineVariants asks, beside the first
pipeline on the same bucket with a notification filter of its own, as the generator's key layout expects."""

from typing import Any

from common.variants import DEFAULT_VARIANTS, PipelineVariant, parse_variants, variant_prefix
from demo.twins import HANDLERS, LAYERS
from tests.conftest import PROJECT_ROOT

TWIN = "DeployOpenTelemetryTwin"
FUNCTIONS = {variant: variant.logical_id for variant in PipelineVariant}


def test_the_parameter_offers_the_variants_the_generator_reads(template: dict[str, Any]) -> None:
    parameter = template["Parameters"]["PipelineVariants"]
    assert parse_variants(parameter["Default"]) == DEFAULT_VARIANTS
    offered = [parse_variants(value) for value in parameter["AllowedValues"]]
    assert offered == [
        (PipelineVariant.POWERTOOLS,),
        (PipelineVariant.POWERTOOLS, PipelineVariant.OPENTELEMETRY),
    ]
    [with_twin] = [value for value in parameter["AllowedValues"] if PipelineVariant.OPENTELEMETRY in value]
    assert template["Conditions"][TWIN] == {"Fn::Equals": [{"Ref": "PipelineVariants"}, with_twin]}
    generator = template["Resources"]["GeneratorFunction"]["Properties"]["Environment"]["Variables"]
    assert generator["PIPELINE_VARIANTS"] == {"Ref": "PipelineVariants"}


def test_everything_of_the_twin_is_conditional(template: dict[str, Any]) -> None:
    twin = {"PipelineOtelFunction", "PipelineOtelLogGroup", "OpenTelemetryLayer"}
    twin |= {name for name in template["Resources"] if name.startswith("Otel")}
    for name in twin:
        assert template["Resources"][name].get("Condition") == TWIN, name
    for name, output in template["Outputs"].items():
        if "Otel" in name:
            assert output.get("Condition") == TWIN, name


def _notification_filters(translated: dict[str, Any]) -> dict[str, tuple[str | None, str]]:
    """Function logical id -> (its condition, its key prefix) of the bucket's Lambda notifications."""
    configurations = translated["Resources"]["IncomingBucket"]["Properties"]["NotificationConfiguration"]
    found = {}
    for listed in configurations["LambdaConfigurations"]:
        condition, entry = None, listed
        if "Fn::If" in listed:
            condition, entry, otherwise = listed["Fn::If"]
            assert otherwise == {"Ref": "AWS::NoValue"}
        assert entry["Event"] == "s3:ObjectCreated:*"
        [rule] = entry["Filter"]["S3Key"]["Rules"]
        assert rule["Name"] == "prefix"
        found[entry["Function"]["Fn::GetAtt"][0]] = (condition, rule["Value"]["Fn::Sub"])
    return found


def test_each_twin_is_notified_of_its_own_prefix_only_and_the_prefixes_cannot_overlap(
    translated: dict[str, Any],
) -> None:
    filters = _notification_filters(translated)
    assert filters == {
        FUNCTIONS[variant]: (
            None if variant in DEFAULT_VARIANTS else TWIN,
            variant_prefix("${SyntheticPrefix}", variant),  # where the generator puts the variant's keys
        )
        for variant in PipelineVariant
    }
    # S3 refuses two configurations of one event type whose prefixes overlap: whatever SyntheticPrefix
    # is, the variants' parts differ from their first character on.
    parts = [prefix.removeprefix("${SyntheticPrefix}") for _, prefix in filters.values()]
    assert len({part[0] for part in parts}) == len(parts)


def test_the_twin_runs_its_handler_with_its_layer_on_the_functions_architecture(
    template: dict[str, Any],
) -> None:
    resources = template["Resources"]
    assert FUNCTIONS == {
        PipelineVariant.POWERTOOLS: "PipelineFunction",
        PipelineVariant.OPENTELEMETRY: "PipelineOtelFunction",
    }
    for variant, function in FUNCTIONS.items():
        assert resources[function]["Properties"]["Handler"] == HANDLERS[variant]  # what the demo runs
        assert resources[function]["Properties"]["FunctionName"] == {
            "Fn::Sub": f"${{AWS::StackName}}-{variant.function_suffix}"
        }
    twin = resources["PipelineOtelFunction"]["Properties"]
    assert twin["Layers"] == [{"Ref": "OpenTelemetryLayer"}]
    assert twin["MemorySize"] == resources["PipelineFunction"]["Properties"]["MemorySize"]
    layer = resources["OpenTelemetryLayer"]
    assert layer["Metadata"] == {"BuildMethod": "python3.13", "BuildArchitecture": {"Ref": "Architecture"}}
    assert layer["Properties"]["CompatibleRuntimes"] == ["python3.13"]
    assert layer["Properties"]["CompatibleArchitectures"] == [{"Ref": "Architecture"}]
    content = PROJECT_ROOT / layer["Properties"]["ContentUri"]
    assert LAYERS[PipelineVariant.OPENTELEMETRY] == (content.resolve(),)  # the layer the demo builds
    assert (content / "requirements.txt").is_file()
    assert "aws-opentelemetry-distro==" in (content / "requirements.txt").read_text()


def test_the_twin_is_configured_as_the_first_but_for_tracing(template: dict[str, Any]) -> None:
    first = template["Resources"]["PipelineFunction"]["Properties"]
    twin = template["Resources"]["PipelineOtelFunction"]["Properties"]
    for key in ("MemorySize", "Policies", "EventInvokeConfig"):
        assert twin[key] == first[key], key
    assert (
        twin["Environment"]["Variables"]["ITEMS_TABLE_NAME"]
        == first["Environment"]["Variables"]["ITEMS_TABLE_NAME"]
    )
    assert (
        twin["Environment"]["Variables"]["POWERTOOLS_SERVICE_NAME"]
        != first["Environment"]["Variables"]["POWERTOOLS_SERVICE_NAME"]
    )
    assert twin["LoggingConfig"] == {"LogGroup": {"Ref": "PipelineOtelLogGroup"}, "LogFormat": "Text"}
    group = template["Resources"]["PipelineOtelLogGroup"]["Properties"]
    assert group["LogGroupName"] == {"Fn::Sub": "/aws/lambda/${AWS::StackName}-pipeline-otel"}
