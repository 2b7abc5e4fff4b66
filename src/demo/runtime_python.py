"""The local Lambda's python3.13 runtime: the interpreter, and the runtime folder with awslambdaric.

Lambda's python3.13 runtime is CPython 3.13 with the runtime interface client (awslambdaric, from PyPI) and
a bootstrap that starts it. Here: the machine's CPython 3.13 (`TRACECANARY_LAMBDA_PYTHON`, else this
interpreter where it is 3.13, else pyenv's `versions/3.13*`, else `python3.13` on PATH), and a runtime folder
under the package cache (`runtime/<hash>`, see lambda_package.py) holding the emulator's bootstrap
(lambda_bootstrap.py) and, in `site-packages/`, the pinned awslambdaric with its dependencies: wheels for
this architecture, installed with the build's pip and compiled to bytecode with the runtime's interpreter, as
a runtime ships them. awslambdaric has a C extension (`runtime_client`, on libcurl); its manylinux wheels
for CPython 3.13 need no compiler.

Not reproduced: the SDK for Python (boto3) Lambda's runtime includes: a package without boto3 fails here
(lambda_package.py refuses to leave it out); Amazon Linux 2023 itself (the machine's libraries are used).
"""

import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

from demo import lambda_bootstrap
from demo.lambda_package import (
    BUILDER_VERSION,
    LAMBDA_ABI,
    PLATFORM_TAGS,
    Architecture,
    BuildingFolder,
    BuiltPackage,
    PackageBuilder,
    PackageError,
    PackageRequest,
    digest,
    machine_architecture,
)
from demo.runtime_config import PYTHON_RUNTIME, FunctionConfig
from demo.runtime_jobs import LambdaPython

PYTHON_VARIABLE = "TRACECANARY_LAMBDA_PYTHON"
RUNTIME_CLIENT_VERSION = "4.2.2"
# awslambdaric and what it requires (simplejson, snapshot-restore-py), pinned.
RUNTIME_REQUIREMENTS = (
    f"awslambdaric=={RUNTIME_CLIENT_VERSION}",
    "simplejson==4.3.0",
    "snapshot-restore-py==1.0.0",
)
_VERSION = PYTHON_RUNTIME.removeprefix("python")


def find_python() -> Path:
    """CPython 3.13 on this machine, as the Makefile finds it (PYTHON313)."""
    named = os.environ.get(PYTHON_VARIABLE)
    if named:
        return _checked(Path(named), f"{PYTHON_VARIABLE}={named}")
    candidates: list[Path] = []
    if sys.version_info[:2] == (3, 13) and sys.implementation.name == "cpython":
        candidates.append(Path(getattr(sys, "_base_executable", sys.executable)))
    pyenv_root = os.environ.get("PYENV_ROOT") or str(Path.home() / ".pyenv")
    candidates += sorted(Path(pyenv_root).glob(f"versions/{_VERSION}*/bin/python{_VERSION}"), reverse=True)
    on_path = shutil.which(f"python{_VERSION}")
    if on_path:
        candidates.append(Path(on_path))
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    raise PackageError(
        f"the local Lambda runs {PYTHON_RUNTIME}, and this machine has no CPython {_VERSION} "
        f"(looked for pyenv's versions/{_VERSION}*, python{_VERSION} on PATH); install one or set "
        f"{PYTHON_VARIABLE}"
    )


def _checked(interpreter: Path, named: str) -> Path:
    try:
        completed = subprocess.run(  # noqa: S603 - the interpreter the user named
            [
                str(interpreter),
                "-I",
                "-S",
                "-c",
                "import sys; print(sys.implementation.name, *sys.version_info[:2])",
            ],
            capture_output=True,
            text=True,
            check=False,
            timeout=30,
        )
    except OSError as error:
        raise PackageError(f"{named}: {error.strerror}") from None
    if completed.stdout.split() != ["cpython", *_VERSION.split(".")]:
        raise PackageError(
            f"{named}: not CPython {_VERSION} ({completed.stdout.strip() or completed.stderr})"
        )
    return interpreter


