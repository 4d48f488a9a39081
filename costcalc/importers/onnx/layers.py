"""One ONNX node -> one costcalc layer: the handlers of the node types that map one to one (Conv is conv, Gemm
is fc, ...). Each reads its node's attributes and inputs through the importer `imp` and emits the layer with
`imp.emit1`, which checks it with costcalc's own op function."""

from __future__ import annotations

from math import prod

import numpy as np

from costcalc.importers.onnx.naming import folded_batchnorm, note_of
from costcalc.importers.onnx.reading import Const, Data, fmt
from costcalc.ops import OpError, window_out


def shape(imp, node) -> None:
    from costcalc.importers.onnx.batch import onnx_shape

    x = imp.get(node, 0)
    full = onnx_shape(imp, x) if isinstance(x, Data) and x.batch_at != 0 else x.shape
    start, end = node.attrs.get("start", 0), node.attrs.get("end", None)
    imp.set(node, 0, Const((len(full[start:end]),), np.array(full[start:end], dtype=np.int64)))


def conv_inputs(imp, node, what: str = "convolutions") -> tuple:
    """(input, weight, bias or None) of a Conv or ConvTranspose: constant 4-D weights on an N x C x H x W input."""
    x, w, b = imp.get(node, 0), imp.get(node, 1), imp.get(node, 2)
    if isinstance(w, Data) or isinstance(b, Data):
        imp.fail(node, "its weights are computed from the network's input: costcalc needs them constant")
    if len(x.shape) != 4 or len(w.shape) != 4:
        imp.fail(node, f"costcalc costs 2-D {what} (N x C x H x W input), not input {fmt(x.shape)} "
                        f"with weights {fmt(w.shape)}")
    check_weights(imp, node, w)
    return x, w, b


def check_weights(imp, node, w) -> None:
    """A window op's weights against its attributes: an invalid graph, refused whatever rule reads it."""
    if 0 in w.shape:
        imp.invalid(node, f"weights of shape {fmt(w.shape)} hold no values")
    declared = node.attrs.get("kernel_shape")
    if declared is not None and tuple(declared) != tuple(w.shape[2:]):
        imp.invalid(node, f"kernel_shape {list(declared)} contradicts its weights of shape {fmt(w.shape)} (kernel "
                          f"{fmt(w.shape[2:])})")


def conv(imp, node) -> None:
    x, w, b = conv_inputs(imp, node)
    groups = node.attrs.get("group", 1)
    if w.shape[1] * groups != x.shape[1]:
        imp.fail(node, f"weights {fmt(w.shape)} with group={groups} do not fit an input of {x.shape[1]} channels")
    k = tuple(w.shape[2:])
    stride = tuple(node.attrs.get("strides", (1, 1)))
    dilation = tuple(node.attrs.get("dilations", (1, 1)))
    x, extra, note = unpad(imp, node, x)
    pads = window_pads(imp, node, x.shape[2:], k, stride, dilation, False, extra)
    bias = learned(imp, b, node, w.shape[0])
    folded = folded_batchnorm(node)
    if folded and not bias:  # the folded batchnorm's shift is this conv's bias; an optimiser dropped it for being
        bias = True  # zero (untrained weights), but a zero bias is still a parameter
        imp.restored_biases += w.shape[0]
    args = {"out": w.shape[0], "k": k, "stride": stride, **pads, "dilation": dilation, "groups": groups,
            "bias": bias}
    imp.emit1(node, "conv", args, [x], note=note)
    if folded:  # its scale and shift became the weight's scale and this bias: C values fewer
        imp.folded_batchnorms += 1
        imp.folded_params += w.shape[0]


def unpad(imp, node, x) -> tuple:
    """(the tensor before an explicit Pad, the Pad's (top, left, bottom, right), the layer's note) for a window op
    that reads a Pad's output; (x, None, None) otherwise."""
    if not x.padded:
        return x, None, None
    source, pads, pad_node = x.padded
    return source, pads, f"{note_of(pad_node)} + {note_of(node)}"


