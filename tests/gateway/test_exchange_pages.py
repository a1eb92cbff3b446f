"""An answer holds at most a page of facts: a subject with more is answered page by page,
each page its own signed request and disclosure record, through the API and the command
line (real gateway processes on anvil, with a page of two facts)."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from exchange_harness import Exchange, start_exchange
from gateway_harness import TAXLEDGER, Chain, wait_for

from ledger_node.records import samples

PAGE = 2


@pytest.fixture(scope="module")
def paged(chain: Chain, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Exchange]:
    started = start_exchange(chain, tmp_path_factory.mktemp("paged"), exchange_page_facts=PAGE)
    yield started
    for gateway in started.gateways.values():
        gateway.stop()
        gateway.client.close()


def test_five_payments_come_in_three_pages_each_disclosed(paged: Exchange, tmp_path: Path) -> None:
    payments = samples.generate("payment.settled/v1", 5, seed=31)
    payee = payments[0]["payee"]["tax_id"]
    commitments = []
    for i, payment in enumerate(payments):
        payment["payee"]["tax_id"] = payee
        commitments.append(
            paged.submit_anchored("bank", "payment.settled/v1", f"pay-p{i}", payment)
        )
    regulator = paged.gateways["market-regulator"]
    body: dict[str, object] = {
        "provider": "bank",
        "taxpayer": payee,
        "schemas": ["payment.settled/v1"],
        "purpose": "market-supervision",
    }
    pages = []
    while True:
        response = regulator.post("/v1/exchange/queries", body)
        assert response.status_code == 200, response.text
        page = response.json()
        pages.append(page)
        if page["next"] is None:
            break
        body["after"] = page["next"]
    assert [len(p["facts"]) for p in pages] == [2, 2, 1]
    assert [f["commitment"] for p in pages for f in p["facts"]] == commitments
    # Each page was its own request, logged by its own disclosure record at the bank.
    ids = [p["disclosure_id"] for p in pages]
    assert len(set(ids)) == 3
    bank = paged.gateways["bank"]
    for disclosure_id in ids:
        wait_for(
            lambda d=disclosure_id: bank.get(f"/v1/records/{d}").status_code == 200,
            60,
            f"disclosure record {disclosure_id}",
        )
    # A cursor past the last fact finds nothing, and discloses nothing.
    body["after"] = 2**64 - 1
    response = regulator.post("/v1/exchange/queries", body)
    assert (response.status_code, response.json()["error"]["code"]) == (404, "unknown_subject")

    # The command line follows the pages and writes every fact.
    key_file = tmp_path / "key"
    key_file.write_text(regulator.keys["all"] + "\n")
    out = tmp_path / "out"
    run = subprocess.run(
        [
            TAXLEDGER, "exchange", "query", "--gateway", regulator.url,
            "--api-key-file", str(key_file), "--provider", "bank", "--taxpayer", payee,
            "--schema", "payment.settled/v1", "--purpose", "market-supervision",
            "--out", str(out),
        ],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert [line.split()[2] for line in lines] == commitments
    assert all(line.startswith("OK: payment.settled/v1 ") for line in lines)
    assert len(list(out.iterdir())) == 5
