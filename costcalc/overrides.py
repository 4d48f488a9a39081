"""What --set and --input did to a spec that no longer reads: the error names the option that caused it.

    specs/resnet50.yaml:17:38: error: layer 'layer1.0.conv1': 'out' must be at least 1, not 0 (from --set groups=0)

An error is the options' when the spec reads without them; the culprit is each option that alone makes it fail
(all of them together when none does alone). Only on the error path: a spec that reads costs nothing more.
"""

from __future__ import annotations

from costcalc.errors import SpecError, SpecErrors


def _fails(load, overrides: dict, shape) -> bool:
    try:
        load(overrides, shape)
    except SpecError:
        return True
    return False


def blame(error: SpecError, load, overrides: dict, shape, input_text: str | None) -> SpecError:
    """`error` with ' (from --set NAME=VALUE, ...)' on each of its lines when --set / --input caused it; `load(
    overrides, shape)` reads the spec again."""
    if "--set " in error.message or "--input" in error.message or _fails(load, {}, None):
        return error  # it names its option already, or the spec fails on its own
    culprits = [f"--set {name}={value}" for name, value in overrides.items() if _fails(load, {name: value}, None)]
    if shape is not None and _fails(load, {}, shape):
        culprits.append(f"--input {input_text}")
    if not culprits:
        culprits = [f"--set {n}={v}" for n, v in overrides.items()] + ([f"--input {input_text}"] if shape else [])
    suffix = f" (from {', '.join(culprits)})"
    errors = error.errors if isinstance(error, SpecErrors) else [error]
    blamed = [SpecError(e.message + suffix, e.loc) for e in errors]
    return SpecErrors(blamed) if isinstance(error, SpecErrors) else blamed[0]
