"""`tracecanary demo`'s Lambda trace settings: parsed with their defaults, bad values refused by argparse."""

import argparse

import pytest

from cli.main import main, parser_for


def parse(*words: str) -> argparse.Namespace:
    argv = ["demo", *words]
    return parser_for(argv).parse_args(argv)


def test_the_demo_traces_in_the_new_style_without_an_extension_by_default() -> None:
    args = parse()
    assert (args.lambda_trace_format, args.extension_overhead_ms) == ("v2", 0.0)


def test_the_old_style_and_an_extension_on_request() -> None:
    args = parse("--lambda-trace-format", "v1", "--extension-overhead-ms", "12.5")
    assert (args.lambda_trace_format, args.extension_overhead_ms) == ("v1", 12.5)


@pytest.mark.parametrize(
    ("words", "message"),
    [
        (("--lambda-trace-format", "v3"), "argument --lambda-trace-format: invalid choice: 'v3'"),
        (
            ("--extension-overhead-ms", "-5"),
            "--extension-overhead-ms: must be 0 or more milliseconds, got -5",
        ),
        (("--extension-overhead-ms", "nan"), "--extension-overhead-ms: must be 0 or more milliseconds"),
        (("--extension-overhead-ms", "lots"), "expected a number of milliseconds, got 'lots'"),
    ],
)
def test_bad_trace_settings_are_one_clear_argparse_error(
    words: tuple[str, ...], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["demo", *words])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err
