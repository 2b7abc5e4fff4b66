"""Function packages as `sam build` makes them, for this machine's architecture, cached.

`sam build` (aws-lambda-builders' python_pip workflow) makes a function's package from its `CodeUri`: the
wheels of `requirements.txt` for the function's runtime and architecture (for python3.13: CPython 3.13,
glibc 2.34, so manylinux tags up to `manylinux_2_34`), installed without bytecode, then the code root copied
over them, without `__pycache__`, `*.pyc`, `*.so`, `*.egg-info` and the other build leftovers it excludes.
Nothing comes from the development environment. Here the same, with pip:

- the dependencies: `pip install --target --only-binary=:all: --implementation cp --python-version 3.13
  --abi cp313 --platform <each tag> --no-compile -r requirements.txt`, cached under `deps/<hash>` by the
  requirements' text, the runtime, the architecture and the platform tags, so a code change reinstalls
  nothing;
- the package: the dependencies (hard links where the file system allows, else copies) plus a copy of the
  code root, under `packages/<hash>` by the dependencies' hash, the code's (every file's path and bytes) and
  the modules left out; each built in a temporary folder and renamed into place, so a half-built package is
  never used and two processes building the same one both end up with it.
The cache lives in `TRACECANARY_LAMBDA_CACHE`, else `.lambda-cache/` beside `src/`.

A layer (`AWS::Serverless::LayerVersion` with `BuildMethod: python3.13`) is built the same way from its
`ContentUri` folder, dependencies and copied content both under `python/` (Lambda extracts a layer's zip
into `/opt`, so that is `/opt/python`); cached under `layers/<hash>`, its dependencies under `deps/`.

`without` leaves top-level modules out of a package (a folder, `NAME.py`, `NAME.*.so`), as a bundler that
missed a library does (the seed's `PythonFunction` left out `aws_xray_sdk`); its `*.dist-info` stays, as it
would. Leaving out what Lambda's python3.13 runtime itself provides (boto3 and its dependencies) is refused:
on Lambda the function would find the runtime's copy, and the local runtime carries no SDK of its own.

Differences from `sam build`: a requirement without a wheel for the platform fails here (sam build would try
building its sdist); pip's `--target` leaves `*.dist-info/RECORD` and `INSTALLER` (its `bin/` is removed).
"""

import hashlib
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from fnmatch import fnmatch
from pathlib import Path
from typing import Literal

from common.errors import UserError
from demo.runtime_config import CODE_ROOT, PYTHON_RUNTIME

Architecture = Literal["x86_64", "arm64"]
ARCHITECTURES: tuple[Architecture, ...] = ("x86_64", "arm64")
PYTHON_VERSION = PYTHON_RUNTIME.removeprefix("python")  # "3.13"
LAMBDA_ABI = "cp" + PYTHON_VERSION.replace(".", "")  # "cp313"
CACHE_VARIABLE = "TRACECANARY_LAMBDA_CACHE"
DEFAULT_CACHE = CODE_ROOT.parent / ".lambda-cache"
BUILDER_VERSION = "1"  # part of every hash: a change to how packages are made rebuilds them
KEEP_PACKAGES = 8  # the most recently built packages kept; older ones are removed
LAYER_CONTENT = "python"  # where a python3.13 layer build puts everything: /opt/python on Lambda

# aws-lambda-builders' compatible platforms for glibc 2.34 (python3.12 and later), oldest first.
PLATFORM_TAGS: dict[Architecture, tuple[str, ...]] = {
    "x86_64": (
        "manylinux1_x86_64",
        "manylinux2010_x86_64",
        "manylinux2014_x86_64",
        "manylinux_2_17_x86_64",
        "manylinux_2_28_x86_64",
        "manylinux_2_34_x86_64",
    ),
    "arm64": (
        "manylinux2014_aarch64",
        "manylinux_2_17_aarch64",
        "manylinux_2_28_aarch64",
        "manylinux_2_34_aarch64",
    ),
}
# aws-lambda-builders' PythonPipWorkflow.EXCLUDED_FILES: what sam build does not copy from the code root.
EXCLUDED = (
    ".aws-sam",
    ".chalice",
    ".git",
    ".gitignore",
    "*.pyc",
    "__pycache__",
    "*.so",
    ".Python",
    "*.egg-info",
    "*.egg",
    "pip-log.txt",
    "pip-delete-this-directory.txt",
    "htmlcov",
    ".tox",
    ".nox",
    ".coverage",
    ".cache",
    ".pytest_cache",
    ".python-version",
    ".mypy_cache",
    ".dmypy.json",
    ".pyre",
    ".env",
    ".venv",
    "venv",
    "venv.bak",
    "env.bak",
    "ENV",
    "env",
    ".idea",
    ".vscode",
    ".DS_Store",
)
# Lambda's Python runtimes include the AWS SDK for Python and its dependencies (import names).
RUNTIME_INCLUDED = frozenset({"boto3", "botocore", "s3transfer", "jmespath", "dateutil", "six", "urllib3"})
_MODULE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class PackageError(UserError):
    """A function package could not be built as asked."""


