"""Where the batch is, for the importer's generic rules. A costcalc shape is per sample and the batch its axis 0;
an ONNX tensor's batch may sit elsewhere (attention's `qkv.permute(2, 0, 3, 1, 4)`) or be folded into a leading
axis (Swin's windows, `(B * nW) x 49 x C`). `Data.batch_at` says which ONNX axis holds it (None: folded into axis 0
as its outer factor), `Data.shape` keeps the spec's order (the batch first); `onnx_shape` and `spec_axis`
translate. Also here: the views the recognizers keep open (`plain`), and learned tensors followed by shape only
(a class token expanded over the batch, a bias table gathered by its index)."""

from __future__ import annotations

import re
from math import prod

import numpy as np

from costcalc.importers.onnx.naming import node_name
from costcalc.importers.onnx.reading import FRESH, Const, Data, fmt


def onnx_shape(imp, x: Data) -> tuple:
    """The ONNX tensor's shape at the file's batch."""
    sample = x.shape[1:]
    if x.batch_at is None:
        return (imp.batch * sample[0], *sample[1:]) if sample else (imp.batch,)
    return (*sample[:x.batch_at], imp.batch, *sample[x.batch_at:])


def spec_axis(imp, node, x: Data, axis: int) -> int:
    """The framework-numbered costcalc axis (the batch is 0) of ONNX axis `axis` of x."""
    rank = len(onnx_shape(imp, x))
    if not -rank <= axis < rank:
        imp.fail(node, f"axis {axis} is outside its {rank}-D input")
    axis %= rank
    if x.batch_at is None:
        return axis + 1
    if axis == x.batch_at:
        imp.fail(node, f"works along the batch axis ({axis}) of its input: costcalc's ops work within each sample")
    return axis + 1 if axis < x.batch_at else axis


def settle(imp, node) -> None:
    """Put the batch back at axis 0 of the node's inputs wherever the ONNX tensor allows it (its leading axis is
    the batch's size, as after Swin's windows merge back or MobileViT folds its patches), by a view; the
    recognizers then read them as they read any N x C x H x W tensor."""
    for name in node.proto.input:
        x = imp.tensors.get(name)
        if not isinstance(x, Data) or x.batch_at == 0 or x.pending or x.padded or x.last:
            continue
        full = onnx_shape(imp, x)
        if len(full) > 1 and full[0] == imp.batch and (x.batch_at is None or imp.batch == 1):
            y = imp.emit(node, imp.unique(f"{node_name(node.name)}_view"), "reshape", {"shape": full[1:]}, [x],
                         note="the batch back in front")[0]
            imp.tensors[name] = y


# a state-dict key of a submodule's parameter, as both torch exporters name it: `stages.0.blocks.1.mlp.act.scale`
MODULE_PATH = re.compile(r"[A-Za-z_]\w*(\.\w+)+")

SHAPE_ONLY = {"Expand", "Unsqueeze", "Reshape", "Squeeze", "Gather", "GatherND", "Transpose",
              "ScatterND"}  # ScatterND: Swin V2's qkv bias with its k part zeroed (`bias.clone(); b[c:2c].zero_()`)


def shape_of_param(imp, node, w: Const) -> None:
    """A learned tensor reshaped or expanded over the batch before use (ViT's class token, `expand(n, -1, -1)`):
    its shape follows, its values stay unread. Only the batch's size-1 expansions keep its count of parameters."""
    from costcalc.importers.onnx.folding import FOLD_OPS

    values = [np.zeros(w.shape, np.float32)]
    for k, t in enumerate(node.proto.input[1:], start=1):
        c = imp.tensors.get(t) if t else None
        # an index buffer whose values are not in the file: its shape is all a shape needs
        values.append(None if c is None else imp.const_value(node, c, f"input {k}") if imp.readable(c)
                      else np.zeros(c.shape, np.int64))
    out = np.asarray(FOLD_OPS[node.op](node, values)[0])
    if out.size != prod(w.shape) and node.op not in ("Gather", "GatherND"):
        imp.fail(node, f"{node.op} of the learned tensor '{w.name}' to {fmt(out.shape)}: costcalc follows a learned "
                        "tensor through a change of shape that keeps its size")
    sources = w.behind or frozenset({(w.name, node.proto.output[0], learned_of(w))} if learned_of(w) else ())
    imp.set(node, 0, Const(tuple(out.shape), None, w.name, param=True, learned=learned_of(w), stored=w.stored,
                           behind=sources))


