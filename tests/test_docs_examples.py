"""Every `costcalc ...` command shown in README.md and docs/*.md runs, and where the page shows its output, the
output is compared: the docs cannot go stale.

What is run: the fenced code blocks marked `sh` (or `bash`, `shell`) and `console`.
- In an `sh` block every line (or `&&`-joined part of a line) that starts with `costcalc` is a command; other
  commands (`pip`, `pytest`, `python ...`) are left alone. `VAR=value costcalc ...` sets an environment variable,
  `> FILE` writes stdout to FILE.
- In a `console` block a line `$ costcalc ...` is a command and the lines after it, up to the next `$ ` line, are
  its output (stdout and stderr as a terminal shows them; stderr alone when stdout is redirected). A line `...`
  in the shown output stands for any number of lines, a line ending in ` ...` for any line that starts with
  the rest; trailing spaces are ignored.
- A command exits 0 unless its comment says otherwise: `costcalc check specs/ --max-flops 4.1G   # exits 1`.

Commands run in-process through click's CliRunner (as the shell would: prog_name `costcalc`, not a terminal, no
GITHUB_ACTIONS or COLUMNS unless the command sets them), with the working directory a fresh temporary directory that links every top-level entry of the
repository, so `specs/...` reads the shipped specs and every output file lands in the temporary directory (`~/`
in a redirect too). The commands of one block run in order in the same directory.

A block can be marked by an HTML comment on the line before it (invisible on GitHub and in the site), its parts
separated by `;`:
    <!-- docs-test: needs onnx -->           skipped unless the [onnx] extra is installed (also runtime, plot, ...)
    <!-- docs-test: fixture model.onnx -->   FIXTURES builds the named file in the directory first (model.onnx,
                                             mobilenetv4.onnx)
    <!-- docs-test: skip REASON -->          not run; keep these rare and say why
A block holding a command in any other fence (``` or ```text) is an error: mark it sh or console.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import ROOT

PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
RUN_LANGS = {"sh", "bash", "shell", "console"}
MARK = re.compile(r"^<!--\s*docs-test:\s*(.*?)\s*-->$")
FENCE = re.compile(r"^(\s*)(`{3,}|~{3,})\s*([\w+-]*)")
EXIT = re.compile(r"\bexit(?:s| code)?\s+(\d+)\b")
ENV_ASSIGN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
# the module each extra brings (pyproject.toml's [project.optional-dependencies])
EXTRAS = {"onnx": "onnx", "runtime": "onnxruntime", "plot": "matplotlib", "dask": "dask", "docs": "mkdocs"}


@dataclass
class Command:
    line: int
    args: list
    env: dict
    exit_code: int = 0
    stdout_to: str | None = None
    output: list | None = None  # the shown output lines (console blocks), None when none is shown


@dataclass
class Block:
    page: str
    line: int
    lang: str
    marks: dict
    commands: list = field(default_factory=list)

    @property
    def id(self) -> str:
        return f"{self.page}:{self.line}"


def _split_comment(text: str) -> tuple:
    """(code, comment) of a shell line: the first '#' outside quotes that starts a word."""
    quote = None
    for i, ch in enumerate(text):
        if quote:
            quote = None if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch == "#" and (i == 0 or text[i - 1].isspace()):
            return text[:i], text[i + 1:]
    return text, ""


def _commands(code: str, comment: str, line: int, where: str) -> list:
    """The costcalc commands of one shell line."""
    found = []
    for part in code.split("&&"):
        words = shlex.split(part)
        env = {}
        while words and ENV_ASSIGN.match(words[0]):
            name, _, value = words.pop(0).partition("=")
            env[name] = value
        if not words or words[0] != "costcalc":
            continue
        if any(w in ("|", "<", "2>", ">>", ";") or w.startswith(("2>", "<")) for w in words):
            raise ValueError(f"{where}: the docs harness runs no pipes or other redirections: {part.strip()!r}")
        stdout_to = None
        if ">" in words:
            at = words.index(">")
            if at != len(words) - 2:
                raise ValueError(f"{where}: '> FILE' ends a command: {part.strip()!r}")
            stdout_to, words = words[at + 1], words[:at]
        code_exit = EXIT.search(comment)
        found.append(Command(line, words[1:], env, int(code_exit.group(1)) if code_exit else 0, stdout_to))
    return found


def _marks(text: str) -> dict:
    marks = {}
    for item in filter(None, (part.strip() for part in text.split(";"))):
        key, _, value = item.partition(" ")
        if key not in ("needs", "fixture", "skip"):
            raise ValueError(f"unknown docs-test mark {key!r} (needs, fixture, skip)")
        marks.setdefault(key, []).append(value.strip())
    return marks


def parse(page: Path, name: str | None = None) -> list:
    """The blocks of `page` that hold costcalc commands (or are marked); `name` labels them (default: the path
    under the repository)."""
    name = name or page.relative_to(ROOT).as_posix()
    lines = page.read_text(encoding="utf-8").split("\n")
    blocks, i, previous = [], 0, ""
    while i < len(lines):
        fence = FENCE.match(lines[i])
        if not fence:
            if lines[i].strip():
                previous = lines[i].strip()
            i += 1
            continue
        indent, ticks, lang = fence.groups()
        start, body, i = i + 1, [], i + 1
        while i < len(lines) and not lines[i].strip().startswith(ticks):
            body.append(lines[i][len(indent):] if lines[i].startswith(indent) else lines[i])
            i += 1
        i += 1
        mark = MARK.match(previous)
        block = Block(name, start, lang, _marks(mark.group(1)) if mark else {})
        previous = ""
        if lang in ("sh", "bash", "shell"):
            joined = "\n".join(body).replace("\\\n", " ").split("\n")
            for k, text in enumerate(joined):
                block.commands += _commands(*_split_comment(text), start + k + 1, f"{name}:{start + k + 1}")
        elif lang == "console":
            for k, text in enumerate(body):
                if text.startswith("$ "):
                    new = _commands(*_split_comment(text[2:]), start + k + 1, f"{name}:{start + k + 1}")
                    for command in new:
                        command.output = []
                    block.commands += new
                elif block.commands and block.commands[-1].output is not None:
                    block.commands[-1].output.append(text)
        elif any(t.lstrip("$ ").startswith("costcalc ") for t in body) and lang not in ("yaml", "json", "python"):
            raise ValueError(f"{name}:{start}: a block with costcalc commands is fenced ```{lang}: mark it sh "
                             "(commands) or console ($ command, then its output)")
        if block.commands or block.marks:
            blocks.append(block)
    return blocks


def _all_blocks() -> list:
    return [block for page in PAGES for block in parse(page)]


def matches(shown: list, actual: list) -> bool:
    """`actual` lines against `shown` lines, where a shown line '...' stands for any number of lines and a shown
    line 'text ...' for a line starting with 'text'."""
    shown = [s.rstrip() for s in shown]
    while shown and not shown[-1]:
        shown.pop()
    actual = [a.rstrip() for a in actual]
    while actual and not actual[-1]:
        actual.pop()
    memo = {}

    def walk(i, j):
        if (i, j) not in memo:
            if i == len(shown):
                memo[i, j] = j == len(actual)
            elif shown[i] == "...":
                memo[i, j] = walk(i + 1, j) or (j < len(actual) and walk(i, j + 1))
            else:
                memo[i, j] = j < len(actual) and _line_matches(shown[i], actual[j]) and walk(i + 1, j + 1)
        return memo[i, j]

    return walk(0, 0)


def _line_matches(shown: str, actual: str) -> bool:
    return actual.startswith(shown[:-4]) if shown.endswith(" ...") else shown == actual


def _model_onnx(path: Path) -> None:
    """examples/first.yaml as an ONNX graph, the nodes written as torch's exporter writes them."""
    from onnx_graphs import Net

    net = Net((1, 3, 32, 32), "tiny")
    x = net.relu(net.bn(net.conv("x", 16, 3, pad=1)))
    x = net.node("MaxPool", [x], kernel_shape=[2, 2], strides=[2, 2])
    x = net.conv(x, 32, 3, pad=1, groups=2)
    x = net.node("Flatten", [net.node("GlobalAveragePool", [x])], axis=1)
    net.save(net.gemm(x, 10), path)


