"""The kit's genesis on a real node (anvil ``--init``; Besu cannot run here): same chain id, gas
limit, zero base fee and funded accounts; the ledger deploys from the genesis-funded deployer;
its measured gas fits the kit's sizing; a gateway from the kit's config counts a record final
in the block that anchors it (one confirmation); and the demo runs end to end on it."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from gateway_harness import GatewayProcess, wait_for
from kit_harness import PASSWORD, MemberList

from gateway.apikeys import Role, add_key
from gateway.settings import load_settings
from ledger_node.chain.ledger import LedgerClient
from ledger_node.chain.rpc import Rpc, as_int, connect
from ledger_node.demo.scenario import MIN_INVOICES
from ledger_node.deployment import Deployment
from ledger_node.hashing import keccak256
from ledger_node.keys import EncryptionKey, encryption_public_key
from ledger_node.kit import genesis as qbft
from ledger_node.kit.besu import Network
from ledger_node.localnode import LocalNode, free_port, start_node
from ledger_node.records import samples
from ledger_node.records.schemas import INVOICE_ISSUED, SCHEMAS

pytestmark = pytest.mark.node
TAXLEDGER = str(Path(sys.executable).with_name("taxledger"))


def boot(out: Path, port: int | None = None, block_time: float | None = None) -> LocalNode:
    """anvil booted from the kit's genesis, on the EVM the genesis activates.

    anvil 1.7 takes the chain id, base fee and accounts from ``--init`` but keeps its own
    block gas limit, and signs for its own accounts with its default chain id: both are
    passed from the genesis as well. It would also count block times on from the genesis's
    timestamp 0 (1970), where Besu's validators stamp each block with their clock: the
    genesis is given today's time, so facts are not dated decades after their blocks.
    """
    genesis = out / "genesis.json"
    doc = json.loads(genesis.read_text())
    return start_node(
        "anvil",
        port=port,
        block_time=block_time,
        gas_limit=int(doc["gasLimit"], 16),
        extra_args=(
            *("--init", str(genesis), "--chain-id", str(doc["config"]["chainId"])),
            *("--hardfork", qbft.contracts_evm_version()),
            *("--timestamp", str(int(time.time()))),
        ),
    )


@pytest.fixture
def network(
    generated: Callable[..., tuple[MemberList, Network, Path]],
) -> Iterator[tuple[MemberList, Network, Path, LocalNode]]:
    members, network, out = generated(senders=("tax-bureau",))
    # The tax bureau's node: its gateway's config names this very URL.
    node = boot(out, port=members.consortium.member("tax-bureau").rpc_port)
    try:
        yield members, network, out, node
    finally:
        node.stop()


def _keystore(path: Path, members: MemberList, name: str) -> Path:
    path.write_text(json.dumps(members.keys[name].to_keystore(PASSWORD)))
    return path


def _deploy(members: MemberList, out: Path, node: LocalNode) -> Deployment:
    """Deploy as a consortium would: the tax bureau (the key custodian) makes the domain keys
    sealed to its encryption key, and the ledger is founded with their commitments."""
    password = out / "deployer.password"
    password.write_text(PASSWORD + "\n")
    bureau_key = out / "tax-bureau.encryption.pem"
    if not bureau_key.exists():
        bureau_key.write_text(EncryptionKey.generate().to_pem(PASSWORD))
    custodian = out / "custodian.keyring.json"
    custodian.unlink(missing_ok=True)
    made = _run("keyring", "new", "--encryption-key", str(bureau_key), "--out", str(custodian))
    tag_keys = made.stdout.split()
    assert len(tag_keys) == 6 and tag_keys[::2] == ["--tag-key"] * 3, made.stdout
    public = {"tax-bureau": "0x" + encryption_public_key(bureau_key).hex()}
    founders = [
        f"--member={m.name}:{m.kind.label}:{m.signing_key}:"
        + public.get(m.name, EncryptionKey.generate().public_hex)
        for m in members.consortium.members
    ]
    _run(
        *("chain", "deploy", "--rpc", node.url),
        *("--keystore", str(_keystore(out / "deployer.keystore.json", members, "deployer"))),
        *("--password-file", str(password), *founders, *tag_keys, "--threshold", "3"),
        *("--out", str(out / "deployment.json")),
    )
    return Deployment.load(out / "deployment.json")


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    run = subprocess.run([TAXLEDGER, *args], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    return run


def test_the_genesis_boots_with_its_chain_id_gas_limit_fees_and_funds(
    network: tuple[MemberList, Network, Path, LocalNode],
) -> None:
    members, _, out, node = network
    genesis = json.loads((out / "genesis.json").read_text())
    rpc = Rpc(connect(node.url))
    assert as_int(rpc.request("eth_chainId", [])) == members.consortium.chain_id
    block = rpc.request("eth_getBlockByNumber", ["0x0", False])
    assert as_int(block["gasLimit"]) == int(genesis["gasLimit"], 16) == 12_000_000
    assert as_int(block["baseFeePerGas"]) == 0
    funded = qbft.funding_wei(12_000_000)
    for account in members.consortium.accounts:
        assert as_int(rpc.request("eth_getBalance", [account, "latest"])) == funded


def test_the_ledger_deploys_from_the_funded_deployer_within_the_kits_gas(
    network: tuple[MemberList, Network, Path, LocalNode],
) -> None:
    members, _, out, node = network
    deployment = _deploy(members, out, node)
    w3 = connect(node.url)
    rpc = Rpc(w3)
    receipt = rpc.request("eth_getTransactionReceipt", [deployment.deployment_tx])
    founders = len(members.consortium.members)
    deploy_gas = as_int(receipt["gasUsed"])
    bound = qbft.DEPLOY_GAS_BASE + founders * qbft.DEPLOY_GAS_PER_FOUNDER
    assert deploy_gas <= bound, (
        f"the deployment took {deploy_gas:,} gas, more than the kit's bound {bound:,}: "
        "re-measure DEPLOY_GAS_BASE and DEPLOY_GAS_PER_FOUNDER (ledger_node/kit/genesis.py)"
    )
    # An anchorBatch paid by the tax bureau's sender account, as its gateway sends it.
    ledger = LedgerClient.from_deployment(w3, deployment)
    sender = ledger.sender(members.keys["tax-bureau-sender"])
    invoice = SCHEMAS[INVOICE_ISSUED].schema_id
    gas = [
        ledger.anchor_batch(
            members.keys["tax-bureau"],
            sender,
            schema_id=invoice,
            root=keccak256(bytes([i])),
            count=64,
        ).gas_used
        for i in range(4)
    ]
    # The kit sizes blocks by the most an anchor costs; the contracts must not outgrow it.
    assert max(gas) <= qbft.ANCHOR_BATCH_GAS, (
        f"update ANCHOR_BATCH_GAS (ledger_node/kit/genesis.py) to {max(gas)}, then regenerate "
        "docs/capacity.md from a new taxledger bench --json run"
    )
    assert min(gas) >= qbft.ANCHOR_BATCH_GAS * 0.98, f"ANCHOR_BATCH_GAS overstates {gas}"


def _gateway(members: MemberList, out: Path, deployment: Path, port: int) -> GatewayProcess:
    """The tax bureau's gateway from the kit's gateway.toml, with the files it names."""
    folder = out / "gateways" / "tax-bureau"
    _keystore(folder / "tax-bureau.keystore.json", members, "tax-bureau")
    _keystore(folder / "tax-bureau-sender.keystore.json", members, "tax-bureau-sender")
    (folder / "tax-bureau.password").write_text(PASSWORD + "\n")
    (folder / "deployment.json").write_bytes(deployment.read_bytes())
    # The keyring the custodian issues to the tax bureau, and the key it is sealed to.
    bureau_key = out / "tax-bureau.encryption.pem"
    (folder / "tax-bureau.encryption.pem").write_bytes(bureau_key.read_bytes())
    _run(
        *("keyring", "issue", "--keyring", str(out / "custodian.keyring.json")),
        *("--encryption-key", str(bureau_key), "--password-file", str(out / "deployer.password")),
        *("--rpc", members.consortium.member("tax-bureau").rpc_url),
        *("--deployment", str(deployment), "--agency", "tax-bureau"),
        *("--out", str(folder / "tax-bureau.keyring.json")),
    )
    # The consortium directory its config names, written by the deploying member.
    written = _run(
        *("chain", "directory", "--rpc", members.consortium.member("tax-bureau").rpc_url),
        *("--deployment", str(deployment), "--gateway", f"tax-bureau=http://127.0.0.1:{port}"),
        *("--gateway", "bank=https://gateway.bank.example/"),
        *("--out", str(folder / "directory.json")),
    )
    assert written.stdout.endswith("; no gateway for auditor, market-regulator\n")
    keys = {"all": add_key(folder / "api-keys.json", "kit-test", frozenset(Role))}
    return GatewayProcess(folder / "gateway.toml", port, folder / "gateway.log", keys)


def test_a_gateway_from_the_kit_is_final_in_the_block_of_its_anchor(
    network: tuple[MemberList, Network, Path, LocalNode], monkeypatch: pytest.MonkeyPatch
) -> None:
    members, _, out, node = network
    _deploy(members, out, node)
    config = out / "gateways" / "tax-bureau" / "gateway.toml"
    assert load_settings(config).confirmations == 1
    port = free_port()
    monkeypatch.setenv("TAXLEDGER_GATEWAY_PORT", str(port))
    gateway = _gateway(members, out, out / "deployment.json", port)
    rpc = Rpc(connect(node.url))
    # Blocks come only when the test mines them, so it can count confirmations exactly.
    rpc.request("evm_setAutomine", [False])
    gateway.start()
    try:
        (record,) = samples.generate(INVOICE_ISSUED, 1, seed=7)
        posted = gateway.post(
            "/v1/records", {"schema": INVOICE_ISSUED, "id": "r-1", "record": record}
        )
        assert posted.status_code == 202, posted.text

        def final() -> dict[str, Any] | None:
            # Mine only the gateway's own transaction, never a block after it.
            if as_int(rpc.request("txpool_status", [])["pending"]):
                rpc.request("evm_mine", [])
            body: dict[str, Any] = gateway.get("/v1/records/r-1").json()
            return body if body["status"] == "final" else None

        anchor = wait_for(final, 60, "the record to be final", 0.5)["anchor"]
        # Final in the very block that holds its batch: no block was made after it.
        assert as_int(rpc.request("eth_blockNumber", [])) == anchor["block_number"]
    finally:
        gateway.stop()


@pytest.mark.slow
def test_the_demo_runs_end_to_end_on_the_kits_genesis(
    generated: Callable[..., tuple[MemberList, Network, Path]], tmp_path: Path
) -> None:
    _, _, out = generated()
    node = boot(out, block_time=qbft.BLOCK_PERIOD_SECONDS)
    try:
        run = subprocess.run(
            [
                TAXLEDGER,
                "demo",
                "--rpc",
                node.url,
                "--invoices",
                str(MIN_INVOICES),
                "--out",
                str(tmp_path / "demo"),
            ],
            capture_output=True,
            text=True,
            timeout=600,
        )
    finally:
        node.stop()
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "OK: the audit found all" in run.stdout
    deployment = json.loads((tmp_path / "demo" / "deployment.json").read_text())
    assert deployment["chain_id"] == 860311
