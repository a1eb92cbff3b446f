"""The ``taxledger`` command line: one click group, one module per command group.

Each module named in :data:`COMMAND_MODULES` imports :data:`main` and hangs its group or
command on it (``@main.group()``); it stays thin: it parses options and calls the library.
Commands of the developer tools (``taxledger bench``, ``taxledger contracts``) come from
outside the runtime package, through the :data:`COMMAND_ENTRY_POINTS` entry points.
"""

from __future__ import annotations

import importlib
import sys
from importlib.metadata import entry_points

import click

from ledger_node import __version__
from ledger_node.errors import Error

#: Modules under ``ledger_node.cli`` that each add their commands to :data:`main`.
COMMAND_MODULES = (
    "sample",
    "keys",
    "chain",
    "gateway",
    "verify",
    "keyring",
    "audit",
    "exchange",
    "risk",
    "demo",
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


#: Entry point group of commands that packages beside the runtime add to :data:`main`.
COMMAND_ENTRY_POINTS = "taxledger.commands"

# Imported last: each module needs ``main`` defined to register its commands on it.
for _name in COMMAND_MODULES:
    importlib.import_module(f"{__name__}.{_name}")
for _entry in entry_points(group=COMMAND_ENTRY_POINTS):
    main.add_command(_entry.load(), _entry.name)
