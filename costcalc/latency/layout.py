"""The runtime's blocked channel layout, measured on this machine: `calibrate` learns the NCHWc block from two
networks, never from a table of CPUs.

onnxruntime runs a conv whose channels are a multiple of 4 in its blocked layout (costcalc.latency.plan), its
channels padded to the block b that its kernels were built for on this CPU (8 with AVX2, 16 with AVX-512, 4 on
ARM): a 3 x 3 conv over 20 channels computes as many multiply-adds as one over 20, 24 or 32 channels. So the probe
times two networks of the same 3 x 3 convs, one over 20 channels and one over 32, and the ratio of their times
says the block: each candidate predicts (padded(20) / padded(32))^2, 0.39 for b = 4, 0.56 for 8, 1.0 for 16, and
the one nearest the measured ratio (on a log scale) is kept. Both networks run blocked at every candidate, so
neither pays a reorder the other does not. Measured here (onnxruntime 1.32, 1 thread): 0.99 on an AVX-512 EPYC
(b = 16)."""

from __future__ import annotations

from math import log

from costcalc.latency.plan import padded

BLOCKS = (4, 8, 16)  # the NCHWc blocks onnxruntime's kernels are built for
PROBE_CHANNELS = (20, 32)
PROBE_DEPTH = 6  # convs per network: each about 0.2 to 1 ms at 56 x 56
PROBE_SIZE = 56


def probe_text(channels: int) -> str:
    """The spec of one probe network: PROBE_DEPTH 3 x 3 convs over `channels` at PROBE_SIZE x PROBE_SIZE."""
    layers = "\n".join(f"  - {{name: c{i}, op: conv, out: {channels}, k: 3, pad: 1}}" for i in range(PROBE_DEPTH))
    return (f"name: layout_probe_c{channels}\ninput: [{channels}, {PROBE_SIZE}, {PROBE_SIZE}]\nlayers:\n"
            f"{layers}\n")


def predicted_ratio(block: int) -> float:
    """The time of the narrow probe over the wide one if the block is `block`: their padded multiply-adds."""
    narrow, wide = PROBE_CHANNELS
    return (padded(narrow, block) / padded(wide, block)) ** 2


def nearest_block(ratio: float) -> int:
    """The candidate block whose predicted ratio is nearest `ratio` (on a log scale)."""
    return min(BLOCKS, key=lambda b: abs(log(ratio / predicted_ratio(b))))


def measured_block(seconds, batch: int = 1) -> tuple:
    """(block, measured ratio): `seconds(graph) -> s` times each probe network (min over runs) at `batch`."""
    from costcalc.latency.networks import build

    narrow, wide = (seconds(build(probe_text(c), f"layout_probe_c{c}.yaml", batch)) for c in PROBE_CHANNELS)
    ratio = narrow / wide
    return nearest_block(ratio), ratio
