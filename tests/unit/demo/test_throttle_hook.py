"""The emulator's fault hooks (lambda_bootstrap.py): DynamoDB's real throttling error on every client the
function creates, and an injected function error in place of the handler."""

import importlib
import sys
from collections.abc import Iterator
from typing import Any

import botocore.session
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from demo.lambda_bootstrap import InjectedFunctionError, PatchOnImport, ThrottleHook, with_injected_errors


@pytest.fixture
def hook(monkeypatch: pytest.MonkeyPatch) -> ThrottleHook:
    # hook_sessions() wraps Session.create_client for the whole process: give the original back afterwards.
    monkeypatch.setattr(botocore.session.Session, "create_client", botocore.session.Session.create_client)
    throttle = ThrottleHook(lambda: True, "dynamodb", "ThrottlingException")
    throttle.hook_sessions(botocore.session)
    return throttle


def test_a_throttled_call_fails_as_dynamodb_fails_it(hook: ThrottleHook) -> None:
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


def test_other_services_are_left_alone(hook: ThrottleHook) -> None:
    client: Any = botocore.session.get_session().create_client(
        "sqs", region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing"
    )
    _, response = client.meta.events.emit_until_response("before-send.sqs.ListQueues", request=None)
    assert response is None  # no error response: the request would go out as usual


def test_calls_not_picked_for_throttling_go_out_as_usual() -> None:
    throttle = ThrottleHook(lambda: False, "dynamodb", "ThrottlingException")
    throttle.before_call()
    assert throttle.before_send(request=None) is None


@pytest.fixture
def fresh_json_decoder() -> Iterator[str]:
    """A small stdlib module imported anew, so the finder sees its first import."""
    name = "json.tool"
    saved = sys.modules.pop(name, None)
    yield name
    sys.modules.pop(name, None)
    if saved is not None:
        sys.modules[name] = saved


def test_a_module_is_patched_right_after_its_first_import(fresh_json_decoder: str) -> None:
    patched: list[str] = []
    finder = PatchOnImport(fresh_json_decoder, lambda module: patched.append(module.__name__))
    sys.meta_path.insert(0, finder)
    try:
        importlib.import_module(fresh_json_decoder)
    finally:
        if finder in sys.meta_path:
            sys.meta_path.remove(finder)
    assert patched == [fresh_json_decoder]
    assert finder not in sys.meta_path  # once: it steps aside after the first import


class Decisions:
    def __init__(self, inject: bool) -> None:
        self.inject = inject
        self.asked: list[str] = []

    def decide(self, kind: str) -> dict[str, Any]:
        self.asked.append(kind)
        return {"inject": self.inject, "attempt": 2}


def test_an_injected_error_replaces_the_handler() -> None:
    calls: list[Any] = []
    faults: Any = Decisions(inject=True)
    handler = with_injected_errors(lambda event, _context: calls.append(event), faults)
    with pytest.raises(InjectedFunctionError, match=r"^injected function error \(attempt 2\)$"):
        handler({"n": 1}, None)
    assert calls == []
    assert faults.asked == ["error"]


def test_without_an_injected_error_the_handler_runs() -> None:
    faults: Any = Decisions(inject=False)
    handler = with_injected_errors(lambda event, _context: {"seen": event}, faults)
    assert handler({"n": 1}, None) == {"seen": {"n": 1}}
