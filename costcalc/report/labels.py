"""What a layer is, in the few characters of the table's Op cell: `conv 3x3 s2 g32`, `dwconv 3x3`, `conv 1x1`,
`maxpool 3x3 s2`, `resize bilinear`, `fc`. A block's row keeps its block name (`bottleneck x3`)."""

from __future__ import annotations


def _pair(values, prefix: str = "") -> str:
    """(3, 3) -> '3x3'; (2, 1) -> '2x1'; with a prefix, (2, 2) -> 's2' (one number when both sides agree)."""
    values = tuple(values)
    if prefix and len(set(values)) == 1:
        return f"{prefix}{values[0]}"
    return prefix + "x".join(str(v) for v in values)


def describe(op: str, args: dict, input_shapes: tuple = ()) -> str:
    """The Op cell of one layer: the op, then its window, stride (when not 1), dilation (when not 1) and groups
    (when not 1); a conv with as many groups as input channels is a depthwise conv, `dwconv`."""
    if op == "conv":
        groups = args.get("groups", 1)
        in_channels = input_shapes[0][1] if input_shapes and len(input_shapes[0]) == 4 else None
        depthwise = groups > 1 and groups == in_channels
        parts = ["dwconv" if depthwise else "conv", _pair(args["k"])]
        parts += _window_extras(args)
        if groups != 1 and not depthwise:
            parts.append(f"g{groups}")
        return " ".join(parts)
    if op in ("maxpool", "avgpool") and "k" in args:
        return " ".join([op, _pair(args["k"]), *_window_extras(args)])
    if op == "shuffle" and "groups" in args:
        return f"shuffle g{args['groups']}"
    if op == "resize" and "mode" in args:  # nearest copies, bilinear computes 7 FLOPs an element: say which
        return f"resize {args['mode']}"
    return op


def _window_extras(args: dict) -> list:
    extras = []
    if any(s != 1 for s in args.get("stride", (1,))):
        extras.append(_pair(args["stride"], "s"))
    if any(d != 1 for d in args.get("dilation", (1,))):
        extras.append(_pair(args["dilation"], "d"))
    return extras


def op_label(row) -> str:
    """The Op cell of a table row: what its layer is, or the block's name for a block."""
    layer = getattr(row, "layer", None)
    if layer is None:
        return row.op
    return describe(layer.op, layer.args, layer.input_shapes)