def machine_architecture() -> Architecture:
    """This machine's, in Lambda's words (`x86_64` or `arm64`)."""
    machine = platform.machine().lower()
    if machine in ("x86_64", "amd64"):
        return "x86_64"
    if machine in ("aarch64", "arm64"):
        return "arm64"
    raise PackageError(f"this machine is {machine}: Lambda runs x86_64 and arm64 only")


def check_left_out(name: str) -> str:
    """A top-level module that may be left out of a package (the demo's `--package-without`)."""
    if not _MODULE_NAME.match(name):
        raise PackageError(f"--package-without {name!r}: expected a top-level module name, e.g. aws_xray_sdk")
    if name in RUNTIME_INCLUDED:
        raise PackageError(
            f"--package-without {name}: Lambda's {PYTHON_RUNTIME} runtime includes boto3 and its "
            f"dependencies ({', '.join(sorted(RUNTIME_INCLUDED))}), so on Lambda the function would still "
            f"import {name}; the local runtime carries no SDK of its own"
        )
    return name


@dataclass(frozen=True)
class PackageRequest:
    """What one function's package is made of."""

    code_root: Path
    requirements: Path | None  # None: no dependencies
    architecture: Architecture
    without: tuple[str, ...] = ()

    @classmethod
    def for_code(
        cls, code_root: Path, *, architecture: Architecture | None = None, without: Iterable[str] = ()
    ) -> "PackageRequest":
        """As sam build reads a CodeUri: `requirements.txt` in the code root, if there is one."""
        requirements = code_root / "requirements.txt"
        return cls(
            code_root=code_root.resolve(),
            requirements=requirements.resolve() if requirements.is_file() else None,
            architecture=architecture or machine_architecture(),
            without=tuple(sorted({check_left_out(name) for name in without})),
        )


@dataclass(frozen=True)
class BuiltPackage:
    path: Path  # the package (LAMBDA_TASK_ROOT), or a layer's root (what Lambda's /opt holds of it)
    request: PackageRequest
    seconds: float  # how long it took to find or build
    cached: bool  # found in the cache, nothing built
    dependencies_cached: bool


class PackageBuilder:
    """Builds packages into a cache; thread-safe (one build at a time in a process)."""

    def __init__(self, cache_dir: Path | None = None, pip: list[str] | None = None) -> None:
        self.cache_dir = (cache_dir or Path(os.environ.get(CACHE_VARIABLE) or DEFAULT_CACHE)).resolve()
        self._pip = pip or [sys.executable, "-m", "pip"]
        self._lock = threading.Lock()

    def build(self, request: PackageRequest) -> BuiltPackage:
        """A function's package: `path` is its LAMBDA_TASK_ROOT."""
        return self._build(request, "packages", content="")

    def build_layer(self, request: PackageRequest) -> BuiltPackage:
        """A layer: `path` is what Lambda's `/opt` holds of it, its packages in `path / "python"`."""
        if not request.code_root.is_dir():
            raise PackageError(f"layer {request.code_root}: no such folder (a layer's ContentUri)")
        return self._build(request, "layers", content=LAYER_CONTENT)

    def _build(self, request: PackageRequest, kind: str, content: str) -> BuiltPackage:
        started = time.monotonic()
        with self._lock:
            dependencies, dependencies_cached = self._dependencies(request)
            key = digest(
                {
                    "builder": BUILDER_VERSION,
                    "dependencies": dependencies.name if dependencies else None,
                    "code": code_digest(request.code_root),
                    "without": request.without,
                }
            )
            path = self.cache_dir / kind / key
            cached = path.is_dir()
            if not cached:
                with BuildingFolder(path) as folder:
                    root = folder / content
                    root.mkdir(exist_ok=True)
                    if dependencies is not None:
                        _link_tree(dependencies, root)
                    _copy_code(request.code_root, root)
                    _leave_out(root, request.without)
                self._prune(self.cache_dir / kind, keep=path)
            os.utime(path)  # the most recently used are the ones kept
        return BuiltPackage(path, request, time.monotonic() - started, cached, dependencies_cached)

    def _dependencies(self, request: PackageRequest) -> tuple[Path | None, bool]:
        if request.requirements is None:
            return None, True
        text = request.requirements.read_text()
        tags = PLATFORM_TAGS[request.architecture]
        key = digest({"builder": BUILDER_VERSION, "requirements": text, "abi": LAMBDA_ABI, "platforms": tags})
        path = self.cache_dir / "deps" / key
        if path.is_dir():
            return path, True
        with BuildingFolder(path) as folder:
            self.pip_install(folder, ["-r", str(request.requirements)], tags)
            shutil.rmtree(folder / "bin", ignore_errors=True)  # console scripts for the build's interpreter
        return path, False

    def pip_install(self, target: Path, requirements: list[str], tags: tuple[str, ...]) -> None:
        command = [
            *self._pip,
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--no-input",
            "--no-compile",
            "--target",
            str(target),
            "--only-binary=:all:",
            "--implementation",
            "cp",
            "--python-version",
            PYTHON_VERSION,
            "--abi",
            LAMBDA_ABI,
            *[option for tag in tags for option in ("--platform", tag)],
            *requirements,
        ]
        completed = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
        if completed.returncode != 0:
            lines = [
                line
                for line in (completed.stderr + completed.stdout).splitlines()
                if line.strip() and not line.startswith("WARNING: Location 'file://")
            ]
            raise PackageError(
                f"pip could not install {' '.join(requirements)} for {PYTHON_RUNTIME} ({tags[-1]}): "
                + " | ".join(lines[-5:])
            )

    @staticmethod
    def _prune(folder: Path, keep: Path) -> None:
        built = sorted(
            (path for path in folder.iterdir() if path.is_dir() and not path.name.startswith(".")),
            key=lambda path: path.stat().st_mtime,
            reverse=True,
        )
        for old in built[KEEP_PACKAGES:]:
            if old != keep:
                shutil.rmtree(old, ignore_errors=True)


