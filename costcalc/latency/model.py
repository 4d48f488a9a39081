"""The latency model: an estimate of a network's time on one device, from its layers' counts and shapes and a
device profile (costcalc.latency.profile). Pure functions: no runtime is needed to estimate.

The formula. The runtime does not run layers, it runs kernels: `plan` turns the graph into the kernels the
runtime launches (fusion and layout, below), and each kernel k of op class c costs

    t_k = max(F_k / throughput_c, M_k) + n_k * overhead_c + r_k * row_c        (combine: max, a roofline)
    t_k = F_k / throughput_c + M_k + n_k * overhead_c + r_k * row_c            (combine: sum)
    M_k = min(B_k - W_k, L) / bandwidth_c + (max(B_k - W_k - L, 0) + W_k) / dram_bandwidth
                                                 (L: llc_bytes; M_k = B_k / bandwidth_c when L is 0)

    F_k  FLOPs: multiply-adds of a conv or fc (a conv in the blocked layout computes its output channels rounded
         up to the block), element-wise FLOPs of any other op (0 for pure data movement)
    B_k  bytes moved: the memory access of its layers (inputs read, outputs written, weights read) minus the
         tensors that stay inside a fused kernel (written by one of its layers and read by the next: 2x each),
         plus, for a k x k conv (k > 1, not depthwise) in the plain layout, which onnxruntime runs as im2col and
         GEMM, its expanded input written and read (2 x c_in k^2 h_out w_out), and, for a blocked conv with a
         hardswish inside, its padded output read and written once more (MLAS applies hardswish after the conv:
         the calibration's random whole networks with hardswish were all 11 to 31 % slower than estimated without
         it), times bytes_per_element
    n_k  kernels launched (1; a grouped conv, 1 < g < its input channels, runs one GEMM per group: g; a channel
         shuffle is Reshape-Transpose-Reshape: 3; a layernorm over channels is
         Transpose-LayerNormalization-Transpose, a groupnorm InstanceNormalization-Mul-Add, a mish before opset 18
         Softplus-Tanh-Mul: 3, and each adds two passes over its input to B_k; a batchnorm on tokens
         Reshape-BatchNormalization-Reshape: 3; a view launches a Reshape that moves nothing: F = B = 0, n = 1)
    r_k  rows it takes one at a time (costcalc.latency.rows): rows normalised by a layernorm or groupnorm, rows
         of a softmax, blocks a Transpose copies one memcpy at a time, elements it gathers one by one, spans of a
         broadcasting element-wise op (a number over an innermost axis of 1: one per value), rows of a pad, spans
         of a BatchNormalization (one per sample and channel), the input values an NCHWc conv loads (each into
         at most four blocks of output channels) and the elements of a plain k x k conv's im2col
         (costcalc.latency.convs); 0 for the other kernels. onnxruntime's profiler shows the
         cost: its LayerNormalization took 2.4 times the bytes-only estimate on rows of 48 and 1.0 times on rows
         of 768, its Softmax 2.4 times on Swin-T's rows of 49, its Transpose 1.6 to 4 GB/s copying blocks of 16
         elements (LeViT's heads) and 20 to 24 GB/s copying blocks of 672 (Swin-T's first windows)
    W_k  the weights of an fc (on a vector, a classifier, or on tokens, a GEMM of N rows: each weight read once
         a run), read from memory whenever the network moves more bytes
         in a run than the cache holds (`evicts`): the rest of the network has evicted them since the last run.
         onnxruntime's profiler shows it: the zoo's classifiers (0.17 to 1.3 M weights) ran 2.2 to 3.3 times
         their in-cache estimate, 13 to 18 GB/s by its clock, as fast as the DRAM; so did LeViT-128S's token
         GEMMs of 16 to 196 rows on an AVX-512 host (50 to 55 G multiply-adds/s where the gemm class runs at 114);
         W_k is 0 for other kernels

Per class, `row_c` is the profile's `row_s` (0 for the classes whose rows are not counted). A kernel that moves
more bytes than the last-level cache holds (VGG's and AlexNet's fc weights, a big map at a
large batch) moves the rest at the memory's bandwidth: the profile's `llc_bytes` and `dram_bandwidth`, both
learned by the calibration (the cache size as the one that explains its networks best, costcalc.latency.fit),
never read from a table of CPUs.

and the network of n planned kernels costs

    T = run_overhead_s + (n / context_kernels) ** context_slope x context x sum of t_k   (the sum exactly rounded)

where `context` says how much slower kernels run inside a whole network than the classes say (their inputs and
weights stay in the caches less than in a repeated unit) and the length term how that grows with the network's
length: fitted on random whole synthetic networks of 12 to 370 kernels after the classes are fitted on those and
the calibration's networks of one repeated unit together (costcalc.latency.calibration). On an AVX-512 Xeon host
every calibration found it (slope 0.060 to 0.083 on 8 December: a network of 400 kernels 12 to 16 % slower a kernel
than one of 65), and without it every real model came out 5 to 10 % too fast there (docs/latency.md); a profile
without the two keys has no length term (factor 1).

A layer's time is that of the kernels charged to it: its own (the first layer of a fused kernel carries the whole
kernel, the others are marked fused into it, at 0) and the layout reorders its inputs need. Layers that the
runtime removes or that only relabel memory (dropout, identity) cost nothing.

Threads. The profile is for one thread count N (`threads`). At N > 1 a kernel that onnxruntime shares among its
threads divides its compute, its in-cache bytes and its rows by its parallelism P (its work units dealt out to N
threads: P = U / ceil(U / N)), moves its bytes beyond the cache at the DRAM bandwidth undivided, and pays the
profile's `fork_s` per launch besides its class's overhead; a kernel that does not split (P = 1) runs as at one
thread. Which classes split, along which axis, and what it was read off, is costcalc.latency.threads'. At N = 1
every P is 1 and fork_s 0: the formula above, to the last bit.

The op classes, the fusion and the layout rules are the planner's (costcalc.latency.plan).
"""

