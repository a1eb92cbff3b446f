"""Where the taxledger checkout is: the folder with ``contracts/`` and ``node_modules/``.

The runtime needs it only for what npm installs beside the package on a development machine
(anvil, Hardhat); the developer tools for the Solidity sources and compilers. One function
finds it for all of them.
"""

from __future__ import annotations

from pathlib import Path

from ledger_node.errors import ConfigurationError

#: The file that marks a checkout.
_MARKER = Path("contracts") / "compiler.json"


def project_root(start: Path | None = None) -> Path:
    """The checkout: ``start`` or the nearest folder above it holding ``contracts/compiler.json``;
    without ``start``, the folder this package is installed from (an editable install from a
    checkout), else the nearest such folder above the current directory."""
    if start is not None:
        candidates = [start.resolve()]
    else:
        candidates = [Path(__file__).resolve().parent.parent, Path.cwd().resolve()]
    for first in candidates:
        for folder in (first, *first.parents):
            if (folder / _MARKER).is_file():
                return folder
    raise ConfigurationError(
        f"no taxledger checkout (a folder with {_MARKER}) at or above {candidates[-1]}; run "
        "this from a checkout"
    )
