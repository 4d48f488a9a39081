"""The modern ops' ONNX forms (costcalc/exporters/onnx/modern.py): each runs in onnxruntime and gives the numpy
reference's output, at the default opset and at one where the op has its own node (Gelu from 20, Mish from 18);
what ONNX cannot express is a located error. An op the registry does not have yet is skipped."""

import pytest

from costcalc.errors import SpecError
from costcalc.graph import load
from costcalc.ops import OPS

pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

from costcalc.analysis.verify_runtime import verify_against_onnxruntime  # noqa: E402
from costcalc.exporters.onnx import export  # noqa: E402
from tests.modern_cases import CASES  # noqa: E402


def _spec(write_spec, body: str) -> str:
    return write_spec(f"name: t\ninput: [8, 8, 8]\nlayers:\n  - {{op: conv, out: 8, k: 1}}\n  - {body}\n")


def _needs(body: str) -> None:
    op = body.split("op: ")[1].split(",")[0].rstrip("}")
    if op not in OPS:
        pytest.skip(f"op '{op}' is not in the registry yet")


@pytest.mark.parametrize("opset", [17, 21])
@pytest.mark.parametrize("case", sorted(CASES))
def test_modern_op_agrees_with_the_reference(case, opset, write_spec):
    _needs(CASES[case])
    result = verify_against_onnxruntime(load(_spec(write_spec, CASES[case])), opset=opset)
    assert result.passed, (result.max_abs_diff, result.worst_excess)


def test_uneven_adaptive_pooling_is_a_located_error(write_spec):
    _needs("{op: adaptive_avgpool}")
    path = _spec(write_spec, "{name: pool, op: adaptive_avgpool, out: [3, 12]}")
    with pytest.raises(SpecError) as e:
        export(load(path))
    assert str(e.value).startswith(f"{path}:5:5: error: layer 'pool': adaptive pooling from 8x8 to 3x12 has windows")


def test_layernorm_needs_opset_17(write_spec):
    _needs("{op: layernorm}")
    path = _spec(write_spec, "{name: norm, op: layernorm}")
    with pytest.raises(SpecError) as e:
        export(load(path), opset=16)
    assert str(e.value) == (f"{path}:5:5: error: layer 'norm': layernorm (LayerNormalization) needs ONNX opset 17 "
                            "or later (this export is at opset 16): give --opset 17")
