"""The importer's rules for the standard ONNX ops of the generic tensor layer's part three (costcalc.ops.tensor_more)
and for the ones that are other ops' forms: CumSum, CumProd, Hardmax, Trilu, LpNormalization, LRN, RMSNormalization
(`rmsnorm`), MeanVarianceNormalization (a layernorm without affine when it normalises the trailing axes),
GlobalLpPool (reduce_l1 or reduce_l2 over the spatial axes), GatherElements, ScatterElements, ScatterND and
Scatter (ScatterElements' name before opset 11) (by a constant index) and TopK (a constant k); and Mean (a sum and a divide) and Col2Im (nn.Fold)."""

from __future__ import annotations

from costcalc.importers.onnx.batch import _text, emit, onnx_shape, same_place, spec_axis
from costcalc.importers.onnx.modern import stored
from costcalc.importers.onnx.reading import Const, Data, fmt


def _constant(imp, node, k: int, what: str, default=None):
    t = imp.get(node, k)
    if t is None:
        return default
    if isinstance(t, Data):
        imp.fail(node, f"its {what} is computed from the network's input: the work it asks for is known only at "
                        "run time (a data-dependent shape)")
    return [int(v) for v in imp.const_value(node, t, what).reshape(-1)]


def scan(imp, node, inputs: list) -> None:
    x = inputs[0]
    (axis,) = _constant(imp, node, 1, "axis")
    emit(imp, node, "cumsum" if node.op == "CumSum" else "cumprod",
         {"axis": spec_axis(imp, node, x, axis), "exclusive": imp.flag(node, "exclusive", 0),
          "reverse": imp.flag(node, "reverse", 0)}, [x], x.batch_at)


def hardmax(imp, node, inputs: list) -> None:
    x = inputs[0]
    emit(imp, node, "hardmax", {"axis": spec_axis(imp, node, x, node.attrs.get("axis", -1))}, [x], x.batch_at)


def trilu(imp, node, inputs: list) -> None:
    x = inputs[0]
    (k,) = _constant(imp, node, 1, "k", [0])
    if x.batch_at is None or x.batch_at >= len(onnx_shape(imp, x)) - 2:
        imp.fail(node, "keeps a triangle of axes one of which holds the batch")
    emit(imp, node, "trilu", {"upper": imp.flag(node, "upper", 1), "k": k}, [x], x.batch_at)


def lp_normalization(imp, node, inputs: list) -> None:
    x = inputs[0]
    emit(imp, node, "lp_normalization", {"axis": spec_axis(imp, node, x, node.attrs.get("axis", -1)),
                                         "p": node.attrs.get("p", 2)}, [x], x.batch_at)


def lrn(imp, node, inputs: list) -> None:
    x = inputs[0]
    if x.batch_at != 0:
        imp.fail(node, f"an LRN of {fmt(onnx_shape(imp, x))} whose batch is not its first axis")
    emit(imp, node, "lrn", {"size": node.attrs["size"], "alpha": node.attrs.get("alpha", 1e-4),
                            "beta": node.attrs.get("beta", 0.75), "bias": node.attrs.get("bias", 1.0)}, [x], 0)


def mean_variance(imp, node, inputs: list) -> None:
    """MeanVarianceNormalization over the trailing axes: a layernorm without scale and shift (the same count)."""
    x = inputs[0]
    rank = len(onnx_shape(imp, x))
    axes = sorted(a % rank for a in node.attrs.get("axes", [0, 2, 3]))
    if x.batch_at in axes:
        imp.fail(node, f"axes {axes} take in the batch axis: statistics across samples (ONNX's default, [0, 2, 3]) "
                        "are a training-time batch statistic, not one sample's")
    if axes != list(range(axes[0], rank)):
        imp.fail(node, f"axes {axes}: costcalc costs a normalisation over the trailing axes")
    emit(imp, node, "layernorm", {"axis": spec_axis(imp, node, x, axes[0]), "affine": False}, [x], x.batch_at)


def global_lp_pool(imp, node, inputs: list) -> None:
    x = inputs[0]
    p = node.attrs.get("p", 2)
    if p not in (1, 2) or x.batch_at != 0:
        imp.fail(node, f"p={p}: costcalc costs GlobalLpPool of p 1 and 2 (ReduceL1, ReduceL2 over the spatial axes)")
    emit(imp, node, f"reduce_l{p}", {"axes": tuple(range(2, len(x.shape))), "keepdims": True}, [x], 0)


