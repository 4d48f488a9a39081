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