from __future__ import annotations

from dataclasses import dataclass
from math import fsum

from costcalc.latency.plan import (ACTIVATIONS, BLOCKED_ACTIVATIONS, FOLDED, Kernel, _Planner, conv_blocked,  # noqa: F401
                                   conv_class, padded, plan)
from costcalc.latency.profile import DeviceProfile
from costcalc.latency.threads import parallelism


@dataclass(frozen=True)
class LayerTime:
    name: str
    latency_s: float  # its kernels' time (0 when fused into another layer or free)
    op_class: str | None  # the class of its own kernel; None when it launches none
    fused_into: str | None = None
    reorder_s: float = 0.0  # part of latency_s spent reordering its inputs' layout


@dataclass(frozen=True)
class Estimate:
    """The estimated time of one network on one device profile: seconds for the batch."""

    total_s: float
    layers: tuple  # LayerTime, in graph order
    kernels: tuple  # Kernel, in launch order
    threads: int
    run_overhead_s: float
    evicted: bool = False  # its fc's weights are read from memory (model.evicts): kernel_time's `evicted`
    length: float = 1.0  # length_factor of its kernels: each kernel's time is kernel_time's times this

    def by_layer(self) -> dict:
        return {layer.name: layer.latency_s for layer in self.layers}


def kernel_time(kernel: Kernel, profile: DeviceProfile, evicted: bool = False) -> float:
    """The formula of the module docstring, for one kernel; `evicted`: the network moves more bytes than the
    cache holds (`evicts`), so that an fc on a vector reads its weights from memory."""
    p = profile[kernel.op_class]
    share = parallelism(kernel.units, profile.threads)  # 1 at 1 thread: every term below as the 1-thread model's
    compute = kernel.flops / p.throughput / share
    cached, spilled = split_bytes(kernel.bytes, profile.llc_bytes, kernel.weight_bytes if evicted else 0)
    memory = cached / p.bandwidth / share + spilled / profile.dram_bandwidth
    body = max(compute, memory) if profile.combine == "max" else compute + memory
    forks = kernel.launches * profile.fork_s if share > 1 else 0.0
    return profile.context * (body + kernel.launches * p.overhead_s + kernel.rows * p.row_s / share + forks)


def length_factor(profile: DeviceProfile, kernels: int) -> float:
    """The length term of a network of `kernels` planned kernels: (kernels / context_kernels) ** context_slope, 1
    without one."""
    if not profile.context_slope or profile.context_kernels <= 0:
        return 1.0
    return (max(kernels, 1) / profile.context_kernels) ** profile.context_slope


def split_bytes(moved: int, llc_bytes: int, cold: int = 0) -> tuple:
    """A kernel's bytes (cached, spilled): those within the last-level cache move at its class's bandwidth, those
    beyond it (a kernel reading or writing more than the cache holds), and its `cold` bytes (weights evicted since
    the last run), at the DRAM bandwidth; no cache term (`llc_bytes` 0): all at the class's."""
    if llc_bytes <= 0:
        return moved, 0
    warm = moved - cold
    return min(warm, llc_bytes), max(warm - llc_bytes, 0) + cold


def evicts(total_bytes: int, profile: DeviceProfile) -> bool:
    """Whether a network whose kernels move `total_bytes` in a run evicts an fc's weights before the next run: it
    moves more than the last-level cache holds (never without a cache term)."""
    return 0 < profile.llc_bytes < total_bytes


def estimate(graph, profile: DeviceProfile) -> Estimate:
    """The estimated time of `graph` (costcalc.graph.Graph) on `profile`, per layer and in total."""
    kernels = plan(graph, profile)
    evicted = evicts(sum(kernel.bytes for kernel in kernels), profile)
    length = length_factor(profile, len(kernels))
    own: dict = {}
    reorders: dict = {}
    for kernel in kernels:
        t = length * kernel_time(kernel, profile, evicted)
        target = reorders if kernel.op_class == "data_movement" and not kernel.members else own
        target[kernel.layer] = target.get(kernel.layer, 0.0) + t
    classes = {k.layer: k.op_class for k in kernels if k.members}
    fused = {m: k.layer for k in kernels for m in k.members[1:]}
    layers = tuple(LayerTime(node.name, own.get(node.name, 0.0) + reorders.get(node.name, 0.0),
                             classes.get(node.name), fused.get(node.name), reorders.get(node.name, 0.0))
                   for node in graph.nodes)
    # the kernels' times summed exactly rounded (math.fsum), so that the total does not depend on their order:
    # a sweep assembles the same kernels' times from remembered parts (costcalc.analysis.parts_latency)
    total = profile.run_overhead_s + length * fsum(kernel_time(kernel, profile, evicted) for kernel in kernels)
    return Estimate(total, layers, tuple(kernels), profile.threads, profile.run_overhead_s, evicted, length)
