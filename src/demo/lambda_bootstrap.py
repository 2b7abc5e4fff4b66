"""The local Lambda's runtime bootstrap: the emulator's, not Lambda's.

What `/var/runtime/bootstrap` is to a python3.13 function on Lambda, this file is to a local execution
environment: copied into the runtime folder (`LAMBDA_RUNTIME_DIR`, see runtime_python.py) and run by the
runtime's interpreter (`python3.13 -I -S -u bootstrap.py`), it sets the module search path as Lambda's runtime
has it (the function's package `LAMBDA_TASK_ROOT` first, then its layers' `python` folders where Lambda has
/opt/python, named in the runtime folder's `layers.txt`, then the runtime's own packages, then the standard
library; nothing of the machine's site-packages), works in `LAMBDA_TASK_ROOT`, writes no bytecode (the
package is read-only on Lambda, so every cold start compiles what it imports), and hands over to the real
runtime interface client, `awslambdaric`, with the handler named in `_HANDLER`. From there on everything is
awslambdaric's: importing the handler, the Runtime API calls to `AWS_LAMBDA_RUNTIME_API`, the context, the
error objects, the log lines.

The emulator's injected faults live here too, outside the function's package as a runtime layer would,
and only where `_TRACECANARY_EMULATOR_FAULTS` asks for them (the variable is removed before the handler
runs). Each decision is the local Lambda's, asked for per invocation on the emulator's own path of the
Runtime API (`GET /tracecanary-emulator/faults/{kind}`), over a plain socket so no instrumentation of
`http.client` records it:
- `throttle`: every botocore client the function creates gets hooks on one service (DynamoDB): a call picked
  for throttling gets that service's HTTP 400 error (`ThrottlingException`) on every HTTP attempt the SDK
  makes, so it fails after the SDK's own retries. botocore is hooked when the function imports it, so the
  hook costs its Init nothing.
- `error`: an invocation picked for a function error raises InjectedFunctionError instead of calling the
  handler (so it writes nothing), through awslambdaric's own error path.
Standard library only: this runs before anything of the package is importable.
"""

import importlib
import importlib.abc
import importlib.machinery
import json
import os
import socket
import sys
import threading
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Any

FAULTS_VARIABLE = "_TRACECANARY_EMULATOR_FAULTS"
FAULTS_PATH = "/tracecanary-emulator/faults/"
# Beside this bootstrap in a function's runtime folder: its layers' folders, one a line, in its layer order.
LAYERS_FILE = "layers.txt"

Handler = Callable[[Any, Any], Any]


class InjectedFunctionError(Exception):
    """Raised in place of the handler where the local Lambda injected a function error."""


class EmulatorFaults:
    """Asks the local Runtime API whether the current invocation gets a fault."""

    def __init__(self, api_address: str) -> None:
        host, _, port = api_address.rpartition(":")
        self._address = (host, int(port))
        self._host = api_address

    def decide(self, kind: str) -> dict[str, Any]:
        request = f"GET {FAULTS_PATH}{kind} HTTP/1.1\r\nHost: {self._host}\r\nConnection: close\r\n\r\n"
        with socket.create_connection(self._address, timeout=10) as connection:
            connection.sendall(request.encode())
            data = b""
            while chunk := connection.recv(65536):
                data += chunk
        _head, _, body = data.partition(b"\r\n\r\n")
        answer: dict[str, Any] = json.loads(body)
        return answer


class ThrottleHook:
    """Throttles whole SDK calls to one service: decided once per call, every HTTP attempt refused."""

    def __init__(self, decide: Callable[[], bool], service: str, error_code: str) -> None:
        self._decide = decide
        self.service = service
        self._error_code = error_code
        self._state = threading.local()

    def register(self, client: Any) -> None:
        client.meta.events.register(f"before-call.{self.service}", self.before_call)
        client.meta.events.register(f"before-send.{self.service}", self.before_send)

    def before_call(self, **_: Any) -> None:
        self._state.throttled = self._decide()

    def before_send(self, request: Any, **_: Any) -> Any:
        if not getattr(self._state, "throttled", False):
            return None
        from botocore.awsrequest import AWSResponse, HTTPHeaders

        body = json.dumps(
            {
                "__type": f"com.amazonaws.dynamodb.v20120810#{self._error_code}",
                "message": "Rate of requests exceeds the allowed throughput.",
            }
        ).encode()
        headers = {
            "Content-Type": "application/x-amz-json-1.0",
            "x-amzn-RequestId": os.urandom(26).hex().upper()[:52],
            "Content-Length": str(len(body)),
        }
        return AWSResponse(request.url, 400, HTTPHeaders.from_dict(headers), _RawBody(body))

    def hook_sessions(self, session_module: ModuleType) -> None:
        """Hook every client created from now on through `botocore.session`, whatever its session."""
        session_class = session_module.Session
        create_client = session_class.create_client
        hook = self

        def create_hooked_client(session: Any, *args: Any, **kwargs: Any) -> Any:
            client = create_client(session, *args, **kwargs)
            hook.register(client)
            return client

        session_class.create_client = create_hooked_client


