"""A monotonic clock a test moves forward from outside the process (the Django shop's).

``BREAKERS_CLOCK = "tests.browser.offset_clock.clock"``: ``time.monotonic()`` plus
the seconds written in the file named by ``BREAKERPANEL_TEST_CLOCK_OFFSET``.
"""

from __future__ import annotations

import os
import time
from pathlib import Path


def clock() -> float:
    """``time.monotonic()`` plus the offset the test wrote."""
    text = Path(os.environ["BREAKERPANEL_TEST_CLOCK_OFFSET"]).read_text()
    return time.monotonic() + float(text or 0)
