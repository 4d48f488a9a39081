"""What a layer entry calls, checked before the walker expands it: the op (with its number of inputs and its
keys) or the block (with its arguments, and no recursion or runaway nesting), each fault a located SpecError."""

from __future__ import annotations

from costcalc.errors import SpecError, did_you_mean
from costcalc.ops import ALIASES, OPS
from costcalc.spec.model import Entry

MAX_NESTING = 48  # blocks inside blocks


def op_call(entry: Entry, op: str, blocks: dict, n_inputs: int, where: str) -> tuple:
    """(op, its definition in costcalc.ops.OPS) for an entry naming `op` (an alias resolved) with `n_inputs`."""
    op = ALIASES.get(op, op)
    definition = OPS.get(op)
    if definition is None:
        hint = did_you_mean(entry.op, [*OPS, *ALIASES])
        if entry.op in blocks:
            hint = f" ('{entry.op}' is a block: write block: {entry.op})"
        raise SpecError(f"{where}: unknown op '{entry.op}'{hint or ' (known ops: ' + ', '.join(OPS) + ')'}",
                        entry.op_loc)
    low, high = definition.min_inputs, definition.max_inputs
    if n_inputs < low or (high is not None and n_inputs > high):
        wanted = (f"{low}" if high == low else f"at least {low}" if high is None else f"{low} to {high}")
        raise SpecError(f"{where}: {op} takes {wanted} input(s), got {n_inputs}", entry.sources_loc or entry.loc)
    for key, value in entry.params.items():
        if key not in definition.keys:
            known = ", ".join(definition.args) or "no arguments"
            raise SpecError(f"{where}: op '{op}' has no key '{key}'"
                            f"{did_you_mean(key, definition.keys) or f' (it takes: {known})'}", entry.key_locs[key])
    return op, definition


def block_call(entry: Entry, blocks: dict, active: list, repetition: int, where: str) -> tuple:
    """(the BlockDef, the arguments given to it: name -> Value) for an entry calling a block inside the blocks
    `active` (outermost first), at `repetition` (`first:` arguments apply to repetition 0)."""
    definition = blocks.get(entry.block)
    if definition is None:
        hint = did_you_mean(entry.block, blocks)
        if entry.block in OPS or entry.block in ALIASES:
            hint = f" ('{entry.block}' is an op: write op: {entry.block})"
        raise SpecError(f"{where}: unknown block '{entry.block}'{hint}", entry.op_loc)
    if entry.block in active:
        raise SpecError(f"{where}: block '{entry.block}' uses itself: blocks may not recurse", entry.op_loc)
    if len(active) >= MAX_NESTING:
        raise SpecError(f"{where}: blocks nested deeper than {MAX_NESTING}", entry.op_loc)
    given = dict(entry.args)
    if repetition == 0:
        given.update(entry.first)
    for arg, value in given.items():
        if arg not in definition.args:
            known = ", ".join(definition.args) or "none"
            raise SpecError(f"{where}: block '{entry.block}' has no argument '{arg}'"
                            f"{did_you_mean(arg, definition.args) or f' (it takes: {known})'}", value.loc)
    return definition, given
