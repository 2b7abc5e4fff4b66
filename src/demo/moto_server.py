"""A moto server on 127.0.0.1 that stands in for AWS in the demo and the integration tests."""

import json
import logging
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from moto.server import ThreadedMotoServer

LOCAL_REGION = "us-east-1"
# moto accepts any credentials; these only keep boto3 from looking for real ones.
LOCAL_ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",  # moto's dummy credential
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": LOCAL_REGION,
    "AWS_REGION": LOCAL_REGION,
}


@dataclass(frozen=True)
class LocalAws:
    endpoint_url: str

    def environment(self) -> dict[str, str]:
        """Environment variables that point boto3 (and the AWS CLI) at this server."""
        return {**LOCAL_ENVIRONMENT, "AWS_ENDPOINT_URL": self.endpoint_url}

    def reset(self) -> None:
        """Forget every resource, so each test starts from an empty account."""
        url = f"{self.endpoint_url}/moto-api/reset"
        request = urllib.request.Request(url, data=b"", method="POST")  # noqa: S310 - our loopback server
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            json.loads(response.read() or b"{}")


@contextmanager
def moto_server() -> Iterator[LocalAws]:
    """Start a threaded moto server on a free loopback port; stop it on exit."""
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request drowns the output
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        yield LocalAws(endpoint_url=f"http://{host}:{port}")
    finally:
        server.stop()
