"""What a layer is, in the few characters of the table's Op cell: `conv 3x3 s2 g32`, `dwconv 3x3`, `conv 1x1`,
`maxpool 3x3 s2`, `resize bilinear`, `fc`. A block's row keeps its block name (`bottleneck x3`)."""

from __future__ import annotations

from costcalc.ops import Uniform


def _pair(values, prefix: str = "") -> str:
    """(3, 3) -> '3x3'; (2, 1) -> '2x1'; with a prefix, (2, 2) -> 's2' (one number when both sides agree)."""
    values = tuple(values)
    if prefix and len(set(values)) == 1:
        return f"{prefix}{values[0]}"
    return prefix + "x".join(str(v) for v in values)


def describe(op: str, args: dict, input_shapes: tuple = ()) -> str:
    """The Op cell of one layer: the op, then its window, stride (when not 1), dilation (when not 1) and groups
    (when not 1); a conv with as many groups as input channels is a depthwise conv, `dwconv`; a 1-D or 3-D window
    is named so (`conv1d 3`, `maxpool3d 2x2x2`). The generic tensor ops add what tells them apart: the axis or
    axes when not the channels, an einsum's equation, a permutation, a reshape's target, a constant operand."""
    rank = len(input_shapes[0]) - 2 if input_shapes else 2  # spatial axes of N x C x ... (2 when unknown)
    if op in ("conv", "conv_transpose", "maxpool", "avgpool") and "k" in args:
        window = (f"{rank}d" if rank in (1, 3) else "")
        args = {key: _spread(value, rank) for key, value in args.items()}
        if op != "conv":
            return " ".join([op + window, _pair(args["k"]), *_window_extras(args)])
        groups = args.get("groups", 1)
        in_channels = input_shapes[0][1] if input_shapes and len(input_shapes[0]) >= 3 else None
        depthwise = groups > 1 and groups == in_channels
        parts = [("dwconv" if depthwise else "conv") + window, _pair(args["k"])]
        parts += _window_extras(args)
        if groups != 1 and not depthwise:
            parts.append(f"g{groups}")
        return " ".join(parts)
    if op == "shuffle" and "groups" in args:
        return f"shuffle g{args['groups']}"
    if op == "resize" and "mode" in args:  # nearest copies, bilinear computes 7 FLOPs an element: say which
        return f"resize {args['mode']}"
    return " ".join([op, *_tensor_extras(op, args)])


def _spread(value, rank: int):
    """A window argument as one value per spatial axis (one number written for all of them is held as a pair)."""
    if isinstance(value, Uniform) and rank > 0:
        return (value[0],) * rank
    return value


def _tensor_extras(op: str, args: dict) -> list:
    extras = []
    if args.get("axis") not in (None, 1) and op in ("softmax", "layernorm", "concat", "split", "slice", "gather"):
        extras.append(f"axis {args['axis']}")
    if args.get("axes") is not None:
        extras.append("axes " + ",".join(map(str, args["axes"])))
    if op == "einsum":
        extras.append(args["equation"].replace(" ", ""))
    if op == "permute":
        extras.append(",".join(map(str, args["perm"])))
    if op in ("reshape", "expand") and "shape" in args:
        extras.append("x".join(map(str, args["shape"])))
    if args.get("value") is not None and op != "pad":
        extras.append(f"{args['value']:g}")
    if args.get("param") is not None and op != "einsum":
        extras.append("param " + "x".join(map(str, args["param"])))
    return extras


def _window_extras(args: dict) -> list:
    extras = []
    if any(s != 1 for s in args.get("stride") or (1,)):
        extras.append(_pair(args["stride"], "s"))
    if any(d != 1 for d in args.get("dilation") or (1,)):
        extras.append(_pair(args["dilation"], "d"))
    return extras


def op_label(row) -> str:
    """The Op cell of a table row: what its layer is, or the block's name for a block."""
    layer = getattr(row, "layer", None)
    if layer is None:
        return row.op
    return describe(layer.op, layer.args, layer.input_shapes)
