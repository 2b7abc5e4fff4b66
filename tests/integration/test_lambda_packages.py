"""The project's own package, as `sam build` makes it from `CodeUri: src/`, and the runtime that runs it:
built with pip for Lambda's platform (the first time), then found in the cache."""

import time
from pathlib import Path

import pytest

from demo.lambda_bootstrap import read_layers
from demo.lambda_package import PackageRequest, machine_architecture
from demo.runtime_config import CODE_ROOT, FunctionConfig
from demo.runtime_python import RUNTIME_CLIENT_VERSION, FunctionPackages
from tests.fresh_process import run_fresh


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


LAYER = CODE_ROOT.parent / "layers" / "opentelemetry"


def twin(**settings: object) -> FunctionConfig:
    return FunctionConfig(
        name="tc-pkg-otel",
        handler="handlers.pipeline_otel.lambda_handler",
        layers=(LAYER,),
        **settings,  # type: ignore[arg-type]
    )


def test_the_opentelemetry_layer_is_built_beside_the_same_package(packages: FunctionPackages) -> None:
    plain, _ = packages.prepare(pipeline())
    task_root, runtime = packages.prepare(twin())
    assert task_root == plain  # the layer changes nothing in the package
    [layer] = read_layers(str(runtime.directory))
    python = Path(layer) / "python"
    assert (python / "amazon" / "opentelemetry" / "distro" / "otlp_udp_exporter.py").is_file()
    assert (python / "opentelemetry" / "instrumentation" / "botocore" / "__init__.py").is_file()
    assert (python / "requirements.txt").read_text() == (LAYER / "requirements.txt").read_text()
    assert not list(python.rglob("__pycache__"))  # sam build compiles nothing, nor does the layer build
    assert (runtime.site_packages / "awslambdaric").is_dir()  # the runtime's own packages, as without layers


# Sets the search path as the bootstrap does (from the runtime folder's layers.txt), then imports the twin as
# awslambdaric would: where each of its pieces came from, and whether the X-Ray SDK came along.
PROBE = """
import sys
runtime_dir, task_root = sys.argv[1], sys.argv[2]
sys.path.insert(0, runtime_dir)
import bootstrap
layers = bootstrap.read_layers(runtime_dir)
sys.path[:] = bootstrap.search_path(task_root, runtime_dir, [p for p in sys.path[1:] if p], layers)
import handlers.pipeline_otel, opentelemetry.sdk.trace, wrapt
print(handlers.pipeline_otel.__file__)
print(opentelemetry.sdk.trace.__file__)
print(wrapt.__file__)
print("aws_xray_sdk" in sys.modules)
"""


def test_the_twin_imports_from_its_package_and_its_layer_in_the_runtimes_interpreter(
    packages: FunctionPackages,
) -> None:
    task_root, runtime = packages.prepare(twin())
    environment = {
        "PATH": "/usr/bin:/bin",
        "AWS_LAMBDA_FUNCTION_NAME": "tc-pkg-otel",
        "AWS_REGION": "us-east-1",
        "LAMBDA_TASK_ROOT": str(task_root),
    }
    argv = [str(runtime.interpreter), "-I", "-S", "-B", "-c", PROBE, str(runtime.directory), str(task_root)]
    handler, sdk, wrapt, xray_sdk = run_fresh(argv, environment, cwd=task_root).split()
    [layer] = read_layers(str(runtime.directory))
    assert Path(handler).is_relative_to(task_root)
    assert Path(sdk).is_relative_to(Path(layer) / "python")
    assert (Path(layer) / "python" / "wrapt").is_dir()  # in both: the package's comes first, as on Lambda
    assert Path(wrapt).is_relative_to(task_root)
    assert xray_sdk == "False"
