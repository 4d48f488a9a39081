"""The documentation site: it builds under `mkdocs build --strict` (skipped without the [docs] extra), every page
is in the nav, README's links into docs/ resolve, and what docs/cli.md says of --version and completion holds."""

import os
import re
import subprocess
import sys

import pytest
import yaml

from conftest import ROOT

DOCS = ROOT / "docs"


def _nav_pages(items) -> list:
    pages = []
    for item in items:
        value = next(iter(item.values())) if isinstance(item, dict) else item
        pages.extend(_nav_pages(value) if isinstance(value, list) else [value])
    return pages


def test_every_page_is_in_the_nav_once():
    nav = _nav_pages(yaml.safe_load((ROOT / "mkdocs.yml").read_text())["nav"])
    assert sorted(nav) == sorted(p.name for p in DOCS.glob("*.md")), "docs/*.md and mkdocs.yml's nav differ"
    assert len(nav) == len(set(nav))


def test_readme_links_resolve():
    readme = (ROOT / "README.md").read_text()
    targets = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", readme)
    local = [t for t in targets if not re.match(r"[a-z]+://", t)]
    assert any(t.startswith("docs/") for t in local)
    assert [t for t in local if not (ROOT / t).exists()] == []


def test_readme_shows_every_command():
    """README's front page gives each command of `costcalc --help` an entry (**`name`**)."""
    from costcalc.cli import main

    readme = (ROOT / "README.md").read_text()
    assert [name for name in sorted(main.every_command) if f"**`{name}`**" not in readme] == []


def test_site_builds_strict(tmp_path):
    pytest.importorskip("mkdocs")
    pytest.importorskip("material")
    result = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path)],
                            cwd=ROOT, capture_output=True, text=True, env=dict(os.environ, NO_MKDOCS_2_WARNING="1"))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "spec-language" / "index.html").exists()


def _costcalc(env=None, *args):
    """The command as the shell runs it, in a subprocess (prog_name costcalc, the name completion's variable
    derives from; click before 8.1 ends the process after printing a completion script)."""
    program = "import sys; from costcalc.cli import main; main(sys.argv[1:], prog_name='costcalc')"
    return subprocess.run([sys.executable, "-c", program, *args], cwd=ROOT, env={**os.environ, **(env or {})},
                          capture_output=True, text=True)


def test_version():
    from costcalc import __version__

    result = _costcalc(None, "--version")
    assert result.returncode == 0 and result.stdout == f"costcalc, version {__version__}\n"


@pytest.mark.parametrize("shell, marker", [("bash", "complete -o nosort -F"), ("zsh", "compdef"),
                                           ("fish", "complete --no-files --command costcalc")])
def test_completion_script(shell, marker):
    """docs/cli.md's `_COSTCALC_COMPLETE=<shell>_source costcalc` prints the shell's completion script."""
    result = _costcalc({"_COSTCALC_COMPLETE": f"{shell}_source"})
    assert result.returncode == 0 and marker in result.stdout and "_COSTCALC_COMPLETE" in result.stdout


def test_completion_completes_commands_and_choices():
    env = {"_COSTCALC_COMPLETE": "bash_complete", "COMP_WORDS": "costcalc rep", "COMP_CWORD": "1"}
    assert "plain,report" in _costcalc(env).stdout.splitlines()
    env = {"_COSTCALC_COMPLETE": "bash_complete", "COMP_WORDS": "costcalc report --format ", "COMP_CWORD": "3"}
    assert {"plain,json", "plain,csv"} <= set(_costcalc(env).stdout.splitlines())