class _RawBody:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Any:
        yield self._body


class PatchOnImport(importlib.abc.MetaPathFinder):
    """Runs `patch(module)` right after `name` is first imported, from wherever the path finds it."""

    def __init__(self, name: str, patch: Callable[[ModuleType], None]) -> None:
        self.name = name
        self._patch = patch

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname != self.name:
            return None
        sys.meta_path.remove(self)
        spec = importlib.machinery.PathFinder.find_spec(fullname, path, target)
        if spec is None or spec.loader is None:
            return spec
        loader = spec.loader
        exec_module = loader.exec_module
        patch = self._patch

        def exec_and_patch(module: ModuleType) -> None:
            exec_module(module)
            patch(module)

        loader.exec_module = exec_and_patch  # type: ignore[method-assign]
        return spec


def with_injected_errors(handler: Handler, faults: EmulatorFaults) -> Handler:
    def handler_or_injected_error(event: Any, context: Any) -> Any:
        decision = faults.decide("error")
        if decision.get("inject"):
            raise InjectedFunctionError(f"injected function error (attempt {decision.get('attempt')})")
        return handler(event, context)

    return handler_or_injected_error


def install_faults(settings: dict[str, Any], api_address: str) -> None:
    faults = EmulatorFaults(api_address)
    throttle = settings.get("throttle")
    if throttle:
        hook = ThrottleHook(
            lambda: bool(faults.decide("throttle").get("inject")), throttle["service"], throttle["error_code"]
        )
        sys.meta_path.insert(0, PatchOnImport("botocore.session", hook.hook_sessions))
    if settings.get("error"):
        ric_bootstrap: Any = importlib.import_module("awslambdaric.bootstrap")
        get_handler = ric_bootstrap._get_handler
        ric_bootstrap._get_handler = lambda name: with_injected_errors(get_handler(name), faults)


def search_path(
    task_root: str, runtime_dir: str, standard_library: list[str], layers: Sequence[str] = ()
) -> list[str]:
    """Lambda's order: the function's package, its layers' packages, the runtime's packages, the runtime
    folder, the stdlib."""
    return [
        task_root,
        *layer_paths(layers),
        os.path.join(runtime_dir, "site-packages"),
        runtime_dir,
        *standard_library,
    ]


def layer_paths(layers: Sequence[str]) -> list[str]:
    """Where Lambda looks in /opt: `python/lib/python3.13/site-packages`, then `python`.

    Lambda extracts every layer into the one /opt, in the function's order, a later layer's file replacing an
    earlier one's; with a folder per layer here, the later layer's comes first.
    """
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    last_first = list(reversed(layers))
    return [
        *(os.path.join(layer, "python", "lib", version, "site-packages") for layer in last_first),
        *(os.path.join(layer, "python") for layer in last_first),
    ]


def read_layers(runtime_dir: str) -> list[str]:
    """The function's layers (what /opt holds), as runtime_python.py lists them beside this bootstrap."""
    try:
        with open(os.path.join(runtime_dir, LAYERS_FILE), encoding="utf-8") as listed:
            return [line.rstrip("\n") for line in listed if line.strip()]
    except FileNotFoundError:
        return []


def main() -> None:
    task_root = os.environ["LAMBDA_TASK_ROOT"]
    runtime_dir = os.environ["LAMBDA_RUNTIME_DIR"]
    layers = read_layers(runtime_dir)
    sys.path[:] = search_path(task_root, runtime_dir, [path for path in sys.path if path], layers)
    sys.dont_write_bytecode = True
    os.chdir(task_root)
    faults = os.environ.pop(FAULTS_VARIABLE, "")
    if faults:
        install_faults(json.loads(faults), os.environ["AWS_LAMBDA_RUNTIME_API"])
    ric = importlib.import_module("awslambdaric.__main__")
    ric.main(["awslambdaric", os.environ["_HANDLER"]])


if __name__ == "__main__":
    main()
