"""The rows a kernel takes one at a time (Kernel.rows), and which Transpose onnxruntime runs for a permute.

Some kernels pay per row, beyond their bytes: onnxruntime's LayerNormalization and Softmax reduce each row
(a mean and a variance, a max and a sum) before they write it, and its Transpose copies a tensor block by block.
Its profiler shows it (scripts/ort_kernels.py, 1 thread): LayerNormalization on 1,024 rows of 48 took 2.4 times the
bytes-only estimate, on 196 rows of 768 1.0 times; Softmax on Swin-T's rows of 49 2.4 times, on ViT-B/16's rows of
197 1.2 times; a Transpose copying blocks of 672 elements (Swin-T's first windows) moved 20 to 24 GB/s, one copying
blocks of 16 (LeViT's heads) 1.6 to 4 GB/s; its broadcasting element-wise ops call their loop once per span
(EfficientViT-B0's division of each token's 16 channels by a number per token took 44 us where its bytes say 4,
EdgeNeXt-XXS's layer scale on 1,024 tokens of 48 41 us where they say 7), and its Pad writes row by row. The model
charges each row its class's `row_s` (costcalc.latency.model); the calibration fits it (costcalc.latency.fit).

    layernorm        its rows: the positions it normalises (tokens, or H x W over channels), x batch
    groupnorm        its groups x batch (InstanceNormalization over each group)
    softmax          the positions it normalises over its axis, x batch
    permute          by onnxruntime's Transpose (core/providers/cpu/tensor/transpose.cc), which runs one of:
      transpose        the innermost axis stays innermost: blocks of the trailing axes that keep their place are
                       copied one call at a time (memcpy): rows = its blocks; a block of 8 bytes or less (one or two
                       float32) is copied by a typed loop, per element: rows 0, its bytes only
      transpose_inner  the innermost axis moves: a permute that moves one axis only (IsTransposeMovingSingleAxis)
                       runs MLAS's tiled 2-D transpose (rows 0: its bytes only); any other gathers element by
                       element, computing each element's index (rows = its elements): MobileViT's unfold
                       (0, 3, 2, 1) and MaxViT's grids moved 1 to 2 GB/s, the single-axis ones 8 to 22 GB/s
    add, mul, ...    element-wise of operands of unequal shapes: the spans of its broadcasting loop
                     (`broadcast_rows`); a number and a tensor whose innermost axis is 1: a span per value
    pad              the rows before its innermost padded axis (`pad_rows`)
    reduce_*         (class reduce) a reduction onnxruntime runs in its generic loop, which computes each input
                     element's index and adds it to its output one at a time (`reduce_rows`): rows = its input and
                     output elements. Its Sum, Mean, Max and Min run vectorised loops over the innermost axes (KR)
                     or the middle ones (KRK); every other reduction (over the leading axes with others kept after
                     them, RK: SKResNet's sum over its branches, (1, 2, C, H, W) over axis 1; over axes apart; and
                     L1, L2, sum of squares, product, log-sum, log-sum-exp over any axes: ConvNeXt-V2's GRN) takes
                     the generic loop. Timed alone, onnxruntime 1.32, 1 thread, 400 K floats (1 x 2 x 64 x 56 x 56),
                     AVX2 host, 7 December 2026 20:50 UTC: a Relu 75 to 90 us; ReduceSum, Mean, Max over the last
                     axes or the middle one 53 to 79 us, over axis 1 707 to 889 us, over axes 1 and 2 275 to 409 us;
                     ReduceL2, SumSquare, L1 over the last axes 424 to 515 us, over axis 1 1,013 to 1,214 us; at
                     batch 4 ReduceSum over axis 1 (then KRK) 79 us
    bn               (not folded into a conv, plain layout) onnxruntime's BatchNormalization loops over samples and
                     channels, one span of the rest each (`bn_kernel`): on tokens L x C, flattened to (N L) x C, a
                     span of one element per value. LeViT-128S's batchnorms on 196 tokens of 256 channels (Reshape,
                     BatchNormalization, Reshape) took 14 to 17 us where the element-wise class said 4.9
"""

from __future__ import annotations

from math import prod

from costcalc.ops.core import ZEROS, per_axis
from costcalc.ops.tensor import axes_indices

# the reductions onnxruntime vectorises over the innermost axes (KR) and the middle ones (KRK)
FAST_REDUCTIONS = frozenset({"reduce_sum", "reduce_mean", "reduce_max", "reduce_min"})
GENERIC_REDUCTIONS = FAST_REDUCTIONS | {f"reduce_{kind}" for kind in ("prod", "l1", "l2", "sum_square", "log_sum",
                                                                       "log_sum_exp")}  # argmax/argmin: not timed
TYPED_COPY_BYTES = 8  # onnxruntime copies a block of 1, 2, 4 or 8 bytes by a typed assignment, not memcpy


def norm_rows(shape: tuple, axis, batch: int) -> int:
    """The rows a layernorm normalises: over the axes from `axis` (framework-numbered, the batch axis 0) to the
    last, or over the channels of C x H x W (axis None): its positions."""
    if axis is None:
        return prod(shape[1:]) * batch
    first = axis - 1 if axis > 0 else len(shape) + axis
    return prod(shape[:first]) * batch


def softmax_rows(shape: tuple, axis: int, batch: int) -> int:
    """The rows a softmax over `axis` (framework-numbered) normalises."""
    index = axis - 1 if axis > 0 else len(shape) + axis
    return prod(shape) // shape[index] * batch


