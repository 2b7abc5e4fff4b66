"""The template's storage on a moto server: bucket, items table, failure queue, S3 notifications."""

from dataclasses import dataclass
from typing import Any

import boto3

from demo.s3_notifications import route_object_created_to_queue
from demo.template import load_template, parameter_default, resource_properties


@dataclass(frozen=True)
class LocalStack:
    stack_name: str
    bucket: str
    synthetic_prefix: str
    items_table: str
    failure_queue_url: str
    notifications_queue_url: str

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

    bucket = f"{stack_name}-incomingbucket"
    s3.create_bucket(Bucket=bucket)
    items_table = f"{stack_name}-ItemsTable"
    _create_table(dynamodb, items_table, resource_properties(template, "ItemsTable"))
    failure_queue_url = sqs.create_queue(QueueName=f"{stack_name}-PipelineFailureQueue")["QueueUrl"]
    return LocalStack(
        stack_name=stack_name,
        bucket=bucket,
        synthetic_prefix=str(parameter_default(template, "SyntheticPrefix")),
        items_table=items_table,
        failure_queue_url=failure_queue_url,
        notifications_queue_url=route_object_created_to_queue(s3, sqs, bucket),
    )


def _create_table(dynamodb: Any, name: str, properties: dict[str, Any]) -> None:
    dynamodb.create_table(
        TableName=name,
        AttributeDefinitions=properties["AttributeDefinitions"],
        KeySchema=properties["KeySchema"],
        BillingMode=properties["BillingMode"],
    )
    dynamodb.get_waiter("table_exists").wait(TableName=name)
