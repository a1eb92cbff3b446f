"""``taxledger sample``."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from ledger_node.cli import main
from ledger_node.records import validate


def test_sample_prints_valid_json_lines() -> None:
    result = CliRunner().invoke(
        main, ["sample", "invoice.issued/v1", "--count", "3", "--seed", "9"]
    )
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert len(lines) == 3
    for line in lines:
        validate("invoice.issued/v1", json.loads(line))
    again = CliRunner().invoke(main, ["sample", "invoice.issued/v1", "-n", "3", "-s", "9"])
    assert again.output == result.output


def test_sample_refuses_unknown_schema() -> None:
    result = CliRunner().invoke(main, ["sample", "invoice/v1"])
    assert result.exit_code == 2
    assert "invoice/v1" in result.output


def test_sample_market_prints_bulk_items_and_the_ground_truth(tmp_path: Path) -> None:
    truth = tmp_path / "truth.json"
    result = CliRunner().invoke(
        main,
        [
            *("sample", "market", "--invoices", "100", "--seed", "4"),
            *("--plant", "half_payment", "--truth", str(truth)),
        ],
    )
    assert result.exit_code == 0, result.output
    items = [json.loads(line) for line in result.output.splitlines()]
    assert {item["schema"] for item in items} >= {
        "invoice.issued/v2",
        "payment.settled/v2",
        "tax.declaration/v1",
        "tax.status/v1",
        "registration.status/v1",
        "credit.tax-rating/v1",
    }
    assert len({item["id"] for item in items}) == len(items)
    for item in items:
        validate(item["schema"], item["record"])
    (planted,) = json.loads(truth.read_text())["planted"]
    assert (planted["pattern"], planted["finding"]) == ("half_payment", "amount_mismatch")
    assert any(item["id"] == f"INV-{planted['subject']}" for item in items)


def test_sample_refuses_patterns_it_does_not_know_and_outside_a_market() -> None:
    unknown = CliRunner().invoke(main, ["sample", "market", "--plant", "circular"])
    assert unknown.exit_code == 2
    assert "unknown pattern 'circular'; expected one of unpaid_invoice" in unknown.output
    single = CliRunner().invoke(main, ["sample", "tax.status/v1", "--plant", "half_payment"])
    assert single.exit_code == 2
    assert "--plant and --truth apply to the market only" in single.output
