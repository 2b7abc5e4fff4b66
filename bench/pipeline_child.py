"""One measurement of a pipeline handler in a fresh interpreter; run by `bench.pipeline_cold_start`.

    python -I -S bench/pipeline_child.py SEARCH_PATH MODE ARGS...

SEARCH_PATH is the folders to import from, `os.pathsep`-separated, in Lambda's order: the function's package
(LAMBDA_TASK_ROOT), then its layers' folders; they go before the standard library, and with `-I -S` nothing
else is on the path, so the handler finds what it would find on Lambda (X-Ray's `patch_all` too). Modes:

    import  MODULE                        time `import MODULE`
    invoke  MODULE EVENT_FILE KEY_SUFFIX  time the import, then the first call (builds the client, writes)
    staged  MODULE...                     time each import in turn (what each one adds)
    warm    MODULE EVENT_FILE CALLS WARMUP CLIENT  per-call time on the warm path; CLIENT is `fake` (an
            object whose put_item returns {}) or `botocore` (a real client whose HTTP send is answered
            in-process, so serialising, signing, parsing and the call's subsegment or span are paid)

Run as a script, not with `-m`, and before the clock starts it imports nothing the interpreter has not
already loaded: whatever the handler needs is paid inside the measurement. The result is one line on
stdout, prefixed with RESULT_MARKER (the handlers print their own logs there too).
"""

import os
import sys
import time

RESULT_MARKER = "PIPELINE_BENCH_RESULT "


class FakeLambdaContext:
    """What the Lambda runtime passes as `context`; the Powertools logger reads these fields."""

    function_name = "tracecanary-pipeline"
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:tracecanary-pipeline"
    memory_limit_in_mb = 256
    aws_request_id = "b7c1e2f0-6a1d-4c33-9f0e-5d3a8e2b9c10"
    log_group_name = "/aws/lambda/tracecanary-pipeline"
    log_stream_name = "2026/11/25/[$LATEST]0123456789abcdef"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


class FakeDynamoDbClient:
    """Answers PutItem at once, as DynamoDB does for a new key; no network, no botocore."""

    def put_item(self, **request: object) -> dict[str, object]:
        return {}


def _import(module_name: str) -> object:
    __import__(module_name)
    return sys.modules[module_name]


def _load_event(path: str, key_suffix: str = "") -> dict[str, object]:
    import json

    with open(path, encoding="utf-8") as file:
        event: dict[str, object] = json.load(file)
    records = event.get("Records")
    if key_suffix and isinstance(records, list):
        # A new key per run, so every first call really writes instead of hitting the condition.
        for record in records:
            record["s3"]["object"]["key"] += key_suffix
    return event


def _report(result: dict[str, object]) -> None:
    import json

    sys.stdout.flush()
    print(RESULT_MARKER + json.dumps(result), flush=True)


def _clocks() -> tuple[float, float]:
    """Wall time, and this process's CPU time (which leaves out time spent preempted on a busy machine)."""
    return time.perf_counter(), time.process_time()


def measure_import(module_name: str) -> dict[str, object]:
    wall, cpu = _clocks()
    _import(module_name)
    wall_done, cpu_done = _clocks()
    return {"import_s": wall_done - wall, "import_cpu_s": cpu_done - cpu}


def measure_invoke(module_name: str, event_path: str, key_suffix: str) -> dict[str, object]:
    wall, cpu = _clocks()
    module = _import(module_name)
    wall_imported, cpu_imported = _clocks()
    # Not timed: the runtime has the event parsed before it calls the handler.
    event = _load_event(event_path, key_suffix)
    context = FakeLambdaContext()
    wall_called, cpu_called = _clocks()
    response = module.lambda_handler(event, context)  # type: ignore[attr-defined]
    wall_done, cpu_done = _clocks()
    return {
        "import_s": wall_imported - wall,
        "import_cpu_s": cpu_imported - cpu,
        "first_call_s": wall_done - wall_called,
        "first_call_cpu_s": cpu_done - cpu_called,
        "response": response,
    }


def measure_staged(module_names: list[str]) -> dict[str, object]:
    _, cpu = _clocks()
    after: list[float] = []
    for module_name in module_names:
        _import(module_name)
        after.append(time.process_time() - cpu)
    return {"cumulative_cpu_s": after}


class _EmptyBody:
    def stream(self) -> list[bytes]:
        return [b"{}"]


def _answer_without_network(request: object, **kwargs: object) -> object:
    """A botocore `before-send` hook: returning a response skips the HTTP send and nothing else."""
    from botocore.awsrequest import AWSResponse, HTTPHeaders

    headers = HTTPHeaders()
    headers["x-amzn-RequestId"] = "bench"
    return AWSResponse("https://dynamodb.invalid/", 200, headers, _EmptyBody())


def _botocore_client() -> object:
    """The client the twins build, answered in-process."""
    import boto3
    from botocore.config import Config

    client = boto3.client("dynamodb", config=Config(retries={"mode": "standard", "max_attempts": 3}))
    # The stubs say handlers return None; botocore uses a before-send handler's return value as the response.
    client.meta.events.register("before-send.dynamodb.PutItem", _answer_without_network)  # type: ignore[arg-type]
    return client


def measure_warm(
    module_name: str, event_path: str, calls: int, warmup: int, client_kind: str
) -> dict[str, object]:
    module = _import(module_name)
    client = FakeDynamoDbClient() if client_kind == "fake" else _botocore_client()
    if "item_store" in module.__dict__:  # either twin
        from pipeline.items import DynamoDbItemStore, ItemStore

        store = DynamoDbItemStore(client, "items")  # type: ignore[arg-type]

        def fake_item_store() -> ItemStore:
            return store

        module.__dict__["item_store"] = fake_item_store
    else:
        module.__dict__["dynamodb_client"] = lambda: client
    handler = module.lambda_handler  # type: ignore[attr-defined]
    event = _load_event(event_path)
    context = FakeLambdaContext()
    response = handler(event, context)

    # Logs and EMF go to fd 1 (the logger's handler holds its own sys.stdout): silence the fd, not sys.stdout.
    sys.stdout.flush()
    saved_stdout = os.dup(1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    try:
        for _ in range(warmup):
            handler(event, context)
        durations_ns = []
        clock = time.perf_counter_ns
        cpu_started = time.process_time()
        for _ in range(calls):
            started = clock()
            handler(event, context)
            durations_ns.append(clock() - started)
        sys.stdout.flush()
        loop_cpu_s = time.process_time() - cpu_started
    finally:
        os.dup2(saved_stdout, 1)
        os.close(saved_stdout)
        os.close(devnull)
    return {"durations_ns": durations_ns, "loop_cpu_s": loop_cpu_s, "response": response}


def main(argv: list[str]) -> int:
    sys.path[:0] = [folder for folder in argv[1].split(os.pathsep) if folder]
    mode, args = argv[2], argv[3:]
    if mode == "import":
        result = measure_import(args[0])
    elif mode == "invoke":
        result = measure_invoke(args[0], args[1], args[2])
    elif mode == "staged":
        result = measure_staged(args)
    elif mode == "warm":
        result = measure_warm(args[0], args[1], int(args[2]), int(args[3]), args[4])
    else:
        print(f"unknown mode {mode!r}", file=sys.stderr)
        return 2
    _report(result)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
