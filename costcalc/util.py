"""Small helpers shared by several layers."""

from __future__ import annotations

import gc
from contextlib import contextmanager


@contextmanager
def gc_paused():
    """Pause the cyclic garbage collector while building many small acyclic objects: its full collections would
    otherwise make the walk and the analysis of a large network quadratic in its number of layers."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()


def frozen(value):
    """A hashable key for a value of the spec language (numbers, bools, text, lists, mappings of them); the type is
    part of it, since 2 and 2.0 may print differently."""
    if isinstance(value, dict):
        return tuple((name, frozen(v)) for name, v in value.items())
    if isinstance(value, (list, tuple)):
        return tuple(frozen(v) for v in value)
    return type(value), value
