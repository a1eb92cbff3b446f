"""The ``taxledger`` command line: one click group, one module per command group.

Each module named in :data:`COMMAND_MODULES` imports :data:`main` and hangs its group or
command on it (``@main.group()``); it stays thin: it parses options and calls the library.
"""

from __future__ import annotations

import importlib
import sys

import click

from ledger_node import __version__
from ledger_node.errors import Error

#: Modules under ``ledger_node.cli`` that each add their commands to :data:`main`.
COMMAND_MODULES = (
    "sample",
    "contracts",
    "keys",
    "chain",
    "gateway",
    "verify",
    "audit",
    "demo",
    "bench",
    "kit",
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="taxledger")
def main() -> None:
    """taxledger: a permissioned ledger of hashed tax, bank and market-regulation facts."""


def run() -> None:
    """Entry point: a taxledger error becomes one clear line on stderr and exit status 2."""
    try:
        main(standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(1)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except Error as exc:
        click.echo(f"error: {exc.diagnostics()}", err=True)
        sys.exit(2)


# Imported last: each module needs ``main`` defined to register its commands on it.
for _name in COMMAND_MODULES:
    importlib.import_module(f"{__name__}.{_name}")
