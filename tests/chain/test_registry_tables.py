"""The library's tables behind the registry: purposes, the default read policy, tag domains,
and the encryption key files."""

from __future__ import annotations

from pathlib import Path

import pytest

from ledger_node.agencies import AgencyKind
from ledger_node.errors import LedgerValueError
from ledger_node.keys import (
    EncryptionKey,
    KeystoreError,
    encryption_public_key,
    load_encryption_keyfile,
    new_encryption_keyfile,
    parse_encryption_public_key,
)
from ledger_node.policy import ALL_FIELDS, DEFAULT_READ_POLICY, NO_ACCESS, ReadRule, default_rules
from ledger_node.purposes import Purpose, mask_labels, purpose_mask
from ledger_node.records.consent import PURPOSES
from ledger_node.records.schemas import (
    BANK_DECISION,
    BANK_DECISION_V2,
    PAYMENT_SETTLED,
    PAYMENT_SETTLED_V2,
    SCHEMAS,
    TAX_DECLARATION,
    TAX_RATING,
)
from ledger_node.tagkeys import (
    DEFAULT_TAG_DOMAINS,
    TAG_DOMAINS,
    domain_label,
    key_commitment,
    tag_domain_id,
)

PASSWORD = "correct horse battery staple"


def test_purpose_bits_are_stable() -> None:
    # Bits are on chain: a purpose keeps its number forever.
    assert {p.label: int(p) for p in Purpose} == {
        "tax-administration": 0,
        "credit-assessment": 1,
        "market-supervision": 2,
        "audit": 3,
        "taxpayer-portal": 4,
    }
    # Consents and disclosures spell purposes from the same table.
    assert tuple(p.label for p in Purpose) == PURPOSES
    assert purpose_mask([Purpose.CREDIT_ASSESSMENT, Purpose.AUDIT]) == 0b1010
    assert mask_labels(0b1010 | 1 << 9) == ["credit-assessment", "audit", "bit 9"]
    assert Purpose.parse("Credit-Assessment") is Purpose.CREDIT_ASSESSMENT
    assert Purpose.parse("3") is Purpose.AUDIT
    with pytest.raises(LedgerValueError, match="unknown purpose '9'"):
        Purpose.parse("9")


def test_a_read_rule_either_allows_and_names_fields_or_allows_nothing() -> None:
    with pytest.raises(LedgerValueError, match="must name its fields"):
        ReadRule.of(Purpose.AUDIT, fields="")
    with pytest.raises(LedgerValueError, match="must name no fields and require no consent"):
        ReadRule(frozenset(), True, "")
    with pytest.raises(LedgerValueError, match="must name no fields"):
        ReadRule(frozenset(), False, "*")
    assert NO_ACCESS.purpose_mask == 0 and not NO_ACCESS.allows(Purpose.AUDIT)


def test_the_default_policy_covers_every_schema_and_grants_the_minimum() -> None:
    # One entry per registered schema: a schema without one is readable by no one, so a new
    # schema must be given its rules here.
    assert set(DEFAULT_READ_POLICY) == set(SCHEMAS)
    for schema, rules in DEFAULT_READ_POLICY.items():
        assert rules[AgencyKind.AUDITOR] == ReadRule.of(Purpose.AUDIT, fields=ALL_FIELDS), schema
    rating = DEFAULT_READ_POLICY[TAX_RATING][AgencyKind.BANK]
    assert rating == ReadRule.of(Purpose.CREDIT_ASSESSMENT, fields="uscc,year,level", consent=True)
    assert DEFAULT_READ_POLICY[PAYMENT_SETTLED][AgencyKind.TAX_BUREAU].allows(
        Purpose.TAX_ADMINISTRATION
    )
    for payments in (PAYMENT_SETTLED, PAYMENT_SETTLED_V2):
        regulator = DEFAULT_READ_POLICY[payments][AgencyKind.MARKET_REGULATOR]
        assert regulator.purposes == {Purpose.MARKET_SUPERVISION}
        assert "payer" not in regulator.fields and "payee.tax_id" in regulator.fields
    # Nobody but the auditor reads bank decisions by default; returns stay with the bureau.
    for decisions in (BANK_DECISION, BANK_DECISION_V2):
        assert set(DEFAULT_READ_POLICY[decisions]) == {AgencyKind.AUDITOR}
    assert set(DEFAULT_READ_POLICY[TAX_DECLARATION]) == {AgencyKind.TAX_BUREAU, AgencyKind.AUDITOR}
    # Every rule a bank holds is for credit assessment, and with consent unless the facts are
    # public (registration).
    for schema, rules in DEFAULT_READ_POLICY.items():
        if AgencyKind.BANK in rules:
            assert rules[AgencyKind.BANK].purposes == {Purpose.CREDIT_ASSESSMENT}, schema
            assert rules[AgencyKind.BANK].fields != ALL_FIELDS, schema
    assert [(s, k) for s, k, _ in default_rules([TAX_RATING])] == [
        (TAX_RATING, AgencyKind.TAX_BUREAU),
        (TAX_RATING, AgencyKind.BANK),
        (TAX_RATING, AgencyKind.AUDITOR),
    ]


