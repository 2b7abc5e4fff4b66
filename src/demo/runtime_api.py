"""The Lambda Runtime API of one execution environment, served on 127.0.0.1 for the runtime inside it.

Lambda gives each execution environment an HTTP endpoint (`AWS_LAMBDA_RUNTIME_API`, `HOST:PORT`) that the
runtime (here the real runtime interface client, awslambdaric) polls for events and posts results to. What
this one serves, as the Lambda guide ("Using the Lambda runtime API for custom runtimes") and AWS's runtime
interface emulator (aws-lambda-runtime-interface-emulator, `internal/lambda/rapi`) define it:

- `GET /2018-06-01/runtime/invocation/next`: blocks until there is an event; 200 with the event as body and
  the headers `Lambda-Runtime-Aws-Request-Id`, `Lambda-Runtime-Deadline-Ms` (epoch ms),
  `Lambda-Runtime-Invoked-Function-Arn`, `Lambda-Runtime-Trace-Id` (what the runtime puts in
  `_X_AMZN_TRACE_ID`) and `Content-Type: application/json`. The first call ends the environment's Init; each
  later one ends the previous invocation (the runtime's overhead).
- `POST /2018-06-01/runtime/invocation/{AwsRequestId}/response`: 202 `{"status":"OK"}`. A body over 6 MiB
  + 100 bytes (the emulator's `MaxPayloadSize`) gets 413 `RequestEntityTooLarge`, and the invocation fails
  with `Function.ResponseSizeTooLarge`.
- `POST /2018-06-01/runtime/invocation/{AwsRequestId}/error`: 202. The body is Lambda's error object
  (`errorMessage`, `errorType`, `stackTrace`); the error type is the body's, else the
  `Lambda-Runtime-Function-Error-Type` header's (awslambdaric sends the header only with init errors). The
  `Lambda-Runtime-Function-XRay-Error-Cause` header (JSON: `working_directory`, `exceptions`, `paths`) is kept
  for the function segment's `cause` where it is valid, cut to X-Ray's 64 KiB as the emulator does.
- `POST /2018-06-01/runtime/init/error`: 202 during Init; the runtime then exits.
- A request out of turn gets 403 `InvalidStateTransition`; a result for an invocation other than the current
  one, 400 `InvalidRequestID` ("Invalid request ID"); an unknown path, 404.

Not reproduced: response streaming (`Lambda-Runtime-Function-Response-Mode`) and chunked bodies (411), client
context and Cognito identity headers (async S3 invokes have neither), SnapStart's `restore/next` and
`restore/error`, the Extensions and Telemetry APIs, multi-concurrency (Lambda Managed Instances).

One path is the emulator's own and not Lambda's: `GET /tracecanary-emulator/faults/{kind}` answers the fault
hooks of the emulator's bootstrap (lambda_bootstrap.py) with the injected faults of the current invocation.
"""

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal

API_VERSION = "2018-06-01"
NEXT_PATH = f"/{API_VERSION}/runtime/invocation/next"
INVOCATION_PREFIX = f"/{API_VERSION}/runtime/invocation/"
INIT_ERROR_PATH = f"/{API_VERSION}/runtime/init/error"
FAULTS_PREFIX = "/tracecanary-emulator/faults/"
MAX_RESPONSE_BYTES = 6 * 1024 * 1024 + 100  # the runtime interface emulator's interop.MaxPayloadSize
MAX_ERROR_CAUSE_BYTES = 64 << 10  # X-Ray's document limit, as the emulator crops a cause
ERROR_TYPE_HEADER = "Lambda-Runtime-Function-Error-Type"
XRAY_CAUSE_HEADER = "Lambda-Runtime-Function-XRay-Error-Cause"

FaultDecider = Callable[[str, "Invocation"], dict[str, Any]]  # (fault kind, current invocation) -> answer
MemoryProbe = Callable[[], int]  # the runtime's peak memory (MB) so far


