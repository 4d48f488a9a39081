"""Shared by the fuzz suite, the error catalogue test and the long-run script: run `costcalc report` in-process
on a file and check the promises of issue 7 — exit 0 or 2, never a traceback, every stderr line of an exit 2 a
located `FILE:LINE:COL: error: ...`, valid JSON on exit 0, and a time bound."""

from __future__ import annotations

import json
import os
import re
import time

from click.testing import CliRunner

TIME_BOUND = 20.0  # seconds for one case, generous on a loaded 2-core machine; typical cases take 0.05 s
LOCATED = re.compile(r"^(?P<file>.+):(?P<line>\d+):(?P<col>\d+): error: \S.*$")


def run_report(path: str, *options: str):
    """(exit code, stdout, stderr, seconds) of `costcalc report PATH OPTIONS`, in-process."""
    from costcalc.cli import main

    runner = CliRunner()
    start = time.perf_counter()
    result = runner.invoke(main, ["report", path, *options], catch_exceptions=True)
    elapsed = time.perf_counter() - start
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        import traceback

        raise AssertionError("costcalc raised instead of reporting an error:\n"
                             + "".join(traceback.format_exception(result.exception))) from None
    return result.exit_code, result.stdout, result.stderr, elapsed


def check_promises(path: str, *options: str) -> tuple:
    """Run and assert every promise; return (exit code, stderr lines)."""
    code, out, err, elapsed = run_report(path, *options)
    assert code in (0, 2), f"exit code {code}\n{err}"
    assert "Traceback" not in out + err
    assert elapsed < TIME_BOUND, f"took {elapsed:.1f} s"
    lines = err.splitlines()
    if code == 2:
        assert lines, "exit 2 without a message"
        for line in lines:
            match = LOCATED.match(line)
            assert match, f"not a located error line: {line!r}"
            # the spec itself, or a spec it extends (an error in an inherited layer is located there)
            assert match["file"] == path or os.path.isfile(match["file"]), line
    else:
        assert not lines, err
        if "json" in options:
            doc = json.loads(out, parse_constant=_no_constant)
            for key, value in doc["totals"].items():
                assert isinstance(value, int) and value >= 0, (key, value)
    return code, lines


def _no_constant(name):
    raise AssertionError(f"JSON holds {name}: not valid JSON")
