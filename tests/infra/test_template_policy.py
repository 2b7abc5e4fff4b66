"""Rules every resource of the SAM-translated template must keep, whichever feature added it."""

from collections.abc import Iterator
from typing import Any

import pytest

# AWS APIs that take no resource-level permission: for these alone, Resource "*" is the only choice.
RESOURCELESS_ACTIONS = {
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
    "xray:GetTraceSummaries",
    "xray:BatchGetTraces",
    "xray:GetSamplingRules",
    "xray:GetSamplingTargets",
    "xray:GetTraceSegmentDestination",
    "xray:StartTraceRetrieval",
    "xray:ListRetrievedTraces",
    "cloudwatch:PutMetricData",
}
# Managed policies SAM attaches for logging and active tracing.
ALLOWED_MANAGED_POLICIES = {
    "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
    "arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess",
}


def resources(translated: dict[str, Any], resource_type: str) -> Iterator[tuple[str, dict[str, Any]]]:
    for name, resource in translated["Resources"].items():
        if resource["Type"] == resource_type:
            yield name, resource.get("Properties", {})


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def refers_to(value: Any, logical_id: str) -> bool:
    return value in ({"Ref": logical_id}, {"Fn::GetAtt": [logical_id, "Arn"]})


def test_every_function_is_traced_on_the_lambda_runtime(translated: dict[str, Any]) -> None:
    functions = dict(resources(translated, "AWS::Lambda::Function"))
    assert functions
    for name, properties in functions.items():
        assert properties["TracingConfig"] == {"Mode": "Active"}, name
        assert properties["Runtime"] == "python3.13", name
        assert properties["Architectures"] == [{"Ref": "Architecture"}], name
    assert translated["Parameters"]["Architecture"]["AllowedValues"] == ["arm64", "x86_64"]
    assert translated["Parameters"]["Architecture"]["Default"] == "arm64"


def test_every_function_logs_to_a_group_with_retention(translated: dict[str, Any]) -> None:
    groups = dict(resources(translated, "AWS::Logs::LogGroup"))
    for name, properties in resources(translated, "AWS::Lambda::Function"):
        log_group = properties["LoggingConfig"]["LogGroup"]
        assert "Ref" in log_group, f"{name} writes to a log group the stack does not own"
        assert groups[log_group["Ref"]]["RetentionInDays"] == {"Ref": "LogRetentionDays"}, name


def test_no_wildcard_actions_or_resources(translated: dict[str, Any]) -> None:
    for name, properties in resources(translated, "AWS::IAM::Role"):
        assert set(properties.get("ManagedPolicyArns", [])) <= ALLOWED_MANAGED_POLICIES, name
        for policy in properties.get("Policies", []):
            for statement in as_list(policy["PolicyDocument"]["Statement"]):
                if statement["Effect"] != "Allow":
                    continue
                actions = as_list(statement["Action"])
                assert not any("*" in action for action in actions), f"{name}: {actions}"
                if "*" in as_list(statement["Resource"]):
                    assert set(actions) <= RESOURCELESS_ACTIONS, f"{name}: {actions} on *"


def test_buckets_are_encrypted_private_and_tls_only(translated: dict[str, Any]) -> None:
    policies = {
        properties["Bucket"]["Ref"]: properties
        for _, properties in resources(translated, "AWS::S3::BucketPolicy")
    }
    for name, properties in resources(translated, "AWS::S3::Bucket"):
        assert properties["BucketEncryption"]["ServerSideEncryptionConfiguration"], name
        assert all(properties["PublicAccessBlockConfiguration"].values()), name
        assert len(properties["PublicAccessBlockConfiguration"]) == 4, name
        denies = [
            statement
            for statement in policies[name]["PolicyDocument"]["Statement"]
            if statement["Effect"] == "Deny"
            and statement.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport") == "false"
        ]
        assert denies, f"{name} accepts plain HTTP"


def test_synthetic_objects_expire(translated: dict[str, Any]) -> None:
    _, bucket = next(resources(translated, "AWS::S3::Bucket"))
    rules = bucket["LifecycleConfiguration"]["Rules"]
    expiring = [rule for rule in rules if rule.get("Prefix") == {"Ref": "SyntheticPrefix"}]
    assert expiring[0]["ExpirationInDays"] == {"Ref": "SyntheticObjectExpirationDays"}