@dataclass
class PostedError:
    """An error the runtime posted: for an invocation (`/error`) or for its Init (`/init/error`)."""

    error_type: str
    message: str
    stack_trace: list[str]
    cause: dict[str, Any] | None
    body: bytes


@dataclass
class Invocation:
    """One event through the API: handed to the runtime, then its response or error."""

    request_id: str
    body: bytes
    trace_header: str
    function_arn: str
    timeout_seconds: float
    handed_at: float | None = None  # GET /next returned it
    response_started: float | None = None  # the runtime's POST reached the API ...
    response_received: float | None = None  # ... and its body was read
    response: bytes | None = None
    error: PostedError | None = None
    next_at: float | None = None  # the runtime asked for the next event
    max_memory_mb: int = 0  # the runtime's peak memory when it posted its result (it waits for our answer)
    context: Any = None  # the caller's (the environment's job), for the fault decider

    @property
    def answered(self) -> bool:
        return self.response is not None or self.error is not None

    @property
    def deadline_ms(self) -> int:
        handed = self.handed_at if self.handed_at is not None else time.time()
        return int((handed + self.timeout_seconds) * 1000)


@dataclass
class _State:
    init_done_at: float | None = None  # the runtime's first GET /next
    init_error: PostedError | None = None
    init_error_at: float | None = None
    init_error_memory_mb: int = 0
    pending: Invocation | None = None  # waiting for the runtime's GET /next
    current: Invocation | None = None  # handed out, until the runtime asks for the next one
    waiting: bool = False  # a GET /next is waiting for an event
    closed: bool = False
    exited: int | None = None  # the runtime's exit status, once it ended


Waited = Literal["ready", "init_error", "answered", "next", "exited", "timeout", "closed"]


