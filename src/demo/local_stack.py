"""The template's storage on a moto server: every bucket, table and queue of template.yaml.

Names follow CloudFormation's habit (`<stack>-<LogicalId>`); the properties that shape behaviour (keys,
billing, TTL, retention) come from the template itself, so the local stack cannot drift from the deployed one.
"""

from dataclasses import dataclass, field
from typing import Any

import boto3

from demo.s3_notifications import route_object_created_to_queue
from demo.template import load_template, parameter_default


@dataclass(frozen=True)
class LocalStack:
    stack_name: str
    bucket: str
    synthetic_prefix: str
    tables: dict[str, str]  # logical id -> table name
    queues: dict[str, str]  # logical id -> queue URL
    notifications_queue_url: str
    parameters: dict[str, Any] = field(default_factory=dict)

    @property
    def items_table(self) -> str:
        return self.tables["ItemsTable"]

    @property
    def failure_queue_url(self) -> str:
        return self.queues["PipelineFailureQueue"]

    def pipeline_environment(self) -> dict[str, str]:
        """What template.yaml gives the pipeline function, pointed at this stack."""
        return {
            "PIPELINE_NAME": self.stack_name,
            "ITEMS_TABLE_NAME": self.items_table,
            "POWERTOOLS_SERVICE_NAME": "pipeline",
            "POWERTOOLS_METRICS_NAMESPACE": "TraceCanary",
        }


def create_local_stack(stack_name: str = "tracecanary-local") -> LocalStack:
    """Create the stack's storage with boto3 (pointed at moto by AWS_ENDPOINT_URL), from template.yaml."""
    template = load_template()
    s3 = boto3.client("s3")
    dynamodb = boto3.client("dynamodb")
    sqs = boto3.client("sqs")
    buckets: list[str] = []
    tables: dict[str, str] = {}
    queues: dict[str, str] = {}
    for logical_id, resource in template["Resources"].items():
        properties = resource.get("Properties", {})
        name = f"{stack_name}-{logical_id}"
        if resource["Type"] == "AWS::S3::Bucket":
            s3.create_bucket(Bucket=name.lower())
            buckets.append(name.lower())
        elif resource["Type"] == "AWS::DynamoDB::Table":
            _create_table(dynamodb, name, properties)
            tables[logical_id] = name
        elif resource["Type"] == "AWS::SQS::Queue":
            queues[logical_id] = sqs.create_queue(QueueName=name)["QueueUrl"]
    [bucket] = buckets
    return LocalStack(
        stack_name=stack_name,
        bucket=bucket,
        synthetic_prefix=str(parameter_default(template, "SyntheticPrefix")),
        tables=tables,
        queues=queues,
        notifications_queue_url=route_object_created_to_queue(s3, sqs, bucket),
        parameters={name: spec.get("Default") for name, spec in template["Parameters"].items()},
    )


def _create_table(dynamodb: Any, name: str, properties: dict[str, Any]) -> None:
    dynamodb.create_table(
        TableName=name,
        AttributeDefinitions=properties["AttributeDefinitions"],
        KeySchema=properties["KeySchema"],
        BillingMode=properties["BillingMode"],
    )
    dynamodb.get_waiter("table_exists").wait(TableName=name)
    ttl = properties.get("TimeToLiveSpecification")
    if ttl:
        dynamodb.update_time_to_live(TableName=name, TimeToLiveSpecification=ttl)
