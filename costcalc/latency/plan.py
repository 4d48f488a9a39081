"""The kernels onnxruntime launches for a graph: `plan` (costcalc.latency.model costs them).

Op classes: profile.CLASS_DOCS (each conv kind in the blocked layout and again `_plain`). A conv's class, the FLOPs
it computes in the blocked layout and its rows (the input values an NCHWc kernel loads; a plain k x k conv's
im2col elements) are costcalc.latency.convs'.

Attention and the generic tensor layer: each op takes the class of the kernel onnxruntime runs for costcalc's
export of it, as its profiler shows (`costcalc measure`, scripts/ort_kernels.py lists them per spec; none is
assumed):
    fc on a vector     Gemm of one row: class fc (memory-bound: the weights read once; any fc's weights are
                       read from memory once the network evicts them: Kernel.weight_bytes)
    fc on tokens       (any input of more than one axis, N x d) a GEMM of N rows, class gemm: compute-bound. With
                       a bias, onnxruntime's MatMulAddFusion runs it as Reshape, Gemm, Reshape: two more launches
                       of class view (one when the input is already a Reshape's output: the two Reshapes merge);
                       without, one MatMul
    matmul, einsum     a product of two activations (q k^T, attn v): a batched MatMul, class matmul. A scale by a
                       constant number (mul, div by a value, scale) whose only reader is the product or that alone
                       reads it, and a permute of the last two axes (k^T) whose only reader is the product, run
                       inside it (onnxruntime's MatMulScaleFusion and MatmulTransposeFusion: one FusedMatMul) -
                       except a permute reading a split of another permute's output (heads first, then q, k, v
                       split): the transpose optimizer moves the first permute past the split and merges the two,
                       so a Transpose still runs (fusion rule matmul+scale)
    softmax            onnxruntime's Softmax, class softmax
    layernorm (axis)   one LayerNormalization on tokens, class normalization (over channels of a map: Transpose,
                       LayerNormalization, Transpose, below)
    permute (a copy)   a Transpose: class transpose when the innermost axis (of more than one element) stays
                       innermost (blocks copied whole: heads first, the merge after attn v), transpose_inner when it
                       moves (k^T not fused, tokens from a C x H x W map); which blocks or elements it takes one at
                       a time (Kernel.rows) is costcalc.latency.rows's, as are the rows of a layernorm, softmax,
                       groupnorm, broadcasting element-wise op and pad
    a view             a reshape, a permute that keeps the elements in place: no data moved, but
                       onnxruntime still launches its Reshape: class view, 0 bytes, 1 launch; a view of a view's
                       output merges into its Reshape (no launch). A slice that keeps a block is a view in
                       costcalc's counts, but onnxruntime's Slice copies it: data movement of its output, in the
                       plain layout (a blocked input reordered first: GhostNet's out[:, :oup] after its concat)
    bn (not folded)    plain layout: BatchNormalization, class batchnorm (rows and launches: rows.bn_kernel);
                       blocked: a per-channel conv, element-wise (below, bn+activation)
    a reduction        that onnxruntime runs in its generic loop (rows.reduce_rows: over the leading axes, or an
                       L1, L2, product, ...): class reduce, its input and output elements its rows; else element-wise
    the rest           element-wise ops of any rank, `where` and the reductions are element-wise (with an
                       exponential: exp, log, erf, sin, softplus, elu, pow, log-sum-exp); copies (a strided slice,
                       expand, tile, gather, depth_to_space, space_to_depth, cast) are data movement
onnxruntime's Attention and LayerNormalization fusions do not fire on these exports: costcalc writes
LayerNormalization itself, and the profiles of every hybrid of the zoo show MatMul, FusedMatMul, Softmax and
Transpose kernels, no Attention kernel; its swish on tokens runs as one QuickGelu kernel (class elementwise_exp),
its GELU as one Gelu (class gelu).

Fusion, as onnxruntime's CPU provider does it (each rule can be switched off in the profile's `fusion:` list); a
layer is absorbed only when it alone reads the kernel's output:
    conv+bn          a batchnorm after a conv is folded into its weights (so is a layer_scale or a constant scale:
                     a per-channel or scalar Mul)
    conv+activation  relu, relu6, hardtanh, sigmoid, tanh, leaky_relu, hardsigmoid after a conv (and its bn) run
                     inside it; so does a hardswish after a conv in the blocked layout, which still costs one more
                     pass over the conv's output (its padded channels read and written: B_k), no launch
    conv+add         in the blocked layout, a residual add of a conv's output and another blocked tensor runs
                     inside the conv (an activation after it too); so does one of a lone batchnorm's output, even
                     of a tensor computed after it (MobileOne's identity branch: its profile shows no Add)
    bn+activation    in the blocked layout, a batchnorm on its own is a per-channel conv, with its activation
Layout (`layout_block` b > 0: onnxruntime's NCHWc, channels padded to a multiple of b; 8 with AVX2, 16 with AVX-512,
measured by `calibrate`): a conv runs blocked when groups = 1 and its input channels are a multiple of 4 (or fewer
than b: the first conv reads the image as it is), a depthwise conv when its channels are a multiple of 4, a grouped
conv when its input and output channels per group are multiples of b; pooling runs blocked when its input is, or
when its channels are a multiple of b; batchnorm and element-wise activations keep their input's layout; add and mul
of equal shapes, and concat of channels that are multiples of b, stay blocked when all inputs are; a resize by
integer scales, nearest or bilinear, of a blocked input runs blocked (onnxruntime's NCHWc Upsample, on the padded
channels: in LR-ASPP's profile its resize by 8 of a 21-channel map blocked after its conv ran as Upsample, its
resize from 33 x 33 to 65 x 65 as Resize; the calibration's resizes of a plain 21-channel map took 2.2 to 2.7 times
what one class fitted over all resizes said). Everything else
(split, shuffle, select, fc, flatten, global mean, a broadcasting mul or one with a constant or learned operand,
layernorm, groupnorm, adaptive pooling, pad, conv_transpose, the generic tensor layer's ops, and any op on a
tensor that is not C x H x W: 1-D and 3-D convs and pools, tokens) reads the plain layout. A tensor crossing between
layouts is reordered once (a data-movement kernel moving it twice: read and write), charged to the layer that needs
it; so is the network's output if it ends blocked.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import prod

from costcalc.latency.convs import (IM2COL, REORDER_ALIGN, conv_blocked, conv_class, conv_kernel,  # noqa: F401
                                    filter_blocks, padded)
from costcalc.latency.profile import DeviceProfile
from costcalc.latency.rows import (bn_kernel, broadcast_rows, norm_rows, pad_rows, reduce_rows,  # noqa: F401
                                   softmax_rows, transpose_class, transpose_kernel)
from costcalc.latency.threads import work_units
from costcalc.ops.conv import conv_input
from costcalc.ops.core import per_axis

ACTIVATIONS = frozenset({"relu", "relu6", "sigmoid", "tanh", "leaky_relu", "hardsigmoid", "hardtanh"})  # fused
BLOCKED_ACTIVATIONS = frozenset({"hardswish"})  # fused into a conv in the blocked layout only
# class elementwise_exp: a transcendental function per element
EXPONENTIAL = frozenset({"sigmoid", "tanh", "swish", "softmax", "hardswish", "exp", "log", "erf", "sin", "softplus",
                         "elu", "pow", "reduce_log_sum_exp"})
OWN_CLASS = {"gelu": "gelu", "mish": "mish", "layernorm": "normalization", "groupnorm": "normalization", "lstm": "gemm",
             "gru": "gemm", "rnn": "gemm"}  # a recurrent layer: its gate products as one GEMM (not calibrated)
POOLING = frozenset({"maxpool", "avgpool", "gap", "mean", "adaptive_avgpool", "adaptive_maxpool"})
# a copy of elements without arithmetic (a permute or slice that moves no data is a view: free)
DATA_MOVEMENT = frozenset({"concat", "split", "shuffle", "select", "flatten", "pad", "resize", "permute", "slice",
                           "expand", "tile", "gather", "depth_to_space", "space_to_depth", "cast"})
PRODUCTS = frozenset({"matmul", "einsum"})  # products of two activations: a batched GEMM, class matmul
SCALES = frozenset({"mul", "div"})  # by a constant number: folded into a product beside it (FusedMatMul)
VIEW_OPS_COPIED = frozenset({"slice"})  # a view in costcalc's counts that onnxruntime's kernel copies
FREE = frozenset({"dropout", "identity", "constant"})  # removed by the runtime (a constant: folded once)
FOLDED = frozenset({"bn", "layer_scale", "scale"})  # a per-channel affine after a conv: folded into its weights
# kernels launched per layer, when not 1, and the tensor passes they add (each a read and a write of the layer's
# input) to its memory access: the ONNX form costcalc exports and onnxruntime runs
KERNELS = {"shuffle": 3, "layernorm": 3, "groupnorm": 3, "mish": 3}
EXTRA_PASSES = {"layernorm": 2, "groupnorm": 2, "mish": 2}  # two Transposes; Mul and Add; Tanh and Mul
PLAIN_ONLY = frozenset({"split", "shuffle", "select", "fc", "flatten", "mean", "layernorm", "groupnorm",
                        "adaptive_avgpool", "adaptive_maxpool", "pad", "resize", "conv_transpose", *PRODUCTS,
                        *DATA_MOVEMENT - {"concat"}, "sub", "div", "pow", "maximum", "minimum", "compare", "where",
                        "exp", "log", "sqrt", "reciprocal", "abs", "neg", "erf", "round", "sin", "softplus", "elu",
                        "reduce_sum", "reduce_mean", "reduce_max", "reduce_min", "reduce_prod", "reduce_l1",
                        "reduce_l2", "reduce_sum_square", "reduce_log_sum_exp", "reduce_log_sum", "reduce_argmax",
                        "reduce_argmin"})
REORDER = "reorder"


@dataclass(frozen=True)
class Kernel:
    """One kernel the runtime launches: a layer, several layers fused, or a layout reorder of a tensor."""

    op_class: str
    flops: int
    bytes: int
    launches: int
    layer: str  # the layer it is charged to
    members: tuple = ()  # names of the layers it runs (empty for a reorder)
    rows: int = 0  # rows it takes one at a time, each costing its class's row_s (costcalc.latency.rows)
    weight_bytes: int = 0  # of `bytes`, the weights of an fc, on a vector or tokens (from memory when evicted: model)
    units: int = 1  # work units it deals out to threads (costcalc.latency.threads; 1: it runs on one thread)


def plan(graph, profile: DeviceProfile) -> list:
    """The kernels the runtime launches for `graph`, in order, with their class, FLOPs, bytes and launches.
    Uses only the profile's structure (fusion rules, layout block, bytes per element), never its timings."""
    return _Planner(graph, profile).run()


