"""Small helpers shared by several layers."""

from __future__ import annotations

import gc
from contextlib import contextmanager


@contextmanager
def gc_paused():
    """Pause the cyclic garbage collector while building many small acyclic objects: its full collections would
    otherwise make the walk and the analysis of a large network quadratic in its number of layers.

    Afterwards the objects made meanwhile go to the oldest generation at once (gc.freeze then gc.unfreeze, which
    move lists, not objects): left in the youngest, each of the next young collections would traverse them all
    (a tenth of a 20,000-layer report's time). They stay collectable by a full collection. Skipped when the
    program froze objects of its own, which unfreezing would release."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            if not gc.get_freeze_count():
                gc.freeze()
                gc.unfreeze()
            gc.enable()


def frozen(value):
    """A hashable key for a value of the spec language (numbers, bools, text, lists, mappings of them); the type is
    part of it, since 2 and 2.0 may print differently."""
    kind = type(value)
    if kind is int or kind is str or kind is float or kind is bool:
        return kind, value
    if isinstance(value, dict):
        return tuple([(name, frozen(v)) for name, v in value.items()])
    if isinstance(value, (list, tuple)):
        return tuple([frozen(v) for v in value])
    return kind, value
