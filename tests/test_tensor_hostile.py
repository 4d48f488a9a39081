"""The hostile-input promises (issue 7: exit 0 or 2, never a traceback, every error one located line, a time bound)
for the generic tensor layer: every op of the registry, on inputs of several ranks, with hostile argument values
drawn for each of its keys (the mutation fuzz in test_fuzz.py mutates the shipped specs, which use none of them)."""

import os

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from costcalc.ops import OPS, REQUIRED
from hostile import check_promises

INPUTS = [[8, 6, 6], [64], [16, 8], [4, 3, 5, 5], [2, 2, 2, 2, 2, 2, 2, 2], [10**6, 10**6]]
VALUES = [None, "", "abc", -1, 0, 1, 2, 3, -9, 10**30, 1.5, float("inf"), True, [], [0], [1], [-1], [0, 1], [1, 0],
          [0, 2, 1, 3], [0, 1, 2, 3], [-1, -1], [2, -1], [3, 3, 3], [3, 3, 3, 3], [1] * 10, [[1]], {"a": 1},
          "bnc,bmc->bnm", "bchw,bcwv->bchv", "b->b", "->", "bi,bi->", "a,b,c->abc", "bé,bé->bé", "x" * 500,
          "1/0", "9**9**9", [10**12, 10**12], [2**40, 2**40, 2**40]]
MULTI = {name for name, op in OPS.items() if op.max_inputs is None or op.max_inputs > 1}


@st.composite
def specs(draw):
    op = draw(st.sampled_from(sorted(OPS)))
    entry = {"op": op}
    for key in draw(st.lists(st.sampled_from(sorted(OPS[op].keys)), max_size=4, unique=True)):
        value = draw(st.sampled_from(VALUES))
        if value is not None:
            entry[key] = value
    layers = [{"name": "a", "op": "identity"}]
    if op in MULTI and draw(st.booleans()):
        entry["from"] = ["a", "input"] if draw(st.booleans()) else ["a", "a", "input"]
    layers.append(entry)
    return {"name": "hostile", "input": draw(st.sampled_from(INPUTS)), "layers": layers}


@settings(max_examples=int(os.environ.get("COSTCALC_TENSOR_FUZZ", "200")), deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(spec=specs())
def test_every_op_with_hostile_arguments_is_an_answer_or_a_located_error(tmp_path, spec):
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    check_promises(str(path), "--format", "json")


@pytest.mark.parametrize("op", sorted(OPS))
def test_every_op_on_every_rank(tmp_path, op):
    """Each op with only its required arguments at their simplest, on inputs of every rank: never a traceback."""
    simplest = {"int": 2, "pair": 1, "text": "bc->bc", "dims": [-1], "perm": [0, 1], "shape": [1], "axes": [1]}
    entry = {"op": op, **{key: simplest.get(arg.kind, 1) for key, arg in OPS[op].args.items()
                          if arg.default is REQUIRED}}
    for shape in INPUTS:
        path = tmp_path / "spec.yaml"
        path.write_text(yaml.safe_dump({"input": shape, "layers": [entry]}, sort_keys=False))
        check_promises(str(path), "--format", "json")