def learned_of(c: Const) -> int:
    """The learned values a constant stands for: a stored tensor's (whatever its name: dynamo's optimiser stores
    LeViT's transposed bias table as `val_79`), or those behind one the graph computed from stored tensors."""
    if c.learned is not None:
        return c.learned
    return prod(c.shape) if c.param and c.stored else 0


def learned_number(imp, c: Const) -> bool:
    """Whether a one-value constant is a learned parameter (nn.Parameter of one value: HGNetV2's learnable affine
    blocks, PoolFormerV2's StarReLU scale and bias) rather than a number of the forward (x + 3, 1 / sqrt(d)). Both
    exporters write either as a one-value initializer. The dynamo exporter lists the module's parameters in the
    file (`parameters`), as costcalc does in the file it exports from a torch module (`costcalc.analyze(module)`):
    a learned one is there, a buffer or a number is not. Elsewhere a learned one keeps the
    module path the exporter names it by (`stem.stem1.lab.scale`, or costcalc's own `<layer>.param`), a number gets
    a name the exporter makes (costcalc's `<layer>/value`; TorchScript writes numbers as Constant nodes). There a
    parameter of the top module (`lab_scale`: no dot) reads as a number, as does a number any other tool stores
    under a plain name (`w3`). Its value is never read."""
    if c.learned is not None or learned_of(c) != 1:
        return False
    if imp.parameters is not None:
        return c.name in imp.parameters
    return MODULE_PATH.fullmatch(c.name) is not None


SIGNATURE = "pkg.torch.export.ExportedProgram.graph_signature"  # the dynamo exporter's record of the module's
# inputs: `p_lab_scale: PARAMETER target='lab.scale'`, `b_mean: BUFFER target='mean' persistent=True`, ...
PARAMETER = re.compile(r"^\s*\w+: PARAMETER target='([^']*)'", re.M)
MODULE_PARAMETERS = "costcalc.module_parameters"  # costcalc's own list, in the file it exports from a torch module


def parameters(graph) -> frozenset | None:
    """The names of the module's parameters, where the file lists them: the dynamo exporter's graph signature, or
    the list costcalc writes into the file it exports from a torch module (`MODULE_PARAMETERS`, one name a line).
    A value that is not UTF-8, which protobuf gives as bytes, is read with its bad bytes replaced."""
    props = {p.key: p.value for p in graph.metadata_props if p.key in (SIGNATURE, MODULE_PARAMETERS)}
    props = {k: v.decode("utf-8", "replace") if isinstance(v, bytes) else v for k, v in props.items()}
    if SIGNATURE in props:
        return frozenset(PARAMETER.findall(props[SIGNATURE]))
    if MODULE_PARAMETERS in props:
        return frozenset(props[MODULE_PARAMETERS].splitlines())
    return None


def learned_inputs(imp, node) -> tuple:
    """(the learned values, their sources) behind a constant folded from `node`'s inputs. A source is a stored
    tensor as one computation first reads it, (stored name, that node's output, size): a relative-position bias
    table gathered by its index is one source however the result is sliced (EfficientViT's heads each add a slice
    of one gathered table) or however many paths lead to it (Swin's shifted-window mask is folded from a few small
    tensors along thousands of paths); the same table gathered twice is two. None when it reads none."""
    tensors = set()
    for t in (imp.tensors.get(n) for n in node.proto.input if n):
        if isinstance(t, Const) and (t.behind or t.learned is not None):
            tensors |= t.behind
        elif isinstance(t, Const) and learned_of(t):
            tensors.add((t.name, node.proto.output[0], prod(t.shape)))
    return sum(size for *_, size in tensors) or None, frozenset(tensors)


