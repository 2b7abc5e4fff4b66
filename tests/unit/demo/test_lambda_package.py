"""Function packages as sam build makes them: what is copied, what is left out, what is cached (no pip here:
the code roots below have no requirements, or a stand-in pip that records its arguments)."""

import importlib.machinery
import os
import stat
import sys
from pathlib import Path

import pytest

from demo.lambda_bootstrap import read_layers, search_path
from demo.lambda_package import (
    PLATFORM_TAGS,
    BuiltPackage,
    PackageBuilder,
    PackageError,
    PackageRequest,
    check_left_out,
    code_digest,
)
from demo.runtime_jobs import LambdaPython
from demo.runtime_python import RuntimeBuilder


def write(path: Path, text: str = "") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.fixture
def code(tmp_path: Path) -> Path:
    root = tmp_path / "src"
    write(root / "handlers" / "__init__.py")
    write(root / "handlers" / "pipeline.py", "def lambda_handler(event, context): ...\n")
    write(root / "handlers" / "__pycache__" / "pipeline.cpython-313.pyc", "bytecode")
    write(root / "tracecanary.egg-info" / "PKG-INFO", "Name: tracecanary")
    write(root / ".mypy_cache" / "3.13" / "cache.json", "{}")
    write(root / "native.so", "not sam's to copy")
    write(root / "pipeline" / "processor.py", "X = 1\n")
    return root


def build(tmp_path: Path, code: Path, **settings: object) -> BuiltPackage:
    request = PackageRequest.for_code(code, architecture="x86_64", **settings)  # type: ignore[arg-type]
    return PackageBuilder(tmp_path / "cache").build(request)


def files(folder: Path) -> list[str]:
    return sorted(str(path.relative_to(folder)) for path in folder.rglob("*") if path.is_file())


def test_the_package_is_the_code_root_without_what_sam_build_excludes(tmp_path: Path, code: Path) -> None:
    built = build(tmp_path, code)
    assert files(built.path) == ["handlers/__init__.py", "handlers/pipeline.py", "pipeline/processor.py"]
    assert built.request.requirements is None  # no requirements.txt: nothing to install
    assert built.path.parent == tmp_path / "cache" / "packages"
    assert not built.cached


def test_a_second_build_of_the_same_code_is_the_cached_one(tmp_path: Path, code: Path) -> None:
    first = build(tmp_path, code)
    second = build(tmp_path, code)
    assert (second.path, second.cached) == (first.path, True)
    write(code / "pipeline" / "processor.py", "X = 2\n")  # new code: a new package
    third = build(tmp_path, code)
    assert third.path != first.path
    assert not third.cached
    assert (third.path / "pipeline" / "processor.py").read_text() == "X = 2\n"


def test_bytecode_and_build_leftovers_do_not_change_the_codes_hash(code: Path) -> None:
    before = code_digest(code)
    write(code / "pipeline" / "__pycache__" / "processor.cpython-313.pyc", "new bytecode")
    write(code / ".pytest_cache" / "v" / "x", "1")
    assert code_digest(code) == before
    write(code / "pipeline" / "new.py")
    assert code_digest(code) != before


def test_a_module_is_left_out_where_asked(tmp_path: Path, code: Path) -> None:
    built = build(tmp_path, code, without=["pipeline"])
    assert files(built.path) == ["handlers/__init__.py", "handlers/pipeline.py"]
    assert built.path != build(tmp_path, code).path  # each its own package


def test_leaving_out_a_module_the_package_lacks_names_what_it_has(tmp_path: Path, code: Path) -> None:
    with pytest.raises(PackageError, match=r"no top-level module aws_xray_sdk; it has handlers, pipeline$"):
        build(tmp_path, code, without=["aws_xray_sdk"])
    assert not list((tmp_path / "cache" / "packages").iterdir())  # nothing half-built is left behind


@pytest.mark.parametrize("name", ["boto3", "botocore", "urllib3"])
def test_what_lambdas_runtime_includes_cannot_be_left_out(name: str) -> None:
    with pytest.raises(PackageError, match=f"runtime includes boto3 and its dependencies .*import {name}"):
        check_left_out(name)


@pytest.mark.parametrize("name", ["", "aws-xray-sdk", "aws_xray_sdk.core", "../x"])
def test_only_top_level_module_names_can_be_left_out(name: str) -> None:
    with pytest.raises(PackageError, match="expected a top-level module name"):
        check_left_out(name)