def pad(imp, node) -> None:
    """An explicit Pad: free when it pads nothing; before a Conv or pooling (TorchScript at opset 9, timm's
    TF-style SAME padding) it is that window's own padding, uneven as it may be."""
    x = imp.get(node, 0)
    if len(node.proto.input) > 1 and node.proto.input[1]:
        amounts = [int(p) for p in imp.value(node, 1, "pads")]
    else:
        amounts = list(node.attrs.get("pads", node.attrs.get("paddings", [])))
    rank = len(x.shape)
    if len(node.proto.input) > 3 and node.proto.input[3]:  # opset 18: the axes the pads are for
        axes = [int(a) % rank for a in imp.value(node, 3, "axes")]
        full = [0] * (2 * rank)
        for i, a in enumerate(axes):
            full[a], full[a + rank] = amounts[i], amounts[i + len(axes)]
        amounts = full
    if len(amounts) != 2 * rank:
        imp.fail(node, f"{len(amounts)} pad amounts for a {rank}-D tensor")
    if not any(amounts):
        return imp.set(node, 0, x)
    if rank != 4 or any(amounts[:2]) or any(amounts[4:6]) or any(a < 0 for a in amounts):
        imp.fail(node, f"pads {amounts}: costcalc costs padding of H and W (not negative)")
    mode = node.attrs.get("mode", b"constant")
    if (mode.decode() if isinstance(mode, bytes) else mode) != "constant":
        imp.fail(node, f"mode '{mode.decode() if isinstance(mode, bytes) else mode}': costcalc costs constant padding")
    if len(node.proto.input) > 2 and node.proto.input[2]:
        value = float(np.asarray(imp.value(node, 2, "constant_value")).reshape(-1)[0])
    else:
        value = float(node.attrs.get("value", 0.0))
    readers = [imp.nodes[i] for i in imp.consumers.get(node.proto.output[0], [])]
    if value != 0 or not readers or any(r.op not in ("Conv", "AveragePool", "MaxPool") for r in readers):
        # not a window's own zero padding: a layer of its own, reading its input and writing the padded output
        args = {"pad": (amounts[2], amounts[3]), "pad_end": (amounts[6], amounts[7]), "value": value}
        return imp.emit1(node, "pad", args, [x])
    if x.padded:  # two Pads in a row add up
        x, before, _ = x.padded
        amounts = [a + b for a, b in zip(amounts, (0, 0, before[0], before[1], 0, 0, before[2], before[3]))]
    pads = (amounts[2], amounts[3], amounts[6], amounts[7])
    shape = (*x.shape[:2], x.shape[2] + pads[0] + pads[2], x.shape[3] + pads[1] + pads[3])
    imp.set(node, 0, Data(shape, x.ref, padded=(x, pads, node)))


