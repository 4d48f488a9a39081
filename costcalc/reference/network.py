"""Run a whole graph through the reference ops with random weights, measuring every node as it runs.

The weights of each layer are built here from the layer's arguments and the shape of the array that actually
arrives (never from costcalc.ops' parameter formulas); what each node did is measured by a tally around it.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import prod

import numpy as np

import costcalc.reference as F
from costcalc.ops import Uniform
from costcalc.ops.conv import conv_input
from costcalc.reference.recurrent import RECURRENT_RUNNERS
from costcalc.reference.tensor_more import MORE_RUNNERS
from costcalc.reference.tally import counting
from costcalc.reference.tensor_runners import TENSOR_RUNNERS


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


def _window(args, x, *keys) -> list:
    """The window arguments for the array's spatial axes: one number (a Uniform) spread over all of them."""
    axes = x.ndim - 2
    return [tuple(args[key]) if len(args[key]) == axes and not isinstance(args[key], Uniform)
            else (args[key][0],) * axes for key in keys]


def _symmetric(args, x) -> None:
    """The 1-D and 3-D reference pads alike on both sides: a spec's `pad_end` there is not run."""
    if args.get("pad_end") is not None and _window(args, x, "pad_end") != _window(args, x, "pad"):
        raise NoReference("the reference pads 1-D and 3-D windows alike on both sides: 'pad_end' is run in 2-D only")


def _conv(rng, args, x):
    lead = conv_input(x.shape[1:], args["k"])[0]
    if lead:  # windows before the channels: each an image of its own, run as torch does, folded into the batch
        (y,), params = _conv(rng, args, x.reshape(-1, *x.shape[1 + len(lead):]))
        return (y.reshape(*x.shape[:1 + len(lead)], *y.shape[1:]),), params
    out, groups = args["out"], args["groups"]
    kernel, stride, pad, dilation = _window(args, x, "k", "stride", "pad", "dilation")
    c_group = x.shape[1] // groups
    weight = _random(rng, (out, c_group, *kernel), c_group * prod(kernel))
    bias = _random(rng, (out,), 1) if args["bias"] else None
    if x.ndim == 4:  # 2-D by im2col in slices, with ONNX's asymmetric padding where the spec has `pad_end`
        end = _window(args, x, "pad_end")[0] if args.get("pad_end") is not None else None
        y = F.conv2d(x, weight, bias, stride=stride, padding=pad, dilation=dilation, groups=groups, padding_end=end)
    else:  # 1-D and 3-D by the generic one
        _symmetric(args, x)
        y = F.conv_nd(x, weight, bias, stride=stride, padding=pad, dilation=dilation, groups=groups)
    return (y,), (weight, bias)


def _fc(rng, args, x):
    """nn.Linear over the last axis, whatever the rank (tokens N x L x C too)."""
    weight = _random(rng, (args["out"], x.shape[-1]), x.shape[-1])
    bias = _random(rng, (args["out"],), 1) if args["bias"] else None
    return (F.linear(x, weight, bias),), (weight, bias)


def _bn(rng, args, x):
    axis = args.get("axis", 1) % x.ndim
    x = np.moveaxis(x, axis, 1)  # the channels second, as F.batch_norm reads them
    c = x.shape[1]
    weight = 1 + 0.1 * rng.standard_normal(c, dtype=np.float32)
    bias = 0.1 * rng.standard_normal(c, dtype=np.float32)
    mean = 0.1 * rng.standard_normal(c, dtype=np.float32)
    var = rng.uniform(0.5, 1.5, c).astype(np.float32)
    return (np.ascontiguousarray(np.moveaxis(F.batch_norm(x, mean, var, weight, bias), 1, axis)),), (weight, bias)


def _unary(fn):
    return lambda rng, args, x: ((fn(x),), ())


def _pool(fn, kind):
    def run(rng, args, x):
        keys = ("k", "pad", *[key for key in ("stride", "dilation") if args.get(key)])
        window = dict(zip(keys, _window(args, x, *keys)))
        extra = {"dilation": window["dilation"]} if "dilation" in window else {}
        if x.ndim != 4:
            _symmetric(args, x)
            return (F.pool_nd(x, kind, window["k"], window.get("stride"), window["pad"], ceil_mode=args["ceil_mode"],
                              **extra),), ()
        end = _window(args, x, "pad_end")[0] if args.get("pad_end") is not None else None
        return (fn(x, window["k"], window.get("stride"), window["pad"], ceil_mode=args["ceil_mode"], padding_end=end,
                   **extra),), ()

    return run


