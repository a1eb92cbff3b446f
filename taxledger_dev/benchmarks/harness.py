"""What every benchmark needs around the code it measures: a founded ledger to write to, and
a garbage collector that leaves the harness's own objects alone."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from web3 import Web3

from ledger_node.chain.deploy import FoundedConsortium, found_consortium
from ledger_node.chain.ledger import LedgerClient
from ledger_node.chain.rpc import EMBEDDED, Rpc, connect
from ledger_node.keys import LocalKey
from ledger_node.records import schemas


@dataclass(frozen=True)
class BenchLedger:
    """A freshly founded consortium ledger and the tax bureau that writes to it."""

    w3: Web3
    rpc: Rpc
    consortium: FoundedConsortium
    ledger: LedgerClient
    tax: LocalKey


def found_bench_ledger(url: str = EMBEDDED) -> BenchLedger:
    """Found the standard consortium on the node at ``url`` (or the embedded chain)."""
    w3 = connect(url)
    rpc = Rpc(w3)
    consortium = found_consortium(rpc)
    ledger = LedgerClient.from_deployment(w3, consortium.deployment)
    return BenchLedger(w3, rpc, consortium, ledger, consortium.keys["tax-bureau"])


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


#: Share of each schema in the mix: invoices dominate, then their payments.
MIX = {
    schemas.INVOICE_ISSUED: 70,
    schemas.PAYMENT_SETTLED: 22,
    schemas.REGISTRATION_STATUS: 4,
    schemas.TAX_RATING: 2,
    schemas.BANK_DECISION: 2,
}
#: The same traffic in the v2 schemas, with the new low-volume facts among it.
MIX_V2 = {
    schemas.INVOICE_ISSUED_V2: 68,
    schemas.PAYMENT_SETTLED_V2: 22,
    schemas.REGISTRATION_STATUS: 3,
    schemas.TAX_RATING: 1,
    schemas.BANK_DECISION_V2: 1,
    schemas.TAX_STATUS: 1,
    schemas.TAX_DECLARATION: 2,
    schemas.CONSENT_GRANTED: 1,
    schemas.DISCLOSURE_MADE: 1,
}