def test_tag_domains_and_their_default_holders() -> None:
    names = [d.name for d in DEFAULT_TAG_DOMAINS]
    assert names == ["taxpayer-credit", "taxpayer-invoices", "invoice"]
    for domain in DEFAULT_TAG_DOMAINS:
        assert AgencyKind.TAX_BUREAU in domain.holders  # its duties cover every subject
        assert domain_label(domain.domain_id) == domain.name
    bank_domains = {d.name for d in DEFAULT_TAG_DOMAINS if AgencyKind.BANK in d.holders}
    assert bank_domains == {"taxpayer-credit"}
    credit = TAG_DOMAINS["taxpayer-credit"].domain_id
    assert credit == tag_domain_id("taxpayer-credit")
    assert domain_label(b"\x01" * 32) == "0x" + "01" * 32
    # Bound to its domain: one key gives each domain another commitment.
    key = b"\x05" * 32
    assert key_commitment(credit, key) != key_commitment(tag_domain_id("invoice"), key)
    with pytest.raises(LedgerValueError, match="at least 32"):
        key_commitment(credit, b"short")


def test_an_encryption_key_file_keeps_the_public_key_readable(tmp_path: Path) -> None:
    key = new_encryption_keyfile(tmp_path / "enc.pem", PASSWORD)
    assert encryption_public_key(tmp_path / "enc.pem") == key.public_key
    loaded = load_encryption_keyfile(tmp_path / "enc.pem", PASSWORD)
    assert loaded.public_key == key.public_key and len(key.public_key) == 32
    assert repr(loaded) == f"EncryptionKey({key.public_hex})"
    with pytest.raises(KeystoreError, match="refusing to overwrite"):
        new_encryption_keyfile(tmp_path / "enc.pem", PASSWORD)


def test_an_altered_or_foreign_key_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "enc.pem"
    new_encryption_keyfile(path, PASSWORD)
    # The public block swapped for another key's: the file no longer describes itself.
    other = EncryptionKey.generate().to_pem(PASSWORD)
    public_other = other[: other.index("-----BEGIN ENCRYPTED")]
    text = path.read_text()
    path.write_text(public_other + text[text.index("-----BEGIN ENCRYPTED") :])
    with pytest.raises(KeystoreError, match="is not its private key's; the file was altered"):
        load_encryption_keyfile(path, PASSWORD)
    (tmp_path / "keystore.json").write_text('{"address": "00"}')
    with pytest.raises(KeystoreError, match="is not an encryption key file"):
        encryption_public_key(tmp_path / "keystore.json")
    with pytest.raises(KeystoreError, match="does not exist"):
        encryption_public_key(tmp_path / "none.pem")


def test_an_encryption_public_key_is_hex_or_a_file(tmp_path: Path) -> None:
    key = new_encryption_keyfile(tmp_path / "enc.pem", PASSWORD)
    assert parse_encryption_public_key(key.public_hex) == key.public_key
    assert parse_encryption_public_key(str(tmp_path / "enc.pem")) == key.public_key
    with pytest.raises(KeystoreError, match="is not a 32-byte key"):
        parse_encryption_public_key("0x1234")
    with pytest.raises(KeystoreError, match="must not be zero"):
        parse_encryption_public_key("0x" + "00" * 32)