def test_tables_are_encrypted_with_point_in_time_recovery(translated: dict[str, Any]) -> None:
    for name, properties in resources(translated, "AWS::DynamoDB::Table"):
        assert properties["SSESpecification"]["SSEEnabled"] is True, name
        assert properties["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True, name
        assert "TableName" not in properties, f"{name}: let CloudFormation name the table"


def test_items_table_has_the_seed_apps_key(translated: dict[str, Any]) -> None:
    table = translated["Resources"]["ItemsTable"]["Properties"]
    assert table["KeySchema"] == [{"AttributeName": "itemID", "KeyType": "HASH"}]
    assert table["BillingMode"] == "PAY_PER_REQUEST"


def test_queues_and_topics_are_encrypted(translated: dict[str, Any]) -> None:
    for name, properties in resources(translated, "AWS::SQS::Queue"):
        assert properties.get("SqsManagedSseEnabled") or properties.get("KmsMasterKeyId"), name
    for name, properties in resources(translated, "AWS::SNS::Topic"):
        assert properties.get("KmsMasterKeyId"), name


@pytest.mark.parametrize("function", ["PipelineFunction", "PipelineOtelFunction"])
def test_s3_triggered_functions_keep_failed_events(translated: dict[str, Any], function: str) -> None:
    configs = [
        properties
        for _, properties in resources(translated, "AWS::Lambda::EventInvokeConfig")
        if properties["FunctionName"] == {"Ref": function}
    ]
    assert len(configs) == 1
    destination = configs[0]["DestinationConfig"]["OnFailure"]["Destination"]
    queue = destination["Fn::GetAtt"][0]
    assert translated["Resources"][queue]["Type"] == "AWS::SQS::Queue"
    role = translated["Resources"][f"{function}Role"]["Properties"]
    sends = [
        statement
        for policy in role["Policies"]
        for statement in as_list(policy["PolicyDocument"]["Statement"])
        if "sqs:SendMessage" in as_list(statement["Action"])
    ]
    assert [statement["Resource"] for statement in sends] == [destination]


@pytest.mark.parametrize("function", ["PipelineFunction", "PipelineOtelFunction"])
def test_pipeline_may_only_put_items(translated: dict[str, Any], function: str) -> None:
    role = translated["Resources"][f"{function}Role"]["Properties"]
    statements = [
        statement
        for policy in role["Policies"]
        for statement in as_list(policy["PolicyDocument"]["Statement"])
    ]
    granted = {action for statement in statements for action in as_list(statement["Action"])}
    assert granted == {"dynamodb:PutItem", "sqs:SendMessage"}
    put = next(statement for statement in statements if statement["Action"] == "dynamodb:PutItem")
    assert refers_to(put["Resource"], "ItemsTable")


def test_parameters_explain_themselves(template: dict[str, Any]) -> None:
    for name, parameter in template["Parameters"].items():
        assert parameter.get("Description"), f"parameter {name} has no description"
        assert "Default" in parameter, f"parameter {name} has no default"


def test_outputs_name_what_users_need(template: dict[str, Any]) -> None:
    outputs = set(template["Outputs"])
    assert {"BucketName", "ItemsTableName", "PipelineFunctionName", "PipelineFailureQueueUrl"} <= outputs


def granted(translated: dict[str, Any], role: str) -> dict[str, list[Any]]:
    """Action -> the resources it is allowed on, over the role's inline policies."""
    actions: dict[str, list[Any]] = {}
    for policy in translated["Resources"][role]["Properties"]["Policies"]:
        for statement in as_list(policy["PolicyDocument"]["Statement"]):
            for action in as_list(statement["Action"]):
                actions.setdefault(action, []).extend(as_list(statement["Resource"]))
    return actions


def test_generator_may_only_put_synthetic_objects_and_write_its_manifest(translated: dict[str, Any]) -> None:
    actions = granted(translated, "GeneratorFunctionRole")
    assert set(actions) == {
        "s3:PutObject",
        "dynamodb:BatchWriteItem",
        "xray:PutTraceSegments",
        "xray:PutTelemetryRecords",
    }
    assert actions["s3:PutObject"] == [{"Fn::Sub": "${IncomingBucket.Arn}/${SyntheticPrefix}*"}]
    assert [refers_to(resource, "ManifestTable") for resource in actions["dynamodb:BatchWriteItem"]] == [True]


def test_reporter_may_only_read(translated: dict[str, Any]) -> None:
    actions = granted(translated, "ReporterFunctionRole")
    assert set(actions) == {
        "xray:BatchGetTraces",
        "xray:GetTraceSummaries",
        # Transaction Search: where the account's spans go, and its retrieval by id; nothing more.
        "xray:GetTraceSegmentDestination",
        "xray:StartTraceRetrieval",
        "xray:ListRetrievedTraces",
        "dynamodb:Query",
        "dynamodb:BatchGetItem",
        "dynamodb:GetItem",
        "dynamodb:UpdateItem",
    }
    assert [refers_to(r, "ManifestTable") for r in actions["dynamodb:Query"]] == [True]
    assert [refers_to(r, "ItemsTable") for r in actions["dynamodb:BatchGetItem"]] == [True]
    assert [refers_to(r, "ReporterStateTable") for r in actions["dynamodb:UpdateItem"]] == [True]
