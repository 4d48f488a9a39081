"""Rewrites of the graph before the walk, both what onnxruntime does to the file before it runs it, so that one
model gives one answer whichever exporter wrote it:

- `merge_duplicates`: a node that repeats an earlier one (the same op type, inputs and attributes) computes the
  same tensors again; its readers read the earlier node's instead, and it is left dead (onnxruntime's common
  subexpression elimination). torch's dynamo exporter merges them itself (`x.var(dim)` and `x.mean(dim)` of the
  same tensor share one ReduceMean); the TorchScript exporter writes both. Equal small Constant nodes are merged
  first (opset 18 gives a reduction's axes as an input), so that what reads them compares equal.
- `fuse_layernorm`: nn.LayerNorm as the TorchScript exporter writes it before opset 17 (ReduceMean, Sub, Pow 2,
  ReduceMean, Add eps, Sqrt, Div, then Mul by the weight and Add of the bias) is the LayerNormalization node it
  writes from opset 17 on, and the dynamo exporter always (onnxruntime's LayerNormFusion).
- `drop_noops`: a Cast to the type its input has already, and x + 0, x * 1 by a literal, are the input itself.

Each rewrite changes a node only where the whole pattern is there; anything malformed is left as it is, for the
walk to locate.
"""

from __future__ import annotations

import numpy as np

# never merged: random ops, and Identity, through which the TorchScript exporter shares one initializer among the
# modules whose weights are equal (an untrained model's): their layers stay apart, so counts never depend on values
KEPT_OPS = {"RandomNormal", "RandomNormalLike", "RandomUniform", "RandomUniformLike", "Bernoulli", "Multinomial",
            "Identity"}
STANDARD = ("", "ai.onnx")
MAX_MERGED_CONSTANT = 4096  # bytes of a Constant node compared with the others (axes, shapes, scalars)


def _text(*names) -> bool:
    """Whether the names are text (protobuf gives a name that is not UTF-8 as bytes, which no input can be set to)."""
    return all(isinstance(name, str) for name in names)


def _renamed(graph, alias: dict):
    """The graph's nodes in order, the inputs of each renamed by `alias` (as filled so far) before it is given."""
    for proto in graph.node:
        for k, name in enumerate(proto.input):
            if name in alias:
                proto.input[k] = alias[name]
        yield proto


def merge_duplicates(graph) -> int:
    """Point the readers of a repeated node at the first one's outputs; the number of nodes merged."""
    outputs = {o.name for o in graph.output}
    seen: dict = {}
    alias: dict = {}
    merged = 0
    for proto in _renamed(graph, alias):
        literal = proto.op_type == "Constant" and proto.ByteSize() <= MAX_MERGED_CONSTANT
        if ((not proto.input and not literal) or proto.domain not in STANDARD or proto.op_type in KEPT_OPS
                or any(a.g.node or a.graphs for a in proto.attribute)):
            continue
        key = (proto.op_type, tuple(proto.input), tuple(a.SerializeToString() for a in proto.attribute))
        first = seen.setdefault(key, proto)
        if first is proto or len(first.output) != len(proto.output) or any(o in outputs for o in proto.output):
            continue
        for mine, theirs in zip(proto.output, first.output):
            if mine and theirs and _text(mine, theirs):
                alias[mine] = theirs
        merged += 1
    return merged


def drop_noops(graph) -> int:
    """Point the readers of a node that returns its input unchanged at the input: a Cast to the type its input
    already has (onnxruntime's CastElimination; EfficientViT's `q.float()` on a float tensor is a Cast in the
    TorchScript file and nothing in the dynamo one), and x + 0, x - 0, x * 1, x / 1 by a literal number (MobileOne's
    `scale_out + identity_out` with `identity_out = 0`, which the dynamo exporter's optimiser removes). The types are
    followed from the graph's inputs and constants through the nodes; where one is not known, the Cast stays. The
    number of nodes dropped."""
    index = _Index(graph)
    types = {t.name: t.data_type for t in graph.initializer}
    for value in (*graph.input, *graph.value_info):
        if value.type.tensor_type.elem_type:
            types.setdefault(value.name, value.type.tensor_type.elem_type)
    outputs = {o.name for o in graph.output}
    alias: dict = {}
    dropped = 0
    for proto in _renamed(graph, alias):
        kind = _output_type(proto, types)
        for name in proto.output:
            if name and kind:
                types.setdefault(name, kind)
        if not proto.input or not proto.output or proto.output[0] in outputs or proto.domain not in STANDARD:
            continue
        same = _identity_operand(index, proto)
        if proto.op_type == "Cast" and types.get(proto.input[0]) == kind and kind:
            same = proto.input[0]
        if same and _text(same, proto.output[0]):
            alias[proto.output[0]] = same
            dropped += 1
    return dropped


