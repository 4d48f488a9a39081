"""ONNX builders of the generic tensor layer's part three (costcalc.ops.tensor_more): CumSum, CumProd, Hardmax,
Trilu, LpNormalization, LRN, GatherElements, ScatterElements (along the last axis, by the index the numpy
reference uses) and TopK (its indices cast to float, as the reference gives them)."""

from __future__ import annotations

import numpy as np

from costcalc.exporters.onnx.building import Builder
from costcalc.reference.tensor_more import scatter_index

FLOAT = 1  # onnx.TensorProto.FLOAT


def _int(b: Builder, node, label: str, values) -> str:
    return b.const(node, label, np.array(values, np.int64))


def scan(op_type: str, since: int):
    def build(b: Builder, node, x, y):
        if b.opset < since:
            b.refuse(node, f"{node.op} is ONNX's {op_type}, from opset {since} on: export with --opset {since} or later")
        a = node.args
        b.add(op_type, [x[0], _int(b, node, "axis", a["axis"])], y, node.name, exclusive=int(a["exclusive"]),
              reverse=int(a["reverse"]))

    return build


def hardmax(b: Builder, node, x, y):
    b.add("Hardmax", x, y, node.name, axis=node.args["axis"])


def trilu(b: Builder, node, x, y):
    b.add("Trilu", [x[0], _int(b, node, "k", node.args["k"])], y, node.name, upper=int(node.args["upper"]))


def lp_normalization(b: Builder, node, x, y):
    b.add("LpNormalization", x, y, node.name, axis=node.args["axis"], p=node.args["p"])


def lrn(b: Builder, node, x, y):
    a = node.args
    b.add("LRN", x, y, node.name, size=a["size"], alpha=float(a["alpha"]), beta=float(a["beta"]),
          bias=float(a["bias"]))


def gather_elements(b: Builder, node, x, y):
    a, shape = node.args, b.shape(node.inputs[0])
    axis = a["axis"] % (len(shape) + 1)
    index = b.param(node, "index", (b.graph.batch, *(a.get("index") or shape)), "index", high=(b.graph.batch,
                                                                                                   *shape)[axis])
    b.add("GatherElements", [x[0], index], y, node.name, axis=axis)


def scatter(b: Builder, node, x, y):
    shape, updates = b.shape(node.inputs[0]), b.shape(node.inputs[1])
    if len(updates) != len(shape) or any(u > d for u, d in zip(updates, shape)):
        b.refuse(node, f"a scatter of updates {'x'.join(map(str, updates))} into {'x'.join(map(str, shape))}: the "
                       "exporter writes ScatterElements of updates no larger than the tensor along each axis")
    index = b.const(node, "index", scatter_index(updates, b.graph.batch))
    reduction = node.args["reduction"]
    b.add("ScatterElements", [x[0], index, x[1]], y, node.name, axis=-1,
          **({} if reduction == "none" else {"reduction": reduction}))


def topk(b: Builder, node, x, y):
    a, p = node.args, f"{node.name}/"
    b.add("TopK", [x[0], _int(b, node, "k", [a["k"]])], [y[0], p + "index"], node.name, axis=a["axis"],
          largest=int(a["largest"]), sorted=1)
    b.add("Cast", [p + "index"], [y[1]], p + "Cast", to=FLOAT)


BUILDERS = {"cumsum": scan("CumSum", 11), "cumprod": scan("CumProd", 26), "hardmax": hardmax, "trilu": trilu,
            "lp_normalization": lp_normalization, "lrn": lrn, "gather_elements": gather_elements,
            "scatter": scatter, "topk": topk}
