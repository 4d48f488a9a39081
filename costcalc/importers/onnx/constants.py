"""The constants of the walk: a node whose inputs are all constants is evaluated (`folding`'s functions) and gives
no layer; a constant a pattern needs before its node comes in the list is folded on demand."""

from __future__ import annotations

import numpy as np

from costcalc.errors import SpecError
from costcalc.importers.onnx import batch, generic, unread
from costcalc.importers.onnx.folding import FOLD_OPS, MAX_CONST_ELEMENTS
from costcalc.importers.onnx.layers import shape
from costcalc.importers.onnx.reading import Const, Data


def fold(imp, node) -> None:
    """A node whose inputs are all constants: evaluate it (shape arithmetic), produce no layer. Identity and
    Cast of a weight pass its shape on without reading its values (torch shares equal initializers through
    Identity nodes)."""
    first = imp.tensors.get(node.proto.input[0]) if node.proto.input and node.proto.input[0] else None
    passes = node.op in ("Identity", "Cast", "CastLike", "Transpose") and first is not None and first.param
    if node.op == "Identity" and first is not None and not imp.readable(first):  # a shared buffer
        return imp.set(node, 0, first)
    if node.op in batch.SHAPE_ONLY and first is not None and first.param and not imp.readable(first) \
            and not imp.integer(first):  # an index buffer (LeViT's attention_bias_idxs) is read, not followed
        return batch.shape_of_param(imp, node, first)
    if passes and (node.op == "Identity" or not imp.readable(first)):
        name = first.name if node.op == "Identity" else ""  # a cast or transposed weight's values are not needed
        shape = first.shape
        if node.op == "Transpose":
            perm = node.attrs.get("perm", range(len(shape))[::-1])
            shape = tuple(shape[p] for p in perm)
        return imp.set(node, 0, Const(shape, None if node.op == "Transpose" else first.value, name, param=True,
                                       learned=first.learned, stored=first.stored, behind=first.behind))
    if node.op == "Optional" and not any(node.proto.input):  # an empty optional (torch.jit.script's None)
        return imp.set(node, 0, Const((), None, ""))
    fn = FOLD_OPS.get(node.op)
    unknown = unread.unread_inputs(imp, node)
    if unread.unread(imp, node, fn, unknown):
        return
    weights = node.op in unread.COSTED and any(imp.tensors[t].param and imp.tensors[t].stored
                                               for t in node.proto.input if t)  # torch multiplies at every forward
    if node.op in generic.RULES and (fn is None or unknown or weights):
        unread.lift(imp, node)  # computes on weights alone: costed as layers, as the framework runs it
        return generic.apply(imp, node)
    if fn is None:
        imp.fail(node, f"op type '{node.op}' on constant inputs is not one costcalc can evaluate")
    values = []
    for k, t in enumerate(node.proto.input):
        values.append(None if not t else imp.const_value(node, imp.tensors[t], f"input {k}"))
    try:
        results = fn(node, values)
    except SpecError:
        raise
    except Exception as e:  # numpy's complaints about a malformed shape computation
        imp.fail(node, f"cannot evaluate it on its constant inputs ({e})")
    learned, tensors = batch.learned_inputs(imp, node)
    for k, r in enumerate(results):
        r = np.asarray(r)
        if r.size > MAX_CONST_ELEMENTS:
            imp.fail(node, f"a constant of {r.size:,} elements is beyond what shape arithmetic needs")
        imp.set(node, k, Const(tuple(r.shape), r, node.proto.output[k], param=node.op == "Constant" or passes,
                                learned=None if passes else learned, stored=passes and first.stored,
                                behind=frozenset() if passes else tensors))


def demand(imp, name: str, depth: int = 0):
    """The tensor `name`, folding the constant nodes it depends on now if they come later in the list; None
    when it depends on a network tensor not computed yet."""
    if name in imp.tensors:
        return imp.tensors[name]
    i = imp.producer_index.get(name)
    if i is None or depth > 256 or i in imp.done:
        return None
    node = imp.nodes[i]
    for t in node.proto.input:
        if t and demand(imp, t, depth + 1) is None:
            return None
    inputs = [imp.tensors[t] for t in node.proto.input if t]
    if node.op == "Shape" and inputs and isinstance(inputs[0], Data) and not inputs[0].pending:
        shape(imp, node)
    elif any(isinstance(t, Data) for t in inputs):
        return None
    else:
        fold(imp, node)
    imp.done.add(i)
    return imp.tensors.get(name)
