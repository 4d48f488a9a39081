"""Threads: how onnxruntime shares one kernel's work among its intra-op threads (costcalc.latency.model uses it).

onnxruntime runs the kernels of a network one after another (sequential execution); with N intra-op threads
(`calibrate --threads N`, the profile's `threads`), a kernel that parallelises cuts its work into units along one
axis and hands them to the N threads (the calling thread and N - 1 workers of its pool), then waits for all of
them: a fork and a join per launch. The rules, per op class (`SPLIT`: the axis; `work_units`: how many units):

    blocked convs (dense, pointwise, grouped, depthwise;   output rows: batch x output channel blocks x output
    NCHWc) and blocked pooling                             height (MLAS's NCHWc kernels deal out rows of the
                                                           output, each for one block of channels)
    plain dense and pointwise convs (im2col + GEMM), fc,   output tiles: output elements / TILE (MLAS's GEMM
    gemm, matmul                                           deals out strips of the output)
    plain depthwise conv, plain pooling                    channels: batch x channels
    element-wise (elementwise, elementwise_exp, gelu,      blocks of elements: output elements / BLOCK
    mish, reduce), layout reorders, transpose_inner
    softmax                                                rows: the rows it normalises
    grouped_conv_plain, normalization, batchnorm, data     not at all: one thread
    movement (concat, split, pad, slice, ...), shuffle,
    transpose, view

Read off onnxruntime 1.32's profiler on this repository's 2-CPU machine (each kernel at 1 and at 2 threads, quiet
machine, 2026-12-07 12:56 UTC; 864 conv kernels of the calibration's networks among them): a kernel that splits
takes its serial time / 2 plus about 4 us (convs of 10 to 20 us took 0.78 of it, median, over 320 us 0.53;
Gemms of 10 to 20 us 0.76; an Add of 13 us on 100,352 elements 11; a Softmax of 368 us 217; a Gelu of 44 us 26;
a plain depthwise conv of 1,481 us 775), one that does not takes its
serial time plus 1 to 2 us (every Reshape; a Split of 20 us 21; LayerNormalization 0.62 to 1.5 times, mostly
more; the per-group GEMMs of a grouped conv in the plain layout, 4 channels a group, 31 us 31; a per-token Div
14 us 16). The profiler's own cost per kernel hides what a kernel of a few microseconds costs: `fork_s` is fitted
on the calibration's wall-clock times of whole networks (0.5 us at 2 threads here). On the calibration networks
alone these rules beat no splitting and every class splitting (held-out error, docs/latency.md, Threads).
Read off synthetic kernels and not kept (scripts/thread_probe.py, 15:50 UTC 7 December 2026): a GEMM of fewer than
65,536 multiply-adds runs on one thread, and a plain grouped conv splits by groups; neither improved the held-out
error of a 2-thread calibration (8.90 and 8.93 % against 8.85 %), so SPLIT does not carry them.

The cost at N threads (the model's formula, with P the kernel's parallelism):

    P = U / ceil(U / N)      for U >= 1 work units (`parallelism`): the thread with the most units sets the time;
                             1 for a kernel that does not split (U = 1) or at N = 1
    compute / P, in-cache bytes / P, rows / P        (the work is shared)
    bytes beyond the cache at dram_bandwidth         (not divided: the threads share one memory bus; the
                                                      DRAM bandwidth is fitted at N threads)
    n_k x overhead_c                                 (each launch, on the calling thread: fitted at N threads)
    + n_k x fork_s when P > 1                        (a fork and join per launch that splits: the profile's
                                                      `fork_s`, fitted by the calibration at N threads; 0 at 1)

At 1 thread every P is 1 and fork_s is 0: the estimate is the 1-thread model's to the last bit.
"""

from __future__ import annotations

from math import ceil, prod

TILE = 16  # output elements a GEMM strip holds (MLAS's SGEMM kernels compute 16 output columns at a time)
BLOCK = 4096  # elements per unit of an element-wise kernel: fewer run on one thread (a 16 KB page of float32)

SPLIT = {
    "dense_conv": "rows", "pointwise_conv": "rows", "grouped_conv": "rows", "depthwise_conv": "rows",
    "pooling": "rows",
    "dense_conv_plain": "tiles", "pointwise_conv_plain": "tiles", "fc": "tiles", "gemm": "tiles", "matmul": "tiles",
    "depthwise_conv_plain": "channels", "pooling_plain": "channels",
    "elementwise": "elements", "elementwise_exp": "elements", "gelu": "elements", "mish": "elements",
    "transpose_inner": "elements", "reduce": "elements",
    "softmax": "softmax rows",
    "grouped_conv_plain": None, "normalization": None, "data_movement": None, "shuffle": None, "transpose": None,
    "view": None,
    # onnxruntime's BatchNormalization: 15.7 and 15.7 us on 3,136 x 32 values at 1 and 2 threads, 58.9 and 58.2 us
    # on 58 x 112 x 112 (a chain of ten timed alone, wall clock, quiet machine, 14:04 UTC 7 December 2026)
    "batchnorm": None,
    # onnxruntime's Resize and NCHWc Upsample: not yet read off at 2 threads; as before their classes (data movement)
    "resize": None, "resize_plain": None,
}
REORDER_SPLIT = "elements"  # a layout reorder (a data-movement kernel of no layer) splits over blocks of elements


def work_units(op_class: str, out_shape: tuple, block: int = 8, rows: int = 0, reorder: bool = False) -> int:
    """The units a kernel of `op_class` deals out to threads: `out_shape` is its output's, batch first (N, C, H,
    W for a map); `block` the layout block of the blocked convs; `rows` its rows (Kernel.rows, a softmax's)."""
    axis = REORDER_SPLIT if reorder else SPLIT[op_class]
    elements = prod(out_shape)
    if axis is None or elements == 0:
        return 1
    if axis == "rows":  # batch x channel blocks x output height (a map: N, C, H, W; else its leading axes)
        if len(out_shape) >= 4:
            return out_shape[0] * ceil(out_shape[1] / max(block, 1)) * out_shape[2]
        return max(elements // out_shape[-1], 1)
    if axis == "tiles":
        return max(ceil(elements / TILE), 1)
    if axis == "channels":
        return out_shape[0] * out_shape[1] if len(out_shape) >= 2 else 1
    if axis == "softmax rows":
        return max(rows, 1)
    return max(ceil(elements / BLOCK), 1)  # elements


def parallelism(units: int, threads: int) -> float:
    """The kernel's speed-up at `threads`: its `units` dealt out evenly, the busiest thread taking
    ceil(units / threads) of them, so P = units / ceil(units / threads) (1 for one unit or one thread)."""
    if threads <= 1 or units <= 1:
        return 1.0
    return units / ceil(units / threads)