def rmsnorm(imp, node, inputs: list) -> None:
    """RMSNormalization (opset 23) over the axes from `axis` on: `rmsnorm`; its scale is gamma when the file stores
    it (as LayerNormalization's)."""
    x = inputs[0]
    axis = spec_axis(imp, node, x, node.attrs.get("axis", -1))
    if x.batch_at is not None and axis <= x.batch_at:
        imp.fail(node, "normalises across the batch axis")
    scale = imp.get(node, 1) if len(node.proto.input) > 1 and node.proto.input[1] else None
    emit(imp, node, "rmsnorm", {"axis": axis, "affine": stored(scale)}, [x], x.batch_at)


def gather_elements(imp, node, inputs: list) -> None:
    x, index = inputs[0], inputs[1]
    if not isinstance(index, Const):
        imp.fail(node, "its index is computed from the network's input: costcalc costs a gather by a fixed index")
    if x.batch_at != 0 or len(index.shape) != len(x.shape) or index.shape[0] != imp.batch:
        imp.fail(node, f"a GatherElements of {fmt(onnx_shape(imp, x))} by an index of {fmt(index.shape)}")
    emit(imp, node, "gather_elements", {"axis": spec_axis(imp, node, x, node.attrs.get("axis", 0)),
                                        "index": tuple(index.shape[1:])}, [x], 0)


def scatter(imp, node, inputs: list) -> None:
    x, updates = inputs[0], inputs[2] if len(inputs) > 2 else None
    if not isinstance(inputs[1], Const):
        imp.fail(node, "its indices are computed from the network's input: costcalc costs a scatter by a fixed index")
    if not isinstance(updates, Data):
        imp.fail(node, "its updates are constants: costcalc costs a scatter of network tensors")
    place = same_place(imp, node, [x, updates])
    emit(imp, node, "scatter", {"reduction": _text(node.attrs.get("reduction"), "none")}, [x, updates], place)


def topk(imp, node, inputs: list) -> None:
    x = inputs[0]
    k = _constant(imp, node, 1, "k", [node.attrs.get("k", 1)])[0]
    emit(imp, node, "topk", {"k": k, "axis": spec_axis(imp, node, x, node.attrs.get("axis", -1)),
                             "largest": imp.flag(node, "largest", 1)}, [x], x.batch_at)


def mean(imp, node, inputs: list) -> None:
    """Mean of n tensors: their sum (n - 1 adds per element) and a divide by n."""
    if len(inputs) == 1:
        return emit(imp, node, "identity", {}, inputs, inputs[0].batch_at)
    data = [t for t in inputs if isinstance(t, Data)]
    if len(data) != len(inputs):
        imp.fail(node, "a Mean of network tensors and constants: costcalc averages tensors of the network")
    place = same_place(imp, node, data)
    total = imp.emit(node, imp.unique(f"{imp.layer_name(node)}_sum"), "add", {}, data, note="the sum of the Mean")[0]
    total.batch_at = place
    emit(imp, node, "div", {"value": float(len(data))}, [total], place)


def col2im(imp, node, x: Data) -> None:
    """Col2Im (torch's nn.Fold, from opset 18) of 2-D blocks: `col2im`, its image and block shapes constant."""
    size = [int(v) for v in imp.value(node, 1, "image_shape")]
    k = [int(v) for v in imp.value(node, 2, "block_shape")]
    pads = list(node.attrs.get("pads", [0] * 2 * len(size)))
    if len(size) != 2 or len(k) != 2 or x.batch_at != 0 or pads[:2] != pads[2:]:
        imp.fail(node, f"a Col2Im of image {size}, blocks {k}, pads {pads}: costcalc costs 2-D blocks padded "
                        "equally on both sides")
    emit(imp, node, "col2im", {"size": tuple(size), "k": tuple(k), "stride": tuple(node.attrs.get("strides", (1, 1))),
                               "pad": tuple(pads[:2]), "dilation": tuple(node.attrs.get("dilations", (1, 1)))},
         [x], 0)


RULES = {"CumSum": scan, "CumProd": scan, "Hardmax": hardmax, "Trilu": trilu, "LpNormalization": lp_normalization,
         "LRN": lrn, "RMSNormalization": rmsnorm, "MeanVarianceNormalization": mean_variance,
         "GlobalLpPool": global_lp_pool,
         "GatherElements": gather_elements, "ScatterElements": scatter, "ScatterND": scatter,
         "Scatter": scatter, "TopK": topk}
