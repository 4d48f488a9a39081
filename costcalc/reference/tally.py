"""What the reference ops actually did: multiply-adds performed and elements read and written, measured on the
arrays each op touched while it ran (never from costcalc.ops' formulas).

    with counting() as tally:
        y = conv2d(x, w, padding=1)
    tally.mult_adds, tally.read, tally.params_read, tally.written

Conventions of the measurement (the ones ShuffleNet V2's memory access cost assumes):
- mult_adds: for every matmul an op ran, the number of output elements times the length of the summed axis, taken
  from the shapes of the operands actually multiplied (zeros of a padded border included: they are multiplied).
- read: elements of the activation arrays an op was given, once per argument; params_read: elements of the
  learnable arrays (weights, biases, batchnorm scale and shift) it used; buffers_read: elements of non-learnable
  arrays (batchnorm running statistics), kept apart because the memory access convention counts parameters only.
- written: elements of the arrays an op returned. An op whose result is a view of its input (flatten) or its input
  itself (dropout at inference) wrote nothing and, since nothing had to be read to write it, read nothing.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np


@dataclass(eq=False)  # compared by identity: counting() removes exactly its own tally
class Tally:
    mult_adds: int = 0
    read: int = 0
    params_read: int = 0
    buffers_read: int = 0
    written: int = 0
    matmuls: int = 0
    arrays: list | None = None  # with counting(record=True): the parameter, then buffer, arrays each op used

    @property
    def memory_access(self) -> int:
        """Elements moved under the ShuffleNet V2 convention: inputs read + parameters read + outputs written."""
        return self.read + self.params_read + self.written


_ACTIVE: list = []


@contextmanager
def counting(record: bool = False):
    """Count what the reference ops do inside the block; tallies nest (an outer one sees the inner ops too).
    With `record`, the tally also keeps the parameter and buffer arrays the ops used, in the order each op names
    them (a conv's weight then bias; batchnorm's weight, bias, running mean, running variance)."""
    tally = Tally(arrays=[] if record else None)
    _ACTIVE.append(tally)
    try:
        yield tally
    finally:
        _ACTIVE.remove(tally)


def _add(field: str, n: int) -> None:
    for tally in _ACTIVE:
        setattr(tally, field, getattr(tally, field) + int(n))


def matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """np.matmul, counting its multiply-adds from the operands' shapes: out elements x the summed length."""
    out = np.matmul(a, b)
    matmul_done(out.size * a.shape[-1])
    return out


def matmul_done(mult_adds: int) -> None:
    """Count one (batched) matmul of `mult_adds` multiply-adds that an op ran in slices of its own."""
    if _ACTIVE:
        _add("mult_adds", mult_adds)
        _add("matmuls", 1)


def touched(inputs=(), outputs=(), params=(), buffers=()) -> None:
    """Record the arrays an op read and wrote. An output that shares memory with an input is a relabelling of
    it: nothing was written, and the input it relabels was not read."""
    if not _ACTIVE:
        return
    inputs = [x for x in inputs if x is not None]
    outputs = [y for y in outputs if y is not None]
    moved = [y for y in outputs if not any(np.shares_memory(y, x) for x in inputs)]
    if not moved and outputs:
        return
    _add("read", sum(x.size for x in inputs))
    _add("params_read", sum(p.size for p in params if p is not None))
    _add("buffers_read", sum(b.size for b in buffers if b is not None))
    _add("written", sum(y.size for y in moved))
    for tally in _ACTIVE:
        if tally.arrays is not None:
            tally.arrays.extend(a for a in (*params, *buffers) if a is not None)
