"""The generic tensor layer, part one: rearranging tensors of any rank (views and copies).

Shapes are per sample (the batch is never part of them), of any rank. Axes are numbered as the frameworks number
them, the batch being axis 0: on N x C x H x W, `axis: 1` is the channels and `axis: -1` the width. An op may not
name the batch axis. A `reshape` target is per sample, like a spec's `input:` (the batch is never written).

A view relabels memory and moves nothing (reshape, and a permute or slice that keeps the elements where they are);
a copy reads its input and writes its output (a permute that reorders elements, expand, tile); a gather or a
strided slice reads only the elements it picks. The generic accounting in `core.account` does the rest.
"""

from __future__ import annotations

from math import prod

from costcalc.ops.core import OpError, OpResult, fmt

MAX_RANK = 8  # dims per sample: ONNX graphs of vision models use up to 6 (Swin's window partition)


def axis_index(axis: int, x: tuple, key: str = "axis") -> int:
    """The per-sample index of framework axis `axis` (the batch is axis 0; negative axes count from the end)."""
    rank = len(x) + 1
    a = axis + rank if axis < 0 else axis
    if a == 0:
        raise OpError(f"{key}={axis} is the batch axis: costcalc's ops work within each sample", key)
    if not 0 < a < rank:
        raise OpError(f"{key}={axis} is outside a tensor of shape N x {fmt(x)} (axes -{rank} to {rank - 1})", key)
    return a - 1


def axes_indices(axes, x: tuple, key: str = "axes") -> tuple:
    """Per-sample indices of `axes` (all of a sample's axes when None), each once."""
    if axes is None:
        return tuple(range(len(x)))
    found = tuple(sorted(axis_index(a, x, key) for a in axes))
    if len(set(found)) != len(found):
        raise OpError(f"{key} {list(axes)} names an axis twice", key)
    return found


def _checked(shape: tuple, op: str) -> tuple:
    if len(shape) > MAX_RANK:
        raise OpError(f"{op} gives a tensor of {len(shape)} dims per sample, beyond the limit of {MAX_RANK}")
    return shape


def reshape(x, shape) -> OpResult:
    """A new shape of the same elements in the same order (torch's view / reshape, ONNX's Reshape, Flatten,
    Squeeze and Unsqueeze): a view. `shape` is per sample; one -1 takes what is left."""
    target = list(shape)
    free = [i for i, d in enumerate(target) if d == -1]
    if len(free) > 1:
        raise OpError(f"shape {target} has more than one -1", "shape")
    if any(d < 1 and d != -1 for d in target):
        raise OpError(f"shape {target}: each size is at least 1, or -1 for what is left", "shape")
    total, known = prod(x), prod(d for d in target if d != -1)
    if free:
        if total % known:
            raise OpError(f"shape {target} cannot hold the {total:,} elements of {fmt(x)}", "shape")
        target[free[0]] = total // known
    if prod(target) != total:
        raise OpError(f"shape {target} holds {prod(target):,} elements, not the {total:,} of {fmt(x)}", "shape")
    return OpResult(outputs=(_checked(tuple(target), "reshape"),), moves_data=False)


def permute(x, perm) -> OpResult:
    """Axes reordered (torch's permute / transpose, ONNX's Transpose); `perm` names every axis, the batch (0)
    first. A copy, unless it moves only axes of size 1 (then the elements keep their order: a view)."""
    perm = list(perm)
    if sorted(perm) != list(range(len(x) + 1)):
        raise OpError(f"perm {perm} is not an order of the {len(x) + 1} axes of N x {fmt(x)}", "perm")
    if perm[0] != 0:
        raise OpError(f"perm {perm} moves the batch axis: costcalc's ops keep it first", "perm")
    order = [p - 1 for p in perm[1:]]
    out = tuple(x[i] for i in order)
    kept = [i for i in order if x[i] != 1]
    return OpResult(outputs=(out,), moves_data=kept != sorted(kept))


def expand(x, shape) -> OpResult:
    """Broadcast to `shape` (per sample; torch's expand, ONNX's Expand): each output element written."""
    if len(shape) > len(x):
        raise OpError(f"expand of {fmt(x)} to {fmt(shape)} would add axes before the batch: reshape first", "shape")
    return OpResult(outputs=(broadcast(x, constants=(tuple(shape),)),))


