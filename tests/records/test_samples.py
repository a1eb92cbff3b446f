"""Generated records always validate, are deterministic, and scenarios are coherent."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger_node.errors import UnknownSchemaError
from ledger_node.records import problems, validate
from ledger_node.records.samples import generate, scenario
from ledger_node.records.schemas import SCHEMAS


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(min_value=0, max_value=2**32), name=st.sampled_from(sorted(SCHEMAS)))
def test_generated_records_validate(seed: int, name: str) -> None:
    for record in generate(name, 20, seed):
        assert problems(name, record) == ()


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_generation_is_deterministic(name: str) -> None:
    assert generate(name, 5, 42) == generate(name, 5, 42)
    assert generate(name, 5, 42) != generate(name, 5, 43)


def test_invoices_look_real() -> None:
    invoices = generate("invoice.issued/v1", 300, 7)
    counts = [sum(1 for line in inv["lines"] if "discount" not in line) for inv in invoices]
    assert min(counts) == 1 and max(counts) == 5
    assert any("red_of" in inv for inv in invoices)
    assert any(line.get("discount") for inv in invoices for line in inv["lines"])
    assert any(inv["buyer"]["id_type"] == "resident_id" for inv in invoices)
    names = {inv["seller"]["name"] for inv in invoices}
    assert all(name.endswith("公司") for name in names)


def test_scenario_flows_agree() -> None:
    built = scenario(3, companies=6, invoices=40)
    invoices = built.records["invoice.issued/v1"]
    payments = built.records["payment.settled/v1"]
    assert len(invoices) == len(payments) == 40
    for invoice, payment in zip(invoices, payments, strict=True):
        assert payment["invoice_number"] == invoice["invoice_number"]
        assert payment["amount"] == invoice["total"]
        assert payment["payee"]["tax_id"] == invoice["seller"]["tax_id"]
        assert payment["payer"]["tax_id"] == invoice["buyer"]["tax_id"]
    usccs = {company.uscc for company in built.companies}
    assert {r["uscc"] for r in built.records["registration.status/v1"]} == usccs
    assert not any(r["abnormal"] for r in built.records["registration.status/v1"])
    for name, records in built.records.items():
        for record in records:
            validate(name, record)


def test_unknown_schema() -> None:
    with pytest.raises(UnknownSchemaError):
        generate("invoice.issued/v9", 1, 0)