IDENTITY = {"Add": (0.0, True), "Sub": (0.0, False), "Mul": (1.0, True), "Div": (1.0, False)}  # op -> (the
# identity element, whether it may come first)


def _identity_operand(index: _Index, proto):
    """The network tensor an element-wise node returns unchanged (x + 0, 1 * x, ...), or None."""
    if proto.op_type not in IDENTITY or len(proto.input) != 2:
        return None
    element, either = IDENTITY[proto.op_type]
    for k in (1, 0) if either else (1,):
        x, literal = proto.input[1 - k], proto.input[k]
        producer = index.producer.get(literal)
        if x in index.data and producer is not None and producer.op_type == "Constant" \
                and index.number(literal) == element and _rank(producer) <= 1:
            return x
    return None


def _rank(constant) -> int:
    """The rank of a Constant node's value (a number or a list is 0 or 1)."""
    value = next((a for a in constant.attribute if a.name == "value"), None)
    return len(value.t.dims) if value is not None else 0


BOOL, INT64 = 9, 7  # onnx.TensorProto's element types
TYPE_OPS = {**{op: BOOL for op in ("Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual", "And", "Or", "Xor",
                                   "Not", "IsNaN", "IsInf")},
            **{op: INT64 for op in ("ArgMax", "ArgMin", "Shape", "Size", "NonZero")}}


def _output_type(proto, types: dict):
    """The element type of the node's (first) output, or None when it is not known."""
    attrs = {a.name: a for a in proto.attribute}
    if proto.domain not in STANDARD:
        return None
    if proto.op_type == "Cast":
        return attrs["to"].i if "to" in attrs else None
    if proto.op_type == "Constant":
        return attrs["value"].t.data_type if "value" in attrs else None
    if proto.op_type in TYPE_OPS:
        return TYPE_OPS[proto.op_type]
    source = {"Where": 1, "CastLike": 1}.get(proto.op_type, 0)
    return types.get(proto.input[source]) if len(proto.input) > source else None


def fuse_layernorm(graph) -> int:
    """Each unfused layer norm over the last axes replaced by one LayerNormalization node; the number fused."""
    index = _Index(graph)
    fused = 0
    for proto in list(graph.node):
        if proto.op_type == "ReduceMean" and proto.domain in STANDARD:
            try:
                found = _layernorm_at(index, proto)
            except (IndexError, ValueError, TypeError):  # a node short of an input or output: not the pattern
                found = None
            if found is not None and _text(proto.name, *found[:1], *found[3:5], found[5].output[0]):
                _replace(graph, index, proto, *found)
                fused += 1
    return fused


