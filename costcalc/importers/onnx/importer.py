"""The import walk: the ONNX graph's nodes in order, each either folded (all inputs constant: `constants`) or mapped
to costcalc layers (`mapping.DATA_OPS`: one-to-one in `layers`, multi-node patterns in `patterns`).

Every tensor of the graph is either *data* (computed from the network's input: it becomes a layer of the spec) or
a *constant* (initializers, Constant nodes, and the Shape/Gather/Concat/... arithmetic torch's exporter emits to
compute reshape targets; these are folded here and produce no layer). Errors are located at `model.onnx:N:1`, N the
1-based index of the node in the graph's node list.
"""

from __future__ import annotations

from math import prod

from costcalc.errors import Loc, SpecError, shown
from costcalc.graph import MAX_DIM, MAX_NODES
from costcalc.importers.onnx.folding import MAX_CONST_ELEMENTS
from costcalc.importers.onnx.mapping import ANY_INPUT_OPS, CHANNELS_LAST_OPS, DATA_OPS, SEQUENCE_OPS
from costcalc.importers.onnx.naming import module_path, node_name, note_of
from costcalc.importers.onnx import batch, constants, generic, inputs, refused, rewrite, shared
from costcalc.importers.onnx.arguments import typed_args
from costcalc.importers.onnx.reading import (Const, Data, Layer, MalformedAttribute, OnnxNode, Refused, Sequence, Taken,
                                             fmt)
from costcalc.importers.onnx.repeats import unique
from costcalc.importers.onnx.wire import tensor_bytes
from costcalc.importers.onnx.writing import document
from costcalc.ops import OPS, OpError
from costcalc.spec.loader import YMap

INTEGER_TYPES = (2, 3, 4, 5, 6, 7, 12, 13)  # onnx.TensorProto's (u)int8 to (u)int64
NEWEST_OPSET = 28  # the newest opset of the ONNX domain when this was written (onnx 1.23); onnx's own, if newer