class BuildingFolder:
    """A temporary folder beside `final`, renamed to it on success and removed on failure."""

    def __init__(self, final: Path) -> None:
        self.final = final
        self.folder = final.parent / f".{final.name}.{uuid.uuid4().hex[:8]}"

    def __enter__(self) -> Path:
        self.folder.mkdir(parents=True)
        return self.folder

    def __exit__(self, error_type: type[BaseException] | None, *_: object) -> None:
        if error_type is None:
            try:
                self.folder.rename(self.final)
            except OSError:  # another process made it first: theirs is the same
                if not self.final.is_dir():
                    raise
        shutil.rmtree(self.folder, ignore_errors=True)


def _excluded(name: str) -> bool:
    return any(fnmatch(name, pattern) for pattern in EXCLUDED)


def code_files(code_root: Path) -> Iterator[Path]:
    """The code root's files as sam build copies them, in a stable order."""
    for folder, folders, files in os.walk(code_root):
        folders[:] = sorted(name for name in folders if not _excluded(name))
        for name in sorted(files):
            if not _excluded(name):
                yield Path(folder) / name


def code_digest(code_root: Path) -> str:
    hashed = hashlib.sha256()
    for path in code_files(code_root):
        hashed.update(path.relative_to(code_root).as_posix().encode() + b"\0")
        hashed.update(path.read_bytes() + b"\0")
    return hashed.hexdigest()[:20]


def digest(document: object) -> str:
    return hashlib.sha256(json.dumps(document, sort_keys=True).encode()).hexdigest()[:20]


def _link_tree(source: Path, target: Path) -> None:
    for entry in source.iterdir():
        destination = target / entry.name
        if entry.is_dir():
            shutil.copytree(entry, destination, copy_function=_link_or_copy)
        else:
            _link_or_copy(str(entry), str(destination))


def _link_or_copy(source: str, destination: str) -> str:
    try:
        os.link(source, destination)
    except OSError:
        shutil.copy2(source, destination)
    return destination


def _copy_code(code_root: Path, target: Path) -> None:
    for path in code_files(code_root):
        destination = target / path.relative_to(code_root)
        destination.parent.mkdir(parents=True, exist_ok=True)
        if destination.exists():  # the code wins over a dependency of the same name, as in sam build
            destination.unlink()
        shutil.copy2(path, destination)


def top_level_entries(package: Path, name: str) -> list[Path]:
    """What makes top-level module `name` importable from `package`."""
    return sorted(
        entry
        for entry in package.iterdir()
        if entry.name in (name, f"{name}.py")
        or (entry.name.startswith(f"{name}.") and entry.name.endswith((".so", ".pyd")))
    )


def _leave_out(package: Path, names: tuple[str, ...]) -> None:
    for name in names:
        entries = top_level_entries(package, name)
        if not entries:
            modules = sorted(
                {
                    entry.name.split(".")[0]
                    for entry in package.iterdir()
                    if not entry.name.endswith((".dist-info", ".pth")) and not entry.name.startswith(".")
                }
            )
            raise PackageError(
                f"--package-without {name}: the package has no top-level module {name}; it has "
                + ", ".join(modules)
            )
        for entry in entries:
            if entry.is_dir():
                shutil.rmtree(entry)
            else:
                entry.unlink()
