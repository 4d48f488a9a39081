"""The error catalogue: every tests/errors/NN_name.yaml is a broken spec, and NN_name.err beside it holds the
exact stderr `costcalc report` must print for it (one located line per error) with exit code 2. The first
comment line of each spec says what is wrong; tests/errors/README.md lists them all.

Refresh on purpose, after reading every diff: `python tests/test_errors.py --write`.
"""

from __future__ import annotations

import os
import pathlib
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from hostile import check_promises, run_report  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parent.parent
ERRORS = ROOT / "tests" / "errors"
CASES = sorted(ERRORS.glob("*.yaml"))


def _relative(path: pathlib.Path) -> str:
    return str(path.relative_to(ROOT))


@pytest.fixture(autouse=True)
def _at_root(monkeypatch):
    monkeypatch.chdir(ROOT)


def test_the_catalogue_is_large_enough():
    assert len(CASES) >= 60
    assert all(case.with_suffix(".err").exists() for case in CASES)


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.stem)
def test_error_message(case):
    path = _relative(case)
    code, lines = check_promises(path)
    assert code == 2
    assert lines == case.with_suffix(".err").read_text().splitlines()


def _note(case: pathlib.Path) -> str:
    first = case.read_bytes().split(b"\n", 1)[0].decode("utf-8", "replace")
    return first.lstrip("# ").strip()


def write() -> None:
    """Regenerate every .err file and the README index from what costcalc prints now."""
    os.chdir(ROOT)
    rows = ["# Error catalogue", "",
            "Each broken spec here, what is wrong with it, and the exact message `costcalc report` prints (exit "
            "code 2). `tests/test_errors.py` checks every one.", "", "| spec | what is wrong | message |", "|---|---|---|"]
    for case in CASES:
        code, _, err, _ = run_report(_relative(case))
        assert code == 2, case
        case.with_suffix(".err").write_text(err)
        first = err.splitlines()[0].split(": error: ", 1)[1]
        more = len(err.splitlines()) - 1
        message = first.replace("|", "\\|") + (f" (and {more} more line{'s' * (more > 1)})" if more else "")
        rows.append(f"| [{case.name}]({case.name}) | {_note(case)} | `{message}` |")
    (ERRORS / "README.md").write_text("\n".join(rows) + "\n")


if __name__ == "__main__":
    if sys.argv[1:] == ["--write"]:
        write()
    else:
        print(__doc__)
