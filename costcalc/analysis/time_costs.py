"""What each guideline violation costs in estimated time on a device profile (costcalc.latency): the time the
latency model says would be saved by the layer or block that follows the guideline, all else equal.

    G1  the 1x1 conv's kernel, against the same kernel moving only the equal-width bound's memory
    G2  the grouped conv's kernel, against the g = 1 conv of the same FLOPs (its class, its memory access)
    G3  the block's fragmentation: the launch overhead of every kernel of the block but the costliest one, plus
        its data-movement kernels (concat, split, shuffle, layout reorders), which one conv would not need
    G4  the element-wise layer's own kernel; 0 when the runtime fuses it into the conv before it

Seconds for the batch, floats, >= 0 (a compute-bound conv's extra memory access can cost nothing).
"""

from __future__ import annotations

from dataclasses import replace

from costcalc.latency.model import conv_class, kernel_time


def with_estimate(report, graph, profile, path: str = "", bytes_per_element: int | None = None):
    """`report` of `graph` with its estimated latency on `profile` (a DeviceProfile read from `path`) and, when it
    carries its guideline checks, what each violation costs in that time."""
    from costcalc.latency import estimate

    timed = replace(report, latency=estimate(graph, profile), device=profile, device_path=path)
    if timed.guidelines is None:
        return timed
    return replace(timed, latency_costs=violation_costs(graph, timed.guidelines, profile, timed.latency,
                                                        bytes_per_element))


def violation_costs(graph, guidelines, profile, estimate, bytes_per_element: int | None = None) -> dict:
    """(guideline, where) -> estimated seconds, for every violation of `guidelines` (checked on `graph`, its
    memory figures in bytes when it was checked with `bytes_per_element`, else in elements)."""
    scale = bytes_per_element or 1
    bpe = profile.bytes_per_element
    kernel_of = {}
    for kernel in estimate.kernels:
        for member in kernel.members:
            kernel_of[member] = kernel
    costs = {}
    for finding in guidelines.violations():
        key = (finding.guideline, finding.where)
        f = finding.figures
        if finding.guideline in ("G1", "G2"):
            kernel = kernel_of.get(finding.where)
            if kernel is None:
                costs[key] = 0.0
                continue
            better = replace(kernel, bytes=max(kernel.bytes - f["excess"] // scale * bpe, 0))
            if finding.guideline == "G2":
                k = f["kernel"]
                plain = kernel.op_class.endswith("_plain")
                kind = conv_class(f["in_channels"], f["out_channels"], k, 1)
                better = replace(better, op_class=kind + ("_plain" if plain else ""))
            evicted = estimate.evicted
            costs[key] = estimate.length * max(kernel_time(kernel, profile, evicted)
                                               - kernel_time(better, profile, evicted), 0.0)
        elif finding.guideline == "G3":
            costs[key] = _fragmentation(graph, finding, estimate, profile)
        else:
            kernel = kernel_of.get(finding.where)
            own = kernel is not None and kernel.members[0] == finding.where
            costs[key] = estimate.length * kernel_time(kernel, profile, estimate.evicted) if own else 0.0
    return costs


def _fragmentation(graph, finding, estimate, profile) -> float:
    from costcalc.analysis.guidelines import blocks

    block = next((b for b in blocks(graph) if b.name == finding.where and b.join == finding.figures["join"]), None)
    if block is None:
        return 0.0
    names = {graph.nodes[i].name for i in block.nodes}
    inside = [k for k in estimate.kernels if k.layer in names]
    overheads = sorted((profile.context * k.launches * profile[k.op_class].overhead_s for k in inside), reverse=True)
    moving = sum(kernel_time(k, profile, estimate.evicted)
                 - profile.context * k.launches * profile[k.op_class].overhead_s
                 for k in inside if k.op_class == "data_movement")
    return estimate.length * (sum(overheads[1:]) + moving)
