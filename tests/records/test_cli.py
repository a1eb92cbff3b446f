"""``taxledger sample``."""

from __future__ import annotations

import json

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
