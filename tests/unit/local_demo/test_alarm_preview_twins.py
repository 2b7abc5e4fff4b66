"""The preview's alarms are the stack's: the OpenTelemetry twin's only where PipelineVariants deploys it."""

from demo.alarm_preview import alarm_specs, is_deployed
from demo.template import load_template

NAMES = {
    "AWS::StackName": "demo",
    "PipelineFunction": "demo-pipeline",
    "ReporterFunction": "demo-reporter",
    "ReportPeriodMinutes": "1",
}
TWINS = {
    **NAMES,
    "PipelineVariants": "powertools,opentelemetry",
    "PipelineOtelFunction": "demo-pipeline-otel",
}


def test_the_twins_alarms_are_previewed_only_when_it_is_deployed() -> None:
    template = load_template()
    alone = {spec.name: spec for spec in alarm_specs(template, NAMES)}
    both = {spec.name: spec for spec in alarm_specs(template, TWINS)}
    twin_only = set(both) - set(alone)
    assert twin_only == {
        "OtelDwellTimeAlarm",
        "OtelInitDurationAlarm",
        "OtelDynamoDbLatencyAlarm",
        "OtelFunctionErrorsAlarm",
    }
    for name in twin_only:
        _, _, dimensions = both[name].key
        assert dict(dimensions)["FunctionName"] == "demo-pipeline-otel"


def test_a_resource_without_a_condition_is_always_deployed() -> None:
    template = load_template()
    resources = template["Resources"]
    assert is_deployed(template, resources["PipelineFunction"], {})
    assert not is_deployed(template, resources["PipelineOtelFunction"], {})  # the default: powertools
    assert is_deployed(
        template, resources["PipelineOtelFunction"], {"PipelineVariants": "powertools,opentelemetry"}
    )
