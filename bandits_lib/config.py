"""One switch for the scale of every experiment in the book.

The book is built at full scale. Tests (and impatient readers) set the environment
variable ``BANDITS_SMOKE=1`` to shrink horizons, seeds and grids to toy size, so that
every notebook still runs top to bottom in seconds. The variable is read here, once;
notebooks and library code ask :func:`scaled` instead of reading the environment.

Taught in: chapters/00_intro (how to run the book).
"""

from __future__ import annotations

import os
from typing import TypeVar

T = TypeVar("T")

#: ``True`` when the environment asks for smoke-test scale (``BANDITS_SMOKE=1``).
SMOKE: bool = os.environ.get("BANDITS_SMOKE", "").strip().lower() in {"1", "true", "yes"}


def scaled(full: T, smoke: T) -> T:
    """Return ``smoke`` under smoke-test scale and ``full`` otherwise.

    Examples
    --------
    >>> scaled(40_000, 400) in (40_000, 400)
    True
    """
    return smoke if SMOKE else full
