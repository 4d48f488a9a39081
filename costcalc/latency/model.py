"""The latency model: an estimate of a network's time on one device, from its layers' counts and shapes and a
device profile (costcalc.latency.profile). Pure functions: no runtime is needed to estimate.

The formula. The runtime does not run layers, it runs kernels: `plan` turns the graph into the kernels the
runtime launches (fusion and layout, below), and each kernel k of op class c costs

    t_k = max(F_k / throughput_c, M_k) + n_k * overhead_c                      (combine: max, a roofline)
    t_k = F_k / throughput_c + M_k + n_k * overhead_c                          (combine: sum)
    M_k = min(B_k, L) / bandwidth_c + max(B_k - L, 0) / dram_bandwidth         (L: llc_bytes; M_k = B_k /
                                                                                bandwidth_c when L is 0)

    F_k  FLOPs: multiply-adds of a conv or fc (a conv in the blocked layout computes its output channels rounded
         up to the block), element-wise FLOPs of any other op (0 for pure data movement)
    B_k  bytes moved: the memory access of its layers (inputs read, outputs written, weights read) minus the
         tensors that stay inside a fused kernel (written by one of its layers and read by the next: 2x each),
         plus, for a k x k conv (k > 1, not depthwise) in the plain layout, which onnxruntime runs as im2col and
         GEMM, its expanded input written and read (2 x c_in k^2 h_out w_out), times bytes_per_element
    n_k  kernels launched (1; a grouped conv, 1 < g < its input channels, runs one GEMM per group: g; a channel
         shuffle is Reshape-Transpose-Reshape: 3; a layernorm over channels is
         Transpose-LayerNormalization-Transpose, a groupnorm InstanceNormalization-Mul-Add, a mish before opset 18
         Softplus-Tanh-Mul: 3, and each adds two passes over its input to B_k; a view launches a Reshape that
         moves nothing: F = B = 0, n = 1)

A kernel that moves more bytes than the last-level cache holds (VGG's and AlexNet's fc weights, a big map at a
large batch) moves the rest at the memory's bandwidth: the profile's `llc_bytes` and `dram_bandwidth`, both
learned by the calibration (the cache size as the one that explains its networks best, costcalc.latency.fit),
never read from a table of CPUs.

and the network costs   T = run_overhead_s + context x sum of t_k   (the sum exactly rounded, in any order),

where `context` says how much slower kernels run inside a whole network than the classes say (their inputs and
weights stay in the caches less than in a repeated unit): one number, fitted on random whole synthetic networks
after the classes are fitted on those and the calibration's networks of one repeated unit together
(costcalc.latency.calibration).

A layer's time is that of the kernels charged to it: its own (the first layer of a fused kernel carries the whole
kernel, the others are marked fused into it, at 0) and the layout reorders its inputs need. Layers that the
runtime removes or that only relabel memory (dropout, identity) cost nothing. The profile is for one thread count
(`threads`): a kernel's throughput, bandwidth and overhead are those measured with that many threads, so what
parallelism a small kernel loses shows as its class's overhead and throughput.

The op classes, the fusion and the layout rules are the planner's (costcalc.latency.plan).
"""

from __future__ import annotations

from dataclasses import dataclass
from math import fsum

from costcalc.latency.plan import (ACTIVATIONS, BLOCKED_ACTIVATIONS, FOLDED, Kernel, _Planner, conv_blocked,  # noqa: F401
                                   conv_class, padded, plan)
from costcalc.latency.profile import DeviceProfile


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

    def by_layer(self) -> dict:
        return {layer.name: layer.latency_s for layer in self.layers}


def kernel_time(kernel: Kernel, profile: DeviceProfile) -> float:
    """The formula of the module docstring, for one kernel."""
    p = profile[kernel.op_class]
    compute = kernel.flops / p.throughput
    cached, spilled = split_bytes(kernel.bytes, profile.llc_bytes)
    memory = cached / p.bandwidth + spilled / profile.dram_bandwidth
    body = max(compute, memory) if profile.combine == "max" else compute + memory
    return profile.context * (body + kernel.launches * p.overhead_s)


def split_bytes(moved: int, llc_bytes: int) -> tuple:
    """A kernel's bytes (cached, spilled): those within the last-level cache move at its class's bandwidth, those
    beyond it (a kernel reading or writing more than the cache holds) at the DRAM bandwidth; no cache term
    (`llc_bytes` 0): all at the class's."""
    if llc_bytes <= 0:
        return moved, 0
    return min(moved, llc_bytes), max(moved - llc_bytes, 0)


def estimate(graph, profile: DeviceProfile) -> Estimate:
    """The estimated time of `graph` (costcalc.graph.Graph) on `profile`, per layer and in total."""
    kernels = plan(graph, profile)
    own: dict = {}
    reorders: dict = {}
    for kernel in kernels:
        t = kernel_time(kernel, profile)
        target = reorders if kernel.op_class == "data_movement" and not kernel.members else own
        target[kernel.layer] = target.get(kernel.layer, 0.0) + t
    classes = {k.layer: k.op_class for k in kernels if k.members}
    fused = {m: k.layer for k in kernels for m in k.members[1:]}
    layers = tuple(LayerTime(node.name, own.get(node.name, 0.0) + reorders.get(node.name, 0.0),
                             classes.get(node.name), fused.get(node.name), reorders.get(node.name, 0.0))
                   for node in graph.nodes)
    # the kernels' times summed exactly rounded (math.fsum), so that the total does not depend on their order:
    # a sweep assembles the same kernels' times from remembered parts (costcalc.analysis.parts_latency)
    total = profile.run_overhead_s + fsum(kernel_time(kernel, profile) for kernel in kernels)
    return Estimate(total, layers, tuple(kernels), profile.threads, profile.run_overhead_s)