class _Planner:
    def __init__(self, graph, profile: DeviceProfile):
        self.graph = graph
        self.profile = profile
        self.block = profile.layout_block
        self.bpe = profile.bytes_per_element
        self.consumers: dict = {}
        for i, node in enumerate(graph.nodes):
            for t in dict.fromkeys(node.inputs):
                self.consumers.setdefault(t, []).append(i)
        self.producer = {t: node for node in graph.nodes for t in node.outputs}
        self.layout: dict = {0: False}  # tensor -> blocked?
        self.reordered: set = set()  # tensors already reordered to the other layout
        self.kernels: list = []
        self.viewed: set = set()  # tensors a Reshape kernel wrote: a view of them merges into that Reshape
        # a scale by a constant, or a swap of the last two axes, whose only reader is a product (q * d^-0.5 and
        # k^T before q k^T): inside its FusedMatMul
        self.before_product: dict = {}
        for i, node in enumerate(graph.nodes):
            j = self.only_reader(node.outputs[0]) if node.outputs else None
            if j is not None and graph.nodes[j].op in PRODUCTS and profile.fuses("matmul+scale") and (
                    _scale(node) or self.last_swap(node)):
                self.before_product[i] = j

    def later_blocked(self, tensor: int) -> bool:
        """Whether `tensor`, not planned yet, comes from a conv or an add (blocked in a blocked network)."""
        return self.producer.get(tensor) is not None and self.producer[tensor].op in ("conv", "add")

    def only_reader(self, tensor: int):
        """The node that alone reads `tensor` (and the tensor is not the network's output), or None."""
        readers = self.consumers.get(tensor, [])
        if len(readers) != 1 or tensor == self.graph.output:
            return None
        return readers[0]

    def run(self) -> list:
        nodes = self.graph.nodes
        absorbed: set = set()
        for i, node in enumerate(nodes):
            if i not in absorbed:
                self.step(i, node, absorbed)
        out = self.graph.output
        if self.layout.get(out) and nodes:
            self.kernels.append(self.reorder(out, nodes[-1].name))
        return self.kernels

    def step(self, i: int, node, absorbed: set) -> None:
        """Plan node i (not fused into an earlier kernel): its kernel, with the nodes fused after it."""
        if node.op in FREE or not node.result.moves_data and node.op != "flatten":
            copied = node.op in VIEW_OPS_COPIED  # onnxruntime's Slice: a copy in the plain layout
            if copied:
                self.reorder_inputs([i], False, node)
            for t in node.outputs:
                self.layout[t] = self.layout.get(node.inputs[0], False) if node.inputs and not copied else False
            if node.op not in FREE:  # onnxruntime still runs the exported node (Reshape, Slice, Transpose)
                self.kernels += self.view(node)
            return
        if i in self.before_product:
            return  # planned with the product it feeds
        blocked = self.blocked(node)
        group = [i] + self.fused_after(i, blocked)
        if node.op in PRODUCTS:
            group += [j for j, product in self.before_product.items() if product == i]
        absorbed.update(group[1:])
        self.reorder_inputs(group, blocked, node)
        for j in group:
            for t in self.graph.nodes[j].outputs:
                self.layout[t] = blocked
        self.kernels.append(self.kernel(group, blocked))
        self.kernels += self.token_reshapes(node)

    # ---- layout -----------------------------------------------------------------------------------------------

    def blocked(self, node) -> bool:
        if self.block <= 0:
            return False
        ins = [self.layout.get(t, False) for t in node.inputs]
        spatial_2d = len(self.graph.tensors[node.inputs[0]]) == 3 if node.inputs else False
        if node.op == "conv":  # NCHWc holds 2-D maps: a 1-D or 3-D conv runs in the plain layout
            c = self.graph.tensors[node.inputs[0]][0]
            return spatial_2d and conv_blocked(c, node.args["out"], node.args.get("groups", 1), self.block)
        if node.op == "resize":  # onnxruntime's NCHWc Upsample: a blocked input, integer scales, nearest or linear
            sizes = zip(self.graph.tensors[node.inputs[0]][1:], self.graph.tensors[node.outputs[0]][1:])
            return (spatial_2d and ins[0] and node.args.get("mode", "nearest") in ("nearest", "bilinear")
                    and all(o % i == 0 for i, o in sizes))
        if node.op in PLAIN_ONLY or not spatial_2d:
            return False
        if node.op == "concat":
            return all(ins) and all(self.graph.tensors[t][0] % self.block == 0 for t in node.inputs)
        if node.op in POOLING:  # reordered into the blocked layout when its channels are a multiple of b
            return ins[0] or self.graph.tensors[node.inputs[0]][0] % self.block == 0
        if node.op in ("add", "mul"):  # of tensors of one shape; a learned or constant operand reads plain
            shapes = {self.graph.tensors[t] for t in node.inputs}
            constant = any(node.args.get(key) is not None for key in ("param", "value", "const"))
            return all(ins) and len(shapes) == 1 and not constant
        return bool(ins) and ins[0]

    def reorder_inputs(self, group: list, blocked: bool, head) -> None:
        inside = {t for j in group for t in self.graph.nodes[j].outputs}
        for j in group:
            for t in dict.fromkeys(self.graph.nodes[j].inputs):
                if t in inside or self.layout.get(t, False) == blocked or t in self.reordered:
                    continue
                if blocked and head.op == "conv" and self.graph.tensors[t][0] < self.block:
                    continue  # the first conv reads a few-channel image in the plain layout directly
                if blocked and t not in self.layout and self.later_blocked(t):
                    continue  # an add's operand computed later, blocked (fused_after)
                self.reordered.add(t)
                self.kernels.append(self.reorder(t, head.name))

    def reorder(self, tensor: int, layer: str) -> Kernel:
        shape = (self.graph.batch, *self.graph.tensors[tensor])
        return Kernel("data_movement", 0, 2 * prod(shape) * self.bpe, 1, layer,
                      units=work_units("data_movement", shape, reorder=True))

    # ---- fusion -----------------------------------------------------------------------------------------------

    def fused_after(self, i: int, blocked: bool) -> list:
        """The nodes after node i that the runtime runs inside its kernel."""
        nodes, fuses = self.graph.nodes, self.profile.fuses
        head = nodes[i]
        if head.op in PRODUCTS:  # a scale of its output by a constant: inside its FusedMatMul
            j = self.only_reader(head.outputs[0])
            return [j] if j is not None and _scale(nodes[j]) and fuses("matmul+scale") else []
        if head.op == "bn" and not (blocked and fuses("bn+activation")):
            return []
        if head.op not in ("conv", "bn"):
            return []
        group, stage = [], 0  # stages: 0 bn may follow, 1 add may follow, 2 activation may follow, 3 done
        current = head.outputs[0]
        while stage < 3:
            j = self.only_reader(current)
            if j is None:
                break
            nxt = nodes[j]
            if head.op == "conv" and stage == 0 and nxt.op in FOLDED and fuses("conv+bn"):
                stage = 1
            elif (head.op in ("conv", "bn") and stage <= 1 and nxt.op == "add" and len(nxt.inputs) == 2 and blocked
                  and fuses("conv+add") and all(self.layout.get(t, head.op == "bn" and self.later_blocked(t))
                                                for t in nxt.inputs if t != current)
                  and len({self.graph.tensors[t] for t in nxt.inputs}) == 1 and current in nxt.inputs
                  and len(set(nxt.inputs)) == 2):
                stage = 2
            elif ((nxt.op in ACTIVATIONS or nxt.op in BLOCKED_ACTIVATIONS and blocked)
                  and (fuses("conv+activation") if head.op == "conv" else True)):
                stage = 3
            else:
                break
            group.append(j)
            current = nxt.outputs[0]
        return group

    # ---- one kernel ---------------------------------------------------------------------------------------------

    def kernel(self, group: list, blocked: bool) -> Kernel:
        nodes, tensors, batch = self.graph.nodes, self.graph.tensors, self.graph.batch
        head = nodes[group[0]]
        read = {t for j in group for t in nodes[j].inputs}
        inside = {t for j in group for t in nodes[j].outputs if t in read}
        elements = sum(nodes[j].counts.memory_access for j in group)
        elements -= 2 * sum(prod(tensors[t]) * batch for t in inside)
        if head.op == "conv":  # a hardswish inside a blocked conv: one more pass over its padded output
            elements += sum(2 * prod(tensors[nodes[j].outputs[0]][1:]) * padded(head.args["out"], self.block)
                            * batch for j in group[1:] if nodes[j].op in BLOCKED_ACTIVATIONS)
        flops = head.counts.flops + head.counts.elementwise_flops
        rows = weights = 0
        if head.op == "conv":  # class, FLOPs as computed, im2col and rows: costcalc.latency.convs
            _, c_in, sizes = conv_input(tensors[head.inputs[0]], head.args["k"])  # after any leading windows
            op_class, flops, extra, rows = conv_kernel(
                c_in, head.args["out"], per_axis(head.args["k"], len(sizes), "k"), head.args.get("groups", 1),
                tensors[head.outputs[0]], head.counts.flops, batch, blocked, self.block)
            elements += extra
        elif head.op == "fc":  # on a vector: Gemm, one row; on tokens (N x d): a GEMM of N rows
            op_class, flops = ("fc" if len(tensors[head.inputs[0]]) == 1 else "gemm"), head.counts.flops
            weights = head.counts.params * self.bpe  # streamed once a run: from memory when evicted
        elif head.op in PRODUCTS and head.counts.flops:
            op_class, flops = "matmul", head.counts.flops
        elif head.op == "softmax":
            op_class, rows = "softmax", softmax_rows(tensors[head.inputs[0]], head.args.get("axis", 1), batch)
        elif head.op == "permute":
            op_class, rows = transpose_kernel(tensors[head.inputs[0]], head.args["perm"], batch, self.bpe)
            flops = 0
        elif head.op == "conv_transpose":  # onnxruntime's ConvTranspose: a GEMM and col2im, plain layout
            op_class, flops = "dense_conv_plain", head.counts.flops
        elif head.op in POOLING:
            op_class = "pooling" if blocked else "pooling_plain"
        elif head.op == "shuffle":
            op_class, flops = "shuffle", 0
        elif head.op == "resize":  # its interpolation's FLOPs (0 for nearest); blocked: on the padded channels
            op_class = "resize" if blocked else "resize_plain"
            if blocked:
                c = tensors[head.inputs[0]][0]
                flops, elements = (v * padded(c, self.block) // c for v in (flops, elements))
        elif head.op in DATA_MOVEMENT:
            op_class, flops = "data_movement", 0
            if head.op == "pad":
                rows = pad_rows((batch, *tensors[head.outputs[0]]), head.args)
        elif head.op == "bn" and not blocked:  # onnxruntime's BatchNormalization (on tokens: between Reshapes)
            op_class = "batchnorm"
            rows, launches, passes = bn_kernel(tensors[head.inputs[0]], head.args.get("axis"), batch)
            elements += passes * 2 * prod(tensors[head.inputs[0]]) * batch
        elif reduced := reduce_rows(head.op, tensors[head.inputs[0]], head.args.get("axes"), batch):  # generic loop
            op_class, rows = "reduce", reduced
        else:
            op_class = OWN_CLASS.get(head.op) or ("elementwise_exp" if head.op in EXPONENTIAL else "elementwise")
            if head.op == "layernorm":
                rows = norm_rows(tensors[head.inputs[0]], head.args.get("axis"), batch)
            elif head.op == "groupnorm":
                rows = head.args["groups"] * batch
            else:
                operands = [(batch, *tensors[t]) for t in head.inputs] + [
                    tuple(head.args[key]) for key in ("param", "const") if head.args.get(key) is not None] + [
                    (1,) for key in ("value", "factor") if head.args.get(key) is not None]
                rows = broadcast_rows((batch, *tensors[head.outputs[0]]), operands) if len(operands) > 1 else 0
        if head.op != "bn" or blocked:
            launches = KERNELS.get(head.op, 1)
        if head.op == "conv" and 1 < head.args.get("groups", 1) < conv_input(tensors[head.inputs[0]],
                                                                               head.args["k"])[1]:
            launches = head.args["groups"]  # a grouped conv runs one GEMM per group
        if head.op == "layernorm" and (len(tensors[head.inputs[0]]) != 3 or head.args.get("axis") is not None):
            launches = 1  # over a flat input, or on an axis (tokens): one LayerNormalization, no Transposes
        elif head.op in EXTRA_PASSES:
            elements += EXTRA_PASSES[head.op] * 2 * prod(tensors[head.inputs[0]]) * batch
        units = work_units(op_class, (batch, *tensors[head.outputs[0]]), self.block, rows)
        return Kernel(op_class, flops, max(elements, 0) * self.bpe, launches, head.name,
                      tuple(nodes[j].name for j in group), rows, weights, units)

    def view(self, node) -> list:
        """The kernel onnxruntime runs for a layer that only relabels memory: a Reshape (or a Transpose it turns
        into one) moves nothing but is launched, once for a chain of them (a view of a Reshape's output merges
        into it); a Slice copies its output."""
        if node.op in VIEW_OPS_COPIED:
            elements = prod(self.graph.tensors[node.outputs[0]]) * self.graph.batch
            return [Kernel("data_movement", 0, 2 * elements * self.bpe, 1, node.name, (node.name,))]
        merged = node.inputs[0] in self.viewed
        self.viewed.update(node.outputs)
        return [] if merged else [Kernel("view", 0, 0, 1, node.name, (node.name,))]

    def token_reshapes(self, node) -> list:
        """An fc with bias on tokens runs as onnxruntime's MatMulAddFusion: a Gemm between two Reshapes (to
        rows x features, merged into a Reshape before it, and back)."""
        if node.op == "fc" and len(self.graph.tensors[node.inputs[0]]) > 1 and node.args.get("bias", True):
            self.viewed.update(node.outputs)
            return [Kernel("view", 0, 0, 1 + (node.inputs[0] not in self.viewed), node.name)]
        return []

    def last_swap(self, node) -> bool:
        """A permute of the last two axes only, which onnxruntime folds into the product reading it
        (MatmulTransposeFusion), unless it reads a split of another permute's output: its transpose optimizer
        then moves that permute past the split and merges the two, no longer a swap of the last two axes."""
        if node.op != "permute":
            return False
        perm = list(node.args["perm"])
        if perm != [*range(len(perm) - 2), len(perm) - 1, len(perm) - 2]:
            return False
        source = self.producer.get(node.inputs[0])
        return not (source is not None and source.op == "split" and self.producer.get(source.inputs[0]) is not None
                    and self.producer[source.inputs[0]].op == "permute")


def _scale(node) -> bool:
    """A multiplication or division by a constant number (a scalar operand, no tensor)."""
    return node.op == "scale" or node.op in SCALES and node.args.get("value") is not None and len(node.inputs) == 1
