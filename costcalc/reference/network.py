"""Run a whole graph through the reference ops with random weights, measuring every node as it runs.

The weights of each layer are built here from the layer's arguments and the shape of the array that actually
arrives (never from costcalc.ops' parameter formulas); what each node did is measured by a tally around it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

import costcalc.reference as F
from costcalc.reference.tally import counting


class NoReference(Exception):
    """The spec uses an op the reference has no implementation of."""


@dataclass(frozen=True)
class Measured:
    """What one node did when it ran: output array shapes (with the batch) and what the tally counted."""

    shapes: tuple
    mult_adds: int
    read: int
    params_read: int
    buffers_read: int
    written: int
    params: int  # elements of the learnable arrays built for this node

    @property
    def memory_access(self) -> int:
        return self.read + self.params_read + self.written


def _random(rng, shape: tuple, fan_in: int) -> np.ndarray:
    """Normal weights scaled by 1/sqrt(fan_in), so that activations stay of order one through deep networks."""
    return (rng.standard_normal(shape, dtype=np.float32) / np.float32(np.sqrt(max(fan_in, 1))))


# ---- one runner per op: (rng, args, *inputs) -> (outputs, learnable arrays) ---------------------------------


def _conv(rng, args, x):
    out, (k_h, k_w), groups = args["out"], args["k"], args["groups"]
    c_group = x.shape[1] // groups
    weight = _random(rng, (out, c_group, k_h, k_w), c_group * k_h * k_w)
    bias = _random(rng, (out,), 1) if args["bias"] else None
    y = F.conv2d(x, weight, bias, stride=args["stride"], padding=args["pad"], dilation=args["dilation"], groups=groups,
                 padding_end=args.get("pad_end"))
    return (y,), (weight, bias)


def _fc(rng, args, x):
    weight = _random(rng, (args["out"], x.shape[1]), x.shape[1])
    bias = _random(rng, (args["out"],), 1) if args["bias"] else None
    return (F.linear(x, weight, bias),), (weight, bias)


def _bn(rng, args, x):
    c = x.shape[1]
    weight = 1 + 0.1 * rng.standard_normal(c, dtype=np.float32)
    bias = 0.1 * rng.standard_normal(c, dtype=np.float32)
    mean = 0.1 * rng.standard_normal(c, dtype=np.float32)
    var = rng.uniform(0.5, 1.5, c).astype(np.float32)
    return (F.batch_norm(x, mean, var, weight, bias),), (weight, bias)


def _unary(fn):
    return lambda rng, args, x: ((fn(x),), ())


def _pool(fn):
    def run(rng, args, x):
        extra = {"dilation": args["dilation"]} if "dilation" in args else {}
        y = fn(x, args["k"], args.get("stride"), args["pad"], ceil_mode=args["ceil_mode"],
               padding_end=args.get("pad_end"), **extra)
        return (y,), ()

    return run


def _conv_transpose(rng, args, x):
    out, (k_h, k_w), groups = args["out"], args["k"], args["groups"]
    weight = _random(rng, (x.shape[1], out // groups, k_h, k_w), x.shape[1] // groups * k_h * k_w)
    bias = _random(rng, (out,), 1) if args["bias"] else None
    y = F.conv_transpose2d(x, weight, bias, args["stride"], args["pad"], args["output_padding"], groups,
                           args["dilation"])
    return (y,), (weight, bias)


def _affine(rng, args, c):
    if not args["affine"]:
        return None, None
    return 1 + 0.1 * rng.standard_normal(c, dtype=np.float32), 0.1 * rng.standard_normal(c, dtype=np.float32)


def _layernorm(rng, args, x):
    """torchvision's LayerNorm2d and ConvNeXt's block norm alike: channels to the last axis, F.layer_norm over
    them, back (the transposes are views)."""
    weight, bias = _affine(rng, args, x.shape[1])
    y = F.layer_norm(x.transpose(0, 2, 3, 1), (x.shape[1],), weight, bias, eps=1e-6).transpose(0, 3, 1, 2)
    return (np.ascontiguousarray(y),), (weight, bias)


def _groupnorm(rng, args, x):
    weight, bias = _affine(rng, args, x.shape[1])
    return (F.group_norm(x, args["groups"], weight, bias),), (weight, bias)


def _layer_scale(rng, args, x):
    gamma = 1e-6 + rng.uniform(0, 1, x.shape[1]).astype(np.float32)
    return (F.layer_scale(x, gamma),), (gamma,)


def _resize(rng, args, x):
    return (F.interpolate(x, size=args.get("size"), scale_factor=args.get("scale"), mode=args["mode"]),), ()


def _pad(rng, args, x):
    (top, left), (bottom, right) = args["pad"], args.get("pad_end") or args["pad"]
    return (F.pad(x, (left, right, top, bottom), value=args["value"]),), ()


def _split(rng, args, x):
    sections = args.get("sizes") or [x.shape[1] // args["parts"]] * args["parts"]
    return F.split(x, sections, dim=1), ()


RUNNERS = {
    "conv": _conv,
    "fc": _fc,
    "bn": _bn,
    "relu": _unary(F.relu),
    "relu6": _unary(F.relu6),
    "leaky_relu": _unary(F.leaky_relu),
    "sigmoid": _unary(F.sigmoid),
    "tanh": _unary(F.tanh),
    "swish": _unary(F.silu),
    "hardsigmoid": _unary(F.hardsigmoid),
    "hardswish": _unary(F.hardswish),
    "scale": lambda rng, args, x: ((F.scale(x, args["factor"]),), ()),
    "conv_transpose": _conv_transpose,
    "layernorm": _layernorm,
    "groupnorm": _groupnorm,
    "layer_scale": _layer_scale,
    "gelu": lambda rng, args, x: ((F.gelu(x, args["approximate"]),), ()),
    "mish": _unary(F.mish),
    "hardtanh": lambda rng, args, x: ((F.hardtanh(x, args["min_val"], args["max_val"]),), ()),
    "softmax": lambda rng, args, x: ((F.softmax(x, dim=1),), ()),
    "adaptive_avgpool": lambda rng, args, x: ((F.adaptive_avg_pool2d(x, args["out"]),), ()),
    "adaptive_maxpool": lambda rng, args, x: ((F.adaptive_max_pool2d(x, args["out"]),), ()),
    "resize": _resize,
    "pad": _pad,
    "slice": lambda rng, args, x: ((F.narrow(x, 1, args["start"], args["out"]),), ()),
    "maxpool": _pool(F.max_pool2d),
    "avgpool": _pool(F.avg_pool2d),
    "gap": lambda rng, args, x: ((F.adaptive_avg_pool2d(x, 1),), ()),
    "mean": lambda rng, args, x: ((F.mean(x, (2, 3), keepdim=True),), ()),
    "add": lambda rng, args, *xs: ((F.add(*xs),), ()),
    "mul": lambda rng, args, a, b: ((F.mul(a, b),), ()),
    "concat": lambda rng, args, *xs: ((F.cat(xs, dim=1),), ()),
    "split": _split,
    "shuffle": lambda rng, args, x: ((F.channel_shuffle(x, args["groups"]),), ()),
    "select": lambda rng, args, x: ((F.index_select(x, 1, rng.integers(0, x.shape[1], args["out"])),), ()),
    "flatten": _unary(F.flatten),
    "dropout": _unary(F.dropout),
    "identity": _unary(F.identity),
}


def run(graph, seed: int = 0, keep: dict | None = None):
    """Run `graph` on a random input with random weights; yield (node, Measured) for each node, in order.
    Raises NoReference at the first node whose op has no reference runner. With `keep` (a dict), the run leaves
    there the arrays another runtime needs to run the same network: "input", "output", and "arrays" (layer name ->
    the parameter and buffer arrays it used, in the order its op names them)."""
    rng = np.random.default_rng(seed)
    last_use = {t: i for i, node in enumerate(graph.nodes) for t in node.inputs}
    arrays = {t: rng.standard_normal((graph.batch, *graph.tensors[t]), dtype=np.float32) for t in graph.inputs.values()}
    if keep is not None:
        keep.update(input=arrays[0], arrays={})
    for i, node in enumerate(graph.nodes):
        runner = RUNNERS.get(node.op)
        if runner is None:
            raise NoReference(f"the reference has no implementation of op '{node.op}' (layer '{node.name}')")
        inputs = [arrays[t] for t in node.inputs]
        with counting(record=keep is not None) as tally:
            outputs, learnable = runner(rng, node.args, *inputs)
        if keep is not None:
            keep["arrays"][node.name] = tally.arrays
        for t, y in zip(node.outputs, outputs):
            arrays[t] = y
        if keep is not None and graph.output in node.outputs:
            keep["output"] = arrays[graph.output]
        for t in set(node.inputs):
            if last_use.get(t) == i and t != graph.output:
                del arrays[t]
        yield node, Measured(
            shapes=tuple(y.shape for y in outputs),
            mult_adds=tally.mult_adds,
            read=tally.read,
            params_read=tally.params_read,
            buffers_read=tally.buffers_read,
            written=tally.written,
            params=sum(p.size for p in learnable if p is not None),
        )
