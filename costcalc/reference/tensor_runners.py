"""The reference runners of the generic tensor layer's ops, for `network.run`: (rng, args, *inputs) -> (outputs,
learnable arrays). Axes in the args are framework-numbered (the batch is 0), which is numpy's numbering of the
batched arrays the runners get; shapes in the args are per sample."""

from __future__ import annotations

import numpy as np

from costcalc.reference import tensors as T
from costcalc.reference.functional import _unary
from costcalc.reference.norms import _erf

_FNS = {"add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.divide, "pow": np.power,
        "maximum": np.maximum, "minimum": np.minimum, "compare": lambda a, b: np.less(a, b).astype(np.float32)}


def _binary(op: str):
    def run(rng, args, *xs):
        params = ()
        if args.get("param") is not None:
            shape = tuple(args["param"])
            if args.get("learned") is not None:  # a smaller table, gathered into the operand by a fixed index
                table = rng.standard_normal(args["learned"], dtype=np.float32)
                params = (table,)
                # the exporter's index (0, 1, ... round the table), so that the reference and onnxruntime agree
                operand = T.gathered(table, np.arange(int(np.prod(shape)), dtype=np.int64).reshape(shape) % table.size)
            else:
                operand = rng.standard_normal(shape, dtype=np.float32)
                params = (operand,)
            return (T.elementwise(_FNS[op], *xs, operand, params=(operand,), learned=params),), params
        if args.get("const") is not None:
            constant = np.zeros(tuple(args["const"]), np.float32)  # as the exporter writes it: the same values
            return (T.elementwise(_FNS[op], *xs, constant, constants=(constant,)),), ()
        if args.get("value") is not None:
            operands = (*xs, np.float32(args["value"]))
        else:
            operands = xs
        return (T.elementwise(_FNS[op], *operands, params=params),), params

    return run


def _where(rng, args, *xs):
    constant = np.zeros(tuple(args.get("shape") or ()), np.float32)
    operands = list(xs) + [constant] * (3 - len(xs))
    return (T.where(*operands, constants=[constant]),), ()


def _reduction(kind: str):
    return lambda rng, args, x: ((T.reduce(x, kind, args.get("axes"), args["keepdims"]),), ())


def _einsum(rng, args, *xs):
    params = () if args.get("param") is None else (rng.standard_normal(tuple(args["param"]), dtype=np.float32),)
    return (T.einsum(args["equation"], *xs, *params, params=params),), params


def _gather(rng, args, x):
    index = rng.integers(0, x.shape[args["axis"]], tuple(args["index"]))
    return (T.gather(x, args["axis"], index),), ()


_UNARY = {"exp": np.exp, "log": np.log, "sqrt": np.sqrt, "reciprocal": np.reciprocal, "abs": np.abs,
          "neg": np.negative, "erf": _erf, "round": np.round, "sin": np.sin, "softplus": lambda x: np.logaddexp(0, x),
          "elu": lambda x: np.where(x > 0, x, np.expm1(np.minimum(x, 0))), "cast": lambda x: x.copy()}


def _unary_runner(fn):
    def run(rng, args, x):
        with np.errstate(all="ignore"):  # a log or square root of a negative number is NaN, as in onnxruntime
            return (_unary(fn, x),), ()

    return run


TENSOR_RUNNERS = {
    **{op: _binary(op) for op in _FNS},
    "where": _where,
    **{op: _unary_runner(fn) for op, fn in _UNARY.items()},
    **{f"reduce_{kind}": _reduction(kind) for kind in ("sum", "mean", "max", "min", "prod", "l1", "l2", "sum_square",
                                                       "log_sum_exp", "log_sum", "argmax", "argmin")},
    "matmul": lambda rng, args, a, b: ((T.bmm(a, b),), ()),
    "einsum": _einsum,
    # a tensor computed from weights alone: zeros, as the exporter writes its Constant; it reads and writes nothing
    "constant": lambda rng, args, x: ((np.zeros((x.shape[0], *args["shape"]), np.float32),), ()),
    "reshape": lambda rng, args, x: ((T.reshape(x, args["shape"]),), ()),
    "permute": lambda rng, args, x: ((T.permute(x, args["perm"]),), ()),
    "expand": lambda rng, args, x: ((T.expand(x, args["shape"]),), ()),
    "tile": lambda rng, args, x: ((T.tile(x, args["repeats"]),), ()),
    "gather": _gather,
    "depth_to_space": lambda rng, args, x: ((T.depth_to_space(x, args["blocksize"]),), ()),
    "space_to_depth": lambda rng, args, x: ((T.space_to_depth(x, args["blocksize"]),), ()),
    "slice": lambda rng, args, x: ((T.slice_axis(x, args["axis"], args["start"], args["out"], args["step"]),), ()),
}
