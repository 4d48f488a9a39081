"""ONNX model -> costcalc spec.

Only the graph and the shapes are read, never the weights' values: the file is opened with
`load_external_data=False`, so weights kept in an absent external file are not needed. Every tensor of the graph is
either *data* (computed from the network's input: it becomes a layer of the spec) or a *constant* (initializers,
Constant nodes, and the Shape/Gather/Concat/... arithmetic torch's exporter emits to compute reshape targets; these
are folded here and produce no layer).

Each data node becomes one costcalc op; a few multi-node patterns become one op: Reshape-Transpose-Reshape is a
channel shuffle, Mul(x, Sigmoid(x)) is swish (Mul(x, HardSigmoid(x)) hardswish), MatMul + Add(bias) is an fc with a
bias, complementary channel Slices are one split. An op type costcalc does not know is an error naming the node and
its op type, never a silent zero. Errors are located at `model.onnx:N:1`, N the 1-based index of the node in the
graph's node list.

Parameters come from the initializers' shapes through the ops (conv and fc weights and biases, batchnorm scale and
shift); batchnorm's running mean and variance are buffers and are not counted.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from math import prod

import numpy as np

from costcalc.errors import Loc, SpecError
from costcalc.ops import OPS, OpError, window_out
from costcalc.spec.loader import YList, YMap

INSTALL_HINT = "reading ONNX files needs the onnx package: pip install 'costcalc[onnx]'"
MAX_CONST_ELEMENTS = 1_000_000  # a folded shape computation never needs more
YAML_WORDS = {"true", "false", "yes", "no", "on", "off", "null", "y", "n", "input"}


def read_spec(path: str, input_shape: tuple | None = None):
    """The costcalc Spec of the ONNX model at `path` (at `input_shape`, per sample, when given)."""
    from costcalc.spec.model import spec_from_document

    return spec_from_document(path, import_document(path, input_shape))


def to_yaml(path: str, input_shape: tuple | None = None) -> str:
    """The ONNX model at `path` written as a readable costcalc spec (YAML text)."""
    return write_yaml(import_document(path, input_shape))


def import_document(path: str, input_shape: tuple | None = None) -> YMap:
    """The ONNX model at `path` as a spec document: YMap / YList values located at the ONNX nodes."""
    model = _load(path)
    return _Importer(path, model, input_shape).run()


def _load(path: str):
    try:
        import onnx
    except ImportError:
        raise SpecError(INSTALL_HINT, Loc(path)) from None
    if os.path.isdir(path):
        raise SpecError("is a directory, not an ONNX file", Loc(path))
    try:
        return onnx.load(path, load_external_data=False)
    except OSError as e:
        raise SpecError(f"cannot read: {e.strerror or e}", Loc(path)) from None
    except Exception as e:  # protobuf's DecodeError and friends: the file is not an ONNX model
        raise SpecError(f"not a readable ONNX model ({type(e).__name__}: {e})", Loc(path)) from None


# ---- tensors ------------------------------------------------------------------------------------------------


@dataclass
class Data:
    """A tensor computed from the network's input: `ref` is the spec name that stands for it."""

    shape: tuple  # with the batch
    ref: str
    pending: tuple | None = None  # part of a channel shuffle: ("grouped", g, node) or ("shuffled", g, node)


@dataclass
class Sequence:
    """A sequence of network tensors (SplitToSequence's output, read back by SequenceAt)."""

    items: tuple


@dataclass
class Const:
    """A tensor known before the network runs; `value` is None for a weight whose values were not read."""

    shape: tuple
    value: object = None  # numpy array
    name: str = ""


@dataclass
class Layer:
    name: str
    op: str
    args: dict  # in the op function's form (pairs as tuples)
    inputs: list  # refs
    loc: Loc
    note: str = ""  # the ONNX node(s) it came from, for the written spec's comment
    outputs: int = 1


@dataclass
class _Node:
    index: int
    proto: object
    op: str
    name: str
    attrs: dict = field(default_factory=dict)

    @property
    def where(self) -> str:
        return f"node '{self.name}' ({self.op})"


