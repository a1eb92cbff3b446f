"""Keyring files: domain keys sealed (HPKE) to each member's registered encryption key, for the
domains the ledger's holder masks give its kind; rotation by governance keeps old versions."""

from __future__ import annotations

import json
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from ledger_node.anchoring import anchor_records
from ledger_node.chain.deploy import FoundedConsortium, found_consortium
from ledger_node.chain.governance import Action, Governance
from ledger_node.chain.ledger import LedgerClient
from ledger_node.chain.rpc import Rpc, connect
from ledger_node.keyring import (
    KeyringError,
    check_registered,
    issue_keyring,
    next_version,
    open_keyring,
    registered_on,
    write_keyring,
)
from ledger_node.keys import EncryptionKey
from ledger_node.records import samples
from ledger_node.subject import subject_tag as hmac_tag
from ledger_node.tagging import Keyring, subject_tag
from ledger_node.tagkeys import tag_domain_id
from ledger_node.verify import Verifier
from ledger_node.verify.view import ChainView

TAXLEDGER = str(Path(sys.executable).with_name("taxledger"))


@pytest.fixture(scope="module")
def founded() -> tuple[FoundedConsortium, LedgerClient]:
    w3 = connect()
    consortium = found_consortium(Rpc(w3))
    return consortium, LedgerClient.from_deployment(w3, consortium.deployment)


def _issue(
    founded: tuple[FoundedConsortium, LedgerClient], master: Keyring, tmp_path: Path
) -> dict[str, Path]:
    consortium, client = founded
    registered = registered_on(client)
    paths = {}
    for agency in consortium.deployment.agencies:
        issued = issue_keyring(master, registered, agency.kind)
        paths[agency.name] = write_keyring(
            tmp_path / f"{agency.name}.keyring",
            issued,
            consortium.encryption_keys[agency.name].public_key,
            agency.name,
        )
    return paths


def test_each_member_opens_only_the_domains_its_kind_holds(
    founded: tuple[FoundedConsortium, LedgerClient], tmp_path: Path
) -> None:
    consortium, client = founded
    master = Keyring.of(consortium.tag_keys)
    paths = _issue(founded, master, tmp_path)
    held = {
        name: open_keyring(path, consortium.encryption_keys[name], registered=registered_on(client))
        for name, path in paths.items()
    }
    assert held["tax-bureau"].domains == ("invoice", "taxpayer-credit", "taxpayer-invoices")
    assert held["auditor"].domains == ("invoice", "taxpayer-credit", "taxpayer-invoices")
    assert held["bank"].domains == ("taxpayer-credit",)
    assert held["market-regulator"].domains == ("taxpayer-credit", "taxpayer-invoices")
    assert held["bank"].key("taxpayer-credit", 1) == consortium.tag_keys["taxpayer-credit"]
    for path in paths.values():
        text = path.read_text()
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        for key in consortium.tag_keys.values():
            assert key.hex() not in text  # sealed, never in plain text


def test_a_keyring_opens_only_with_its_own_key_and_unaltered(
    founded: tuple[FoundedConsortium, LedgerClient], tmp_path: Path
) -> None:
    consortium, _ = founded
    paths = _issue(founded, Keyring.of(consortium.tag_keys), tmp_path)
    with pytest.raises(KeyringError, match=r"is sealed to 0x.*not to this agency's encryption key"):
        open_keyring(paths["bank"], consortium.encryption_keys["tax-bureau"])
    document = json.loads(paths["bank"].read_text())
    envelope = document["keys"][0]["envelope"]
    document["keys"][0]["envelope"] = envelope[:-2] + ("00" if envelope[-2:] != "00" else "01")
    paths["bank"].write_text(json.dumps(document))
    with pytest.raises(KeyringError, match="taxpayer-credit version 1 does not open"):
        open_keyring(paths["bank"], consortium.encryption_keys["bank"])
    document["keys"][0]["envelope"] = envelope
    document["keys"][0]["domain"] = "invoice"  # the envelope is bound to its domain
    paths["bank"].write_text(json.dumps(document))
    with pytest.raises(KeyringError, match="invoice version 1 does not open"):
        open_keyring(paths["bank"], consortium.encryption_keys["bank"])


def test_a_key_the_ledger_did_not_register_is_refused(
    founded: tuple[FoundedConsortium, LedgerClient],
) -> None:
    consortium, client = founded
    wrong = Keyring.of({**consortium.tag_keys, "invoice": bytes(range(32))})
    with pytest.raises(KeyringError, match="invoice version 1 is not the one the ledger"):
        check_registered(wrong, registered_on(client))
    unregistered = Keyring.of(consortium.tag_keys).with_key("invoice", 9, bytes(range(32)))
    with pytest.raises(KeyringError, match="invoice version 9, which the ledger has not"):
        issue_keyring(unregistered, registered_on(client), consortium.deployment.agencies[0].kind)