class RuntimeBuilder:
    """Makes (once per cache) the runtime folder; thread-safe."""

    def __init__(self, packages: PackageBuilder, python: Path | None = None) -> None:
        self._packages = packages
        self._python = python
        self._lock = threading.Lock()
        self._built: dict[Architecture, LambdaPython] = {}

    def runtime(self, architecture: Architecture) -> LambdaPython:
        with self._lock:
            if architecture not in self._built:
                self._built[architecture] = self._build(architecture)
            return self._built[architecture]

    def _build(self, architecture: Architecture) -> LambdaPython:
        interpreter = self._python or find_python()
        bootstrap = Path(lambda_bootstrap.__file__).read_text()
        key = digest(
            {
                "builder": BUILDER_VERSION,
                "requirements": RUNTIME_REQUIREMENTS,
                "abi": LAMBDA_ABI,
                "platforms": PLATFORM_TAGS[architecture],
                "interpreter": str(interpreter),
                "bootstrap": bootstrap,
            }
        )
        folder = self._packages.cache_dir / "runtime" / key
        if not folder.is_dir():
            with BuildingFolder(folder) as building:
                site = building / "site-packages"
                self._packages.pip_install(site, list(RUNTIME_REQUIREMENTS), PLATFORM_TAGS[architecture])
                shutil.rmtree(site / "bin", ignore_errors=True)
                (building / "bootstrap.py").write_text(bootstrap)
                subprocess.run(  # noqa: S603 - bytecode for the runtime's own interpreter
                    [str(interpreter), "-I", "-S", "-m", "compileall", "-q", str(site)],
                    check=True,
                    capture_output=True,
                )
        return LambdaPython(interpreter=interpreter, directory=folder, client_version=RUNTIME_CLIENT_VERSION)

    def with_layers(self, runtime: LambdaPython, layers: list[Path]) -> LambdaPython:
        """The runtime for a function with layers: a runtime folder of its own (`runtime/<hash>`) with the
        bootstrap, the runtime's `site-packages` (a link to the shared one) and `layers.txt`, where the
        bootstrap finds the layers to put on the path."""
        listed = "".join(f"{layer}\n" for layer in layers)
        folder = (
            self._packages.cache_dir
            / "runtime"
            / digest({"runtime": str(runtime.directory), "layers": listed})
        )
        if not folder.is_dir():
            with BuildingFolder(folder) as building:
                shutil.copy2(runtime.bootstrap, building / runtime.bootstrap.name)
                (building / runtime.site_packages.name).symlink_to(
                    runtime.site_packages, target_is_directory=True
                )
                (building / lambda_bootstrap.LAYERS_FILE).write_text(listed)
        return LambdaPython(
            interpreter=runtime.interpreter, directory=folder, client_version=runtime.client_version
        )


class FunctionPackages:
    """What the local Lambda makes before a function's first environment: its package and the runtime.

    Every function's package is built for this machine's architecture (its packages run here only), from
    the function's code root, without the modules its `package_without` names, and so is each of its
    layers; a package or layer the same inputs made before is the cached one.
    """

    def __init__(self, cache_dir: Path | None = None, python: Path | None = None) -> None:
        self.packages = PackageBuilder(cache_dir)
        self.runtimes = RuntimeBuilder(self.packages, python)
        self.architecture = machine_architecture()
        self.builds: list[BuiltPackage] = []
        self._lock = threading.Lock()

    def prepare(self, config: FunctionConfig) -> tuple[Path, LambdaPython]:
        """The function's package (its LAMBDA_TASK_ROOT) and the runtime to run it, with its layers."""
        request = PackageRequest.for_code(
            config.code_root, architecture=self.architecture, without=config.package_without
        )
        built = self.packages.build(request)
        layers = [
            self.packages.build_layer(PackageRequest.for_code(layer, architecture=self.architecture))
            for layer in config.layers
        ]
        with self._lock:
            self.builds += [built, *layers]
        runtime = self.runtimes.runtime(self.architecture)
        if layers:
            runtime = self.runtimes.with_layers(runtime, [layer.path for layer in layers])
        return built.path, runtime