def _hybrid(name: str):
    """A gzipped export of tests/fixtures/onnx/hybrid/ (scripts/hybrid_truth.py), unpacked."""
    def build(path: Path) -> None:
        import gzip

        with gzip.open(ROOT / "tests" / "fixtures" / "onnx" / "hybrid" / f"{name}.gz") as f:
            path.write_bytes(f.read())

    return build


def _mobilenet_v4(path: Path) -> None:
    """timm's MobileNetV4-Conv-Small as torch's dynamo exporter wrote it (tests/fixtures/onnx/hybrid), its stripped
    weights refilled with seeded random values so that onnxruntime runs it (tests/onnx_weights.py)."""
    from onnx_weights import runnable

    runnable(str(ROOT / "tests" / "fixtures" / "onnx" / "hybrid" / "mobilenetv4_conv_small_dyn18.onnx.gz"), str(path))


FIXTURES = {"model.onnx": _model_onnx, "mobilenetv4.onnx": _mobilenet_v4,
            "mobilevit_xxs_ts17_nofold.onnx": _hybrid("mobilevit_xxs_ts17_nofold.onnx")}


def _workdir(tmp_path: Path) -> Path:
    for entry in ROOT.iterdir():
        if entry.name != ".git" and not entry.name.startswith(".venv"):
            (tmp_path / entry.name).symlink_to(entry)
    return tmp_path


# click before 8.1 ends the process (os._exit) after printing a completion script: those run in a subprocess
COMPLETION = "_COSTCALC_COMPLETE"
PROGRAM = "import sys; from costcalc.cli import main; main(sys.argv[1:], prog_name='costcalc')"


@dataclass
class Ran:
    exit_code: int
    stdout: str
    stderr: str
    output: str  # as a terminal shows it


