"""Coverage-guided fuzzing (atheris, optional: `pip install atheris`) of the two parsers of untrusted text: the
YAML loader and the expression evaluator. Any exception other than costcalc's own typed errors, or an error
line without a position, is a crash that atheris reports with the input that caused it.

    python benchmarks/atheris_fuzz.py -runs=200000          # or -max_total_time=600
"""

from __future__ import annotations

import re
import sys

import atheris

with atheris.instrument_imports():
    from costcalc.errors import SpecError
    from costcalc.spec.expr import ExprError, evaluate
    from costcalc.spec.loader import load_text

LOCATED = re.compile(r"^fuzz\.yaml:\d+:\d+: error: \S")
VARIABLES = {"a": 3, "b": 2.5, "c": [1, 2, 3], "in_channels": 64}


def one_input(data: bytes) -> None:
    provider = atheris.FuzzedDataProvider(data)
    if provider.ConsumeBool():
        text = provider.ConsumeUnicodeNoSurrogates(8192)
        try:
            load_text(text, "fuzz.yaml")
        except SpecError as e:
            for line in str(e).splitlines():
                if not LOCATED.match(line):
                    raise AssertionError(f"not a located error line: {line!r}") from None
    else:
        text = provider.ConsumeUnicodeNoSurrogates(300)
        try:
            evaluate(text, VARIABLES.__getitem__)
        except ExprError as e:
            if "\n" in str(e) and "\n" not in text:
                raise AssertionError(f"a multi-line message: {e!r}") from None


if __name__ == "__main__":
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()
