"""Schema ids, attesters and subject fields."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from web3 import Web3

from ledger_node.agencies import AgencyKind
from ledger_node.errors import UnknownSchemaError
from ledger_node.records.schemas import SCHEMAS, get_schema, schema_by_id

RecordFactory = Callable[[str], dict[str, Any]]


def test_the_schemas() -> None:
    assert sorted(SCHEMAS) == [
        "consent.granted/v1",
        "credit.bank-decision/v1",
        "credit.bank-decision/v2",
        "credit.tax-rating/v1",
        "disclosure.made/v1",
        "invoice.issued/v1",
        "invoice.issued/v2",
        "payment.settled/v1",
        "payment.settled/v2",
        "registration.status/v1",
        "tax.declaration/v1",
        "tax.status/v1",
    ]


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_schema_id_is_keccak_of_the_name(name: str) -> None:
    schema = get_schema(name)
    assert schema.schema_id == bytes(Web3.keccak(text=name))
    assert schema_by_id(schema.schema_id) is schema
    assert schema.version == int(name[-1])
    assert schema.revocable


def test_attesters() -> None:
    assert get_schema("invoice.issued/v1").attesters == {AgencyKind.TAX_BUREAU}
    assert get_schema("payment.settled/v1").attesters == {AgencyKind.BANK}
    assert get_schema("registration.status/v1").attesters == {AgencyKind.MARKET_REGULATOR}
    assert get_schema("credit.tax-rating/v1").attesters == {AgencyKind.TAX_BUREAU}
    assert get_schema("credit.bank-decision/v1").attester_mask == 1 << AgencyKind.BANK
    assert get_schema("credit.bank-decision/v2").attesters == {AgencyKind.BANK}
    assert get_schema("payment.settled/v2").attesters == {AgencyKind.BANK}
    for name in ("invoice.issued/v2", "tax.status/v1", "tax.declaration/v1", "consent.granted/v1"):
        assert get_schema(name).attesters == {AgencyKind.TAX_BUREAU}
    assert get_schema("disclosure.made/v1").attesters == set(AgencyKind)


def test_subject_identifiers(make_record: RecordFactory) -> None:
    invoice = make_record("invoice.issued/v1")
    assert get_schema("invoice.issued/v1").subject_identifiers(invoice) == (
        ("invoice", "26310000000000012345"),
        ("taxpayer", "91310110666007217T"),
        ("taxpayer", "91110000600037341L"),
    )
    payment = make_record("payment.settled/v1")
    assert get_schema("payment.settled/v1").subject_identifiers(payment) == (
        ("invoice", "26310000000000012345"),
        ("taxpayer", "91110000600037341L"),
        ("taxpayer", "91310110666007217T"),
    )
    rating = make_record("credit.tax-rating/v1")
    assert get_schema("credit.tax-rating/v1").subject_identifiers(rating) == (
        ("taxpayer", "914403001922038216"),
    )


def test_unknown_schema() -> None:
    with pytest.raises(UnknownSchemaError, match="unknown schema 'invoice/v1'"):
        get_schema("invoice/v1")
    with pytest.raises(UnknownSchemaError, match="unknown schema '0x00"):
        schema_by_id(bytes(32))
