"""The template's Rules: combinations of parameters under which the alarms could not work are refused."""

from typing import Any


def _value(expression: Any, parameters: dict[str, str]) -> Any:
    if isinstance(expression, dict):
        [(function, argument)] = expression.items()
        if function == "Ref":
            return parameters[argument]
        if function == "Fn::Equals":
            left, right = (_value(part, parameters) for part in argument)
            return str(left) == str(right)
        if function == "Fn::Contains":
            values, value = argument
            return str(_value(value, parameters)) in [str(item) for item in values]
        raise AssertionError(f"a rule function this test does not evaluate: {function}")
    return expression


def refused(template: dict[str, Any], parameters: dict[str, str]) -> list[str]:
    """The rules whose condition holds and one of whose assertions fails, as CloudFormation checks them."""
    failed = []
    for name, rule in template.get("Rules", {}).items():
        if "RuleCondition" in rule and not _value(rule["RuleCondition"], parameters):
            continue
        if not all(_value(assertion["Assert"], parameters) for assertion in rule["Assertions"]):
            failed.append(name)
    return failed


def test_a_generator_slower_than_the_window_is_refused_and_every_other_combination_passes(
    template: dict[str, Any],
) -> None:
    periods = template["Parameters"]["ReportPeriodMinutes"]["AllowedValues"]
    schedules = template["Parameters"]["GeneratorScheduleMinutes"]["AllowedValues"]
    for period in periods:
        for schedule in schedules:
            parameters = {"ReportPeriodMinutes": str(period), "GeneratorScheduleMinutes": str(schedule)}
            assert bool(refused(template, parameters)) == (schedule > period), parameters
