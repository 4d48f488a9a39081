"""The JSON Schema of spec files: `costcalc schema` prints it, the shipped file is the same, it is a valid draft
2020-12 schema, every shipped spec names it on its first line and validates against it, and it refuses the
mistakes an editor should underline (an unknown op, section or op argument, a bad budget)."""

import json
import pathlib

import pytest
import yaml

from conftest import ROOT, SPECS

jsonschema = pytest.importorskip("jsonschema")

SCHEMA_PATH = ROOT / "costcalc" / "schema" / "spec.schema.json"
SHIPPED = sorted(SPECS.rglob("*.yaml"))
EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))  # shown whole in the docs: validated, no header line
REFRESH = "costcalc schema > costcalc/schema/spec.schema.json"


@pytest.fixture(scope="module")
def validator():
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def test_command_prints_the_shipped_schema(run):
    result = run("schema")
    assert result.exit_code == 0 and result.stderr == ""
    assert result.stdout == SCHEMA_PATH.read_text(encoding="utf-8"), f"the shipped schema drifted: run {REFRESH}"


def test_op_names_come_from_the_registry():
    from costcalc.ops import ALIASES, OPS
    from costcalc.schema import spec_schema

    names = spec_schema()["$defs"]["op"]["anyOf"][0]["enum"]
    assert sorted(names) == sorted([*OPS, *ALIASES])


def _header(path: pathlib.Path) -> str:
    relative = pathlib.Path(*[".."] * (len(path.relative_to(ROOT).parts) - 1)) / SCHEMA_PATH.relative_to(ROOT)
    return f"# yaml-language-server: $schema={relative.as_posix()}"


@pytest.mark.parametrize("path", SHIPPED, ids=[p.relative_to(ROOT).as_posix() for p in SHIPPED])
def test_shipped_spec_names_and_validates(validator, path):
    text = path.read_text(encoding="utf-8")
    first = text.split("\n", 1)[0]
    assert first == _header(path), f"{path.name}: the first line should be {_header(path)}"
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(yaml.safe_load(text))]
    assert errors == []


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_example_spec_validates(validator, path):
    assert list(validator.iter_errors(yaml.safe_load(path.read_text(encoding="utf-8")))) == []


def test_the_header_resolves():
    for path in SHIPPED:
        target = _header(path).partition("$schema=")[2]
        assert (path.parent / target).resolve() == SCHEMA_PATH.resolve()


BASE = {"input": [3, 32, 32], "layers": [{"name": "c", "op": "conv", "out": 8, "k": 3}]}


@pytest.mark.parametrize("change, where", [
    ({"layers": [{"op": "cnov", "out": 8, "k": 3}]}, "layers/0"),
    ({"layers": [{"op": "maxpool", "k": 3, "strides": 2}]}, "layers/0"),
    ({"layers": [{"op": "conv", "block": "b", "out": 8, "k": 3}]}, "layers/0"),
    ({"layers": [{"block": "b", "out": 8}]}, "layers/0"),
    ({"layers": [{"op": "conv", "out": 8, "k": [3, 3, 3, 3]}]}, "layers/0"),  # 1-3 values: a 1-D to 3-D window
    ({"layer": []}, ""),
    ({"budget": {"flops": "4.5X"}}, "budget/flops"),  # `check` reads budgets
    ({"budget": {"macs": "4G"}}, "budget"),
    ({"guidelines": {"G1": {"max_ratoi": 3}}}, "guidelines/G1"),
    ({"input": [3, 224, 224, 1]}, "input"),
])
def test_schema_refuses_what_the_reader_refuses(validator, run, write_spec, change, where):
    doc = {**BASE, **change}
    errors = list(validator.iter_errors(doc))
    assert errors and any("/".join(map(str, e.absolute_path)).startswith(where) for e in errors)
    command = "check" if "budget" in change else "report"
    assert run(command, write_spec(yaml.safe_dump(doc))).exit_code == 2  # the reader agrees: not a spec


@pytest.mark.parametrize("layers", [
    ["relu", "bn"],
    [{"op": "conv", "out": "2 * c", "k": [1, 3], "pad": [0, 1], "groups": "c", "bias": True}],
    ["flatten", {"op": "linear", "out": 10}],
    [{"name": "s", "op": "split", "parts": 2}, {"op": "concat", "from": ["s.1", "s.0"]}],
    [{"op": "dropout", "p": 0.2}, {"layers": ["relu"], "if": "c > 4"}],
])
def test_schema_accepts_what_the_reader_accepts(validator, run, write_spec, layers):
    doc = {"input": [8, 8, 8], "vars": {"c": 8}, "layers": layers}
    assert list(validator.iter_errors(doc)) == []
    assert run("report", write_spec(yaml.safe_dump(doc))).exit_code == 0


def test_the_schema_knows_the_rank_limit_of_the_ops():
    from costcalc import schema
    from costcalc.ops.tensor import MAX_RANK

    assert schema.MAX_RANK == MAX_RANK
