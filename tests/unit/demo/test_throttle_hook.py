"""Injected DynamoDB throttling: every client the function creates gets DynamoDB's real error response."""

from typing import Any

import botocore.session
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from demo.runtime_config import FaultInjection
from demo.runtime_worker import Job, _ThrottleHook


@pytest.fixture
def hook(monkeypatch: pytest.MonkeyPatch) -> _ThrottleHook:
    # install() wraps Session.create_client for the whole process: give the original back afterwards.
    monkeypatch.setattr(botocore.session.Session, "create_client", botocore.session.Session.create_client)
    throttle = _ThrottleHook(FaultInjection(throttle=1.0), "tc-pipeline")
    throttle.install()
    throttle.begin(Job(event={}, request_id="r", trace_header="", sequence=0, attempt=1))
    return throttle


def test_a_throttled_call_fails_as_dynamodb_fails_it(hook: _ThrottleHook) -> None:
    client: Any = botocore.session.get_session().create_client(
        "dynamodb",
        region_name="us-east-1",
        endpoint_url="http://127.0.0.1:9",  # never reached: the hook answers before sending
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"mode": "standard", "max_attempts": 1}),
    )
    with pytest.raises(ClientError) as raised:
        client.put_item(TableName="items", Item={"itemID": {"S": "a"}})
    error = raised.value.response
    assert error["Error"]["Code"] == "ThrottlingException"
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_other_services_are_left_alone(hook: _ThrottleHook) -> None:
    client: Any = botocore.session.get_session().create_client(
        "sqs", region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing"
    )
    _, response = client.meta.events.emit_until_response("before-send.sqs.ListQueues", request=None)
    assert response is None  # no error response: the request would go out as usual


def test_calls_not_picked_for_throttling_go_out_as_usual() -> None:
    throttle = _ThrottleHook(FaultInjection(throttle=0.0), "tc-pipeline")
    throttle.before_call()
    assert throttle.before_send(request=None) is None