class RuntimeApi:
    """The API of one environment: its server and the state an environment drives through it."""

    def __init__(
        self, fault_decider: FaultDecider | None = None, memory_probe: MemoryProbe | None = None
    ) -> None:
        """`fault_decider` answers the emulator's fault path; `memory_probe` is read as each result is
        posted, while the runtime still waits for the answer (after it, the runtime may be gone)."""
        self._decide = fault_decider
        self._memory = memory_probe or (lambda: 0)
        self._condition = threading.Condition()
        self.state = _State()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        host, port = self._server.server_address[:2]
        self.address = f"{host!s}:{port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name="runtime-api", daemon=True
        )
        self._thread.start()

    # --- the environment's side -------------------------------------------------------------------------

    def wait_ready(self, deadline: float) -> Waited:
        """Until the runtime asks for its first event (Init done), posts an init error, or exits."""
        return self._wait(
            lambda state: (
                "ready"
                if state.init_done_at is not None and state.waiting
                else "init_error"
                if state.init_error is not None
                else None
            ),
            deadline,
        )

    def hand(self, invocation: Invocation) -> None:
        """Give the runtime its next event (its waiting GET /next returns it)."""
        with self._condition:
            if self.state.current is not None or self.state.pending is not None:
                raise RuntimeError("the runtime has not finished its previous invocation")
            self.state.pending = invocation
            self._condition.notify_all()

    def wait_answered(self, invocation: Invocation, deadline: float) -> Waited:
        return self._wait(lambda _state: "answered" if invocation.answered else None, deadline)

    def wait_next(self, invocation: Invocation, deadline: float) -> Waited:
        """Until the runtime asks for another event after answering `invocation` (or exits)."""
        return self._wait(lambda _state: "next" if invocation.next_at is not None else None, deadline)

    def runtime_exited(self, status: int) -> None:
        with self._condition:
            self.state.exited = status
            self._condition.notify_all()

    def close(self) -> None:
        with self._condition:
            self.state.closed = True
            self._condition.notify_all()
        self._server.shutdown()
        self._server.server_close()

    def _wait(self, done: Callable[[_State], Waited | None], deadline: float) -> Waited:
        with self._condition:
            while True:
                outcome = done(self.state)
                if outcome is not None:
                    return outcome
                if self.state.exited is not None:
                    return "exited"
                if self.state.closed:
                    return "closed"
                remaining = deadline - time.time()
                if remaining <= 0:
                    return "timeout"
                self._condition.wait(remaining)

    # --- the runtime's side (called from the server's threads) ------------------------------------------

    def _next(self) -> Invocation | None:
        with self._condition:
            state = self.state
            now = time.time()
            if state.current is not None:
                if not state.current.answered:
                    raise _ApiError(HTTPStatus.FORBIDDEN, "InvalidStateTransition", _transition("Invoking"))
                state.current.next_at = now
                state.current = None
            if state.init_done_at is None:
                if state.init_error is not None:
                    raise _ApiError(HTTPStatus.FORBIDDEN, "InvalidStateTransition", _transition("InitError"))
                state.init_done_at = now
            state.waiting = True
            self._condition.notify_all()
            while state.pending is None and not state.closed:
                self._condition.wait()
            state.waiting = False
            invocation, state.pending = state.pending, None
            if invocation is None:
                return None
            invocation.handed_at = time.time()
            state.current = invocation
            self._condition.notify_all()
            return invocation

    def _answer(
        self, request_id: str, started: float, *, response: bytes | None = None, error: PostedError | None
    ) -> None:
        with self._condition:
            current = self.state.current
            if current is None or current.answered:
                state = "Invoking" if current is None else "InvocationResponse"
                raise _ApiError(HTTPStatus.FORBIDDEN, "InvalidStateTransition", _transition(state))
            if current.request_id != request_id:
                raise _ApiError(HTTPStatus.BAD_REQUEST, "InvalidRequestID", "Invalid request ID")
            current.response_started, current.response_received = started, time.time()
            current.max_memory_mb = self._memory()
            if response is not None and len(response) > MAX_RESPONSE_BYTES:
                current.error = PostedError(
                    "Function.ResponseSizeTooLarge",
                    f"Response payload size ({len(response)} bytes) exceeded maximum allowed payload size "
                    f"({MAX_RESPONSE_BYTES} bytes).",
                    [],
                    None,
                    b"",
                )
                self._condition.notify_all()
                raise _ApiError(
                    HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                    "RequestEntityTooLarge",
                    f"Exceeded maximum allowed payload size ({MAX_RESPONSE_BYTES} bytes).",
                )
            current.response, current.error = response, error
            self._condition.notify_all()

    def _init_error(self, error: PostedError) -> None:
        with self._condition:
            if self.state.init_done_at is not None or self.state.init_error is not None:
                raise _ApiError(HTTPStatus.FORBIDDEN, "InvalidStateTransition", _transition("Ready"))
            self.state.init_error, self.state.init_error_at = error, time.time()
            self.state.init_error_memory_mb = self._memory()
            self._condition.notify_all()

    def _fault(self, kind: str) -> dict[str, Any]:
        with self._condition:
            current = self.state.current
        if current is None or self._decide is None:
            return {"inject": False}
        return self._decide(kind, current)


class _ApiError(Exception):
    def __init__(self, status: HTTPStatus, error_type: str, message: str) -> None:
        super().__init__(message)
        self.status, self.error_type, self.message = status, error_type, message


def _transition(state: str) -> str:
    return f"State transition from {state} failed for runtime."


def parse_error(body: bytes, header_type: str | None, cause_header: str | None) -> PostedError:
    """The error object a runtime posts; whatever it sent, an error with a type and a message."""
    try:
        document = json.loads(body) if body else {}
    except ValueError:
        document = {}
    if not isinstance(document, dict):
        document = {}
    error_type = document.get("errorType") or header_type or "Unhandled"
    message = document.get("errorMessage")
    stack = document.get("stackTrace")
    return PostedError(
        error_type=str(error_type),
        message=str(message) if message is not None else "",
        stack_trace=[str(frame) for frame in stack] if isinstance(stack, list) else [],
        cause=validated_cause(cause_header),
        body=body,
    )


