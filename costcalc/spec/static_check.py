"""The static check of a spec, before any walk: unknown ops and blocks, keys an op does not take, block arguments
that do not exist, `op:` and `block:` expressions, complementary `if:` pairs (warnings); every entry, blocks not
used included, with all errors reported together."""

from __future__ import annotations

from costcalc.errors import Collector, SpecError, did_you_mean, shown
from costcalc.ops import ALIASES, OPS
from costcalc.spec.choice import check_block_expression, check_op_expression
from costcalc.spec.lint import complementary_conditions
from costcalc.spec.model import Entry, Spec, auto_name

_OP_KEYS = {op: OPS[ALIASES.get(op, op)].args for op in [*OPS, *ALIASES]}  # what an `op:` expression may take


def check(spec: Spec, errors: Collector | None = None) -> None:
    """What can be checked before walking, for every entry of the spec (blocks not used included), all errors
    reported together: unknown ops and blocks, keys an op does not take, block arguments that do not exist.
    With `errors`, they are added to it (the spec reader's) instead of raised."""
    given = errors
    errors = errors if errors is not None else Collector()
    seen: set = set()
    spec.warnings = []

    def entries(items: list, where: str) -> None:
        if any(entry.cond is not None for entry in items):
            names = [entry.name or auto_name(entry, pos) for pos, entry in enumerate(items)]
            spec.warnings.extend(complementary_conditions(items, names, where))
        for pos, entry in enumerate(items):
            if id(entry) in seen:
                continue
            seen.add(id(entry))
            name = entry.name or auto_name(entry, pos)
            with errors.attempt():
                one(entry, f"{where}layer '{shown(name)}'")
            if entry.layers is not None:
                entries(entry.layers, where)

    def one(entry: Entry, where: str) -> None:
        if entry.op_expr:
            check_op_expression(entry, where, _OP_KEYS, errors)
        elif entry.op is not None:
            op = ALIASES.get(entry.op, entry.op)
            definition = OPS.get(op)
            if definition is None:
                hint = did_you_mean(entry.op, [*OPS, *ALIASES])
                if entry.op in spec.blocks:
                    hint = f" ('{entry.op}' is a block: write block: {entry.op})"
                raise SpecError(f"{where}: unknown op '{shown(entry.op)}'"
                                f"{hint or ' (known ops: ' + ', '.join(OPS) + ')'}", entry.op_loc)
            for key in entry.params:
                if key not in definition.keys:
                    known = ", ".join(definition.args) or "no arguments"
                    errors.add(SpecError(f"{where}: op '{op}' has no key '{shown(key)}'"
                                         f"{did_you_mean(key, definition.keys) or f' (it takes: {known})'}",
                                         entry.key_locs[key]))
        elif entry.block_expr:
            check_block_expression(entry, where, spec.blocks, errors, spec.vars)
        elif entry.block is not None:
            definition = spec.blocks.get(entry.block)
            if definition is None and entry.block in spec.invalid_blocks:
                return  # its own error is reported already
            if definition is None:
                hint = did_you_mean(entry.block, spec.blocks)
                if entry.block in OPS or entry.block in ALIASES:
                    hint = f" ('{entry.block}' is an op: write op: {entry.block})"
                raise SpecError(f"{where}: unknown block '{shown(entry.block)}'{hint}", entry.op_loc)
            for arg, value in {**entry.args, **entry.first}.items():
                if arg not in definition.args:
                    known = ", ".join(definition.args) or "none"
                    errors.add(SpecError(f"{where}: block '{entry.block}' has no argument '{shown(arg)}'"
                                         f"{did_you_mean(arg, definition.args) or f' (it takes: {known})'}", value.loc))

    entries(spec.layers, "")
    for block in spec.blocks.values():
        entries(block.layers, f"block '{block.name}': ")
    if given is None:
        errors.raise_any()