def plain(imp, node, x):
    """x as a tensor the generic rules read: a pattern's pending state resolved into layers."""
    if not isinstance(x, Data):
        return x
    if x.padded:
        source, pads, pad_node = x.padded
        top, left, bottom, right = pads
        x = imp.emit(pad_node, None, "pad", {"pad": (top, left), "pad_end": (bottom, right)}, [source])[0]
    if x.last == FRESH:  # a Transpose's channels-last view read by an op that knows only the plain order (LeViT's
        # k.permute(0, 2, 3, 1) into a MatMul): the copy the Transpose put off
        perm = (0, *range(2, len(x.shape)), 1)
        x = imp.emit(node, f"{imp.layer_name(node)}_nhwc", "permute", {"perm": perm}, [Data(x.shape, x.ref)],
                     note="the channels-last Transpose's copy")[0]
    elif x.last:  # the output of an op that wrote it channels last (a layer norm): its real N x H x W x C order
        n, c, *rest = x.shape
        x = imp.emit(node, f"{imp.layer_name(node)}_nhwc", "reshape", {"shape": (*rest, c)}, [Data(x.shape, x.ref)],
                     note="channels-last view")[0]
    if x.pending:
        kind = x.pending[0]
        if kind not in ("grouped", "shuffled"):
            imp.fail(node, f"reads the {len(x.shape)}-D tensor of a Reshape inside a group norm or a gather that "
                            "did not complete")
        first = x.pending[2]
        source = Data(imp.producer_shape(x.ref), x.ref)
        grouped = x.shape if kind == "grouped" else (x.shape[0], x.shape[2], x.shape[1], *x.shape[3:])
        y = imp.emit(first, None, "reshape", {"shape": grouped[1:]}, [source])[0]
        if kind == "shuffled":
            y = imp.emit(node, f"{y.ref}_t", "permute", {"perm": (0, 2, 1, 3, 4)}, [y], note="Transpose")[0]
        x = y
    return x


def emit(imp, node, op: str, args: dict, inputs: list, batch_at=0, k: int = 0) -> Data:
    out = imp.emit(node, None, op, args, inputs)
    for i, d in enumerate(out):
        d.batch_at = batch_at
        imp.set(node, i, d)
    return out[k] if out else None


def same_place(imp, node, xs: list) -> int | None:
    """Where the batch of the tensors `xs` sits, one place for all. At batch 1 a tensor whose batch is an axis of
    size 1 (a tensor computed from weights alone, unsqueezed) is the same ONNX tensor as one whose batch is folded
    into axis 0: such tensors are viewed so (a reshape, moving nothing), in the list given."""
    places = {x.batch_at for x in xs}
    ranks = {len(onnx_shape(imp, x)) for x in xs}
    if len(places) > 1 and len(ranks) == 1 and imp.batch == 1:
        for k, x in enumerate(xs):
            if x.batch_at is not None:
                xs[k] = imp.emit(node, imp.unique(f"{node_name(node.name)}_view"), "reshape",
                                 {"shape": onnx_shape(imp, x)}, [x], note="the batch folded into axis 0")[0]
                xs[k].batch_at = None
        places = {None}
    if len(places) > 1 or len(ranks) > 1:
        imp.fail(node, "combines tensors whose batch sits at different axes or of different ranks: costcalc "
                        "broadcasts tensors of one layout")
    return places.pop()


def axes_of(imp, node, k: int) -> list | None:
    axes = node.attrs.get("axes")
    if axes is None and len(node.proto.input) > k and node.proto.input[k]:
        axes = [int(a) for a in imp.value(node, k, "axes")]
    return None if axes is None else list(axes)


def _text(value, default: str) -> str:
    if value is None:
        return default
    return value.decode() if isinstance(value, bytes) else str(value)


def emit_views(imp, node, parts: list, full: list) -> list:
    """Each of `parts` viewed as the ONNX shape `full` (a SplitToSequence's parts without their axis)."""
    views = []
    for part in parts:
        place = part.batch_at if part.batch_at == 0 and full and full[0] == imp.batch else None
        shape = tuple(full[1:]) if place == 0 else (full[0] // imp.batch, *full[1:])
        view = imp.emit(node, imp.unique(f"{part.ref.replace('.', '_')}_view"), "reshape", {"shape": shape},
                        [part])[0]
        view.batch_at = place
        views.append(view)
    return views
