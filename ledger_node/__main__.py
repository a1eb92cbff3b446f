"""``python -m ledger_node`` runs the ``taxledger`` command line."""

from ledger_node.cli import run

run()
