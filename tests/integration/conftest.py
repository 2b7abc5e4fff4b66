"""A moto server for the whole integration session; each test gets an empty account."""

from collections.abc import Iterator

import pytest

from demo.moto_server import LocalAws, moto_server


@pytest.fixture(scope="session")
def local_aws_server() -> Iterator[LocalAws]:
    with moto_server() as server:
        yield server


@pytest.fixture
def local_aws(local_aws_server: LocalAws, monkeypatch: pytest.MonkeyPatch) -> LocalAws:
    """Point boto3 at the moto server through the environment, as a user's shell would."""
    for name, value in local_aws_server.environment().items():
        monkeypatch.setenv(name, value)
    local_aws_server.reset()
    return local_aws_server