def _conv_transpose(rng, args, x):
    out, groups = args["out"], args["groups"]
    kernel, stride, pad, output_padding, dilation = _window(args, x, "k", "stride", "pad", "output_padding",
                                                            "dilation")
    weight = _random(rng, (x.shape[1], out // groups, *kernel), x.shape[1] // groups * prod(kernel))
    bias = _random(rng, (out,), 1) if args["bias"] else None
    conv = F.conv_transpose2d if x.ndim == 4 else F.conv_transpose_nd
    return (conv(x, weight, bias, stride, pad, output_padding, groups, dilation),), (weight, bias)


def _affine(rng, args, c):
    if not args["affine"]:
        return None, None
    return 1 + 0.1 * rng.standard_normal(c, dtype=np.float32), 0.1 * rng.standard_normal(c, dtype=np.float32)


def _layernorm(rng, args, x):
    """torchvision's LayerNorm2d and ConvNeXt's block norm alike: channels to the last axis, F.layer_norm over
    them, back (the transposes are views). With `axis`: F.layer_norm over every axis from it on (ONNX's
    LayerNormalization; nn.LayerNorm(C) on tokens is axis -1), gamma and beta of that shape; `bias: false`: gamma
    alone."""
    normalized = x.shape[args["axis"]:] if args.get("axis") is not None else x.shape[1]
    weight, bias = _affine(rng, args, normalized)
    if not args.get("bias", True):
        bias = None
    if args.get("axis") is not None:
        return (F.layer_norm(x, normalized, weight, bias),), (weight, bias)
    y = F.layer_norm(x.transpose(0, 2, 3, 1), (x.shape[1],), weight, bias, eps=1e-6).transpose(0, 3, 1, 2)
    return (np.ascontiguousarray(y),), (weight, bias)


def _rmsnorm(rng, args, x):
    """F.rms_norm over every axis from `axis` on, gamma of that shape when affine."""
    normalized = x.shape[args["axis"]:]
    weight = 1 + 0.1 * rng.standard_normal(normalized, dtype=np.float32) if args["affine"] else None
    return (F.rms_norm(x, normalized, weight),), (weight,)


def _lppool(rng, args, x):
    """ONNX's LpPool of any number of spatial axes, padded alike on both sides."""
    _symmetric(args, x)
    k, stride, pad, dilation = _window(args, x, "k", "stride" if args.get("stride") else "k", "pad", "dilation")
    return (F.pool_nd(x, "lp", k, stride, pad, dilation, args["ceil_mode"], norm=args["p"]),), ()


def _groupnorm(rng, args, x):
    weight, bias = _affine(rng, args, x.shape[1])
    return (F.group_norm(x, args["groups"], weight, bias),), (weight, bias)


def _layer_scale(rng, args, x):
    gamma = 1e-6 + rng.uniform(0, 1, x.shape[1]).astype(np.float32)
    return (F.layer_scale(x, gamma),), (gamma,)


def _resize(rng, args, x):
    return (F.interpolate(x, size=args.get("size"), scale_factor=args.get("scale"), mode=args["mode"]),), ()


def _pad(rng, args, x):
    if args.get("pads") is not None:
        return (F.pad_axes(x, args["pads"], value=args["value"]),), ()
    (top, left), (bottom, right) = args["pad"], args.get("pad_end") or args["pad"]
    return (F.pad(x, (left, right, top, bottom), value=args["value"]),), ()


def _concat(rng, args, *xs):
    if args.get("param") is None:
        return (F.cat(xs, dim=args["axis"]),), ()
    token = rng.standard_normal(tuple(args["param"]), dtype=np.float32)  # a class token, joined first
    return (F.cat_learned(token, xs, dim=args["axis"]),), (token,)


def _split(rng, args, x):
    axis = args["axis"]
    sections = args.get("sizes") or [x.shape[axis] // args["parts"]] * args["parts"]
    return F.split(x, sections, dim=axis), ()


def _gap(rng, args, x):
    if x.ndim == 4:
        return (F.adaptive_avg_pool2d(x, 1),), ()
    return (F.mean(x, tuple(range(2, x.ndim)), keepdim=True),), ()


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
    "rmsnorm": _rmsnorm,
    "groupnorm": _groupnorm,
    "layer_scale": _layer_scale,
    "gelu": lambda rng, args, x: ((F.gelu(x, args["approximate"]),), ()),
    "mish": _unary(F.mish),
    "hardtanh": lambda rng, args, x: ((F.hardtanh(x, args["min_val"], args["max_val"]),), ()),
    "softmax": lambda rng, args, x: ((F.softmax(x, dim=args["axis"]),), ()),
    "adaptive_avgpool": lambda rng, args, x: ((F.adaptive_avg_pool2d(x, args["out"]),), ()),
    "adaptive_maxpool": lambda rng, args, x: ((F.adaptive_max_pool2d(x, args["out"]),), ()),
    "resize": _resize,
    "pad": _pad,
    "maxpool": _pool(F.max_pool2d, "max"),
    "avgpool": _pool(F.avg_pool2d, "avg"),
    "lppool": _lppool,
    "gap": _gap,
    "mean": lambda rng, args, x: ((F.mean(x, (2, 3), keepdim=True),), ()),
    "concat": lambda rng, args, *xs: _concat(rng, args, *xs),
    "split": _split,
    "shuffle": lambda rng, args, x: ((F.channel_shuffle(x, args["groups"]),), ()),
    "select": lambda rng, args, x: ((F.index_select(x, 1, rng.integers(0, x.shape[1], args["out"])),), ()),
    "flatten": _unary(F.flatten),
    "dropout": _unary(F.dropout),
    "identity": _unary(F.identity),
    **TENSOR_RUNNERS,  # add, mul and the other ops of the generic tensor layer, slice on any axis
    **RECURRENT_RUNNERS,  # lstm, gru, rnn
    **MORE_RUNNERS,  # cumsum, hardmax, trilu, lp_normalization, lrn, gather_elements, scatter, topk
}


def run(graph, seed: int = 0, keep: dict | None = None):
    """Run `graph` on a random input with random weights; yield (node, Measured) for each node, in order.
    Raises NoReference at the first node whose op has no reference runner. With `keep` (a dict), the run leaves
    there the arrays another runtime needs to run the same network: "input", "output", and "arrays" (layer name ->
    the parameter and buffer arrays it used, in the order its op names them). A layer that shares another's
    parameters (`shares:`) draws its weights again from the state the generator had when that layer drew them: it
    holds no parameters of its own when the arrays it built are that layer's, value for value, and the count of
    those it built otherwise (then `verify` reports the difference)."""
    rng = np.random.default_rng(seed)
    owners = {node.shares for node in graph.nodes if node.shares}
    drawn: dict = {}  # owner's name -> (the generator's state before its weights, the arrays it built)
    last_use = {t: i for i, node in enumerate(graph.nodes) for t in node.inputs}
    arrays = {t: rng.standard_normal((graph.batch, *graph.tensors[t]), dtype=np.float32) for t in graph.inputs.values()}
    if keep is not None:
        keep.update(input=arrays[0], arrays={})
    for i, node in enumerate(graph.nodes):
        runner = RUNNERS.get(node.op)
        if runner is None:
            raise NoReference(f"the reference has no implementation of op '{node.op}' (layer '{node.name}')")
        inputs = [arrays[t] for t in node.inputs]
        state = rng.bit_generator.state if node.name in owners else None
        source = rng
        if node.shares in drawn:
            source = np.random.default_rng()
            source.bit_generator.state = drawn[node.shares][0]
        with counting(record=keep is not None) as tally:
            outputs, learnable = runner(source, node.args, *inputs)
        learnable = [p for p in learnable if p is not None]
        if state is not None:
            drawn[node.name] = (state, learnable)
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
            params=0 if node.shares in drawn and _same(learnable, drawn[node.shares][1])
            else sum(p.size for p in learnable),
        )


def _same(arrays: list, others: list) -> bool:
    """Whether two layers' learnable arrays are the same values, array by array."""
    return len(arrays) == len(others) and all(a.shape == b.shape and np.array_equal(a, b)
                                              for a, b in zip(arrays, others))
