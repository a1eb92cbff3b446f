"""Bad requests to a provider's gateway get a 4xx with their reason and disclose nothing;
a provider killed between recording a disclosure and answering loses no record and
discloses nothing twice when the request is retried."""

from __future__ import annotations

import json
import random
import sqlite3
import time
from dataclasses import replace
from typing import Any

import httpx
import pytest
from exchange_harness import Exchange, rating_with_consent
from gateway_harness import GatewayProcess, wait_for

from ledger_node.chain.governance import Action, Governance
from ledger_node.eip712 import ExchangeRequest
from ledger_node.exchange.messages import SignedExchange
from ledger_node.exchange.requester import open_answer
from ledger_node.purposes import Purpose
from ledger_node.verify.verifier import Verifier

RATING = ["credit.tax-rating/v1"]


@pytest.fixture(scope="module")
def consented(exchange: Exchange) -> tuple[str, bytes]:
    uscc, _, _, consent = rating_with_consent(exchange, 11)
    return uscc, bytes.fromhex(consent[2:])


def send(gateway: GatewayProcess, body: Any) -> httpx.Response:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return gateway.client.post(
        "/v1/exchange/requests", content=content, headers={"Content-Type": "application/json"}
    )


def disclosures(gateway: GatewayProcess) -> list[str]:
    """The ids of the disclosure records in the outbox, read with plain SQL."""
    with sqlite3.connect(f"file:{gateway.database}?mode=ro", uri=True) as conn:
        code = conn.execute("SELECT code FROM schemas WHERE name = 'disclosure.made/v1'").fetchone()
        if code is None:
            return []
        rows = conn.execute(
            "SELECT id FROM records WHERE seq >> 40 = ? ORDER BY seq", (code[0],)
        ).fetchall()
    return [row[0] for row in rows]


def rating_request(exchange: Exchange, uscc: str, consent: bytes) -> SignedExchange:
    """The bank's request for the rating of ``uscc``, citing ``consent``."""
    return exchange.sign(
        "bank", "tax-bureau", uscc, RATING, Purpose.CREDIT_ASSESSMENT, consent=consent
    )


def resign(
    exchange: Exchange, signed: SignedExchange, request: ExchangeRequest, key: str
) -> dict[str, Any]:
    signature = exchange.chain.consortium.keys[key].sign_digest(
        exchange.domain.digest(request.struct_hash())
    )
    return replace(signed, request=request, signature=signature).to_dict()


def test_every_bad_request_is_refused_with_its_reason(
    exchange: Exchange, consented: tuple[str, bytes]
) -> None:
    uscc, consent = consented
    tax = exchange.gateways["tax-bureau"]
    before = disclosures(tax)
    signed = rating_request(exchange, uscc, consent)
    good = signed.to_dict()
    request = signed.request
    unsigned = dict(good, signature="0x")
    cases: list[tuple[str, Any, int, str]] = [
        ("not JSON", b"{not json", 400, "malformed_request"),
        ("a list", [], 400, "malformed_request"),
        ("unsigned", unsigned, 401, "bad_signature"),
        (
            "signed by the regulator",
            resign(exchange, signed, request, "market-regulator"),
            401,
            "bad_signature",
        ),
        (
            "another schema, old signature",
            {**good, "request": {**good["request"], "schemas": ["tax.status/v1"]}},
            401,
            "bad_signature",
        ),
        (
            "an unknown requester",
            resign(exchange, signed, replace(request, requester=99), "bank"),
            403,
            "unknown_requester",
        ),
        (
            "another provider",
            resign(exchange, signed, replace(request, provider=2), "bank"),
            400,
            "wrong_provider",
        ),
        (
            "past its deadline",
            resign(exchange, signed, replace(request, deadline=int(time.time()) - 5), "bank"),
            400,
            "deadline_passed",
        ),
        (
            "a policy that denies",
            exchange.sign(
                "bank", "tax-bureau", uscc, ["tax.declaration/v1"], Purpose.CREDIT_ASSESSMENT
            ).to_dict(),
            403,
            "policy_denies",
        ),
        (
            "no consent",
            exchange.sign("bank", "tax-bureau", uscc, RATING, Purpose.CREDIT_ASSESSMENT).to_dict(),
            403,
            "consent_missing",
        ),
        (
            "an unknown consent",
            exchange.sign(
                "bank",
                "tax-bureau",
                uscc,
                RATING,
                Purpose.CREDIT_ASSESSMENT,
                consent=bytes(31) + b"\x01",
            ).to_dict(),
            403,
            "consent_missing",
        ),
        (
            "another taxpayer's consent",
            exchange.sign(
                "bank",
                "tax-bureau",
                "91310110666007217T",
                RATING,
                Purpose.CREDIT_ASSESSMENT,
                consent=consent,
            ).to_dict(),
            403,
            "consent_not_covering",
        ),
        ("oversized", b'{"format": "' + b"x" * 70_000 + b'"}', 413, "request_too_large"),
    ]
    for what, body, status, code in cases:
        response = send(tax, body)
        assert (response.status_code, response.json()["error"]["code"]) == (status, code), what
    # The signed request itself is answered; its nonce used with another request is refused.
    assert send(tax, good).status_code == 200
    replayed = resign(exchange, signed, replace(request, deadline=request.deadline - 1), "bank")
    response = send(tax, replayed)
    assert (response.status_code, response.json()["error"]["code"]) == (409, "nonce_replayed")
    assert len(disclosures(tax)) == len(before) + 1


