"""`tracecanary local-stack`: the stack's storage on a long-running local moto server, for `sam local invoke`.

It writes an `--env-vars` file that points every function at the emulator and names the local tables and
bucket, so `sam local invoke PipelineFunction -e events/s3-put.json --env-vars .demo/env.json` runs the real
function in the Lambda container against local resources.
"""

import json
import signal
import threading
from pathlib import Path
from typing import Any, TextIO

from demo.local_stack import LocalStack, create_local_stack


def sam_env_vars(stack: LocalStack, endpoint_for_containers: str) -> dict[str, Any]:
    """The `--env-vars` document: shared settings under Parameters, each function's own under its name."""
    return {
        "Parameters": {"AWS_ENDPOINT_URL": endpoint_for_containers, "PIPELINE_NAME": stack.stack_name},
        "PipelineFunction": {"ITEMS_TABLE_NAME": stack.items_table},
        "PipelineOtelFunction": {"ITEMS_TABLE_NAME": stack.items_table},  # the twin, where built
        "GeneratorFunction": {
            "INCOMING_BUCKET": stack.bucket,
            "MANIFEST_TABLE": stack.tables["ManifestTable"],
            "GENERATOR_SEGMENT_NAME": f"{stack.stack_name}-generator",
            "GENERATOR_XRAY_SINK": "api",
        },
        "ReporterFunction": {
            "MANIFEST_TABLE_NAME": stack.tables["ManifestTable"],
            "ITEMS_TABLE_NAME": stack.items_table,
            "REPORTER_STATE_TABLE_NAME": stack.tables["ReporterStateTable"],
        },
    }


def serve_local_stack(host: str, port: int, container_host: str, env_file: Path, out: TextIO) -> None:
    """Run until interrupted: a moto server with the stack's storage, and the env-vars file for SAM CLI."""
    import logging
    import os

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request drowns the instructions
    server = ThreadedMotoServer(ip_address=host, port=port, verbose=False)
    server.start()
    stopped = threading.Event()
    try:
        bound_host, bound_port = server.get_host_and_port()
        from demo.moto_server import LOCAL_ENVIRONMENT

        os.environ.update({**LOCAL_ENVIRONMENT, "AWS_ENDPOINT_URL": f"http://127.0.0.1:{bound_port}"})
        stack = create_local_stack("tracecanary-local")
        env_file.parent.mkdir(parents=True, exist_ok=True)
        env_file.write_text(
            json.dumps(sam_env_vars(stack, f"http://{container_host}:{bound_port}"), indent=2) + "\n"
        )
        print(
            f"moto server on {bound_host}:{bound_port} with the stack's bucket, tables and queues", file=out
        )
        print(f"wrote {env_file} for sam local invoke; for example:", file=out)
        print(f"  sam local invoke PipelineFunction -e events/s3-put.json --env-vars {env_file}", file=out)
        print("(on Linux add --docker-network host; elsewhere start with --host 0.0.0.0)", file=out)
        print("Ctrl-C stops the server.", file=out, flush=True)
        signal.signal(signal.SIGTERM, lambda *_: stopped.set())
        while not stopped.wait(1.0):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
