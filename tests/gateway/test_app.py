"""The process a gateway is served from: start-up objects frozen out of the collector's
scans, a short GIL switch interval."""

from __future__ import annotations

import subprocess
import sys

_PROGRAM = """
import gc, sys
from gateway.app import SWITCH_INTERVAL, settle_process
assert gc.get_freeze_count() == 0 and sys.getswitchinterval() != SWITCH_INTERVAL
settle_process()
print(gc.get_freeze_count(), sys.getswitchinterval() == SWITCH_INTERVAL)
"""


def test_settle_process_freezes_what_exists_and_shortens_the_switch_interval() -> None:
    done = subprocess.run(
        [sys.executable, "-c", _PROGRAM], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    frozen, switch = done.stdout.split()
    assert int(frozen) > 10_000  # the gateway's modules and everything they built
    assert switch == "True"
