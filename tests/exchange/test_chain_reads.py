"""The exchange's per-block caches on a real (embedded) chain: a fact verified once per block
and its ledger checks run again once the head moves, so a revocation counts from the next
block; a failed verification not remembered; each chain read of a snapshot made once,
however many threads ask for it together."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from functools import partial
from typing import Any

import pytest

from ledger_node.anchoring import attest_record
from ledger_node.bundle import ProofBundle
from ledger_node.chain.deploy import found_consortium
from ledger_node.chain.ledger import LedgerClient
from ledger_node.chain.rpc import Rpc, connect
from ledger_node.exchange.provider import ChainReads
from ledger_node.exchange.requester import BlockVerifiers
from ledger_node.records import samples
from ledger_node.records.schemas import TAX_RATING
from ledger_node.verify.errors import VerificationFailure
from ledger_node.waiting import Poll, WouldWait, holding, no_waiting

KEY = bytes(range(32))


@pytest.fixture
def ledger() -> tuple[LedgerClient, Any]:
    w3 = connect()
    consortium = found_consortium(Rpc(w3))
    return LedgerClient.from_deployment(w3, consortium.deployment), consortium


def _counted(make: Callable[[], ProofBundle]) -> tuple[Callable[[], ProofBundle], list[int]]:
    calls: list[int] = []

    def counted() -> ProofBundle:
        calls.append(1)
        return make()

    return counted, calls


def test_a_fact_is_verified_once_per_block_and_a_revocation_counts_from_the_next(
    ledger: tuple[LedgerClient, Any],
) -> None:
    client, consortium = ledger
    bureau = consortium.keys["tax-bureau"]
    sender = client.sender(bureau)
    (rating,) = samples.generate(TAX_RATING, 1, seed=3)
    bundle = attest_record(client, bureau, sender, TAX_RATING, rating, consortium_key=KEY)
    verifiers = BlockVerifiers(client, consortium.deployment, consortium_key=KEY, interval=0)
    make, calls = _counted(lambda: bundle)
    first = verifiers.verify_once(bundle.commitment, make)
    assert verifiers.verify_once(bundle.commitment, make) is first
    assert len(calls) == 1
    client.revoke(bureau, sender, uid=bundle.root, reason=b"\x01".rjust(32, b"\0"))
    with pytest.raises(VerificationFailure, match="revoked") as failure:
        verifiers.verify_once(bundle.commitment, make)
    assert failure.value.check == 8
    # The new block's verifier ran the ledger's checks on the bundle made before...
    assert len(calls) == 1
    # ...and, the fact having failed, the next try makes the bundle afresh.
    with pytest.raises(VerificationFailure, match="revoked"):
        verifiers.verify_once(bundle.commitment, make)
    assert len(calls) == 2


def test_a_failed_verification_is_not_remembered(ledger: tuple[LedgerClient, Any]) -> None:
    client, consortium = ledger
    bureau = consortium.keys["tax-bureau"]
    (rating,) = samples.generate(TAX_RATING, 1, seed=4)
    bundle = attest_record(
        client, bureau, client.sender(bureau), TAX_RATING, rating, consortium_key=KEY
    )
    changed = replace(bundle, salt=bytes(32))  # a salt that is not the committed one
    verifiers = BlockVerifiers(client, consortium.deployment, consortium_key=KEY)
    with pytest.raises(VerificationFailure, match="the salt is not the one committed") as failure:
        verifiers.verify_once(bundle.commitment, lambda: changed)
    assert failure.value.check == 2
    assert verifiers.verify_once(bundle.commitment, lambda: bundle).bundle is bundle


def test_threads_asking_a_snapshot_together_read_the_chain_once(
    ledger: tuple[LedgerClient, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    client, consortium = ledger
    bank = consortium.deployment.agency("bank").agency_id
    reads: list[int] = []
    real = client.agency
    gate = threading.Barrier(8)

    def agency(agency_id: int) -> Any:
        reads.append(agency_id)
        return real(agency_id)

    monkeypatch.setattr(client, "agency", agency)
    snapshot = ChainReads(client).latest()

    def ask(_: int) -> Any:
        gate.wait()
        return snapshot.agency(bank)

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(ask, range(8)))
    assert reads == [bank]
    assert {a.name for a in answers} == {"bank"}


def test_on_the_event_loop_a_read_not_cached_would_wait_and_changes_nothing(
    ledger: tuple[LedgerClient, Any],
) -> None:
    client, consortium = ledger
    bank = consortium.deployment.agency("bank").agency_id
    reads = ChainReads(client, interval=60)
    with no_waiting(), pytest.raises(WouldWait, match="eth_blockNumber"):
        reads.latest()
    snapshot = reads.latest()  # where waiting is allowed: asked
    with no_waiting():
        assert reads.latest() is snapshot
        with pytest.raises(WouldWait, match="eth_call"):
            snapshot.agency(bank)
    found = snapshot.agency(bank)
    assert found is not None and found.name == "bank"
    with no_waiting():
        assert snapshot.agency(bank) is found


def test_on_the_event_loop_a_verification_at_a_new_head_would_wait(
    ledger: tuple[LedgerClient, Any],
) -> None:
    client, consortium = ledger
    bureau = consortium.keys["tax-bureau"]
    attest = partial(attest_record, client, bureau, client.sender(bureau), TAX_RATING)
    first, second = samples.generate(TAX_RATING, 2, seed=5)
    bundle = attest(first, consortium_key=KEY)
    verifiers = BlockVerifiers(client, consortium.deployment, consortium_key=KEY, interval=0)
    make, calls = _counted(lambda: bundle)
    with no_waiting(), pytest.raises(WouldWait):
        verifiers.verify_once(bundle.commitment, make)  # the anchor is not read yet
    fact = verifiers.verify_once(bundle.commitment, make)
    attest(second, consortium_key=KEY)  # a new block
    with no_waiting(), pytest.raises(WouldWait):
        verifiers.verify_once(bundle.commitment, make)  # the new head is not read yet
    again = verifiers.verify_once(bundle.commitment, make)
    assert again is not fact and again.bundle is bundle
    assert len(calls) == 1  # the bundle's own checks were kept across the blocks


def test_a_lock_another_thread_holds_would_wait() -> None:
    lock = threading.Lock()
    taken, release = threading.Event(), threading.Event()

    def hold() -> None:
        with lock:
            taken.set()
            release.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    taken.wait(10)
    with (
        no_waiting(),
        pytest.raises(WouldWait, match="the verifier"),
        holding(lock, "the verifier"),
    ):
        pass
    release.set()
    with holding(lock, "the verifier"):  # where waiting is allowed: waits its turn
        assert lock.locked()
    holder.join()
    with no_waiting(), holding(lock, "the verifier"):  # free: taken without waiting
        assert lock.locked()


def test_on_the_event_loop_one_caller_looks_at_the_head_while_the_others_go_on() -> None:
    poll = Poll(1.0, "the chain head")
    assert poll.due()  # never looked: where waiting is allowed, look
    poll.looked()
    with no_waiting():
        assert not poll.due()
    time.sleep(1.1)
    with no_waiting():
        with pytest.raises(WouldWait, match="the chain head"):
            poll.due()  # the first past the interval is sent to look
        assert not poll.due()  # the others go on with what was seen
    assert poll.due()
    time.sleep(1.0)  # two intervals since it looked, and nobody did: all are sent
    with no_waiting(), pytest.raises(WouldWait):
        poll.due()
