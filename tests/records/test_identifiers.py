"""USCC, resident ID, legacy taxpayer id and invoice number checks."""

from __future__ import annotations

import datetime

import pytest

from ledger_node.records.identifiers import (
    USCC_ALPHABET,
    invoice_number_problem,
    is_valid_legacy_taxpayer_id,
    is_valid_resident_id,
    is_valid_uscc,
    make_resident_id,
    make_uscc,
    mask_resident_id,
    org_code_check_char,
    party_label,
    resident_id_check_char,
    uscc_check_char,
)

VALID_USCC = [
    "91310110666007217T",
    "91110000600037341L",
    "9144030071526726XG",
    "914403001922038216",
]


@pytest.mark.parametrize("code", VALID_USCC)
def test_published_usccs_are_valid(code: str) -> None:
    assert is_valid_uscc(code)
    assert uscc_check_char(code[:17]) == code[17]


@pytest.mark.parametrize("code", VALID_USCC)
def test_every_single_character_change_is_caught(code: str) -> None:
    # 31 is prime and no weight is 0 mod 31, so any one substitution changes the sum.
    for position in range(18):
        for ch in USCC_ALPHABET:
            if ch != code[position]:
                mutated = code[:position] + ch + code[position + 1 :]
                assert not is_valid_uscc(mutated), mutated


@pytest.mark.parametrize(
    "code",
    [
        "91310110666007217t",  # lower case
        "9131011066600721T",  # 17 characters
        "91310110666007217TT",  # 19 characters
        "9131A110666007217T",  # letter in the division code
        "91310110666007217I",  # I is not in the alphabet
        " 91310110666007217T",
        "",
    ],
)
def test_malformed_usccs_are_invalid(code: str) -> None:
    assert not is_valid_uscc(code)


def test_letters_are_allowed_in_the_first_two_positions() -> None:
    code = make_uscc("Y", "1", "310110", "66600721")
    assert code.startswith("Y1") and is_valid_uscc(code)
    code = make_uscc("N", "2", "440300", "MA5F0T3K")
    assert is_valid_uscc(code)


def test_make_uscc_reproduces_a_published_code() -> None:
    # 91310110666007217T: organisation code 66600721-7 (GB 11714 check 7).
    assert org_code_check_char("66600721") == "7"
    assert make_uscc("9", "1", "310110", "66600721") == "91310110666007217T"


def test_make_uscc_rejects_bad_parts() -> None:
    with pytest.raises(ValueError, match="region must be 6 digits"):
        make_uscc(region="3101")
    with pytest.raises(ValueError, match="not in the USCC alphabet"):
        uscc_check_char("9131011066600721I")


def test_resident_id() -> None:
    assert is_valid_resident_id("11010519491231002X")
    assert resident_id_check_char("11010519491231002") == "X"
    assert not is_valid_resident_id("110105194912310021")  # wrong check
    assert not is_valid_resident_id("11010519491331002X")  # month 13
    assert not is_valid_resident_id("11010519491231002x")
    generated = make_resident_id("440300", datetime.date(1990, 2, 28), 7)
    assert generated.startswith("44030019900228007") and is_valid_resident_id(generated)


def test_legacy_taxpayer_id_lengths() -> None:
    assert is_valid_legacy_taxpayer_id("310110666007217")
    assert is_valid_legacy_taxpayer_id("31011066600721701")
    assert is_valid_legacy_taxpayer_id("3101106660072170000X")
    assert not is_valid_legacy_taxpayer_id("3101106660072")
    assert not is_valid_legacy_taxpayer_id("310110666007217000")  # 18
    assert not is_valid_legacy_taxpayer_id("31011066600721a")


def test_invoice_number_is_exactly_twenty_digits() -> None:
    assert invoice_number_problem("26310000000000012345", 2026) is None
    for number in (
        "2631000000000001234",
        "263100000000000123456",
        "2631000000000001234X",
        "٢6310000000000012345",  # Arabic-Indic digit
    ):
        assert invoice_number_problem(number, None) == (
            "invoice_number_format",
            f"expected 20 digits, got {number!r}",
        )


def test_party_label_masks_only_resident_ids() -> None:
    assert mask_resident_id("11010519900101123X") == "110105********123X"
    assert mask_resident_id("123") == "***"
    company = {"name": "某公司", "tax_id": "91310110666007217T"}
    assert party_label(company) == "91310110666007217T"
    assert party_label({**company, "id_type": "uscc"}) == "91310110666007217T"
    assert party_label({**company, "id_type": "legacy"}) == "91310110666007217T"
    person = {"name": "张三", "tax_id": "11010519900101123X", "id_type": "resident_id"}
    assert party_label(person) == "110105********123X"
