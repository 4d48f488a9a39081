"""The examples of docs/api.md (and the other Python pages) run as tests: every ```python block, in order, in
one namespace, from the repository's top directory; their asserts are the checks."""

import os
import re

import pytest

from conftest import ROOT

PAGES = ["api.md", "sweep.md", "plots.md"]
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def python_blocks(page: str) -> list:
    return BLOCK.findall((ROOT / "docs" / page).read_text())


@pytest.mark.parametrize("page", PAGES)
def test_page_examples_run(page, capsys):
    blocks = python_blocks(page)
    assert blocks
    namespace: dict = {"__name__": "docs"}
    old = os.getcwd()
    os.chdir(ROOT)
    try:
        for number, code in enumerate(blocks, start=1):
            exec(compile(code, f"docs/{page}:block{number}", "exec"), namespace)  # noqa: S102 - our own docs
    finally:
        os.chdir(old)
    assert capsys.readouterr().out  # the examples print what they show