def window_pads(imp, node, size, k, stride, dilation, ceil_mode, extra=None) -> dict:
    """The padding costcalc writes for ONNX pads / auto_pad, giving ONNX's output size: {"pad": (h, w)}, or
    {"pad": (top, left), "pad_end": (bottom, right)}. An uneven padding (SAME padding, stride 2) is written as
    whichever symmetric pad gives the same output size, where one does (the costs depend only on the input and
    output sizes); else as it is (pads [0, 0, 1, 1] at stride 1)."""
    auto = node.attrs.get("auto_pad", b"NOTSET")
    auto = auto.decode() if isinstance(auto, bytes) else auto
    pads = list(node.attrs.get("pads", (0, 0, 0, 0)))
    if len(pads) != 4 or len(k) != 2:
        imp.fail(node, f"costcalc costs 2-D windows, not kernel {list(k)} with pads {pads}")
    result, begins, ends = [], [], []
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
            if extra:  # an explicit Pad before it
                begin, end = begin + extra[axis], end + extra[axis + 2]
        else:
            imp.fail(node, f"auto_pad '{auto}' is not an ONNX padding mode")
        if extra and auto != "NOTSET":
            imp.fail(node, f"auto_pad {auto} after an explicit Pad is not costed")
        axis_name = ("height", "width")[axis]
        try:
            want = window_out(n, k[axis], s, begin, dilation[axis], ceil_mode, axis_name, pad_end=end)
        except OpError as e:
            imp.fail(node, str(e))
        begins.append(begin)
        ends.append(end)
        for p in sorted({(begin + end) // 2, (begin + end + 1) // 2}, key=lambda p: p != begin):
            try:
                got = window_out(n, k[axis], s, p, dilation[axis], ceil_mode, axis_name)
            except OpError:
                continue
            if got == want:
                result.append(p)
                break
    if len(result) == 2:
        return {"pad": tuple(result)}
    return {"pad": tuple(begins), "pad_end": tuple(ends)}


def gemm(imp, node) -> None:
    a, b, c = imp.get(node, 0), imp.get(node, 1), imp.get(node, 2)
    if isinstance(b, Data) or isinstance(c, Data):
        imp.fail(node, "its weights are computed from the network's input: costcalc needs them constant")
    if imp.flag(node, "transA", 0) or len(a.shape) != 2 or len(b.shape) != 2:
        imp.fail(node, f"costcalc costs a fully connected layer N x F times a constant F x out matrix, not "
                        f"{fmt(a.shape)} times {fmt(b.shape)}")
    features, out = (b.shape[1], b.shape[0]) if imp.flag(node, "transB", 0) else b.shape
    if features != a.shape[1]:
        imp.fail(node, f"weights {fmt(b.shape)} do not fit an input of {a.shape[1]} features")
    imp.emit1(node, "fc", {"out": out, "bias": learned(imp, c, node, out)}, [a])


def learned(imp, t, node=None, out=None) -> bool:
    """Whether an optional bias input holds parameters: one read from the file (an initializer, a graph input, a
    Constant, or Identity of one) does, whatever its values; a constant the graph computes (torch's dynamo
    exporter gives a conv without bias a zero bias made by Expand) is no bias at all."""
    if t is None:
        return False
    if node is not None and prod(t.shape) != out:
        imp.fail(node, f"a bias of shape {fmt(t.shape)}: costcalc counts a bias of one value per output ({out})")
    return t.param


def matmul(imp, node) -> None:
    """N x F times a constant F x out matrix is an fc; N x H x W x C (channels last) times C x out, nn.Linear on
    a permuted tensor (ConvNeXt), is the 1x1 conv it equals in every count. A bias Add after it is its bias."""
    a, b = imp.get(node, 0), imp.get(node, 1)
    last = a.last and len(a.shape) == 4
    if isinstance(b, Data) or (len(a.shape) != 2 and not last) or len(b.shape) != 2 or b.shape[0] != a.shape[1]:
        shown = f"channels-last {fmt((a.shape[0], *a.shape[2:], a.shape[1]))}" if a.last else fmt(a.shape)
        imp.fail(node, f"costcalc costs MatMul as a fully connected layer (N x F, or channels-last N x H x W x C, "
                        f"times a constant matrix), not {shown} times {fmt(b.shape)}")
    if last:
        imp.emit1(node, "conv", {"out": b.shape[1], "k": (1, 1), "stride": (1, 1), "pad": (0, 0),
                                 "dilation": (1, 1), "groups": 1, "bias": False}, [a])
    else:
        imp.emit1(node, "fc", {"out": b.shape[1], "bias": False}, [a])
    imp.layers[-1].open_bias = True


def batchnorm(imp, node) -> None:
    if any(node.proto.output[1:]):
        imp.fail(node, "training-mode batchnorm (running statistics as outputs) is not costed; export in eval mode")
    x = imp.get(node, 0)
    for k, what in enumerate(("scale", "shift", "mean", "variance"), 1):
        t = imp.get(node, k)
        if isinstance(t, Data):
            imp.fail(node, "its scale, shift and statistics must be constants")
        if t is None or prod(t.shape) != x.shape[1]:
            imp.fail(node, f"its {what} has shape {fmt(t.shape) if t else 'none'}: a batchnorm of {x.shape[1]} "
                            "channels has one value per channel")
    imp.emit1(node, "bn", {}, [x])


def unary(op):
    def handle(imp, node) -> None:
        imp.emit1(node, op, {}, [imp.get(node, 0)])

    return handle


def clip(imp, node) -> None:
    imp.emit1(node, *clip_op(imp, node), [imp.get(node, 0)])


def clip_op(imp, node) -> tuple:
    """The op and arguments of a Clip, by its bounds."""
    if imp.opset >= 11:
        low, high = imp.value(node, 1, "min"), imp.value(node, 2, "max")
        low = None if low is None else float(low)
        high = None if high is None else float(high)
    else:
        low, high = node.attrs.get("min"), node.attrs.get("max")
    args = {}
    if low == 0 and high == 6:
        op = "relu6"
    elif low == 0 and (high is None or np.isinf(high)):
        op = "relu"
    elif low is not None and high is not None and low <= high and not np.isinf(low) and not np.isinf(high):
        op, args = "hardtanh", {"min_val": low, "max_val": high}
    elif low is not None and not np.isinf(low) and (high is None or high == np.inf):  # clamp_min (F.normalize)
        op, args = "maximum", {"value": low}
    elif high is not None and not np.isinf(high) and (low is None or low == -np.inf):  # clamp_max
        op, args = "minimum", {"value": high}
    elif low in (None, -np.inf) and high in (None, np.inf):
        op = "identity"
    else:  # a lower bound above the upper one: every element becomes the upper bound (onnxruntime's min(max(...)))
        op, args = "minimum", {"value": high}
    return op, args


def div(imp, node) -> None:
    x, c = imp.get(node, 0), imp.get(node, 1)
    if isinstance(c, Data):
        imp.fail(node, "division by a tensor computed from the network's input is not costed")
    imp.emit1(node, "scale", {"factor": 1 / scalar(imp, node, c, "Div by a constant")}, [x])


def scalar(imp, node, c: Const, what: str) -> float:
    value = imp.const_value(node, c, "the constant")
    if value.size != 1:
        imp.fail(node, f"{what} of shape {fmt(value.shape)}: costcalc knows multiplication by one number "
                        "(scale) or by a tensor of the network")
    return float(value.reshape(-1)[0])


def pool(op):
    def handle(imp, node) -> None:
        x = imp.get(node, 0)
        if len(x.shape) != 4:
            imp.fail(node, f"costcalc costs 2-D pooling of N x C x H x W tensors, not {fmt(x.shape)}")
        if any(node.proto.output[1:]):
            imp.fail(node, "MaxPool's indices output is not costed")
        k = tuple(node.attrs["kernel_shape"])
        stride = tuple(node.attrs.get("strides", (1, 1)))
        dilation = tuple(node.attrs.get("dilations", (1, 1)))
        ceil_mode = imp.flag(node, "ceil_mode", 0)
        if op == "avgpool" and dilation != (1, 1):
            imp.fail(node, "dilated average pooling is not costed")
        x, extra, note = unpad(imp, node, x)
        pads = window_pads(imp, node, x.shape[2:], k, stride, dilation, ceil_mode, extra)
        args = {"k": k, "stride": stride, **pads, "ceil_mode": ceil_mode}
        if op in ("maxpool", "lppool"):
            args["dilation"] = dilation
        if op == "lppool":
            args["p"] = node.attrs.get("p", 2)
        imp.emit1(node, op, args, [x], note=note)

    return handle


def global_pool(op):
    def handle(imp, node) -> None:
        x = imp.get(node, 0)
        if len(x.shape) != 4:
            imp.fail(node, f"costcalc costs global pooling of N x C x H x W tensors, not {fmt(x.shape)}")
        if op == "gap":
            return imp.emit1(node, "gap", {}, [x])
        hw = tuple(x.shape[2:])
        imp.emit1(node, "maxpool", {"k": hw, "stride": hw, "pad": (0, 0), "ceil_mode": False,
                                     "dilation": (1, 1)}, [x])

    return handle


def reduce_mean(imp, node) -> None:
    x = imp.get(node, 0)
    axes = node.attrs.get("axes")
    if axes is None and len(node.proto.input) > 1:
        axes = imp.value(node, 1, "axes")
    axes = sorted(int(a) % len(x.shape) for a in (axes if axes is not None else range(len(x.shape))))
    if len(x.shape) != 4 or axes != [2, 3]:
        imp.fail(node, f"ReduceMean over axes {axes} of {fmt(x.shape)}: costcalc knows the mean over H and W "
                        "(global average pooling)")
    if imp.flag(node, "keepdims", 1):
        return imp.emit1(node, "mean", {}, [x])
    (pooled,) = imp.emit(node, None, "mean", {}, [x])
    imp.emit1(node, "flatten", {}, [pooled], name=imp.unique(imp.layers[-1].name + "_squeeze"))


def concat(imp, node) -> None:
    inputs = [imp.get(node, k) for k in range(len(node.proto.input))]
    if any(isinstance(x, Const) for x in inputs):
        imp.fail(node, "concatenates constants with tensors of the network: costcalc concatenates network tensors")
    axis = node.attrs.get("axis", 1) % len(inputs[0].shape)
    if axis != 1:
        imp.fail(node, f"concatenation along axis {axis}: costcalc concatenates along channels (axis 1)")
    if len(inputs) == 1:  # torch.cat of one tensor (DenseNet's first layer): the tensor itself, no layer
        return imp.set(node, 0, inputs[0])
    imp.emit1(node, "concat", {}, inputs)


def split(imp, node) -> None:
    x = imp.get(node, 0)
    axis = node.attrs.get("axis", 0) % len(x.shape)
    if axis != 1:
        imp.fail(node, f"split along axis {axis}: costcalc splits along channels (axis 1)")
    n = len(node.proto.output)
    sizes = node.attrs.get("split")
    if sizes is None and len(node.proto.input) > 1 and node.proto.input[1]:
        sizes = [int(s) for s in imp.value(node, 1, "split sizes")]
    if sizes is None:
        n = node.attrs.get("num_outputs", n)
        c = x.shape[1]
        sizes = [-(-c // n)] * (n - 1) + [c - -(-c // n) * (n - 1)]
    outs = imp.emit(node, None, "split", {"sizes": list(sizes)}, [x])
    for k, d in enumerate(outs):
        imp.set(node, k, d)


def cast_like(imp, node) -> None:
    x = imp.get(node, 0)
    if isinstance(x, Data):
        imp.fail(node, "a cast of a network tensor is not costed")
    imp.set(node, 0, Const(x.shape, imp.const_value(node, x, "input 0"), node.proto.output[0]))


def identity(op):
    def handle(imp, node) -> None:
        x = imp.get(node, 0)
        if x.pending:  # .contiguous() inside a channel shuffle: part of the pattern
            return imp.set(node, 0, x)
        imp.emit1(node, op, {}, [x])

    return handle