def fake_pip(tmp_path: Path) -> list[str]:
    """A pip that records its arguments and installs one module, so the builder's steps can be seen."""
    script = write(
        tmp_path / "pip.py",
        "import sys, pathlib\n"
        "args = sys.argv[1:]\n"
        "target = pathlib.Path(args[args.index('--target') + 1])\n"
        "(target / 'aws_xray_sdk').mkdir(parents=True)\n"
        "(target / 'aws_xray_sdk' / '__init__.py').write_text('')\n"
        "(target / 'aws_xray_sdk-2.15.0.dist-info').mkdir()\n"
        "(target / 'bin').mkdir()\n"
        "with open(pathlib.Path(__file__).parent / 'calls.txt', 'a') as calls:\n"
        "    calls.write(' '.join(args) + '\\n')\n",
    )
    return [sys.executable, str(script)]


def test_dependencies_are_installed_for_lambdas_platform_once(tmp_path: Path, code: Path) -> None:
    write(code / "requirements.txt", "aws-xray-sdk==2.15.0\n")
    builder = PackageBuilder(tmp_path / "cache", pip=fake_pip(tmp_path))
    request = PackageRequest.for_code(code, architecture="arm64")
    first = builder.build(request)
    write(code / "pipeline" / "processor.py", "X = 3\n")
    second = builder.build(request)  # new code, same requirements: nothing reinstalled
    [call] = (tmp_path / "calls.txt").read_text().splitlines()
    words = call.split()
    assert words[:2] == ["install", "--quiet"]
    for option in ("--no-compile", "--only-binary=:all:"):
        assert option in words
    assert words[words.index("--python-version") + 1] == "3.13"
    assert words[words.index("--abi") + 1] == "cp313"
    assert words[words.index("--implementation") + 1] == "cp"
    assert [words[i + 1] for i, word in enumerate(words) if word == "--platform"] == list(
        PLATFORM_TAGS["arm64"]
    )
    assert words[-2:] == ["-r", str(code / "requirements.txt")]
    assert (first.dependencies_cached, second.dependencies_cached) == (False, True)
    for built in (first, second):
        assert "aws_xray_sdk/__init__.py" in files(built.path)
        assert not (built.path / "bin").exists()  # pip's console scripts are not sam build's
        assert (built.path / "requirements.txt").is_file()  # the code root's, as sam build copies it
    without = builder.build(PackageRequest.for_code(code, architecture="arm64", without=["aws_xray_sdk"]))
    assert not (without.path / "aws_xray_sdk").exists()
    assert (without.path / "aws_xray_sdk-2.15.0.dist-info").is_dir()  # as a bundler that missed it leaves it
    assert (second.path / "aws_xray_sdk" / "__init__.py").is_file()  # the others keep theirs


def test_a_failing_pip_is_one_line_with_its_last_words(tmp_path: Path, code: Path) -> None:
    write(code / "requirements.txt", "no-such-package==0\n")
    script = write(
        tmp_path / "pip.py",
        "import sys\nprint('ERROR: No matching distribution', file=sys.stderr)\nsys.exit(1)\n",
    )
    builder = PackageBuilder(tmp_path / "cache", pip=[sys.executable, str(script)])
    with pytest.raises(PackageError, match=r"pip could not install .*: ERROR: No matching distribution$"):
        builder.build(PackageRequest.for_code(code, architecture="x86_64"))
    assert not [path for path in (tmp_path / "cache" / "deps").iterdir() if not path.name.startswith(".")]


def test_the_package_files_are_readable_by_the_runtime(tmp_path: Path, code: Path) -> None:
    built = build(tmp_path, code)
    for path in built.path.rglob("*"):
        assert os.access(path, os.R_OK)
        assert not path.is_file() or not stat.S_ISLNK(path.lstat().st_mode)


@pytest.fixture
def layer(tmp_path: Path) -> Path:
    """A layer's content folder (its ContentUri): a requirements.txt and nothing else, like the twin's."""
    root = tmp_path / "layers" / "opentelemetry"
    write(root / "requirements.txt", "aws-xray-sdk==2.15.0\n")
    write(root / "__pycache__" / "left.cpython-313.pyc", "bytecode")
    return root


