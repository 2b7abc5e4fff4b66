"""A deployed tracecanary stack's outputs: the names the CLI needs, looked up by stack name."""

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

from common.errors import UserError


def stack_outputs(stack_name: str, cloudformation: Any | None = None) -> dict[str, str]:
    """OutputKey -> OutputValue of the stack, or a UserError saying why they cannot be read."""
    try:
        if cloudformation is None:
            import boto3

            cloudformation = boto3.client("cloudformation")
        stacks = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
    except NoCredentialsError:
        raise UserError("no AWS credentials found (set AWS_PROFILE or run `aws configure`)") from None
    except ClientError as error:
        message = error.response.get("Error", {}).get("Message", str(error))
        raise UserError(f"cannot read stack {stack_name!r}: {message}") from None
    except BotoCoreError as error:
        raise UserError(f"cannot reach CloudFormation for stack {stack_name!r}: {error}") from None
    return {output["OutputKey"]: output["OutputValue"] for output in stacks[0].get("Outputs", [])}


def require(outputs: dict[str, str], stack_name: str, *names: str) -> list[str]:
    missing = [name for name in names if name not in outputs]
    if missing:
        raise UserError(
            f"stack {stack_name!r} has no output {', '.join(missing)}: is it a tracecanary stack, deployed "
            "from this version of template.yaml?"
        )
    return [outputs[name] for name in names]
