"""costcalc.util.gc_paused: the collector paused, then what was made meanwhile moved to the oldest generation
(still collectable), and a program's own frozen objects left frozen."""

from __future__ import annotations

import gc

from costcalc.util import gc_paused


class Cycle:
    def __init__(self):
        self.me = self


def test_objects_made_in_a_pause_go_to_the_oldest_generation_and_stay_collectable():
    assert gc.isenabled() and not gc.get_freeze_count()
    with gc_paused():
        assert not gc.isenabled()
        made = [object(), [1, 2], {"a": [3]}]
    assert gc.isenabled()
    oldest = {id(o) for o in gc.get_objects(generation=2)}
    assert all(id(o) in oldest for o in made[1:])  # the list and the dict are tracked, now in generation 2
    Cycle()  # garbage in a cycle, made in no pause: a full collection frees it, as any other
    with gc_paused():
        Cycle()
    assert gc.collect() >= 2


def test_a_program_that_froze_its_objects_keeps_them_frozen():
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        with gc_paused():
            [object() for _ in range(10)]
        assert gc.get_freeze_count() == frozen and gc.isenabled()
    finally:
        gc.unfreeze()


def test_nested_pauses_resume_collecting_once_at_the_end():
    with gc_paused():
        with gc_paused():
            pass
        assert not gc.isenabled()
    assert gc.isenabled()