def test_a_layer_is_its_requirements_and_content_under_python_and_cached(tmp_path: Path, layer: Path) -> None:
    builder = PackageBuilder(tmp_path / "cache", pip=fake_pip(tmp_path))
    request = PackageRequest.for_code(layer, architecture="x86_64")
    first = builder.build_layer(request)
    second = builder.build_layer(request)

    assert first.path.parent == tmp_path / "cache" / "layers"
    assert files(first.path) == [
        "python/aws_xray_sdk/__init__.py",
        "python/requirements.txt",  # the content folder, copied as sam build copies it
    ]
    assert (first.path / "python" / "aws_xray_sdk-2.15.0.dist-info").is_dir()
    assert (second.path, second.cached, second.dependencies_cached) == (first.path, True, True)
    [call] = (tmp_path / "calls.txt").read_text().splitlines()  # installed once, with a package's flags
    words = call.split()
    assert [words[i + 1] for i, word in enumerate(words) if word == "--platform"] == list(
        PLATFORM_TAGS["x86_64"]
    )
    assert words[-2:] == ["-r", str(layer / "requirements.txt")]
    write(layer / "extra.py", "X = 1\n")  # new content: a new layer, the same dependencies
    third = builder.build_layer(request)
    assert (third.path != first.path, third.cached, third.dependencies_cached) == (True, False, True)
    assert (third.path / "python" / "extra.py").is_file()


def test_a_layer_folder_that_is_not_there_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "layers" / "nothing"
    with pytest.raises(PackageError, match=r"^layer .*/layers/nothing: no such folder"):
        PackageBuilder(tmp_path / "cache").build_layer(
            PackageRequest.for_code(missing, architecture="x86_64")
        )


def test_layers_come_after_the_package_and_before_the_runtime_as_opt_python_does() -> None:
    path = search_path("/task", "/runtime", ["/stdlib.zip", "/stdlib"], ["/layers/first", "/layers/second"])
    assert path == [
        "/task",
        "/layers/second/python/lib/python3.13/site-packages",
        "/layers/first/python/lib/python3.13/site-packages",
        "/layers/second/python",
        "/layers/first/python",
        "/runtime/site-packages",
        "/runtime",
        "/stdlib.zip",
        "/stdlib",
    ]
    assert search_path("/task", "/runtime", ["/stdlib"]) == [
        "/task",
        "/runtime/site-packages",
        "/runtime",
        "/stdlib",
    ]


def test_the_package_wins_over_a_layer_and_a_later_layer_over_an_earlier_one(tmp_path: Path) -> None:
    """As on Lambda: the task root first; the layers share /opt, a later one's file replacing an earlier's."""
    write(tmp_path / "task" / "shadowed.py", "WHERE = 'package'\n")
    write(tmp_path / "first" / "python" / "shadowed.py", "WHERE = 'first layer'\n")
    write(tmp_path / "first" / "python" / "layered.py", "WHERE = 'first layer'\n")
    write(tmp_path / "second" / "python" / "layered.py", "WHERE = 'second layer'\n")
    write(tmp_path / "first" / "python" / "only_first.py")
    path = search_path(
        str(tmp_path / "task"),
        str(tmp_path / "runtime"),
        [],
        [
            str(tmp_path / "first"),
            str(tmp_path / "second"),
        ],
    )

    def found(name: str) -> Path:
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        assert spec is not None
        assert spec.origin is not None
        return Path(spec.origin)

    assert found("shadowed") == tmp_path / "task" / "shadowed.py"
    assert found("layered") == tmp_path / "second" / "python" / "layered.py"
    assert found("only_first") == tmp_path / "first" / "python" / "only_first.py"


def test_a_function_with_layers_gets_a_runtime_folder_that_lists_them(tmp_path: Path) -> None:
    shared = tmp_path / "cache" / "runtime" / "shared"
    write(shared / "bootstrap.py", "# the bootstrap\n")
    write(shared / "site-packages" / "awslambdaric" / "__init__.py")
    runtime = LambdaPython(interpreter=Path(sys.executable), directory=shared, client_version="4.2.2")
    builder = RuntimeBuilder(PackageBuilder(tmp_path / "cache"), python=Path(sys.executable))
    layers = [tmp_path / "cache" / "layers" / "a", tmp_path / "cache" / "layers" / "b"]

    layered = builder.with_layers(runtime, layers)

    assert layered.directory.parent == shared.parent
    assert layered.directory != shared
    assert layered.bootstrap.read_text() == "# the bootstrap\n"
    assert (layered.site_packages / "awslambdaric" / "__init__.py").is_file()  # the runtime's own packages
    assert read_layers(str(layered.directory)) == [str(layer) for layer in layers]
    assert builder.with_layers(runtime, layers) == layered  # the same layers: the same folder
    assert builder.with_layers(runtime, layers[:1]).directory != layered.directory
    assert read_layers(str(shared)) == []  # a runtime without layers.txt: no layers
