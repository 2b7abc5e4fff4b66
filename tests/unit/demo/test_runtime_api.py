"""The local Runtime API over HTTP, as a runtime sees it: paths, headers, status codes and error bodies of
Lambda's Runtime API (the runtime interface emulator's `rapi` for the exact codes and messages)."""

import contextlib
import http.client
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from demo.runtime_api import MAX_RESPONSE_BYTES, Invocation, RuntimeApi

REQUEST_ID = "8476a536-e9f4-11e8-9739-2dfe598c3fcd"
TRACE = "Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419;Sampled=1"
ARN = "arn:aws:lambda:us-east-1:123456789012:function:tc-pipeline"


@pytest.fixture
def api() -> Iterator[RuntimeApi]:
    served = RuntimeApi(memory_probe=lambda: 42)
    yield served
    served.close()


def request(
    api: RuntimeApi, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    connection = http.client.HTTPConnection(api.address, timeout=10)
    try:
        connection.request(method, path, body=body or None, headers=headers or {})
        response = connection.getresponse()
        return response.status, dict(response.headers), response.read()
    finally:
        connection.close()


def invocation(**settings: Any) -> Invocation:
    return Invocation(
        request_id=REQUEST_ID,
        body=b'{"Records": []}',
        trace_header=TRACE,
        function_arn=ARN,
        timeout_seconds=30.0,
        **settings,
    )


def next_in_background(api: RuntimeApi) -> tuple[threading.Thread, list[tuple[int, dict[str, str], bytes]]]:
    got: list[tuple[int, dict[str, str], bytes]] = []

    def ask() -> None:
        with contextlib.suppress(http.client.RemoteDisconnected):  # closed before an event came
            got.append(request(api, "GET", "/2018-06-01/runtime/invocation/next"))

    thread = threading.Thread(target=ask, daemon=True)
    thread.start()
    return thread, got


def hand_out(api: RuntimeApi, event: Invocation) -> tuple[int, dict[str, str], bytes]:
    thread, got = next_in_background(api)
    assert api.wait_ready(time.time() + 5) == "ready"
    api.hand(event)
    thread.join(5)
    [answer] = got
    return answer


def test_next_hands_out_the_event_with_lambdas_headers(api: RuntimeApi) -> None:
    event = invocation()
    before = time.time()
    status, headers, body = hand_out(api, event)
    assert status == 200
    assert body == b'{"Records": []}'
    assert headers["Lambda-Runtime-Aws-Request-Id"] == REQUEST_ID
    assert headers["Lambda-Runtime-Invoked-Function-Arn"] == ARN
    assert headers["Lambda-Runtime-Trace-Id"] == TRACE
    assert headers["Content-Type"] == "application/json"
    # The deadline: epoch milliseconds, the timeout after the event was handed out.
    deadline_ms = int(headers["Lambda-Runtime-Deadline-Ms"])
    assert before * 1000 + 30_000 <= deadline_ms <= time.time() * 1000 + 30_000
    assert api.state.init_done_at is not None  # the first GET /next ends the Init
    assert event.handed_at is not None


def test_a_response_is_accepted_with_202(api: RuntimeApi) -> None:
    event = invocation()
    hand_out(api, event)
    status, _, body = request(
        api, "POST", f"/2018-06-01/runtime/invocation/{REQUEST_ID}/response", b'{"written": 1}'
    )
    assert (status, json.loads(body)) == (202, {"status": "OK"})
    assert event.response == b'{"written": 1}'
    assert event.error is None
    assert event.max_memory_mb == 42  # read while the runtime waited for the answer
    assert api.wait_answered(event, time.time() + 1) == "answered"


def test_an_error_keeps_lambdas_error_object_and_the_xray_cause(api: RuntimeApi) -> None:
    event = invocation()
    hand_out(api, event)
    error = {
        "errorMessage": "1 of 1 records failed",
        "errorType": "RecordsFailedError",
        "requestId": REQUEST_ID,
        "stackTrace": ['  File "/var/task/handlers/pipeline.py", line 58, in lambda_handler\n'],
    }
    cause = {
        "working_directory": "/var/task",
        "exceptions": [{"message": "1 of 1 records failed", "type": "RecordsFailedError", "stack": []}],
        "paths": [],
    }
    status, _, body = request(
        api,
        "POST",
        f"/2018-06-01/runtime/invocation/{REQUEST_ID}/error",
        json.dumps(error).encode(),
        {"Lambda-Runtime-Function-XRay-Error-Cause": json.dumps(cause)},
    )
    assert (status, json.loads(body)) == (202, {"status": "OK"})
    assert event.error is not None
    assert (event.error.error_type, event.error.message) == ("RecordsFailedError", "1 of 1 records failed")
    assert event.error.stack_trace == error["stackTrace"]
    assert event.error.cause == cause


def test_an_error_without_a_type_in_its_body_takes_the_headers(api: RuntimeApi) -> None:
    event = invocation()
    hand_out(api, event)
    request(
        api,
        "POST",
        f"/2018-06-01/runtime/invocation/{REQUEST_ID}/error",
        b"not json",
        {
            "Lambda-Runtime-Function-Error-Type": "Runtime.Crash",
            "Lambda-Runtime-Function-XRay-Error-Cause": "{}",
        },
    )
    assert event.error is not None
    assert (event.error.error_type, event.error.message, event.error.cause) == ("Runtime.Crash", "", None)


def test_a_response_for_another_request_is_refused(api: RuntimeApi) -> None:
    hand_out(api, invocation())
    status, _, body = request(api, "POST", "/2018-06-01/runtime/invocation/not-this-one/response", b"{}")
    assert (status, json.loads(body)) == (
        400,
        {"errorMessage": "Invalid request ID", "errorType": "InvalidRequestID"},
    )


def test_a_second_response_is_an_invalid_state_transition(api: RuntimeApi) -> None:
    hand_out(api, invocation())
    path = f"/2018-06-01/runtime/invocation/{REQUEST_ID}/response"
    assert request(api, "POST", path, b"{}")[0] == 202
    status, _, body = request(api, "POST", path, b"{}")
    assert status == 403
    assert json.loads(body)["errorType"] == "InvalidStateTransition"


def test_a_response_before_any_event_is_an_invalid_state_transition(api: RuntimeApi) -> None:
    status, _, body = request(api, "POST", f"/2018-06-01/runtime/invocation/{REQUEST_ID}/response", b"{}")
    assert status == 403
    assert json.loads(body)["errorType"] == "InvalidStateTransition"


def test_too_large_a_response_gets_413_and_fails_the_invocation(api: RuntimeApi) -> None:
    event = invocation()
    hand_out(api, event)
    status, _, body = request(
        api,
        "POST",
        f"/2018-06-01/runtime/invocation/{REQUEST_ID}/response",
        b'"' + b"x" * MAX_RESPONSE_BYTES + b'"',
    )
    assert (status, json.loads(body)) == (
        413,
        {
            "errorMessage": "Exceeded maximum allowed payload size (6291556 bytes).",
            "errorType": "RequestEntityTooLarge",
        },
    )
    assert event.error is not None
    assert event.error.error_type == "Function.ResponseSizeTooLarge"
    assert event.error.message == (
        "Response payload size (6291558 bytes) exceeded maximum allowed payload size (6291556 bytes)."
    )


def test_an_init_error_is_accepted_during_init_only(api: RuntimeApi) -> None:
    error = {
        "errorMessage": "Unable to import module 'app': No module named 'aws_xray_sdk'",
        "errorType": "Runtime.ImportModuleError",
        "requestId": "",
        "stackTrace": [],
    }
    status, _, body = request(
        api,
        "POST",
        "/2018-06-01/runtime/init/error",
        json.dumps(error).encode(),
        {"Lambda-Runtime-Function-Error-Type": "Runtime.ImportModuleError"},
    )
    assert (status, json.loads(body)) == (202, {"status": "OK"})
    assert api.wait_ready(time.time() + 1) == "init_error"
    assert api.state.init_error is not None
    assert api.state.init_error.message == error["errorMessage"]
    assert api.state.init_error_memory_mb == 42
    # Once Init failed, the runtime is not to ask for events.
    status, _, body = request(api, "GET", "/2018-06-01/runtime/invocation/next")
    assert (status, json.loads(body)["errorType"]) == (403, "InvalidStateTransition")


def test_an_init_error_after_init_is_an_invalid_state_transition(api: RuntimeApi) -> None:
    hand_out(api, invocation())
    status, _, body = request(api, "POST", "/2018-06-01/runtime/init/error", b"{}")
    assert (status, json.loads(body)["errorType"]) == (403, "InvalidStateTransition")


def test_the_next_request_after_a_response_ends_the_invocation(api: RuntimeApi) -> None:
    event = invocation()
    hand_out(api, event)
    request(api, "POST", f"/2018-06-01/runtime/invocation/{REQUEST_ID}/response", b"{}")
    thread, _ = next_in_background(api)
    assert api.wait_next(event, time.time() + 5) == "next"
    assert event.next_at is not None
    assert event.response_received is not None
    assert event.response_received <= event.next_at
    api.close()  # the waiting GET /next gets no event
    thread.join(5)
    assert not thread.is_alive()


def test_unknown_paths_are_404(api: RuntimeApi) -> None:
    assert request(api, "GET", "/2018-06-01/runtime/invocation/nope")[0] == 404
    assert request(api, "POST", "/2018-06-01/runtime/restore/error", b"{}")[0] == 404


def test_the_emulators_fault_path_answers_for_the_current_invocation() -> None:
    asked: list[tuple[str, str]] = []

    def decide(kind: str, current: Invocation) -> dict[str, Any]:
        asked.append((kind, current.request_id))
        return {"inject": True, "attempt": 2}

    api = RuntimeApi(decide)
    try:
        status, _, body = request(api, "GET", "/tracecanary-emulator/faults/error")
        assert (status, json.loads(body)) == (200, {"inject": False})  # no invocation: nothing injected
        hand_out(api, invocation())
        status, _, body = request(api, "GET", "/tracecanary-emulator/faults/error")
        assert (status, json.loads(body)) == (200, {"inject": True, "attempt": 2})
        assert asked == [("error", REQUEST_ID)]
    finally:
        api.close()


def test_waiting_ends_when_the_runtime_exits(api: RuntimeApi) -> None:
    api.runtime_exited(1)
    assert api.wait_ready(time.time() + 5) == "exited"


def test_waiting_ends_at_the_deadline(api: RuntimeApi) -> None:
    assert api.wait_ready(time.time() + 0.05) == "timeout"
