"""A moto server on 127.0.0.1 that stands in for AWS in the demo and the integration tests."""

import json
import logging
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from moto.moto_server.threaded_moto_server import ThreadedMotoServer
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import make_server

from demo.s3_trace_headers import TraceHeaders, recording_middleware
from demo.transaction_search import LocalTransactionSearch

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
    trace_headers: TraceHeaders = field(default_factory=TraceHeaders)
    # Where the account's spans go, and Transaction Search's retrieval API (moto has none of it).
    transaction_search: LocalTransactionSearch = field(default_factory=LocalTransactionSearch)

    def environment(self) -> dict[str, str]:
        """Environment variables that point boto3 (and the AWS CLI) at this server."""
        return {**LOCAL_ENVIRONMENT, "AWS_ENDPOINT_URL": self.endpoint_url}

    def reset(self) -> None:
        """Forget every resource, so each test starts from an empty account."""
        url = f"{self.endpoint_url}/moto-api/reset"
        request = urllib.request.Request(url, data=b"", method="POST")  # noqa: S310 - our loopback server
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            json.loads(response.read() or b"{}")
        self.transaction_search.reset()


class _RecordingMotoServer(ThreadedMotoServer):
    """moto's threaded server, with the trace headers of S3 PUTs recorded on the way in and Transaction
    Search's operations answered in front of it."""

    def __init__(self, trace_headers: TraceHeaders, transaction_search: LocalTransactionSearch) -> None:
        super().__init__(ip_address="127.0.0.1", port=0, verbose=False)
        self.trace_headers = trace_headers
        self.transaction_search = transaction_search

    def _server_entry(self) -> None:
        moto = recording_middleware(DomainDispatcherApplication(create_backend_app), self.trace_headers)
        app = self.transaction_search.middleware(moto)
        self._server = make_server(
            self._ip_address, self._port, app, True, request_handler=MotoRequestHandler
        )
        self._server_ready_event.set()
        self._server.serve_forever()


@contextmanager
def moto_server(transaction_search: LocalTransactionSearch | None = None) -> Iterator[LocalAws]:
    """Start a threaded moto server on a free loopback port; stop it on exit. `transaction_search`: the
    account's trace destination (default: X-Ray, as a classic account)."""
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request drowns the output
    headers = TraceHeaders()
    search = transaction_search if transaction_search is not None else LocalTransactionSearch()
    server = _RecordingMotoServer(headers, search)
    server.start()
    try:
        host, port = server.get_host_and_port()
        yield LocalAws(endpoint_url=f"http://{host}:{port}", trace_headers=headers, transaction_search=search)
    finally:
        server.stop()
