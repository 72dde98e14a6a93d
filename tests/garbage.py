"""``no_cyclic_garbage()``: fails if a block leaves objects only the cyclic collector frees.

An exception that refers, through its traceback, to a frame that refers back
to it (a local still naming it) is a reference cycle: reference counting
cannot free it, only Python's cyclic garbage collector, whose full
collections stop the whole process. The tests of refused and failed calls
(the engine's, the HTTP guards') run them inside this block.

Only cycles made of objects the block created count: every object alive before
the block is held until the check is done, so what earlier tests left to be
freed (another test's metrics, dropped while the block runs) cannot turn up.
"""

from __future__ import annotations

import collections
import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def no_cyclic_garbage() -> Iterator[None]:
    """Run the block with the collector off and saving what it finds, then collect: none.

    Raises:
        AssertionError: the block left reference cycles (their types, most common first).
    """
    gc.collect()
    before = gc.get_objects()  # held: none of these can become garbage in the block
    gc.set_debug(gc.DEBUG_SAVEALL)
    gc.disable()
    try:
        yield
        gc.collect()
        kinds = collections.Counter(type(found).__qualname__ for found in gc.garbage)
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        del before
        gc.enable()
    gc.collect()  # what the block left, now without DEBUG_SAVEALL
    assert not kinds, f"reference cycles left by the calls: {kinds.most_common(8)}"