class _Importer:
    def __init__(self, path: str, model, input_shape):
        self.path = path
        self.model = model
        self.graph = model.graph
        self.input_shape = tuple(input_shape) if input_shape else None
        self.tensors: dict = {}
        self.layers: list = []
        self.names: set = set()
        self.producer_layer: dict = {}  # ref -> Layer
        self.consumers: dict = {}  # tensor name -> [node index]
        self.done: set = set()  # node indices handled as part of a pattern
        self.opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 0)

    # ---- top level --------------------------------------------------------------------------------------------

    def run(self) -> YMap:
        from onnx import helper

        nodes = []
        for i, proto in enumerate(self.graph.node):
            attrs = {a.name: helper.get_attribute_value(a) for a in proto.attribute}
            nodes.append(_Node(i, proto, proto.op_type, proto.name or f"{proto.op_type}_{i}", attrs))
        self.nodes = nodes
        for node in nodes:
            for t in node.proto.input:
                if t:
                    self.consumers.setdefault(t, []).append(node.index)
        for init in self.graph.initializer:
            self.tensors[init.name] = Const(tuple(init.dims), None, init.name)
        self.initializer_names = {init.name for init in self.graph.initializer}
        for init in self.graph.sparse_initializer:
            self.tensors[init.values.name] = Const(tuple(init.dims), None, init.values.name)
        self.producer_index = {t: n.index for n in nodes for t in n.proto.output if t}
        shape = self.network_input()
        self.needed_nodes = needed = self.needed(nodes)
        for node in nodes:
            if node.index in self.done or node.index not in needed:
                continue
            try:
                self.node(node)
            except (ArithmeticError, AttributeError, IndexError, KeyError, TypeError, ValueError) as e:
                # a malformed node (a missing attribute or input, a constant of the wrong shape, a zero divisor):
                # one located line naming it, never a traceback
                self.fail(node, f"malformed {node.op} node: {type(e).__name__}: {e}")
        return self.document(shape)

    def network_input(self) -> tuple:
        inputs = [v for v in self.graph.input if v.name not in self.tensors]
        if len(inputs) != 1:
            names = ", ".join(v.name for v in inputs) or "none"
            raise SpecError(f"costcalc reads models with one input; this graph has {len(inputs)} ({names})",
                            Loc(self.path))
        value = inputs[0]
        dims = []
        for d in value.type.tensor_type.shape.dim:
            dims.append(d.dim_value if d.HasField("dim_value") else (d.dim_param or "?"))
        if len(dims) not in (2, 4):
            raise SpecError(f"input '{value.name}' has shape {_fmt(dims)}: costcalc reads N x C x H x W "
                            "(or N x F) inputs", Loc(self.path))
        if self.input_shape is not None:
            if len(self.input_shape) != len(dims) - 1:
                raise SpecError(f"--input {_fmt(self.input_shape)} does not fit input '{value.name}' of shape "
                                f"{_fmt(dims)}", Loc(self.path))
            sample = self.input_shape
        else:
            symbolic = [d for d in dims[1:] if not isinstance(d, int) or d < 1]
            if symbolic:
                raise SpecError(f"input '{value.name}' has shape {_fmt(dims)}: its size {symbolic[0]!r} is not fixed "
                                "in the file; give it with --input CxHxW", Loc(self.path))
            sample = tuple(dims[1:])
        batch = dims[0] if isinstance(dims[0], int) and dims[0] >= 1 else 1
        self.tensors[value.name] = Data((batch, *sample), "input")
        self.batch = batch
        return sample

    def needed(self, nodes) -> set:
        """Indices of the nodes the graph's outputs depend on (dead nodes cost nothing)."""
        producer = {t: n.index for n in nodes for t in n.proto.output if t}
        wanted = [o.name for o in self.graph.output]
        seen: set = set()
        while wanted:
            t = wanted.pop()
            i = producer.get(t)
            if i is None or i in seen:
                continue
            seen.add(i)
            wanted.extend(x for x in nodes[i].proto.input if x)
            for a in nodes[i].proto.attribute:
                if a.g.node or a.graphs:
                    raise SpecError(f"{nodes[i].where}: control flow (subgraphs) is not supported",
                                    self.loc(nodes[i]))
        return seen

    def document(self, sample: tuple) -> YMap:
        outputs = [o.name for o in self.graph.output]
        if len(outputs) != 1:
            raise SpecError(f"costcalc reads models with one output; this graph has {len(outputs)} "
                            f"({', '.join(outputs)})", Loc(self.path))
        out = self.tensors.get(outputs[0])
        if not isinstance(out, Data) or out.pending:
            raise SpecError(f"the graph's output '{outputs[0]}' is not computed from its input", Loc(self.path))
        declared = self.graph.output[0].type.tensor_type.shape.dim
        if self.input_shape is None and len(declared) == len(out.shape):
            for k, (dim, got) in enumerate(zip(declared, out.shape)):
                if k and dim.HasField("dim_value") and dim.dim_value != got:
                    raise SpecError(f"costcalc infers the output '{outputs[0]}' as {_fmt(out.shape)}, but the file "
                                    f"declares {_fmt([d.dim_value or d.dim_param for d in declared])}", Loc(self.path))
        if not self.layers or out.ref != self.last_ref():
            self.emit(None, "output", "identity", {}, [out], note="the graph's output")
        loc = Loc(self.path)
        name = os.path.splitext(os.path.basename(self.path))[0]  # exporters' graph names say little: main_graph
        producer = self.model.producer_name + (f" {self.model.producer_version}" if self.model.producer_version else "")
        source = (f"ONNX file {os.path.basename(self.path)} (graph '{self.graph.name}', opset {self.opset}"
                  + (f", {producer})" if producer else ")"))
        layers = []
        previous = "input"
        for layer in self.layers:
            entry = {"name": layer.name}
            if layer.inputs != [previous]:
                entry["from"] = layer.inputs[0] if len(layer.inputs) == 1 else list(layer.inputs)
            entry["op"] = layer.op
            entry.update(_doc_args(layer.op, layer.args))
            layers.append((_ymap(entry, layer.loc), layer.loc, layer.note))
            previous = layer.name
        doc = _ymap({"name": _name(name), "source": source, "input": list(sample)}, loc)
        items = _NotedList(m for m, _, _ in layers)
        items.loc, items.item_locs = loc, [l for _, l, _ in layers]
        items.notes = [n for _, _, n in layers]
        doc["layers"] = items
        doc.key_locs["layers"] = doc.value_locs["layers"] = loc
        return doc

    def last_ref(self) -> str:
        last = self.layers[-1]
        return last.name if last.outputs == 1 else ""

    # ---- helpers ----------------------------------------------------------------------------------------------

    def loc(self, node) -> Loc:
        return Loc(self.path, node.index + 1, 1)

    def fail(self, node, message: str):
        raise SpecError(f"{node.where}: {message}", self.loc(node))

    def get(self, node, k: int):
        """Input k of `node` (None when absent)."""
        names = node.proto.input
        if k >= len(names) or not names[k]:
            return None
        t = self.tensors.get(names[k])
        if t is None:
            self.fail(node, f"input '{names[k]}' is not produced by any earlier node, initializer or graph input")
        return t

    def value(self, node, k: int, what: str):
        """The values of constant input k (an int64/float numpy array)."""
        t = self.get(node, k)
        if t is None:
            return None
        if isinstance(t, Data):
            self.fail(node, f"its {what} (input {k}) is computed from the network's input: costcalc needs it constant")
        return self.const_value(node, t, what)

    def const_value(self, node, t: Const, what: str):
        if t.value is None:
            init = next((i for i in self.graph.initializer if i.name == t.name), None)
            if init is None:
                self.fail(node, f"the value of {what} '{t.name}' is not known")
            if init.data_location == 1:  # EXTERNAL
                self.fail(node, f"{what} '{t.name}' is kept in external data, which costcalc does not read")
            from onnx import numpy_helper

            t.value = numpy_helper.to_array(init)
        return t.value

    def set(self, node, k: int, tensor) -> None:
        outputs = node.proto.output
        if k < len(outputs) and outputs[k]:
            self.tensors[outputs[k]] = tensor

    def only_consumer(self, tensor_name: str):
        users = self.consumers.get(tensor_name, [])
        graph_out = any(o.name == tensor_name for o in self.graph.output)
        return self.nodes[users[0]] if len(users) == 1 and not graph_out else None

    def layer_name(self, node) -> str:
        return self.unique(_node_name(node.name) if node is not None else "output")

    def unique(self, base: str) -> str:
        name, k = base, 2
        while name in self.names:
            name, k = f"{base}_{k}", k + 1
        self.names.add(name)
        return name

    def emit(self, node, name, op, args, inputs, outputs=1, note=None) -> list:
        """Append a layer; check it with costcalc's own op function and return its outputs as Data."""
        name = name or self.layer_name(node)
        for x in inputs:
            if x.pending:
                self.fail(node, f"reads the {len(x.shape)}-D tensor of a Reshape that is not a channel shuffle "
                                f"(Reshape to N x g x C/g x H x W, Transpose 0,2,1,3,4, Reshape back)")
        shapes = [x.shape[1:] for x in inputs]
        try:
            result = OPS[op].fn(*shapes, **args)
        except OpError as e:
            where = node.where if node is not None else "the output"
            raise SpecError(f"{where}: {e}", self.loc(node) if node is not None else Loc(self.path)) from None
        loc = self.loc(node) if node is not None else Loc(self.path)
        layer = Layer(name, op, args, [x.ref for x in inputs], loc, note if note is not None else _note(node),
                      len(result.outputs))
        self.layers.append(layer)
        if len(result.outputs) == 1:
            refs = [name]
        else:
            refs = [f"{name}.{k}" for k in range(len(result.outputs))]
        out = [Data((self.batch, *s), r) for s, r in zip(result.outputs, refs)]
        for d in out:
            self.producer_layer[d.ref] = layer
        return out

    def emit1(self, node, op, args, inputs, name=None, note=None) -> None:
        self.set(node, 0, self.emit(node, name, op, args, inputs, note=note)[0])

    # ---- nodes ------------------------------------------------------------------------------------------------

    def node(self, node) -> None:
        if node.proto.domain not in ("", "ai.onnx"):
            self.fail(node, f"op type '{node.op}' of domain '{node.proto.domain}' is not one costcalc knows")
        inputs = [self.tensors.get(t) if t else None for t in node.proto.input]
        for t, x in zip(node.proto.input, inputs):
            if t and x is None:
                self.fail(node, f"input '{t}' is not produced by any earlier node, initializer or graph input")
        data = [x for x in inputs if isinstance(x, (Data, Sequence))]
        if not data and node.op != "Shape":
            return self.fold(node)
        handler = DATA_OPS.get(node.op)
        if handler is None:
            self.fail(node, f"op type '{node.op}' is not one costcalc knows how to cost "
                            f"(it knows: {', '.join(sorted(DATA_OPS))})")
        if node.op != "SequenceAt" and any(isinstance(x, Sequence) for x in inputs):
            self.fail(node, "reads a sequence of tensors: costcalc reads sequences only with SequenceAt")
        if node.op not in ANY_INPUT_OPS and not isinstance(inputs[0], Data):
            self.fail(node, "its first input is a constant and a later one a tensor of the network: costcalc costs "
                            f"{node.op} on a network tensor")
        handler(self, node)

    def fold(self, node) -> None:
        """A node whose inputs are all constants: evaluate it (shape arithmetic), produce no layer."""
        fn = FOLD_OPS.get(node.op)
        if fn is None:
            self.fail(node, f"op type '{node.op}' on constant inputs is not one costcalc can evaluate")
        values = []
        for k, t in enumerate(node.proto.input):
            values.append(None if not t else self.const_value(node, self.tensors[t], f"input {k}"))
        try:
            results = fn(node, values)
        except SpecError:
            raise
        except Exception as e:  # numpy's complaints about a malformed shape computation
            self.fail(node, f"cannot evaluate it on its constant inputs ({e})")
        for k, r in enumerate(results):
            r = np.asarray(r)
            if r.size > MAX_CONST_ELEMENTS:
                self.fail(node, f"a constant of {r.size:,} elements is beyond what shape arithmetic needs")
            self.set(node, k, Const(tuple(r.shape), r, node.proto.output[k]))

    # shape-only ops on data
    def shape(self, node) -> None:
        x = self.get(node, 0)
        start, end = node.attrs.get("start", 0), node.attrs.get("end", None)
        self.set(node, 0, Const((len(x.shape[start:end]),), np.array(x.shape[start:end], dtype=np.int64)))

    def conv(self, node) -> None:
        x, w, b = self.get(node, 0), self.get(node, 1), self.get(node, 2)
        if isinstance(w, Data) or isinstance(b, Data):
            self.fail(node, "its weights are computed from the network's input: costcalc needs them constant")
        if len(x.shape) != 4 or len(w.shape) != 4:
            self.fail(node, f"costcalc costs 2-D convolutions (N x C x H x W input), not input {_fmt(x.shape)} "
                            f"with weights {_fmt(w.shape)}")
        groups = node.attrs.get("group", 1)
        if w.shape[1] * groups != x.shape[1]:
            self.fail(node, f"weights {_fmt(w.shape)} with group={groups} do not fit an input of {x.shape[1]} channels")
        k = tuple(node.attrs.get("kernel_shape", w.shape[2:]))
        stride = tuple(node.attrs.get("strides", (1, 1)))
        dilation = tuple(node.attrs.get("dilations", (1, 1)))
        pad = self.window_pads(node, x.shape[2:], k, stride, dilation, False)
        args = {"out": w.shape[0], "k": k, "stride": stride, "pad": pad, "dilation": dilation, "groups": groups,
                "bias": self.learned(b, node, w.shape[0])}
        self.emit1(node, "conv", args, [x])

    def window_pads(self, node, size, k, stride, dilation, ceil_mode) -> tuple:
        """The symmetric (pad_h, pad_w) costcalc writes for ONNX pads / auto_pad, giving ONNX's output size.
        An odd total padding (SAME padding, stride 2) is written as whichever symmetric pad gives the same output
        size: the costs depend only on the input and output sizes."""
        auto = node.attrs.get("auto_pad", b"NOTSET")
        auto = auto.decode() if isinstance(auto, bytes) else auto
        pads = list(node.attrs.get("pads", (0, 0, 0, 0)))
        if len(pads) != 4 or len(k) != 2:
            self.fail(node, f"costcalc costs 2-D windows, not kernel {list(k)} with pads {pads}")
        result = []
        for axis in range(2):
            n, span, s = size[axis], dilation[axis] * (k[axis] - 1) + 1, stride[axis]
            if auto in ("SAME_UPPER", "SAME_LOWER"):
                want = -(-n // s)
                total = max((want - 1) * s + span - n, 0)
                begin = total // 2 if auto == "SAME_UPPER" else total - total // 2
                end = total - begin
            elif auto == "VALID":
                begin = end = 0
            elif auto == "NOTSET":
                begin, end = pads[axis], pads[axis + 2]
            else:
                self.fail(node, f"auto_pad '{auto}' is not an ONNX padding mode")
            axis_name = ("height", "width")[axis]
            try:
                want = window_out(n, k[axis], s, begin, dilation[axis], ceil_mode, axis_name, pad_end=end)
            except OpError as e:
                self.fail(node, str(e))
            for p in sorted({(begin + end) // 2, (begin + end + 1) // 2}, key=lambda p: p != begin):
                try:
                    got = window_out(n, k[axis], s, p, dilation[axis], ceil_mode, axis_name)
                except OpError:
                    continue
                if got == want:
                    result.append(p)
                    break
            else:
                self.fail(node, f"padding {begin} before and {end} after along the {axis_name} cannot be written as "
                                "costcalc's symmetric pad with the same output size")
        return tuple(result)

    def gemm(self, node) -> None:
        a, b, c = self.get(node, 0), self.get(node, 1), self.get(node, 2)
        if isinstance(b, Data) or isinstance(c, Data):
            self.fail(node, "its weights are computed from the network's input: costcalc needs them constant")
        if node.attrs.get("transA", 0) or len(a.shape) != 2 or len(b.shape) != 2:
            self.fail(node, f"costcalc costs a fully connected layer N x F times a constant F x out matrix, not "
                            f"{_fmt(a.shape)} times {_fmt(b.shape)}")
        features, out = (b.shape[1], b.shape[0]) if node.attrs.get("transB", 0) else b.shape
        if features != a.shape[1]:
            self.fail(node, f"weights {_fmt(b.shape)} do not fit an input of {a.shape[1]} features")
        self.emit1(node, "fc", {"out": out, "bias": self.learned(c, node, out)}, [a])

    def learned(self, t, node=None, out=None) -> bool:
        """Whether an optional bias input holds parameters: an initializer does; a constant the graph computes
        and that is all zeros (torch's dynamo exporter gives a conv without bias one) is no bias at all."""
        if t is None:
            return False
        if node is not None and prod(t.shape) != out:
            self.fail(node, f"a bias of shape {_fmt(t.shape)}: costcalc counts a bias of one value per output ({out})")
        if t.name in self.initializer_names or t.value is None:
            return True
        return bool(np.any(t.value))

    def cast_like(self, node) -> None:
        x = self.get(node, 0)
        if isinstance(x, Data):
            self.fail(node, "a cast of a network tensor is not costed")
        self.set(node, 0, Const(x.shape, self.const_value(node, x, "input 0"), node.proto.output[0]))

    def matmul(self, node) -> None:
        a, b = self.get(node, 0), self.get(node, 1)
        if isinstance(b, Data) or len(a.shape) != 2 or len(b.shape) != 2 or b.shape[0] != a.shape[1]:
            self.fail(node, f"costcalc costs MatMul as a fully connected layer (N x F times a constant F x out "
                            f"matrix), not {_fmt(a.shape)} times {_fmt(b.shape)}")
        self.emit1(node, "fc", {"out": b.shape[1], "bias": False}, [a])

    def batchnorm(self, node) -> None:
        if any(node.proto.output[1:]):
            self.fail(node, "training-mode batchnorm (running statistics as outputs) is not costed; export in eval mode")
        x = self.get(node, 0)
        for k in range(1, 5):
            if isinstance(self.get(node, k), Data):
                self.fail(node, "its scale, shift and statistics must be constants")
        self.emit1(node, "bn", {}, [x])

    def unary(op):
        def handle(self, node) -> None:
            self.emit1(node, op, {}, [self.get(node, 0)])

        return handle

    def clip(self, node) -> None:
        if self.opset >= 11:
            low, high = self.value(node, 1, "min"), self.value(node, 2, "max")
            low = None if low is None else float(low)
            high = None if high is None else float(high)
        else:
            low, high = node.attrs.get("min"), node.attrs.get("max")
        if low == 0 and high == 6:
            op = "relu6"
        elif low == 0 and (high is None or np.isinf(high)):
            op = "relu"
        else:
            self.fail(node, f"Clip to [{low}, {high}]: costcalc knows Clip as relu (min 0) and relu6 (min 0, max 6)")
        self.emit1(node, op, {}, [self.get(node, 0)])

    def mul(self, node) -> None:
        a, b = self.get(node, 0), self.get(node, 1)
        if isinstance(a, Data) and isinstance(b, Data):
            for x, gate in ((a, b), (b, a)):  # x * sigmoid(x) is swish, x * hardsigmoid(x) hardswish
                layer = self.producer_layer.get(gate.ref)
                fused = {"sigmoid": "swish", "hardsigmoid": "hardswish"}.get(layer.op) if layer else None
                if fused and layer.inputs == [x.ref] and self.only_consumer(self.tensor_of(node, gate)) is not None:
                    layer.op, layer.note = fused, f"{layer.note} + {_note(node)}"
                    self.set(node, 0, Data(x.shape, gate.ref))
                    return
            return self.emit1(node, "mul", {}, [a, b])
        x, c = (a, b) if isinstance(a, Data) else (b, a)
        factor = self.scalar(node, c, "Mul by a constant")
        self.emit1(node, "scale", {"factor": factor}, [x])

    def div(self, node) -> None:
        x, c = self.get(node, 0), self.get(node, 1)
        if isinstance(c, Data):
            self.fail(node, "division by a tensor computed from the network's input is not costed")
        self.emit1(node, "scale", {"factor": 1 / self.scalar(node, c, "Div by a constant")}, [x])

    def tensor_of(self, node, tensor) -> str:
        return next(t for t in node.proto.input if self.tensors.get(t) is tensor)

    def scalar(self, node, c: Const, what: str) -> float:
        value = self.const_value(node, c, "the constant")
        if value.size != 1:
            self.fail(node, f"{what} of shape {_fmt(value.shape)}: costcalc knows multiplication by one number "
                            "(scale) or by a tensor of the network")
        return float(value.reshape(-1)[0])

    def add(self, node) -> None:
        inputs = [self.get(node, k) for k in range(len(node.proto.input))]
        data = [x for x in inputs if isinstance(x, (Data, Sequence))]
        if len(data) == len(inputs):
            return self.emit1(node, "add", {}, inputs)
        x = data[0]
        layer = self.producer_layer.get(x.ref)
        c = next(t for t in inputs if isinstance(t, Const))
        if (len(inputs) == 2 and layer is not None and layer.op == "fc" and not layer.args["bias"]
                and c.shape in ((x.shape[1],), (1, x.shape[1])) and self.only_consumer(self.tensor_of(node, x))):
            layer.args = {**layer.args, "bias": True}  # MatMul + Add(bias): one fc with a bias
            layer.note = f"{layer.note} + {_note(node)}"
            self.set(node, 0, x)
            return
        self.fail(node, f"adding a constant of shape {_fmt(c.shape)} to {_fmt(x.shape)}: costcalc knows Add of "
                        "tensors of the network, and the bias Add after a MatMul")

    def pool(op):
        def handle(self, node) -> None:
            x = self.get(node, 0)
            if len(x.shape) != 4:
                self.fail(node, f"costcalc costs 2-D pooling of N x C x H x W tensors, not {_fmt(x.shape)}")
            if any(node.proto.output[1:]):
                self.fail(node, "MaxPool's indices output is not costed")
            k = tuple(node.attrs["kernel_shape"])
            stride = tuple(node.attrs.get("strides", (1, 1)))
            dilation = tuple(node.attrs.get("dilations", (1, 1)))
            ceil_mode = bool(node.attrs.get("ceil_mode", 0))
            if op == "avgpool" and dilation != (1, 1):
                self.fail(node, "dilated average pooling is not costed")
            pad = self.window_pads(node, x.shape[2:], k, stride, dilation, ceil_mode)
            args = {"k": k, "stride": stride, "pad": pad, "ceil_mode": ceil_mode}
            if op == "maxpool":
                args["dilation"] = dilation
            self.emit1(node, op, args, [x])

        return handle

    def global_pool(op):
        def handle(self, node) -> None:
            x = self.get(node, 0)
            if len(x.shape) != 4:
                self.fail(node, f"costcalc costs global pooling of N x C x H x W tensors, not {_fmt(x.shape)}")
            if op == "gap":
                return self.emit1(node, "gap", {}, [x])
            hw = tuple(x.shape[2:])
            self.emit1(node, "maxpool", {"k": hw, "stride": hw, "pad": (0, 0), "ceil_mode": False,
                                         "dilation": (1, 1)}, [x])

        return handle

    def reduce_mean(self, node) -> None:
        x = self.get(node, 0)
        axes = node.attrs.get("axes")
        if axes is None and len(node.proto.input) > 1:
            axes = self.value(node, 1, "axes")
        axes = sorted(int(a) % len(x.shape) for a in (axes if axes is not None else range(len(x.shape))))
        if len(x.shape) != 4 or axes != [2, 3]:
            self.fail(node, f"ReduceMean over axes {axes} of {_fmt(x.shape)}: costcalc knows the mean over H and W "
                            "(global average pooling)")
        if node.attrs.get("keepdims", 1):
            return self.emit1(node, "mean", {}, [x])
        (pooled,) = self.emit(node, None, "mean", {}, [x])
        self.emit1(node, "flatten", {}, [pooled], name=self.unique(self.layers[-1].name + "_squeeze"))

    def concat(self, node) -> None:
        inputs = [self.get(node, k) for k in range(len(node.proto.input))]
        if any(isinstance(x, Const) for x in inputs):
            self.fail(node, "concatenates constants with tensors of the network: costcalc concatenates network tensors")
        axis = node.attrs.get("axis", 1) % len(inputs[0].shape)
        if axis != 1:
            self.fail(node, f"concatenation along axis {axis}: costcalc concatenates along channels (axis 1)")
        self.emit1(node, "concat", {}, inputs)

    def split(self, node) -> None:
        x = self.get(node, 0)
        axis = node.attrs.get("axis", 0) % len(x.shape)
        if axis != 1:
            self.fail(node, f"split along axis {axis}: costcalc splits along channels (axis 1)")
        n = len(node.proto.output)
        sizes = node.attrs.get("split")
        if sizes is None and len(node.proto.input) > 1 and node.proto.input[1]:
            sizes = [int(s) for s in self.value(node, 1, "split sizes")]
        if sizes is None:
            n = node.attrs.get("num_outputs", n)
            c = x.shape[1]
            sizes = [-(-c // n)] * (n - 1) + [c - -(-c // n) * (n - 1)]
        outs = self.emit(node, None, "split", {"sizes": list(sizes)}, [x])
        for k, d in enumerate(outs):
            self.set(node, k, d)

    def slice(self, node) -> None:
        """Channel slices of one tensor that together cover its channels (torch's chunk) are one split."""
        x = self.get(node, 0)
        source = node.proto.input[0]
        users = [self.nodes[i] for i in self.consumers[source]
                 if self.nodes[i].op == "Slice" and self.nodes[i].proto.input[0] == source and i in self.needed_nodes]
        parts = [(self.channel_slice(u, x), u) for u in users]
        if all(bounds is not None for bounds, _ in parts):
            parts.sort(key=lambda p: p[0])
            bounds = [b for b, _ in parts]
            if bounds[0][0] == 0 and bounds[-1][1] == x.shape[1] and all(a[1] == b[0] for a, b in zip(bounds, bounds[1:])):
                outs = self.emit(node, None, "split", {"sizes": [e - s for s, e in bounds]}, [x],
                                 note=" + ".join(_note(u) for _, u in parts))
                for d, (_, u) in zip(outs, parts):
                    self.done.add(u.index)
                    self.set(u, 0, d)
                return
        self.fail(node, f"a Slice of {_fmt(x.shape)}: costcalc knows channel slices that together cover the "
                        "channels (a split, as torch's chunk exports)")

    def split_to_sequence(self, node) -> None:
        x = self.get(node, 0)
        axis = node.attrs.get("axis", 0) % len(x.shape)
        split = self.value(node, 1, "split") if len(node.proto.input) > 1 and node.proto.input[1] else None
        if axis != 1 or split is None:
            self.fail(node, "costcalc splits along channels (axis 1) into parts of given sizes")
        c = x.shape[1]
        if split.ndim == 0:
            n = int(split)
            sizes = [n] * (c // n) + ([c % n] if c % n else [])
        else:
            sizes = [int(v) for v in split]
        self.set(node, 0, Sequence(tuple(self.emit(node, None, "split", {"sizes": sizes}, [x]))))

    def sequence_at(self, node) -> None:
        seq = self.get(node, 0)
        if not isinstance(seq, Sequence):
            self.fail(node, "SequenceAt of what is not a sequence of network tensors")
        position = int(self.value(node, 1, "position"))
        if not -len(seq.items) <= position < len(seq.items):
            self.fail(node, f"position {position} of a sequence of {len(seq.items)}")
        self.set(node, 0, seq.items[position])

    def channel_slice(self, node, x):
        """(start, end) when `node` slices the channels of x with step 1, else None. Its bounds may be computed
        by nodes further down the list (torch computes the second chunk's end after the first Slice): they are
        evaluated on demand."""
        if self.opset < 10:
            starts, ends = node.attrs.get("starts"), node.attrs.get("ends")
            axes, steps = node.attrs.get("axes"), None
        else:
            values = []
            for k in range(1, 5):
                name = node.proto.input[k] if k < len(node.proto.input) else ""
                t = self.demand(name) if name else None
                if name and not isinstance(t, Const):
                    return None
                values.append(None if t is None else self.const_value(node, t, f"input {k}"))
            starts, ends, axes, steps = values
        if starts is None or ends is None:
            return None
        axes = list(range(len(starts))) if axes is None else [int(a) % len(x.shape) for a in axes]
        if axes != [1] or (steps is not None and int(steps[0]) != 1):
            return None
        c = x.shape[1]
        start, end = int(starts[0]), int(ends[0])
        start, end = (start + c if start < 0 else start), (end + c if end < 0 else end)
        start, end = max(0, min(start, c)), max(0, min(end, c))
        return (start, end) if end > start else None

    def demand(self, name: str, depth: int = 0):
        """The tensor `name`, folding the constant nodes it depends on now if they come later in the list; None
        when it depends on a network tensor not computed yet."""
        if name in self.tensors:
            return self.tensors[name]
        i = self.producer_index.get(name)
        if i is None or depth > 256 or i in self.done:
            return None
        node = self.nodes[i]
        for t in node.proto.input:
            if t and self.demand(t, depth + 1) is None:
                return None
        inputs = [self.tensors[t] for t in node.proto.input if t]
        if node.op == "Shape" and inputs and isinstance(inputs[0], Data) and not inputs[0].pending:
            self.shape(node)
        elif any(isinstance(t, Data) for t in inputs):
            return None
        else:
            self.fold(node)
        self.done.add(i)
        return self.tensors.get(name)

    def reshape(self, node) -> None:
        x = self.get(node, 0)
        target = [int(d) for d in self.value(node, 1, "shape")]
        allowzero = node.attrs.get("allowzero", 0)
        if not allowzero and any(d == 0 and i >= len(x.shape) for i, d in enumerate(target)):
            self.fail(node, f"shape {target} copies (0) a dimension the input {_fmt(x.shape)} does not have")
        shape = [x.shape[i] if d == 0 and not allowzero else d for i, d in enumerate(target)]
        if shape.count(-1) == 1:
            known = prod(d for d in shape if d != -1)
            shape[shape.index(-1)] = prod(x.shape) // known if known else 0
        shape = tuple(shape)
        if prod(shape) != prod(x.shape) or any(d < 0 for d in shape):
            hint = (" (the file fixes this shape for the input size it was exported at, not for --input "
                    f"{'x'.join(map(str, self.input_shape))})" if self.input_shape else "")
            self.fail(node, f"cannot reshape {_fmt(x.shape)} to {target}{hint}")
        self.view(node, x, shape)

    def view(self, node, x, shape) -> None:
        """A Reshape, Flatten or Squeeze of a network tensor to `shape`."""
        if (x.pending and x.pending[0] == "shuffled" and len(shape) == 4
                and shape[:2] == (x.shape[0], prod(x.shape[1:3])) and shape[2:] == x.shape[3:]):
            _, groups, first = x.pending
            source = Data((x.shape[0], shape[1], *shape[2:]), x.ref)
            note = f"{_note(first)} + Transpose + {_note(node)}"
            return self.emit1(node, "shuffle", {"groups": groups}, [source], note=note)
        if x.pending:
            self.fail(node, f"reshapes {_fmt(x.shape)} to {_fmt(shape)} inside what is not a channel shuffle")
        if shape == x.shape:
            return self.emit1(node, "identity", {}, [x])
        if len(shape) == 2 and shape[0] == x.shape[0]:
            return self.emit1(node, "flatten", {}, [x])
        if len(x.shape) == 4 and len(shape) == 5 and shape[0] == x.shape[0] and shape[1] * shape[2] == x.shape[1] \
                and shape[3:] == x.shape[2:]:
            self.set(node, 0, Data(shape, x.ref, ("grouped", shape[1], node)))
            return
        self.fail(node, f"reshapes {_fmt(x.shape)} to {_fmt(shape)}: costcalc knows flatten (N x F) and the "
                        "channel shuffle (N x g x C/g x H x W, Transpose, back to N x C x H x W)")

    def transpose(self, node) -> None:
        x = self.get(node, 0)
        perm = list(node.attrs.get("perm", reversed(range(len(x.shape)))))
        if x.pending and x.pending[0] == "grouped" and perm == [0, 2, 1, 3, 4]:
            shape = (x.shape[0], x.shape[2], x.shape[1], *x.shape[3:])
            self.set(node, 0, Data(shape, x.ref, ("shuffled", x.pending[1], x.pending[2])))
            return
        self.fail(node, f"Transpose {perm} of {_fmt(x.shape)}: costcalc knows Transpose only inside a channel "
                        "shuffle (Reshape to N x g x C/g x H x W, Transpose 0,2,1,3,4, Reshape back)")

    def flatten(self, node) -> None:
        x = self.get(node, 0)
        axis = node.attrs.get("axis", 1) % max(len(x.shape), 1)
        if axis != 1:
            self.fail(node, f"Flatten at axis {axis}: costcalc flattens everything but the batch (axis 1)")
        self.view(node, x, (x.shape[0], prod(x.shape[1:])))

    def squeeze(self, node) -> None:
        x = self.get(node, 0)
        axes = node.attrs.get("axes")
        if axes is None and len(node.proto.input) > 1:
            axes = [int(a) for a in self.value(node, 1, "axes")]
        axes = [i for i, d in enumerate(x.shape) if d == 1 and i] if axes is None else [a % len(x.shape) for a in axes]
        if 0 in axes:
            self.fail(node, "squeezes the batch axis")
        self.view(node, x, tuple(d for i, d in enumerate(x.shape) if i not in axes))

    def identity(op):
        def handle(self, node) -> None:
            x = self.get(node, 0)
            if x.pending:  # .contiguous() inside a channel shuffle: part of the pattern
                return self.set(node, 0, x)
            self.emit1(node, op, {}, [x])

        return handle


I = _Importer
DATA_OPS = {
    "Shape": I.shape,
    "CastLike": I.cast_like,
    "Conv": I.conv,
    "Gemm": I.gemm,
    "MatMul": I.matmul,
    "BatchNormalization": I.batchnorm,
    "Relu": I.unary("relu"),
    "LeakyRelu": I.unary("leaky_relu"),
    "Sigmoid": I.unary("sigmoid"),
    "Tanh": I.unary("tanh"),
    "HardSigmoid": I.unary("hardsigmoid"),
    "HardSwish": I.unary("hardswish"),
    "Clip": I.clip,
    "Mul": I.mul,
    "Div": I.div,
    "Add": I.add,
    "Sum": I.add,
    "MaxPool": I.pool("maxpool"),
    "AveragePool": I.pool("avgpool"),
    "GlobalAveragePool": I.global_pool("gap"),
    "GlobalMaxPool": I.global_pool("maxpool"),
    "ReduceMean": I.reduce_mean,
    "Concat": I.concat,
    "Split": I.split,
    "Slice": I.slice,
    "SplitToSequence": I.split_to_sequence,
    "SequenceAt": I.sequence_at,
    "Reshape": I.reshape,
    "Transpose": I.transpose,
    "Flatten": I.flatten,
    "Squeeze": I.squeeze,
    "Identity": I.identity("identity"),
    "Dropout": I.identity("dropout"),
}
del I
ANY_INPUT_OPS = {"Mul", "Add", "Sum", "Div", "Concat", "Shape", "CastLike", "SequenceAt"}  # they check their inputs


# ---- constant folding: the shape arithmetic of exporters --------------------------------------------------------


def _constant(node, values):
    from onnx import numpy_helper

    a = node.attrs
    if "value" in a:
        return [numpy_helper.to_array(a["value"])]
    if "value_int" in a:
        return [np.array(a["value_int"], dtype=np.int64)]
    if "value_ints" in a:
        return [np.array(a["value_ints"], dtype=np.int64)]
    if "value_float" in a:
        return [np.array(a["value_float"], dtype=np.float32)]
    if "value_floats" in a:
        return [np.array(a["value_floats"], dtype=np.float32)]
    raise ValueError("a Constant without a value costcalc reads")


def _axes(node, values, k=1):
    axes = node.attrs.get("axes")
    if axes is None and len(values) > k and values[k] is not None:
        axes = [int(a) for a in values[k]]
    return axes


def _unsqueeze(node, values):
    x = values[0]
    axes = sorted(a % (x.ndim + len(_axes(node, values))) for a in _axes(node, values))
    for a in axes:
        x = np.expand_dims(x, a)
    return [x]


def _squeeze(node, values):
    axes = _axes(node, values)
    return [np.squeeze(values[0], axis=None if axes is None else tuple(axes))]


def _slice(node, values):
    x = values[0]
    if len(values) == 1:
        starts, ends, axes, steps = node.attrs["starts"], node.attrs["ends"], node.attrs.get("axes"), None
    else:
        starts, ends = values[1], values[2]
        axes = values[3] if len(values) > 3 else None
        steps = values[4] if len(values) > 4 else None
    axes = range(len(starts)) if axes is None else axes
    index = [slice(None)] * x.ndim
    for i, axis in enumerate(axes):
        step = 1 if steps is None else int(steps[i])
        index[int(axis)] = slice(int(starts[i]), int(ends[i]), step)
    return [x[tuple(index)]]


def _div(node, values):
    a, b = values
    if np.issubdtype(a.dtype, np.integer) and np.issubdtype(b.dtype, np.integer):
        return [np.trunc(a / b).astype(a.dtype)]
    return [a / b]


def _reshape(node, values):
    x, shape = values[0], [int(d) for d in values[1]]
    shape = [x.shape[i] if d == 0 else d for i, d in enumerate(shape)]
    return [x.reshape(shape)]


def _cast(node, values):
    from onnx import helper

    return [values[0].astype(helper.tensor_dtype_to_np_dtype(node.attrs["to"]))]


def _split(node, values):
    x, axis = values[0], node.attrs.get("axis", 0)
    sizes = node.attrs.get("split")
    if sizes is None and len(values) > 1 and values[1] is not None:
        sizes = [int(s) for s in values[1]]
    n = len(node.proto.output)
    if sizes is None:
        return np.array_split(x, n, axis=axis)
    return np.split(x, np.cumsum(sizes)[:-1], axis=axis)


def _bounded_shape(dims) -> list:
    shape = [int(d) for d in np.atleast_1d(dims)]
    if prod(max(d, 1) for d in shape) > MAX_CONST_ELEMENTS:
        raise ValueError(f"a constant of shape {shape} is beyond what shape arithmetic needs")
    return shape


def _bounded_range(start, limit, delta):
    if delta == 0 or abs((limit - start) / delta) > MAX_CONST_ELEMENTS:
        raise ValueError(f"a range from {start} to {limit} by {delta} is beyond what shape arithmetic needs")
    return start, limit, delta


def _constant_of_shape(node, values):
    from onnx import numpy_helper

    fill = numpy_helper.to_array(node.attrs["value"]) if "value" in node.attrs else np.zeros(1, np.float32)
    shape = [int(d) for d in values[0]]
    if prod(shape) > MAX_CONST_ELEMENTS:
        raise ValueError(f"a constant of shape {shape} is too large")
    return [np.full(shape, fill.reshape(-1)[0], dtype=fill.dtype)]


FOLD_OPS = {
    "Constant": _constant,
    "Identity": lambda node, v: [v[0]],
    "Cast": _cast,
    "CastLike": lambda node, v: [v[0].astype(v[1].dtype)],
    "Gather": lambda node, v: [np.take(v[0], v[1].astype(np.int64), axis=node.attrs.get("axis", 0))],
    "Unsqueeze": _unsqueeze,
    "Squeeze": _squeeze,
    "Concat": lambda node, v: [np.concatenate([np.atleast_1d(x) for x in v], axis=node.attrs.get("axis", 0))],
    "Slice": _slice,
    "Reshape": _reshape,
    "Split": _split,
    "Transpose": lambda node, v: [np.transpose(v[0], node.attrs.get("perm"))],
    "Add": lambda node, v: [v[0] + v[1]],
    "Sub": lambda node, v: [v[0] - v[1]],
    "Mul": lambda node, v: [v[0] * v[1]],
    "Div": _div,
    "Neg": lambda node, v: [-v[0]],
    "Floor": lambda node, v: [np.floor(v[0])],
    "Ceil": lambda node, v: [np.ceil(v[0])],
    "Sqrt": lambda node, v: [np.sqrt(v[0])],
    "Min": lambda node, v: [np.minimum.reduce(v)],
    "Max": lambda node, v: [np.maximum.reduce(v)],
    "Equal": lambda node, v: [np.equal(v[0], v[1])],
    "Where": lambda node, v: [np.where(v[0], v[1], v[2])],
    "Range": lambda node, v: [np.arange(*_bounded_range(v[0].item(), v[1].item(), v[2].item()))],
    "Expand": lambda node, v: [v[0] * np.ones(_bounded_shape(v[1]), dtype=v[0].dtype)],
    "ConstantOfShape": _constant_of_shape,
    "Size": lambda node, v: [np.array(v[0].size, dtype=np.int64)],
}


# ---- the spec document and its YAML text ------------------------------------------------------------------------


def _ymap(items: dict, loc: Loc) -> YMap:
    m = YMap()
    m.loc, m.key_locs, m.value_locs = loc, {}, {}
    for k, v in items.items():
        if isinstance(v, (list, tuple)):
            lst = YList(v)
            lst.loc, lst.item_locs = loc, [loc] * len(v)
            v = lst
        m[k] = v
        m.key_locs[k] = m.value_locs[k] = loc
    return m


def _doc_args(op: str, args: dict) -> dict:
    """An op's arguments as a spec writes them: pairs as one number when square, defaults left out."""
    definition = OPS[op]
    out = {}
    for key, value in args.items():
        default = definition.args[key].default if key in definition.args else None
        if key == "stride" and op in ("maxpool", "avgpool"):
            default = args["k"]
        if value == default or (key == "pad" and value == (0, 0)):
            continue
        if isinstance(value, tuple) and len(value) == 2:
            value = value[0] if value[0] == value[1] else list(value)
        out[key] = value
    return out


def _node_name(name: str) -> str:
    """A spec name for an ONNX node. torch's scope names repeat each module's prefix
    (`/features/features.2/branch1/branch1.0/Conv`): the repeats are dropped (`features_2_branch1_0_Conv`)."""
    parts = [p for p in name.split("/") if p]
    path: list = []
    for part in parts[:-1]:
        comps = part.split(".")
        overlap = max((k for k in range(min(len(comps), len(path)) + 1) if path[len(path) - k:] == comps[:k]), default=0)
        path.extend(comps[overlap:])
    return _name("_".join(path + parts[-1:]))


def _name(text: str) -> str:
    name = re.sub(r"[^A-Za-z0-9_\-]+", "_", text).strip("_") or "node"
    if not re.match(r"[A-Za-z_]", name):
        name = "n" + name
    return name + "_" if name.lower() in YAML_WORDS else name


def _note(node) -> str:
    if node is None:
        return ""
    return f"{node.name} ({node.op})" if node.name else node.op


def _fmt(shape) -> str:
    return " x ".join(str(d) for d in shape) if len(shape) else "a scalar"


def _scalar(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_scalar(v) for v in value) + "]"
    if isinstance(value, float):
        return repr(value)
    return str(value)


class _NotedList(YList):
    """The imported layer list, with the ONNX node each layer came from (for the comments of `write_yaml`)."""

    __slots__ = ("notes",)


def write_yaml(doc: YMap) -> str:
    """The document as YAML text, one flow mapping per layer, with the ONNX node each layer came from."""
    lines = [
        f"# Imported by costcalc from {doc['source']}.",
        "# Layers are named after the ONNX nodes (the comment names each node and its op type); repeated",
        "# structures are written out flat. Counts are those of the ONNX file.",
        f"name: {_scalar(doc['name'])}",
        f"source: {json.dumps(doc['source'])}",
        f"input: {_scalar(doc['input'])}",
        "layers:",
    ]
    for entry, note in zip(doc["layers"], doc["layers"].notes):
        body = ", ".join(f"{k}: {_scalar(v)}" for k, v in entry.items())
        note = " ".join(note.split())
        lines.append(f"  - {{{body}}}" + (f"   # {note}" if note else ""))
    return "\n".join(lines) + "\n"