class Importer:
    def __init__(self, path: str, model, input_shape, omitted=None):
        self.path = path
        self.omitted = omitted or {}  # initializer name -> its span in the file (data not read)
        self.model = model
        self.graph = model.graph
        self.input_shape = tuple(input_shape) if input_shape else None
        self.tensors: dict = {}
        self.layers: list = []
        self.names: set = set()
        self.suffixes: dict = {}  # base name -> the next suffix `unique` tries
        self.producer_layer: dict = {}  # ref -> Layer
        self.ref_shapes: dict = {}  # ref -> its shape (with the batch)
        self.consumers: dict = {}  # tensor name -> [node index]
        self.done = Taken()  # node indices handled as part of a pattern (or folded on demand), in order
        self.node_layer: dict = {}  # ONNX node index -> index in `layers` of the first layer doing its work
        self.folded_batchnorms = 0  # convs the exporter folded a batchnorm into
        self.folded_params = 0  # the parameters that folding removed (a bias-free conv before each batchnorm)
        self.restored_biases = 0  # folded convs' zero biases an optimiser dropped, counted back
        self.counted: set = set()  # the sources of computed constants a learned operand has counted: `generic.binary`
        self.opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), None)
        self.parameters = batch.parameters(model.graph)  # the module's parameters, where the file lists them

    # ---- top level --------------------------------------------------------------------------------------------

    def run(self) -> YMap:
        self.check_opset()
        if len(self.graph.node) > MAX_NODES:
            raise SpecError(f"the graph has {len(self.graph.node):,} nodes, more than the limit of {MAX_NODES:,}",
                            Loc(self.path))
        rewrite.fuse_layernorm(self.graph)
        rewrite.drop_noops(self.graph)
        rewrite.merge_duplicates(self.graph)
        nodes = []
        for i, proto in enumerate(self.graph.node):
            nodes.append(OnnxNode(i, proto, proto.op_type, proto.name or f"{proto.op_type}_{i}"))
        self.nodes = nodes
        for node in nodes:
            for t in node.proto.input:
                if t:
                    self.consumers.setdefault(t, []).append(node.index)
        self.initializers = {init.name: init for init in self.graph.initializer}
        # a file that lists the module's parameters and stores every one under its own name: nothing learned was
        # folded into a new tensor or merged with an equal one (`shared._unstored` asks the same of one module)
        self.complete = bool(self.parameters) and self.parameters <= self.initializers.keys()
        # there an initializer the list does not name is a buffer or a constant the exporter computed (the
        # unoptimised dynamo exporter stores adaptive pooling's bin sizes as `convert_element_type_default`)
        constant = set(self.initializers) - self.parameters if self.complete else ()
        for init in self.graph.initializer:  # an integer initializer is an index buffer, no parameter
            self.tensors[init.name] = Const(self.dims(init.dims, f"initializer '{init.name}'"), None, init.name,
                                            param=init.data_type not in INTEGER_TYPES, stored=True,
                                            learned=0 if init.name in constant else None)
        for init in self.graph.sparse_initializer:
            self.tensors[init.values.name] = Const(self.dims(init.dims, f"initializer '{init.values.name}'"), None,
                                                   init.values.name, param=True, stored=True)
        self.producer_index = {t: n.index for n in nodes for t in n.proto.output if t}
        shape = inputs.network_input(self)
        self.needed_nodes = needed = self.needed(nodes)
        for node in nodes:
            if node.index in self.done or node.index not in needed:
                continue
            made, taken = len(self.layers), len(self.done.order)
            try:
                node.attrs  # noqa: B018 - read here, so that a malformed attribute is this node's located error
                self.node(node)
            except MalformedAttribute as e:
                self.fail(node, f"malformed {node.op} node: {e}")
            except (ArithmeticError, AttributeError, IndexError, KeyError, StopIteration, TypeError, ValueError) as e:
                # a malformed node (a missing attribute or input, a constant of the wrong shape, a zero divisor):
                # one located line naming it, never a traceback
                self.fail(node, f"malformed {node.op} node: {type(e).__name__}: {e}")
            if len(self.layers) > made:  # the node, and the pattern's other nodes it took, are the first new layer's
                for i in (node.index, *self.done.order[taken:]):
                    self.node_layer.setdefault(i, made)
        self.finish()
        shared.mark(self.layers)
        return document(self, shape)

    def check_opset(self) -> None:
        """The model's opset of the ONNX domain: one ONNX defines (ops change meaning from opset to opset)."""
        from onnx.defs import onnx_opset_version

        newest = max(onnx_opset_version(), NEWEST_OPSET)
        if self.opset is None:
            raise SpecError("the model imports no opset of the ONNX domain (opset_import), so its ops have no "
                            "meaning", Loc(self.path))
        if not 1 <= self.opset <= newest:
            raise SpecError(f"opset {self.opset} of the ONNX domain does not exist: ONNX defines opsets 1 to "
                            f"{newest}", Loc(self.path))

    def flag(self, node, name: str, default: int) -> bool:
        """A 0/1 attribute (transB, ceil_mode, keepdims): any other value is an error, not read as true."""
        value = node.attrs.get(name, default)
        if value not in (0, 1) or isinstance(value, float):
            self.fail(node, f"{name}={shown(value)}: ONNX's {name} is 0 or 1")
        return bool(value)

    def dims(self, dims, what: str) -> tuple:
        """A tensor's dims from the file, each within 0 .. MAX_DIM."""
        dims = tuple(int(d) for d in dims)
        if len(dims) > 8 or any(d < 0 or d > MAX_DIM for d in dims):
            raise SpecError(f"{what} has dims {list(dims)[:9]}: costcalc reads up to 8 dims of 0 to {MAX_DIM:,}",
                            Loc(self.path))
        return dims

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
                    raise SpecError(f"{nodes[i].where}: control flow (subgraphs) is not supported: "
                                    f"{refused.REFUSED['If']}", self.loc(nodes[i]))
        return seen

    def finish(self) -> None:
        """Check the graph's outputs and end the layers with the first: the network's output (torch's first return
        value; FCN's `out` before its `aux`). The others are layers no layer reads, costed like every other."""
        outputs = [o.name for o in self.graph.output]
        if len(outputs) > 1:  # an extra output that is a constant or an empty Optional (scripted models) is no output
            outputs = [o for o in outputs if not isinstance(self.tensors.get(o), Const)]
        if not outputs:
            raise SpecError("the graph has no output computed from its input", Loc(self.path))
        for name in outputs:
            if not isinstance(self.tensors.get(name), Data) or self.tensors[name].pending:
                raise SpecError(f"the graph's output '{name}' is not computed from its input", Loc(self.path))
        for name in outputs[1:]:
            extra = self.tensors[name]
            if extra.last or extra.padded:  # a view the recognizers kept open: the layers it stands for
                batch.plain(self, None, extra)
        out = self.tensors.get(outputs[0])
        if out.last or out.pending or out.padded:  # a view the recognizers kept open: its real shape
            out = batch.plain(self, None, out)
        declared = next(o for o in self.graph.output if o.name == outputs[0]).type.tensor_type.shape.dim
        full = batch.onnx_shape(self, out)
        if self.input_shape is None and len(declared) == len(full):
            for k, (dim, got) in enumerate(zip(declared, full)):
                if k and dim.HasField("dim_value") and dim.dim_value != got:
                    raise SpecError(f"costcalc infers the output '{outputs[0]}' as {fmt(full)}, but the file "
                                    f"declares {fmt([d.dim_value or d.dim_param for d in declared])}", Loc(self.path))
        if not self.layers or out.ref != self.last_ref():
            out = self.emit(None, "output", "identity", {}, [out], note="the graph's output")[0]
        self.output_ref = out.ref

    def last_ref(self) -> str:
        last = self.layers[-1]
        return last.name if last.outputs == 1 else ""

    # ---- helpers ----------------------------------------------------------------------------------------------

    def loc(self, node) -> Loc:
        return Loc(self.path, node.index + 1, 1)

    def fail(self, node, message: str):
        """A recognizer's refusal: the generic rules may still cost the node."""
        raise Refused(f"{node.where}: {message}", self.loc(node))

    def invalid(self, node, message: str):
        """An invalid graph: refused, whatever rule reads the node."""
        raise SpecError(f"{node.where}: {message}", self.loc(node))

    def producer_shape(self, ref: str) -> tuple:
        return self.ref_shapes[ref]

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
        """The values of a constant, read from the file on demand (weights' values are never needed for a count;
        shape arithmetic, Clip bounds and scale factors need theirs)."""
        if t.value is None:
            init = self.initializers.get(t.name)
            if init is None:
                self.fail(node, f"the value of {what} '{t.name}' is not known (a weight costcalc reads only the "
                                "shape of)")
            if init.data_location == 1:  # EXTERNAL
                self.fail(node, f"{what} '{t.name}' is kept in external data, which costcalc does not read")
            from onnx import TensorProto, numpy_helper

            if t.name in self.omitted:
                if prod(t.shape) > MAX_CONST_ELEMENTS:
                    self.fail(node, f"{what} '{t.name}' of {prod(t.shape):,} values is beyond what shape arithmetic "
                                    "needs")
                init = TensorProto.FromString(tensor_bytes(self.path, self.omitted[t.name]))
            t.value = numpy_helper.to_array(init)
        return t.value

    def readable(self, t: Const) -> bool:
        """Whether the constant's values are at hand or kept inline in the file with the graph (no weight)."""
        init = self.initializers.get(t.name)
        return t.value is not None or (init is not None and init.data_location != 1 and t.name not in self.omitted)

    def integer(self, t: Const) -> bool:
        """Whether the constant is an initializer of integers (an index buffer, never a learned tensor)."""
        init = self.initializers.get(t.name)
        return init is not None and init.data_type in INTEGER_TYPES

    def set(self, node, k: int, tensor) -> None:
        outputs = node.proto.output
        if k < len(outputs) and outputs[k]:
            self.tensors[outputs[k]] = tensor

    def only_consumer(self, tensor_name: str):
        users = self.consumers.get(tensor_name, [])
        graph_out = any(o.name == tensor_name for o in self.graph.output)
        return self.nodes[users[0]] if len(users) == 1 and not graph_out else None

    def leaves_channels_last(self, tensor_name: str) -> bool:
        """Whether the channels-last order of a Transpose's output (0,2,3,1) is ever read in memory: some path
        from it through the ops that read the layout (CHANNELS_LAST_OPS) reaches an op that reads only the plain
        order (Swin's windows: Reshapes of N x H x W x C), or the graph's output, before a Transpose back. Dead
        nodes (an unfused layer norm's, left by rewrite.fuse_layernorm) read nothing."""
        outputs = {o.name for o in self.graph.output}
        seen, todo = set(), [tensor_name]
        while todo:
            name = todo.pop()
            if name in seen:
                continue
            seen.add(name)
            if name in outputs:
                return True
            for reader in (self.nodes[i] for i in self.consumers.get(name, []) if i in self.needed_nodes):
                if reader.op == "Transpose" and list(reader.attrs.get("perm", ())) == [0, 3, 1, 2]:
                    continue
                if reader.op not in CHANNELS_LAST_OPS or reader.op == "Transpose":
                    return True
                todo.extend(o for o in reader.proto.output if o)
        return False

    def layer_name(self, node) -> str:
        return self.unique(node_name(node.name) if node is not None else "output")

    def unique(self, base: str) -> str:
        return unique(base, self.names, self.suffixes)

    def emit(self, node, name, op, args, inputs, outputs=1, note=None) -> list:
        """Append a layer; check it with costcalc's own op function and return its outputs as Data."""
        name = name or self.layer_name(node)
        for x in inputs:
            if x.padded:
                self.fail(node, f"reads the output of Pad node '{x.padded[2].name}': costcalc costs a Pad as part of "
                                "the Conv or pooling that reads it")
            if x.pending:
                self.fail(node, f"reads the {len(x.shape)}-D tensor of a Reshape that is not a channel shuffle "
                                f"(Reshape to N x g x C/g x H x W, Transpose 0,2,1,3,4, Reshape back), a group "
                                "norm or a flattening Gather")
        last = {bool(x.last) for x in inputs}
        if len(last) > 1:
            self.fail(node, "combines a channels-last tensor (after Transpose 0,2,3,1) with a channels-first one")
        shapes = [x.shape[1:] for x in inputs]
        args = typed_args(self, node, op, args)
        try:
            result = OPS[op].fn(*shapes, **args)
        except OpError as e:
            where = node.where if node is not None else "the output"
            raise SpecError(f"{where}: {e}", self.loc(node) if node is not None else Loc(self.path)) from None
        loc = self.loc(node) if node is not None else Loc(self.path)
        module = module_path(node, self.tensors) if node is not None else ((), "output")
        layer = Layer(name, op, args, [x.ref for x in inputs], loc, note if note is not None else note_of(node),
                      len(result.outputs), module)
        shared.note_weights(self, node, layer, result.params)
        self.layers.append(layer)
        if len(result.outputs) == 1:
            refs = [name]
        else:
            refs = [f"{name}.{k}" for k in range(len(result.outputs))]
        out = [Data((self.batch, *s), r, last=bool(inputs) and bool(inputs[0].last)) for s, r in zip(result.outputs, refs)]
        for d in out:
            self.producer_layer[d.ref] = layer
            self.ref_shapes[d.ref] = d.shape
        return out

    def emit1(self, node, op, args, inputs, name=None, note=None) -> None:
        self.set(node, 0, self.emit(node, name, op, args, inputs, note=note)[0])


    def node(self, node) -> None:
        if node.proto.domain == "com.microsoft":
            self.fail(node, f"op type '{node.op}' of domain 'com.microsoft' is one of ONNX Runtime's fused ops, "
                            "which costcalc does not cost: give it the model as exported (before onnxruntime's "
                            "graph optimisations), e.g. torch.onnx.export's file")
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
        if node.op == "CastLike" and isinstance(inputs[0], Const):  # a constant given the type of a network tensor
            return handler(self, node)  # (dynamo's x.new_zeros: Swin's mask), whatever that tensor's layout
        if any(isinstance(x, Data) and x.batch_at != 0 for x in inputs):
            batch.settle(self, node)
            inputs = [self.tensors.get(t) if t else None for t in node.proto.input]
        moved = any(isinstance(x, Data) and x.batch_at != 0 for x in inputs)
        if (handler is None or moved) and node.op in generic.RULES:
            return generic.apply(self, node)
        if handler is None and node.op in refused.REFUSED:
            self.fail(node, refused.reason(node.op))
        if handler is None:
            self.fail(node, f"op type '{node.op}' is not one costcalc knows how to cost "
                            f"(it knows: {', '.join(sorted({*DATA_OPS, *generic.RULES}))})")
        mark = len(self.layers)
        try:
            self.recognize(node, handler, inputs)
        except Refused:
            if node.op not in generic.RULES or len(self.layers) != mark:
                raise
            generic.apply(self, node)

    def recognize(self, node, handler, inputs: list) -> None:
        """The recognizers' handler of the node: a structure costcalc names (or a Refused when it is not one)."""
        if node.op not in SEQUENCE_OPS and any(isinstance(x, Sequence) for x in inputs):
            self.fail(node, "reads a sequence of tensors: costcalc reads sequences only with SequenceAt and "
                            "ConcatFromSequence")
        if node.op not in CHANNELS_LAST_OPS and any(isinstance(x, Data) and x.last for x in inputs):
            self.fail(node, f"reads a channels-last tensor (N x H x W x C, after Transpose 0,2,3,1): costcalc costs "
                            f"on it only {', '.join(sorted(CHANNELS_LAST_OPS))}")
        if node.op not in ANY_INPUT_OPS and not isinstance(inputs[0], Data):
            self.fail(node, "its first input is a constant and a later one a tensor of the network: costcalc costs "
                            f"{node.op} on a network tensor")
        handler(self, node)

    def fold(self, node) -> None:
        """A node of constant inputs evaluated (`constants`)."""
        constants.fold(self, node)

    def demand(self, name: str, depth: int = 0):
        """The tensor `name`, its constant nodes folded now if they come later (`constants`)."""
        return constants.demand(self, name, depth)