def validated_cause(header: str | None) -> dict[str, Any] | None:
    """The X-Ray error cause a runtime sent, if it is one (some of `working_directory`, `exceptions`,
    `paths`, `message`); over 64 KiB, its stacks and paths are dropped (the emulator crops by steps)."""
    if not header:
        return None
    try:
        cause = json.loads(header)
    except ValueError:
        return None
    if not isinstance(cause, dict) or not any(
        cause.get(key) for key in ("working_directory", "exceptions", "paths", "message")
    ):
        return None
    if len(header.encode()) > MAX_ERROR_CAUSE_BYTES:
        listed = cause.get("exceptions")
        exceptions: list[Any] = listed if isinstance(listed, list) else []
        cause = {
            "working_directory": cause.get("working_directory", ""),
            "exceptions": [
                {key: str(part.get(key, ""))[:1024] for key in ("message", "type")}
                for part in exceptions
                if isinstance(part, dict)
            ],
            "paths": [],
        }
    return cause


def _handler_for(api: RuntimeApi) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive: awslambdaric's client reuses its connection
        disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms delayed-ACK stall
        server_version = "tracecanary-local-lambda"

        def do_GET(self) -> None:
            try:
                if self.path == NEXT_PATH:
                    invocation = api._next()
                    if invocation is None:  # the environment is closing: no event will come
                        self.close_connection = True
                        return
                    self._send(
                        HTTPStatus.OK,
                        invocation.body,
                        {
                            "Lambda-Runtime-Aws-Request-Id": invocation.request_id,
                            "Lambda-Runtime-Deadline-Ms": str(invocation.deadline_ms),
                            "Lambda-Runtime-Invoked-Function-Arn": invocation.function_arn,
                            "Lambda-Runtime-Trace-Id": invocation.trace_header,
                            "Content-Type": "application/json",
                        },
                    )
                elif self.path.startswith(FAULTS_PREFIX):
                    self._json(HTTPStatus.OK, api._fault(self.path.removeprefix(FAULTS_PREFIX)))
                else:
                    self._not_found()
            except _ApiError as error:
                self._error(error)

        def do_POST(self) -> None:
            started = time.time()
            try:
                body = self._body()
                if self.path == INIT_ERROR_PATH:
                    api._init_error(
                        parse_error(
                            body, self.headers.get(ERROR_TYPE_HEADER), self.headers.get(XRAY_CAUSE_HEADER)
                        )
                    )
                elif self.path.startswith(INVOCATION_PREFIX) and self.path.count("/") == 5:
                    request_id, _, outcome = self.path.removeprefix(INVOCATION_PREFIX).partition("/")
                    if outcome == "response":
                        api._answer(request_id, started, response=body, error=None)
                    elif outcome == "error":
                        error = parse_error(
                            body, self.headers.get(ERROR_TYPE_HEADER), self.headers.get(XRAY_CAUSE_HEADER)
                        )
                        api._answer(request_id, started, error=error)
                    else:
                        self._not_found()
                        return
                else:
                    self._not_found()
                    return
            except _ApiError as error:
                self._error(error)
                return
            self._json(HTTPStatus.ACCEPTED, {"status": "OK"})

        def _body(self) -> bytes:
            length = self.headers.get("Content-Length")
            if length is None:
                if self.headers.get("Transfer-Encoding"):
                    self.close_connection = True
                    raise _ApiError(HTTPStatus.LENGTH_REQUIRED, "LengthRequired", "chunked bodies: not here")
                return b""
            return self.rfile.read(int(length))

        def _error(self, error: _ApiError) -> None:
            self._json(error.status, {"errorMessage": error.message, "errorType": error.error_type})

        def _not_found(self) -> None:
            self._send(HTTPStatus.NOT_FOUND, b"404 page not found\n", {"Content-Type": "text/plain"})

        def _json(self, status: HTTPStatus, document: dict[str, Any]) -> None:
            self._send(status, json.dumps(document).encode(), {"Content-Type": "application/json"})

        def _send(self, status: HTTPStatus, body: bytes, headers: dict[str, str]) -> None:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # the runtime's requests are not the function's log

    return Handler