def tile(x, repeats) -> OpResult:
    """Each axis repeated `repeats[i]` times (per sample)."""
    if len(repeats) != len(x):
        raise OpError(f"repeats {list(repeats)} for a tensor of {len(x)} dims per sample ({fmt(x)})", "repeats")
    return OpResult(outputs=(tuple(d * r for d, r in zip(x, repeats)),))


def gather(x, axis, index=()) -> OpResult:
    """Elements picked along `axis` by a fixed index tensor of shape `index` ([] for one index, which removes the
    axis): torch's x[:, i], index_select and embedding-style look-ups. A copy of the elements it picks (it reads
    those, not the whole input); the index is a buffer."""
    a = axis_index(axis, x)
    out = _checked((*x[:a], *index, *x[a + 1:]), "gather")
    return OpResult(outputs=(out,), read=prod(out))


def slice_(x, out, start=0, axis=1, step=1) -> OpResult:
    """`out` elements along `axis` from `start`, every `step`-th (x[:, start:start + out * step:step]). A view when
    it takes a contiguous block of each sample (every axis before it of size 1 and step 1, as GhostNet's
    out[:, :oup], or the whole axis); otherwise a copy, which reads the elements it takes and writes them."""
    a = axis_index(axis, x)
    if start + (out - 1) * step + 1 > x[a]:
        if a == 0 and step == 1:
            raise OpError(f"slice of channels {start} to {start + out - 1} beyond in_channels={x[0]}", "out")
        raise OpError(f"slice of {out} from {start} every {step} goes beyond size {x[a]} of axis {axis}", "out")
    contiguous = (step == 1 or out == 1) and (prod(x[:a]) == 1 or out == x[a])
    y = (*x[:a], out, *x[a + 1:])
    return OpResult(outputs=(y,), moves_data=not contiguous, read=prod(y))


def depth_to_space(x, blocksize) -> OpResult:
    """C x H x W -> C/b^2 x bH x bW (pixel shuffle): a copy."""
    if len(x) != 3 or x[0] % (blocksize * blocksize):
        raise OpError(f"depth_to_space by {blocksize} needs C x H x W with C divisible by {blocksize ** 2}, not "
                      f"{fmt(x)}", "blocksize")
    return OpResult(outputs=((x[0] // blocksize ** 2, x[1] * blocksize, x[2] * blocksize),))


def space_to_depth(x, blocksize) -> OpResult:
    """C x H x W -> b^2 C x H/b x W/b (pixel unshuffle): a copy."""
    if len(x) != 3 or x[1] % blocksize or x[2] % blocksize:
        raise OpError(f"space_to_depth by {blocksize} needs C x H x W with H and W divisible by {blocksize}, not "
                      f"{fmt(x)}", "blocksize")
    return OpResult(outputs=((x[0] * blocksize ** 2, x[1] // blocksize, x[2] // blocksize),))


def broadcast(*shapes, constants=()) -> tuple:
    """numpy's broadcasting of per-sample shapes. The tensors of the network (`shapes`) have the same rank: each
    keeps its batch first, so a lower rank would put its batch against another's channels (numpy aligns the last
    axes). A constant or learned operand (`constants`) has no batch: it aligns at the last axis, at most as many."""
    rank = len(shapes[0]) if shapes else max(len(s) for s in constants)
    if any(len(s) != rank for s in shapes):
        raise OpError("tensors of " + ", ".join(f"N x {fmt(s)}" for s in shapes) + " differ in rank: reshape one "
                      "first (their batches must align)")
    if any(len(s) > rank for s in constants):
        raise OpError("a constant operand of " + ", ".join(fmt(s) for s in constants if len(s) > rank)
                      + f" has more axes than the tensor N x {fmt(shapes[0])} per sample")
    out = []
    for i in range(rank):
        sizes = {s[len(s) - rank + i] for s in (*shapes, *constants) if len(s) - rank + i >= 0} - {1}
        if len(sizes) > 1:
            raise OpError("shapes " + ", ".join(fmt(s) for s in (*shapes, *constants)) + " do not broadcast")
        out.append(sizes.pop() if sizes else 1)
    return tuple(out)
