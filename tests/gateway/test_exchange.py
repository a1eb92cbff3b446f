"""The exchange between real gateway processes on anvil: a bank reads a company's tax
rating from the tax bureau with the company's consent, verified; refusals; the disclosure
record; the command line."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from exchange_harness import Exchange, rating_with_consent
from gateway_harness import TAXLEDGER, wait_for

from ledger_node.bundle import ProofBundleV2, bundle_from_dict, load_bundle
from ledger_node.keyring import encryption_key_path, keyring_path
from ledger_node.records import samples
from ledger_node.verify.verifier import Verifier


def query(exchange: Exchange, **body: object) -> tuple[int, dict[str, object]]:
    response = exchange.gateways["bank"].post("/v1/exchange/queries", body)
    return response.status_code, response.json()


def test_a_bank_reads_a_rating_with_consent_verified_and_disclosed(exchange: Exchange) -> None:
    uscc, rating, rating_c, consent_c = rating_with_consent(exchange, 1)
    status, answer = query(
        exchange,
        provider="tax-bureau",
        taxpayer=uscc,
        schemas=["credit.tax-rating/v1"],
        purpose="credit-assessment",
        consent=consent_c,
    )
    assert status == 200, answer
    assert answer["failed"] == []
    (fact,) = answer["facts"]  # type: ignore[misc]
    # The read policy lets a bank read a rating's taxpayer, year and level, not its score:
    # the answer's bundle shows those fields and hides the rest.
    shown = {k: rating[k] for k in ("uscc", "year", "level")}
    assert set(rating) > set(shown)
    assert (fact["schema"], fact["commitment"], fact["record"]) == (
        "credit.tax-rating/v1",
        rating_c,
        shown,
    )
    assert answer["withheld"] == []
    # The bank's partial bundle verifies on its own, as `taxledger verify` would check it.
    chain = exchange.chain
    bundle = bundle_from_dict(fact["bundle"])
    assert isinstance(bundle, ProofBundleV2) and not bundle.complete
    assert "score" not in json.dumps(fact["bundle"])
    Verifier.from_chain(chain.ledger, chain.consortium.deployment).verify(bundle)
    # The tax bureau logged the disclosure and anchors it in its next batch.
    tax = exchange.gateways["tax-bureau"]
    disclosure_id = answer["disclosure_id"]
    wait_for(
        lambda: (
            tax.get(f"/v1/records/{disclosure_id}").json().get("status") in ("anchored", "final")
        ),
        60,
        "the disclosure record anchored",
    )
    proof = tax.get(f"/v1/records/{disclosure_id}/proof")
    disclosure = Verifier.from_chain(chain.ledger, chain.consortium.deployment).verify_bytes(
        proof.content
    )
    record = disclosure.bundle.record
    assert record["discloser"] == "tax-bureau" and record["recipient"] == "bank"
    assert record["subject_tag"] == "0x" + exchange.tag(uscc).hex()
    assert record["schemas"] == ["credit.tax-rating/v1"]
    assert (record["purpose"], record["consent"]) == ("credit-assessment", consent_c)


def test_the_same_request_without_consent_is_refused_and_counted(exchange: Exchange) -> None:
    uscc, _, _, _ = rating_with_consent(exchange, 2)
    tax = exchange.gateways["tax-bureau"]
    before = tax.counts()
    status, answer = query(
        exchange,
        provider="tax-bureau",
        taxpayer=uscc,
        schemas=["credit.tax-rating/v1"],
        purpose="credit-assessment",
    )
    assert status == 403
    assert answer["error"]["code"] == "consent_missing"  # type: ignore[index]
    assert answer["error"]["message"].startswith("agency tax-bureau refused: ")  # type: ignore[index]
    metrics = tax.get("/metrics").text
    assert 'taxledger_gateway_exchange_refusals_total{reason="consent_missing"}' in metrics
    # Nothing was disclosed, so nothing was recorded.
    records = ("unbatched", "pending", "anchored", "final")
    assert sum(tax.counts()[state] for state in records) == sum(before[s] for s in records)
    log = (tax.config.parent / "gateway.log").read_text()
    assert uscc not in log and exchange.tag(uscc).hex() not in log


def test_a_regulator_reads_the_payments_to_a_company(exchange: Exchange) -> None:
    (payment,) = samples.generate("payment.settled/v1", 1, seed=7)
    payee = payment["payee"]["tax_id"]
    commitment = exchange.submit_anchored("bank", "payment.settled/v1", "pay-7", payment)
    response = exchange.gateways["market-regulator"].post(
        "/v1/exchange/queries",
        {
            "provider": "bank",
            "taxpayer": payee,
            "schemas": ["payment.settled/v1"],
            "purpose": "market-supervision",
        },
    )
    assert response.status_code == 200, response.text
    (fact,) = response.json()["facts"]
    # The regulator reads what the company was paid, not who paid it (the read policy's
    # fields for a regulator): the payer stays hidden.
    shown = {k: payment[k] for k in ("payment_id", "amount", "currency", "value_date")}
    shown |= {k: payment[k] for k in ("invoice_number",) if k in payment}
    shown["payee"] = {"tax_id": payee}
    assert fact["commitment"] == commitment and fact["record"] == shown
    assert "payer" in payment and payment["payer"]["tax_id"] not in json.dumps(fact["bundle"])


def test_policy_and_subject_refusals(exchange: Exchange) -> None:
    uscc, _, _, consent_c = rating_with_consent(exchange, 3)
    cases = [
        # Declarations are tagged in the invoices' taxpayer domain, whose key a bank does not
        # hold: its own gateway cannot name the subject, and sends nothing.
        (dict(schemas=["tax.declaration/v1"], purpose="credit-assessment"), 422, "tag_key_missing"),
        # Two domains' schemas in one request: the subject has no one tag to name it by.
        (
            dict(
                schemas=["credit.tax-rating/v1", "invoice.issued/v2"], purpose="credit-assessment"
            ),
            422,
            "invalid_request",
        ),
        (dict(schemas=["credit.tax-rating/v1"], purpose="audit"), 403, "policy_denies"),
        (
            dict(
                taxpayer="91310110666007217T",
                schemas=["registration.status/v1"],
                purpose="credit-assessment",
            ),
            404,
            "unknown_subject",
        ),
    ]
    for body, status, code in cases:
        full = {"provider": "tax-bureau", "taxpayer": uscc, "consent": consent_c, **body}
        if "registration" in str(body):
            full["provider"] = "market-regulator"
        got, answer = query(exchange, **full)
        assert (got, answer["error"]["code"]) == (status, code), answer  # type: ignore[index]


def test_the_command_line_writes_the_verified_bundles(exchange: Exchange, tmp_path: Path) -> None:
    uscc, _, rating_c, consent_c = rating_with_consent(exchange, 4)
    bank = exchange.gateways["bank"]
    key_file = tmp_path / "key"
    key_file.write_text(bank.keys["all"] + "\n")
    out = tmp_path / "out"
    base = (TAXLEDGER, "exchange", "query", "--gateway", bank.url, "--api-key-file", str(key_file))
    asked = ("--provider", "tax-bureau", "--taxpayer", uscc, "--schema", "credit.tax-rating/v1")
    why = ("--purpose", "credit-assessment", "--out", str(out))

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*base, *asked, *why, *args], capture_output=True, text=True, timeout=120
        )

    run = cli("--consent", consent_c)
    assert run.returncode == 0, run.stderr
    (line,) = run.stdout.splitlines()
    (written,) = out.iterdir()
    assert line == f"OK: credit.tax-rating/v1 {rating_c} {written}"
    assert load_bundle(written).commitment.hex() == rating_c[2:]
    refused = cli()
    assert refused.returncode == 2 and refused.stdout == ""
    assert refused.stderr.startswith("error: consent_missing: agency tax-bureau refused: ")
    assert len(refused.stderr.splitlines()) == 1


def test_who_saw_my_data_through_the_portal_and_the_audit(
    exchange: Exchange, tmp_path: Path
) -> None:
    uscc, _, _, consent_c = rating_with_consent(exchange, 5)
    rating = dict(
        provider="tax-bureau",
        taxpayer=uscc,
        schemas=["credit.tax-rating/v1"],
        purpose="credit-assessment",
        consent=consent_c,
    )
    status, by_tax = query(exchange, **rating)
    assert status == 200
    (payment,) = samples.generate("payment.settled/v1", 1, seed=8)
    payment["payee"]["tax_id"] = uscc
    exchange.submit_anchored("bank", "payment.settled/v1", "pay-8", payment)
    response = exchange.gateways["market-regulator"].post(
        "/v1/exchange/queries",
        {
            "provider": "bank",
            "taxpayer": uscc,
            "schemas": ["payment.settled/v1"],
            "purpose": "market-supervision",
        },
    )
    assert response.status_code == 200, response.text
    by_bank = response.json()
    proofs = {}
    for agency, disclosure_id in (
        ("tax-bureau", by_tax["disclosure_id"]),
        ("bank", by_bank["disclosure_id"]),
    ):
        gateway = exchange.gateways[agency]
        wait_for(
            lambda g=gateway, d=disclosure_id: (
                g.get(f"/v1/records/{d}").json()["status"] in ("anchored", "final")
            ),
            60,
            f"{agency}'s disclosure anchored",
        )
        proofs[disclosure_id] = gateway.get(f"/v1/records/{disclosure_id}/proof").content
    portal = exchange.gateways["tax-bureau"].get(f"/v1/disclosures?taxpayer={uscc}")
    assert portal.status_code == 200, portal.text
    listed = portal.json()
    assert listed["unavailable"] == []
    seen = [(d["discloser"], d["recipient"], d["purpose"]) for d in listed["disclosures"]]
    assert seen == [
        ("tax-bureau", "bank", "credit-assessment"),
        ("bank", "market-regulator", "market-supervision"),
    ]
    assert listed["disclosures"][0]["consent"] == consent_c
    assert (
        exchange.gateways["tax-bureau"]
        .get(f"/v1/disclosures?taxpayer={uscc}", role="read")
        .status_code
        == 403
    )
    # The auditor's view of the same facts, from the bundles and the chain.
    records = tmp_path / "bundles"
    records.mkdir()
    for disclosure_id, raw in proofs.items():
        (records / f"{disclosure_id}.json").write_bytes(raw)
    chain = exchange.chain
    run = subprocess.run(
        [TAXLEDGER, "audit", "disclosures", "--rpc", chain.node.url, "--deployment",
         str(chain.directory / "deployment.json"), "--records", str(records), "--taxpayer",
         uscc, "--keyring", str(keyring_path(chain.directory, "tax-bureau")),
         "--encryption-key", str(encryption_key_path(chain.directory, "tax-bureau")),
         "--password-file", str(chain.directory / "password")],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    head, *lines = run.stdout.splitlines()
    # The taxpayer is looked up under its tag in each domain the keyring holds.
    assert head.startswith("disclosures about ") and head.endswith(": 2")
    assert f"0x{exchange.tag(uscc).hex()}" in head
    assert " tax-bureau -> bank  credit-assessment  credit.tax-rating/v1  consent " in lines[0]
    assert (
        " bank -> market-regulator  market-supervision  payment.settled/v1  no consent"
        in (lines[1])
    )
