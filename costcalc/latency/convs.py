"""The kernel onnxruntime runs for a conv: its class, layout, FLOPs as computed, extra bytes and rows.

Layout (costcalc.latency.plan states the whole rule): a conv runs blocked (NCHWc, channels padded to the block b)
when `conv_blocked` says so; its class is `conv_class`'s, with `_plain` appended in the plain layout.

Beyond FLOPs and bytes, a conv pays per row (Kernel.rows, each costing its class's `row_s`; the calibration fits
it). Both rules were read off onnxruntime 1.32's profiler (scripts/ort_kernels.py, 1 thread, AVX-512 host, block
16, 7 December 2026 15:00-15:15 UTC) on synthetic convs, chains of four alike:
    blocked convs      MLAS's NCHWc kernels (and the first conv's, reading the image in NCHW) load one input value
    (dense, pointwise, at a time and multiply it into up to FILTER_BLOCKS blocks of b output channels of its group
    grouped)           at once. Rows = the input values loaded: F / (b x f), F the FLOPs as computed (channels
                       padded to the block), f = min(FILTER_BLOCKS, output channels per group / b, at least 1).
                       A conv whose output channels fill one block loads an input value per b multiply-adds and
                       runs slower: 16 output channels (f = 1) ran at 80 to 92 G multiply-adds/s where 32 to 128
                       (f = 2 to 4) ran at 107 to 128 (1x1 and 3x3, maps of 14 to 112, groups of 16 channels
                       and groups 1); the first conv (3 channels, 224 x 224) at 53 to 57 with 8 or 16 output
                       channels, 78 to 95 with 24 to 64.
    plain k x k convs  onnxruntime's Conv in the plain layout writes the im2col matrix (its input expanded k x k
    (dense, grouped;   times, c_in k^2 x h_out w_out) before the GEMM, element by element; the grouped ones once per
    k > 1)             group. Rows = the expanded elements: grouped 3x3 convs of 2 to 8 channels a group took 208 to
                       278 us on 128 x 28 x 28 and 354 to 469 us on 64 x 56 x 56, nearly independent of the
                       channels per group (0.2 to 0.26 ns per expanded element, where their bytes at the class's
                       bandwidth said half that); 1x1 plain convs (no im2col) ran as their bytes and FLOPs said.
                       (Rows as the spans of the im2col instead, c_in k^2 h_out, one output row each: held-out error
                       8.1 % against 7.3 % for the elements, on the measurements of 13:37 UTC.)
Depthwise convs and ConvTranspose take no rows.
"""

from __future__ import annotations

from math import prod

REORDER_ALIGN = 4  # onnxruntime reorders a map into NCHWc when its channels are a multiple of 4, whatever the block
FILTER_BLOCKS = 4  # output-channel blocks MLAS's NCHWc conv kernels compute per input value loaded
IM2COL = frozenset({"dense_conv", "grouped_conv"})  # the plain-layout convs run as im2col + GEMM (k > 1)


def conv_class(in_channels: int, out_channels: int, k: tuple, groups: int) -> str:
    """The class of a conv before its layout: depthwise, grouped, pointwise or dense (k: its window, any rank)."""
    if groups > 1:
        return "depthwise_conv" if groups == in_channels else "grouped_conv"
    return "pointwise_conv" if set(k) == {1} else "dense_conv"


def conv_blocked(in_channels: int, out_channels: int, groups: int, block: int) -> bool:
    """Whether onnxruntime runs this conv in its blocked (NCHWc) layout: channels padded to the block b, which it
    does for channels that are a multiple of 4 (groups 1 and depthwise: its reorder's alignment, measured on
    onnxruntime 1.32 with b = 8 (AVX2) and b = 16 (AVX-512), where 20, 24 and 36 channels run blocked, padded to
    32, 32 and 48) or per-group channels that are a multiple of b (grouped), and for a groups-1 conv reading fewer
    than b channels (the image)."""
    if block <= 0:
        return False
    if groups == 1:
        return in_channels < block or in_channels % REORDER_ALIGN == 0
    if groups == in_channels == out_channels:
        return in_channels % REORDER_ALIGN == 0
    return (in_channels // groups) % block == 0 and (out_channels // groups) % block == 0


def padded(channels: int, block: int) -> int:
    """Channels rounded up to the layout block (a blocked kernel computes the padding too)."""
    return -(-channels // block) * block if block > 0 else channels


def filter_blocks(out_channels: int, groups: int, block: int) -> int:
    """The output-channel blocks an NCHWc conv computes per input value it loads: those of one group, at most
    FILTER_BLOCKS."""
    return max(1, min(FILTER_BLOCKS, padded(out_channels // groups, block) // block))


def conv_kernel(c_in: int, c_out: int, window: tuple, groups: int, out_shape: tuple, flops: int, batch: int,
                blocked: bool, block: int) -> tuple:
    """(op_class, FLOPs as computed, extra elements moved, rows) of the kernel onnxruntime runs for a conv of
    `c_in` to `c_out` channels, `window` (any rank), `groups`, whose output is `out_shape` (C, spatial...) and whose
    multiply-adds are `flops`, at `batch`, in the blocked layout of `block` or the plain one."""
    kind = conv_class(c_in, c_out, window, groups)
    op_class = kind if blocked else f"{kind}_plain"
    extra = rows = 0
    if blocked and groups == 1:
        c_in_padded = c_in if c_in < block else padded(c_in, block)
        flops = flops * c_in_padded * padded(c_out, block) // (c_in * c_out)
    elif blocked and groups == c_in:
        flops = flops * padded(c_out, block) // c_out
    if blocked and kind != "depthwise_conv":  # the input values loaded, each into f blocks of b outputs
        rows = flops // (block * filter_blocks(c_out, groups, block))
    if not blocked and kind in IM2COL and prod(window) > 1:  # im2col + GEMM: the expanded input written, then read
        expanded = c_in * prod(window) * prod(out_shape) // c_out * batch
        extra, rows = 2 * expanded, expanded
    return op_class, flops, extra, rows
