"""Measurements behind the figures in the README: each prints what it measured, nothing is
assumed. ``taxledger bench`` runs them side by side on one node."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def inputs_set_aside() -> Iterator[None]:
    """Keep the garbage collector off every object that exists now (the benchmark's inputs,
    an embedded chain, earlier phases' results) while the measured code runs.

    Otherwise each full collection walks them all again, and the measured cost depends on
    how much the harness happens to hold, not on the code: a verifier in a fresh process
    holds only its own objects.
    """
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()