class _Index:
    """Who produces and reads each tensor, and the values of the small constants the patterns test."""

    def __init__(self, graph):
        self.graph = graph
        self.readers: dict = {}
        self.producer: dict = {}
        for proto in graph.node:
            for name in proto.input:
                if name:
                    self.readers.setdefault(name, []).append(proto)
            for name in proto.output:
                if name:
                    self.producer[name] = proto
        self.initializers = {t.name: t for t in graph.initializer}
        self.outputs = {o.name for o in graph.output}
        inputs = {i.name for i in graph.input} - set(self.initializers)
        self.data = set(inputs)  # tensors computed from the network's input
        for proto in graph.node:
            if any(name in self.data for name in proto.input):
                self.data.update(name for name in proto.output if name)

    def only_reader(self, name: str, op_type: str):
        """The one node that reads `name`, when it is of `op_type` and `name` is no graph output."""
        readers = self.readers.get(name, [])
        if len(readers) != 1 or name in self.outputs or readers[0].op_type != op_type:
            return None
        return readers[0] if readers[0].domain in STANDARD else None

    def value(self, name: str):
        """The values of a small constant (an inline initializer or a Constant node), or None."""
        from onnx import numpy_helper

        try:
            if name in self.initializers:
                t = self.initializers[name]
                return None if t.data_location == 1 or _elements(t.dims) > 64 else numpy_helper.to_array(t)
            proto = self.producer.get(name)
            if proto is not None and proto.op_type == "Constant" and proto.domain in STANDARD:
                for a in proto.attribute:
                    if a.name == "value" and _elements(a.t.dims) <= 64:
                        return numpy_helper.to_array(a.t)
                    if a.name in ("value_float", "value_int"):
                        return a.f if a.name == "value_float" else a.i
                    if a.name == "value_ints":
                        return list(a.ints)
        except Exception:  # a malformed constant: no pattern here, the walk locates it
            return None
        return None

    def axes(self, proto):
        """A ReduceMean's axes (attribute before opset 18, input after), keeping dims; None otherwise."""
        attrs = {a.name: a for a in proto.attribute}
        if "keepdims" in attrs and attrs["keepdims"].i != 1:
            return None
        if "axes" in attrs:
            return list(attrs["axes"].ints)
        if len(proto.input) > 1 and proto.input[1]:
            value = self.value(proto.input[1])
            return None if value is None else [int(v) for v in np.asarray(value).reshape(-1)]
        return None

    def number(self, name: str):
        value = self.value(name)
        if value is None:
            return None
        flat = np.asarray(value, dtype=np.float64).reshape(-1)
        return float(flat[0]) if flat.size == 1 else None

    def weight(self, name: str, rank: int) -> bool:
        """Whether `name` is an initializer of `rank` dims (the normalized shape)."""
        t = self.initializers.get(name)
        return t is not None and len(t.dims) == rank


def _elements(dims) -> int:
    n = 1
    for d in dims:
        n *= int(d)
    return n


def _other(proto, name: str):
    """The other input of a two-input node that reads `name`, or None."""
    if len(proto.input) != 2 or name not in proto.input or proto.input[0] == proto.input[1]:
        return None
    return proto.input[1] if proto.input[0] == name else proto.input[0]


def _layernorm_at(ix: _Index, mean) -> tuple | None:
    """(x, the axes, epsilon, scale, shift, the last node) when `mean` starts torch's unfused layer norm."""
    x = mean.input[0] if mean.input else ""
    axes = ix.axes(mean)
    if not x or x not in ix.data or not axes or sorted(axes) != list(range(-len(axes), 0)):
        return None
    sub = ix.only_reader(mean.output[0], "Sub")
    if sub is None or list(sub.input) != [x, mean.output[0]]:
        return None
    d = sub.output[0]
    readers = ix.readers.get(d, [])
    power = next((r for r in readers if r.op_type == "Pow"), None)
    div = next((r for r in readers if r.op_type == "Div"), None)
    if len(readers) != 2 or d in ix.outputs or power is None or div is None or power.input[0] != d \
            or ix.number(power.input[1]) != 2.0 or div.input[0] != d:
        return None
    var = ix.only_reader(power.output[0], "ReduceMean")
    if var is None or ix.axes(var) != axes:
        return None
    add = ix.only_reader(var.output[0], "Add")
    eps = None if add is None else ix.number(_other(add, var.output[0]) or "")
    sqrt = None if add is None else ix.only_reader(add.output[0], "Sqrt")
    if eps is None or sqrt is None or ix.only_reader(sqrt.output[0], "Div") is not div or div.input[1] != sqrt.output[0]:
        return None
    mul = ix.only_reader(div.output[0], "Mul")
    gamma = None if mul is None else _other(mul, div.output[0])
    if not (gamma and ix.weight(gamma, len(axes))):
        return x, axes, eps, "", "", div  # no affine parameters
    add = ix.only_reader(mul.output[0], "Add")
    beta = None if add is None else _other(add, mul.output[0])
    if not (beta and ix.weight(beta, len(axes))):
        return x, axes, eps, gamma, "", mul  # gamma alone: nn.LayerNorm(bias=False)
    return x, axes, eps, gamma, beta, add


def _replace(graph, ix: _Index, mean, x, axes, eps, scale, shift, last) -> None:
    """The last node of the pattern becomes the LayerNormalization, named as its first; the rest is left dead."""
    from onnx import helper

    inputs = [x, scale, shift][:3 if shift else 2 if scale else 1]
    fused = helper.make_node("LayerNormalization", inputs, [last.output[0]], name=mean.name, axis=min(axes),
                             epsilon=eps)
    fused.metadata_props.extend(mean.metadata_props)
    last.CopyFrom(fused)
    ix.producer[last.output[0]] = last