def test_fuzzed_requests_get_4xx_and_disclose_nothing_new(
    exchange: Exchange, consented: tuple[str, bytes]
) -> None:
    uscc, consent = consented
    tax = exchange.gateways["tax-bureau"]
    before = disclosures(tax)
    good = json.dumps(rating_request(exchange, uscc, consent).to_dict()).encode()
    answered = send(tax, good)
    assert answered.status_code == 200
    rng = random.Random(16)
    statuses = set()
    for _ in range(300):
        body = bytearray(good)
        for _ in range(rng.randrange(1, 4)):
            body[rng.randrange(len(body))] = rng.randrange(256)
        response = send(tax, bytes(body))
        statuses.add(response.status_code)
        # A byte changed without changing the request (hex in upper case, other blanks) is
        # the same signed request: its stored answer, nothing disclosed anew.
        assert 400 <= response.status_code < 500 or response.content == answered.content, (
            bytes(body),
            response.text,
        )
    assert len(disclosures(tax)) == len(before) + 1
    assert {400, 401} <= statuses


def test_a_provider_killed_before_answering_keeps_one_disclosure(
    exchange: Exchange, consented: tuple[str, bytes]
) -> None:
    uscc, consent = consented
    tax = exchange.gateways["tax-bureau"]
    signed = rating_request(exchange, uscc, consent)
    before = disclosures(tax)
    tax.stop()
    tax.start(crash_at="disclosure-recorded")
    with pytest.raises(httpx.TransportError):
        send(tax, signed.to_dict())
    assert tax.wait_exit(30, "the gateway to kill itself") == -9
    tax.start()
    # The record was committed with the answer, before the gateway died.
    (added,) = [d for d in disclosures(tax) if d not in before]
    first = send(tax, signed.to_dict())
    again = send(tax, signed.to_dict())
    assert first.status_code == again.status_code == 200
    assert first.content == again.content
    assert [d for d in disclosures(tax) if d not in before] == [added]
    bank_key = exchange.chain.consortium.encryption_keys["bank"]
    chain = exchange.chain
    result = open_answer(
        signed,
        exchange.domain,
        first.json(),
        bank_key,
        Verifier.from_chain(chain.ledger, chain.consortium.deployment).verify,
    )
    assert result.disclosure_id == added and len(result.verified) == 1 and not result.failed
    wait_for(
        lambda: tax.get(f"/v1/records/{added}").json()["status"] in ("anchored", "final"),
        60,
        "the disclosure anchored",
    )


def test_a_suspended_requester_is_refused_until_reinstated(
    exchange: Exchange, consented: tuple[str, bytes]
) -> None:
    uscc, consent = consented
    chain = exchange.chain
    ledger = chain.ledger
    governance = Governance(ledger)
    keys = chain.consortium.keys
    tax = exchange.gateways["tax-bureau"]

    def decide(action: Action) -> None:
        proposal = governance.propose(ledger.sender(keys["tax-bureau"]), action)
        for name in ("market-regulator", "auditor"):
            governance.approve(ledger.sender(keys[name]), proposal)
        governance.execute(ledger.sender(keys["tax-bureau"]), proposal)
        # In force from the next block.
        after = ledger.block_number() + 1
        wait_for(lambda: ledger.block_number() > after, 30, "the next blocks")

    bank = exchange.agency_id("bank")
    decide(Action.suspend(bank))
    try:
        response = send(tax, rating_request(exchange, uscc, consent).to_dict())
        assert (response.status_code, response.json()["error"]["code"]) == (
            403,
            "requester_suspended",
        )
    finally:
        decide(Action.reinstate(bank))
    assert send(tax, rating_request(exchange, uscc, consent).to_dict()).status_code == 200
