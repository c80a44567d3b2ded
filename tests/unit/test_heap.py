"""The app's heap policy (turktui/ui/heap.py): what `hold()` keeps out of the GC's scans,
`listing_done()` frees once the load is over."""

from __future__ import annotations

import gc
import weakref

import pytest

from turktui.ui import heap

pytestmark = pytest.mark.real_heap


class _Node:
    other: object = None


def test_a_cycle_held_through_a_load_is_freed_when_the_load_is_done() -> None:
    node = _Node()
    node.other = node  # a cycle: only the cyclic GC frees it
    gone = weakref.ref(node)
    try:
        heap.hold()
        del node
        gc.collect()
        assert gone() is not None, "held: the full collection did not look at it"
        heap.listing_done()
        assert gone() is None, "the load is done: the cycle the hold kept is freed"
    finally:
        gc.unfreeze()  # leave the worker's GC as it was