def transpose_kernel(shape: tuple, perm, batch: int, bytes_per_element: int) -> tuple:
    """(class, rows) of the Transpose onnxruntime runs for a permute of `shape` (without the batch axis; `perm`
    with it, as the spec's permute takes it)."""
    op_class = transpose_class(shape, perm)
    elements = prod(shape) * batch
    dims = (batch, *shape)
    if op_class == "transpose":
        kept = 0  # trailing axes that keep their place: one contiguous block
        while kept < len(perm) and perm[len(perm) - 1 - kept] == len(perm) - 1 - kept:
            kept += 1
        block = prod(dims[len(dims) - kept:])
        return op_class, (elements // block if block * bytes_per_element > TYPED_COPY_BYTES else 0)
    return op_class, (0 if single_axis_move(perm) else elements)


def single_axis_move(perm) -> bool:
    """Whether `perm` moves one axis and keeps the others in order (onnxruntime's IsTransposeMovingSingleAxis)."""
    perm = list(perm)
    return any(perm[:i] + perm[i + 1:] == sorted(perm[:i] + perm[i + 1:]) for i in range(len(perm)))


def transpose_class(shape: tuple, perm) -> str:
    """transpose when the innermost axis (of more than one element) stays innermost: rows of it are copied whole;
    transpose_inner when it moves (onnxruntime's Transpose then gathers at a stride)."""
    order = [p - 1 for p in perm[1:]]
    moved = [i for i in order if shape[i] != 1]
    inner = [i for i in range(len(shape)) if shape[i] != 1]
    return "transpose" if not inner or moved[-1] == inner[-1] else "transpose_inner"


def broadcast_rows(out: tuple, operands: list) -> int:
    """The spans onnxruntime's broadcasting loop runs for an element-wise op of `operands` (shapes aligned at the
    last axis, as numpy's) into `out`: 0 when the operands have one shape or one is a single number (one span);
    else the output is cut into spans of the innermost axes over which each operand either runs along or stays
    one value (a per-channel vector on tokens: spans of the channels, one per token; a per-token number: spans of
    the channels again), and each span is a call. A number broadcast over a tensor whose innermost axis is 1
    (EfficientViT-B0's eps added to its 1,568 denominators, N x 1) is one span per value: measured with
    onnxruntime 1.32 at 1 thread, a number added to 4 x 392 x 1 took 10.4 us, to 4 x 392 or 4 x 392 x 2 0.6 to
    0.7 us, and a tensor of 4 x 1 x 1 added to 4 x 392 x 1 0.6 us."""
    rank = len(out)
    full = [(1,) * (rank - len(s)) + tuple(s) for s in operands]
    if any(prod(f) == 1 for f in full):  # a number: one span, unless the innermost axis is 1: one per value
        return prod(out) if out[-1] == 1 and prod(out) > 1 else 0
    if all(f == tuple(out) for f in full):
        return 0
    span, status = 1, None
    for i in reversed(range(rank)):
        if out[i] == 1:
            continue
        now = [f[i] == out[i] for f in full]
        if status is None:
            status = now
        elif now != status:
            break
        span *= out[i]
    return prod(out) // span


def bn_kernel(shape: tuple, axis, batch: int) -> tuple:
    """(rows, launches, extra passes) of the BatchNormalization costcalc's export runs for a batchnorm over `axis`
    (framework-numbered, 1 by default) of `shape` (without the batch axis), as costcalc.exporters.onnx writes it:
    over axis 1, one kernel whose spans are the samples x channels; over the last axis (tokens L x C), Reshape to
    (N L) x C, BatchNormalization, Reshape: spans of one element, one per value; over another axis, Transpose, the
    kernel, Transpose: samples x channels spans, and two more passes over the tensor."""
    rank = len(shape) + 1
    index = (1 if axis is None else axis) % rank
    channels = shape[index - 1]
    if index == 1:
        return batch * channels, 1, 0
    if index == rank - 1:
        return batch * prod(shape), 3, 0
    return batch * channels, 3, 2


def pad_rows(out: tuple, args: dict) -> int:
    """The rows onnxruntime's Pad writes one at a time: one per position of the axes before the innermost padded
    one of `out` (its output, the batch first), from the pad's `pads`, or `pad` and `pad_end` on the rows and
    columns of C x H x W."""
    if args.get("pads") is not None:
        rank = len(args["pads"]) // 2
        padded = [i + 1 for i in range(rank) if args["pads"][i] or args["pads"][rank + i]]
    else:
        before = per_axis(args.get("pad", ZEROS), 2, "pad")
        after = before if args.get("pad_end") is None else per_axis(args["pad_end"], 2, "pad_end")
        padded = [i + 2 for i in range(2) if before[i] or after[i]]
    return prod(out[:padded[-1]]) if padded else 0


def reduce_rows(op: str, shape: tuple, axes, batch: int) -> int:
    """The rows of a reduction `op` over `axes` (framework-numbered, the batch axis 0; all of a sample's axes when
    None) of `shape` (without the batch axis): 0 when onnxruntime runs one of its vectorised loops (a sum, mean,
    max or min whose axes, the kept axes of one element left out and neighbours of a kind merged, read R, KR or
    KRK: over the last axes, or the middle ones), else its input and output elements (its generic loop)."""
    if op not in GENERIC_REDUCTIONS:
        return 0
    sample = axes_indices(axes, shape)
    pattern = ""
    for i, size in enumerate((batch, *shape)):
        kind = "R" if i - 1 in sample else "K"
        if kind == "K" and size == 1:
            continue  # a kept axis of one element: left out (a reduced one is not, as onnxruntime's loops show)
        if not pattern.endswith(kind):
            pattern += kind
    if op in FAST_REDUCTIONS and pattern in ("R", "KR", "KRK"):
        return 0
    inputs = prod(shape) * batch
    kept = prod(size for i, size in enumerate(shape) if i not in sample) * batch
    return inputs + kept
