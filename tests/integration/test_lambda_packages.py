"""The project's own package, as `sam build` makes it from `CodeUri: src/`, and the runtime that runs it:
built with pip for Lambda's platform (the first time), then found in the cache."""

import time
from pathlib import Path

import pytest

from demo.lambda_package import PackageRequest, machine_architecture
from demo.runtime_config import CODE_ROOT, FunctionConfig
from demo.runtime_python import RUNTIME_CLIENT_VERSION, FunctionPackages


@pytest.fixture(scope="module")
def packages() -> FunctionPackages:
    return FunctionPackages()


def pipeline(**settings: object) -> FunctionConfig:
    return FunctionConfig(name="tc-pkg", handler="handlers.pipeline.lambda_handler", **settings)  # type: ignore[arg-type]


def test_the_package_holds_the_code_and_its_requirements_only(packages: FunctionPackages) -> None:
    task_root, _ = packages.prepare(pipeline())
    top = {path.name for path in task_root.iterdir()}
    # The code root, as sam build copies it ...
    assert {"handlers", "pipeline", "traces", "requirements.txt"} <= top
    assert not any(name.endswith(".egg-info") for name in top)
    # ... over the closure of src/requirements.txt, for Lambda's platform and this architecture.
    assert {"aws_lambda_powertools", "aws_xray_sdk", "boto3", "botocore", "pydantic", "pydantic_core"} <= top
    [core] = (task_root / "pydantic_core").glob("_pydantic_core.*.so")
    assert "cpython-313" in core.name
    assert ("x86_64" if machine_architecture() == "x86_64" else "aarch64") in core.name
    # Nothing of the development environment, and no bytecode (sam build installs none).
    for dev_only in ("moto", "pytest", "mypy", "ruff", "awslambdaric", "bin"):
        assert dev_only not in top
    assert not list(task_root.rglob("*.pyc"))
    assert not list(task_root.rglob("__pycache__"))


def test_the_second_build_is_the_cached_one(packages: FunctionPackages) -> None:
    first, _ = packages.prepare(pipeline())
    started = time.monotonic()
    second, _ = packages.prepare(pipeline())
    assert second == first
    assert time.monotonic() - started < 2.0  # hashing the code root, no pip
    assert packages.builds[-1].cached


def test_the_runtime_is_python313_with_awslambdaric(packages: FunctionPackages) -> None:
    _, runtime = packages.prepare(pipeline())
    assert runtime.client_version == RUNTIME_CLIENT_VERSION
    assert (runtime.site_packages / "awslambdaric" / "bootstrap.py").is_file()
    assert list(runtime.site_packages.glob("runtime_client.cpython-313-*.so"))  # its C extension
    assert runtime.bootstrap.is_file()
    assert runtime.interpreter.name.startswith("python3.13")
    assert runtime.command()[1:4] == ["-I", "-S", "-u"]


def test_a_package_without_a_module_is_its_own(packages: FunctionPackages) -> None:
    full, _ = packages.prepare(pipeline())
    without, _ = packages.prepare(pipeline(package_without=("aws_xray_sdk",)))
    assert without != full
    assert not (without / "aws_xray_sdk").exists()
    assert (full / "aws_xray_sdk").is_dir()
    assert list(without.glob("aws_xray_sdk-*.dist-info"))


def test_the_request_reads_the_code_root_as_sam_build_does() -> None:
    request = PackageRequest.for_code(CODE_ROOT)
    assert request.requirements == (CODE_ROOT / "requirements.txt").resolve()
    assert request.architecture == machine_architecture()
    assert PackageRequest.for_code(Path(__file__).parent / "sample_function").requirements is None
