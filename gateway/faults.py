"""Crash points for fault-injection tests: the gateway kills itself at a named step.

Crash recovery is only as good as the instants it was tried at. A test sets
``TAXLEDGER_GATEWAY_CRASH_AT`` to one of :data:`CRASH_POINTS` for a gateway process; that
process (or a preparation worker it starts) SIGKILLs itself the first time it reaches that
step (no shutdown code runs, as in a power cut of the process), and the test restarts it
without the variable. Unset, as in any
real deployment, a crash point costs one comparison.
"""

from __future__ import annotations

import os
import signal
from typing import Final

ENV: Final = "TAXLEDGER_GATEWAY_CRASH_AT"
CRASH_POINTS: Final = frozenset(
    {
        "batch-saved",  # a batch and its signed transaction are stored, nothing sent
        "batch-sent",  # the transaction is with the node, its receipt not yet seen
        "batch-mined",  # its receipt is seen, the outbox not yet told
        "revocation-saved",  # a revocation's signed transaction is stored, nothing sent
        "revocation-sent",  # the revocation is with the node, its receipt not yet seen
        "worker-chunk-sent",  # a preparation worker sent a chunk of a bulk request, not its last
        "disclosure-recorded",  # an exchange answer and its disclosure record are committed,
        # the answer not yet sent
    }
)
_CHOSEN = os.environ.get(ENV)
if _CHOSEN is not None and _CHOSEN not in CRASH_POINTS:
    raise RuntimeError(f"{ENV}={_CHOSEN!r} is not one of {', '.join(sorted(CRASH_POINTS))}")


def crash_point(name: str) -> None:
    """SIGKILL this process if ``name`` is the crash point chosen for it."""
    if name == _CHOSEN:
        os.kill(os.getpid(), signal.SIGKILL)