def _invoke(command: Command, cwd: Path) -> Ran:
    from costcalc.cli import main

    env = {"GITHUB_ACTIONS": None, "COLUMNS": None, "NO_COLOR": "1", **command.env}
    if COMPLETION in command.env:
        full = {k: v for k, v in {**os.environ, **env}.items() if v is not None}
        done = subprocess.run([sys.executable, "-c", PROGRAM, *command.args], cwd=cwd, env=full,
                              capture_output=True, text=True)
        return Ran(done.returncode, done.stdout, done.stderr, done.stdout + done.stderr)
    result = CliRunner().invoke(main, command.args, env=env, prog_name="costcalc")
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"costcalc {shlex.join(command.args)} raised:\n"
                             + "".join(traceback.format_exception(result.exception)))
    return Ran(result.exit_code, result.stdout, result.stderr, result.output)  # output: both, interleaved


def _run(command: Command, cwd: Path) -> str:
    result = _invoke(command, cwd)
    assert result.exit_code == command.exit_code, (
        f"costcalc {shlex.join(command.args)} exited {result.exit_code}, the docs say {command.exit_code}\n"
        f"{result.output}")
    if command.stdout_to is not None:
        target = cwd / command.stdout_to.removeprefix("~/")
        target.write_text(result.stdout, encoding="utf-8")
        return result.stderr
    return result.output


BLOCKS = _all_blocks()


@pytest.mark.parametrize("block", BLOCKS, ids=[b.id for b in BLOCKS])
def test_example(block, tmp_path, monkeypatch):
    if "skip" in block.marks:
        pytest.skip(f"marked in the docs: {'; '.join(block.marks['skip'])}")
    for extra in block.marks.get("needs", []):
        pytest.importorskip(EXTRAS[extra], reason=f"needs the [{extra}] extra")
    cwd = _workdir(tmp_path)
    monkeypatch.chdir(cwd)
    for name in block.marks.get("fixture", []):
        FIXTURES[name](cwd / name)
    for command in block.commands:
        output = _run(command, cwd)
        if command.output is not None:
            assert matches(command.output, output.split("\n")), (
                f"{block.page}:{command.line}: the output shown differs from what costcalc prints:\n{output}")


def test_every_page_is_searched_and_commands_are_found():
    pages = {b.page for b in BLOCKS}
    assert "README.md" in pages and "docs/check.md" in pages
    readme = [c for b in BLOCKS if b.page == "README.md" for c in b.commands]
    assert ["report", "specs/resnext50_32x4d.yaml"] in [c.args for c in readme]  # the Quick start's
    assert sum(1 for b in BLOCKS for c in b.commands if c.output is not None) >= 3


def test_marks_are_rare_and_explained():
    skipped = [b for b in BLOCKS if "skip" in b.marks]
    assert len(skipped) <= 3, [b.id for b in skipped]
    assert all(reason for b in skipped for reason in b.marks["skip"])
    assert all(name in FIXTURES for b in BLOCKS for name in b.marks.get("fixture", []))
    assert all(extra in EXTRAS for b in BLOCKS for extra in b.marks.get("needs", []))


def test_the_first_spec_shown_is_the_file():
    """README shows examples/first.yaml whole: the shown text is the file."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    shown = re.search(r"`examples/first.yaml`[^\n]*\n\n```yaml\n(.*?)```", readme, re.S).group(1)
    assert shown == (ROOT / "examples" / "first.yaml").read_text(encoding="utf-8")
    assert len(shown.splitlines()) <= 11


@pytest.mark.parametrize("shown, actual, expected", [
    (["a", "...", "c"], ["a", "b", "b", "c"], True),
    (["a", "...", "c"], ["a", "c"], True),
    (["a", "c"], ["a", "b", "c"], False),
    (["...", "total 3"], ["x", "total 4"], False),
    (["a  ", ""], ["a", "", ""], True),
    (["total: 3 ..."], ["total: 3 of 4"], True),
    (["total: 3 ..."], ["total: 4 of 4"], False),
])
def test_matches(shown, actual, expected):
    assert matches(shown, actual) is expected


def test_parse_reads_comments_exit_codes_env_and_redirects(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("<!-- docs-test: needs onnx; fixture model.onnx -->\n```sh\n"
                    "pip install . && costcalc report a.yaml   # exits 1 when over\n"
                    "X=1 costcalc schema > out.json\npytest\n```\n\n```console\n$ costcalc check b.yaml # exit 2\n"
                    "b.yaml:1:1: error: ...\n```\n\n```\ntext, not a command: costcalc x\n```\n")
    blocks = parse(page, "page.md")
    first, second = blocks
    assert first.marks == {"needs": ["onnx"], "fixture": ["model.onnx"]}
    assert [(c.args, c.exit_code, c.env, c.stdout_to) for c in first.commands] == [
        (["report", "a.yaml"], 1, {}, None), (["schema"], 0, {"X": "1"}, "out.json")]
    assert second.commands[0].exit_code == 2 and second.commands[0].output == ["b.yaml:1:1: error: ..."]
    page.write_text("```\ncostcalc report a.yaml\n```\n")
    with pytest.raises(ValueError, match="mark it sh"):
        parse(page, "page.md")