def test_rotation_adds_a_version_and_old_tags_stay_verifiable(tmp_path: Path) -> None:
    w3 = connect()
    consortium = found_consortium(Rpc(w3))
    client = LedgerClient.from_deployment(w3, consortium.deployment)
    bureau = consortium.keys["tax-bureau"]
    master = Keyring.of(consortium.tag_keys)
    record = samples.generate("invoice.issued/v2", 1, seed=5)[0]
    (before,) = anchor_records(
        client, bureau, client.sender(bureau), "invoice.issued/v2", [record], keyring=master
    )
    rotated, version, commitment = next_version(master, "invoice")
    assert version == 2
    governance = Governance(client)
    senders = {name: client.sender(key) for name, key in consortium.keys.items()}
    holders = tuple(sorted(a.kind for a in consortium.deployment.agencies if a.name != "bank"))
    proposal = governance.propose(
        senders["tax-bureau"],
        Action.register_tag_key(tag_domain_id("invoice"), holders, commitment),
    )
    governance.approve(senders["bank"], proposal)
    governance.approve(senders["market-regulator"], proposal)
    governance.execute(senders["auditor"], proposal)
    issued = issue_keyring(rotated, registered_on(client), consortium.deployment.agencies[0].kind)
    assert sorted(issued.keys["invoice"]) == [1, 2]
    (after,) = anchor_records(
        client, bureau, client.sender(bureau), "invoice.issued/v2", [record], keyring=issued
    )
    assert (before.subjects[0].version, after.subjects[0].version) == (1, 2)
    assert before.subjects[0].tag != after.subjects[0].tag
    assert after.subjects[0] == subject_tag(issued, "invoice", "invoice", record["invoice_number"])
    # The old tag is still what the old version's key makes, and both bundles verify.
    old_key = issued.key("invoice", 1)
    assert hmac_tag(old_key, "invoice", record["invoice_number"]) == before.subjects[0].tag
    verifier = Verifier(ChainView(client, consortium.deployment))
    verifier.verify(before)
    verifier.verify(after)


def test_the_keyring_commands_make_show_and_rotate_without_printing_a_key(tmp_path: Path) -> None:
    key = EncryptionKey.generate()
    (tmp_path / "enc.pem").write_text(key.to_pem("custodian password"))
    (tmp_path / "pw").write_text("custodian password\n")
    made = _taxledger(
        "keyring", "new", "--encryption-key", str(tmp_path / "enc.pem"),
        "--out", str(tmp_path / "k.json"),
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    lines = made.stdout.splitlines()
    assert [line.split(":")[0] for line in lines] == [
        "--tag-key taxpayer-credit",
        "--tag-key taxpayer-invoices",
        "--tag-key invoice",
    ]
    assert lines[2].startswith("--tag-key invoice:auditor,tax-bureau:0x")
    opened = open_keyring(tmp_path / "k.json", key)
    assert lines[2].endswith(opened.commitment("invoice", 1).hex())
    rotated = _taxledger(
        "keyring", "rotate", "--keyring", str(tmp_path / "k.json"),
        "--encryption-key", str(tmp_path / "enc.pem"), "--password-file", str(tmp_path / "pw"),
        "--domain", "invoice", "--out", str(tmp_path / "k2.json"),
    )  # fmt: skip
    assert rotated.returncode == 0, rotated.stderr
    after = open_keyring(tmp_path / "k2.json", key)
    assert sorted(after.keys["invoice"]) == [1, 2]
    assert after.key("invoice", 1) == opened.key("invoice", 1)
    assert rotated.stdout.strip().endswith(
        "--domain invoice --holders auditor,tax-bureau --key-commitment 0x"
        + after.commitment("invoice", 2).hex()
    )
    shown = _taxledger("keyring", "show", str(tmp_path / "k2.json"))
    assert shown.stdout.splitlines()[1:] == [
        "  invoice version 1",
        "  invoice version 2",
        "  taxpayer-credit version 1",
        "  taxpayer-invoices version 1",
    ]
    for run in (made, rotated, shown):
        for versions in after.keys.values():
            assert all(k.hex() not in run.stdout + run.stderr for k in versions.values())
    again = _taxledger(
        "keyring", "new", "--encryption-key", str(tmp_path / "enc.pem"),
        "--out", str(tmp_path / "k.json"),
    )  # fmt: skip
    assert again.returncode == 2
    assert (
        again.stderr.strip()
        == f"error: {tmp_path / 'k.json'} exists; a keyring is never overwritten by `new`"
    )
    wrong = _taxledger(
        "keyring", "new", "--encryption-key", str(tmp_path / "enc.pem"), "--domain", "bank",
        "--out", str(tmp_path / "k3.json"),
    )  # fmt: skip
    assert wrong.returncode == 2 and wrong.stderr.startswith("error: unknown tag domain 'bank'")


def _taxledger(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([TAXLEDGER, *args], capture_output=True, text=True, timeout=120)
