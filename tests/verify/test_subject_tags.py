"""Subject tags are bound to the fact: a v1 bundle's tags are recomputed from its record with
the consortium key; without the key they prove nothing, and provenance lists no fact under
them."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from ledger_node.agencies import AgencyKind
from ledger_node.audit.index import AuditIndex
from ledger_node.audit.records import check_records, provenance
from ledger_node.bundle import ProofBundle
from ledger_node.cli import main
from ledger_node.keyring import issue_keyring, registered_on, write_keyring
from ledger_node.subject import subject_tag
from ledger_node.tagging import Keyring
from ledger_node.verify import VerificationFailure, Verifier

from .conftest import CONSORTIUM_KEY, Ledger, V2Ledger


def _changes(bundle: ProofBundle, other: ProofBundle) -> list[tuple[bytes, ...]]:
    """Nine single changes of a v1 bundle's tag list."""
    tags = bundle.subjects
    flipped = bytes([tags[0][0] ^ 1]) + tags[0][1:]
    return [
        (flipped, *tags[1:]),
        tags[:-1],
        (*tags, other.subjects[0]),
        (*tags, tags[0]),
        tuple(reversed(tags)),
        (other.subjects[0], *tags[1:]),
        (),
        (subject_tag(bytes(32), "invoice", "26310000000000012345"), *tags[1:]),
        (tags[1], tags[0], *tags[2:]),
    ]


def test_nine_tamperings_of_v1_tags_fail_with_the_key(chain: Ledger, synced_index: Path) -> None:
    verifier = Verifier.from_index(AuditIndex.open(synced_index), consortium_key=CONSORTIUM_KEY)
    genuine = chain.invoices[0]
    assert verifier.verify(genuine).tags == frozenset(genuine.subjects)
    for tags in _changes(genuine, chain.invoices[1]):
        assert tags != genuine.subjects
        with pytest.raises(VerificationFailure) as failure:
            verifier.verify(dataclasses.replace(genuine, subjects=tags))
        assert (failure.value.check, failure.value.code) == (2, "subjects_mismatch")


def test_without_the_key_v1_tags_prove_nothing(chain: Ledger, synced_index: Path) -> None:
    verifier = Verifier.from_index(AuditIndex.open(synced_index))
    assert verifier.verify(chain.invoices[0]).tags == frozenset()


def test_provenance_lists_no_fact_under_a_forged_or_unproven_tag(
    chain: Ledger, synced_index: Path, tmp_path: Path
) -> None:
    genuine, other = chain.invoices[0], chain.invoices[1]
    forged = dataclasses.replace(genuine, subjects=(*genuine.subjects, other.subjects[0]))
    forged.save(tmp_path / "forged.json")
    genuine.save(tmp_path / "genuine.json")
    index = AuditIndex.open(synced_index)
    paths = sorted(tmp_path.glob("*.json"))
    with_key = check_records(
        Verifier.from_index(index, consortium_key=CONSORTIUM_KEY), index, paths
    )
    assert provenance(index, other.subjects[0], with_key) == []
    assert [e.fact.file for e in provenance(index, genuine.subjects[0], with_key)] == [
        str(tmp_path / "genuine.json")
    ]
    without_key = check_records(Verifier.from_index(index), index, paths)
    assert provenance(index, genuine.subjects[0], without_key) == []


def test_provenance_by_keyring_lists_v2_facts_under_their_committed_tags(
    v2: V2Ledger, tmp_path: Path
) -> None:
    consortium, client = v2.consortium, v2.client
    index_path = tmp_path / "index.sqlite"
    index = AuditIndex.create_or_open(index_path, consortium.deployment)
    index.sync(client.rpc)
    invoice = v2.bundles["invoice.issued/v2"]
    records = tmp_path / "records"
    records.mkdir()
    invoice.save(records / "genuine.json")
    forged = json.loads(v2.bundles["tax.declaration/v1"].to_json())
    forged["subjects"].append(json.loads(invoice.to_json())["subjects"][1])  # the seller's tag
    (records / "forged.json").write_text(json.dumps(forged))
    # The auditor's keyring and encryption key, as files.
    auditor = consortium.encryption_keys["auditor"]
    keyring = write_keyring(
        tmp_path / "auditor.keyring.json",
        issue_keyring(Keyring.of(consortium.tag_keys), registered_on(client), AgencyKind.AUDITOR),
        auditor.public_key,
        "auditor",
    )
    (tmp_path / "auditor.pem").write_text(auditor.to_pem("auditor password"))
    (tmp_path / "pw").write_text("auditor password\n")
    seller = v2.records["invoice.issued/v2"]["seller"]["tax_id"]
    result = CliRunner().invoke(
        main,
        [
            *("audit", "provenance", "--index", str(index_path), "--taxpayer", seller),
            *("--keyring", str(keyring), "--encryption-key", str(tmp_path / "auditor.pem")),
            *("--password-file", str(tmp_path / "pw"), "--records", str(records), "--json"),
        ],
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    # Looked up in both taxpayer domains; found only where the tag was committed.
    assert len(doc["subjects"]) == 2
    assert [e["fact"]["file"] for e in doc["timeline"]] == [str(records / "genuine.json")]
    assert doc["timeline"][0]["verdict"] == "verified"
