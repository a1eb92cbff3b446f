"""Identifiers that appear in records: USCC, resident ID card, legacy taxpayer id, invoice number.

Every check here is on the canonical form only (upper case, no spaces): a record is hashed
as sent, so accepting ``91310110666007217t`` as well as ``…T`` would give one taxpayer two
hashes and two subject tags.
"""

from __future__ import annotations

import datetime
import operator
import re
from typing import Any

#: GB 32100-2015 alphabet; a character's value is its index (no I, O, S, V, Z).
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_VALUE = {ch: i for i, ch in enumerate(USCC_ALPHABET)}
_USCC_VALUE_TABLE = bytes(_USCC_VALUE.get(chr(b), 0) for b in range(256))
#: Weights for positions 1–17: 3^(i−1) mod 31.
_USCC_WEIGHTS = tuple(pow(3, i, 31) for i in range(17))
# Positions 1–2 (authority, category) and 9–18 come from the alphabet; 3–8 are the
# administrative division code, digits only. Letters are allowed at 1–2 (GB 32100 §4).
_USCC_SHAPE = re.compile(r"[0-9A-HJ-NP-RTUWXY]{2}[0-9]{6}[0-9A-HJ-NP-RTUWXY]{10}")

#: GB 11714 organisation code: weights for its 8 body characters, check is mod 11.
_ORG_CODE_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)

#: ISO 7064 MOD 11-2 weights for the 17 body digits of a resident ID card: 2^(17−i) mod 11.
_RESIDENT_WEIGHTS = tuple(pow(2, 17 - i, 11) for i in range(17))
_RESIDENT_SHAPE = re.compile(r"[1-9][0-9]{16}[0-9X]")

# Pre-USCC taxpayer numbers: 15 (region + organisation code), 17 or 20 characters.
_LEGACY_SHAPE = re.compile(r"[0-9A-Z]{15}|[0-9A-Z]{17}|[0-9A-Z]{20}")
_INVOICE_NUMBER_SHAPE = re.compile(r"[0-9]{20}")


def uscc_check_char(body17: str) -> str:
    """The GB 32100-2015 check character for the first 17 characters of a USCC.

    Raises ``ValueError`` if ``body17`` is not 17 characters of the USCC alphabet.
    """
    if len(body17) != 17:
        raise ValueError(f"USCC body must be 17 characters, got {len(body17)}")
    try:
        total = sum(_USCC_VALUE[ch] * w for ch, w in zip(body17, _USCC_WEIGHTS, strict=True))
    except KeyError as exc:
        raise ValueError(f"{exc.args[0]!r} is not in the USCC alphabet") from None
    return USCC_ALPHABET[(31 - total % 31) % 31]


def is_valid_uscc(code: str) -> bool:
    """True if ``code`` is an 18-character USCC with a correct check character."""
    if len(code) != 18 or _USCC_SHAPE.fullmatch(code) is None:
        return False
    # The shape check made the code ASCII; translate() maps characters to their values in C,
    # several times faster than a Python loop on this hot path.
    values = code.encode("ascii").translate(_USCC_VALUE_TABLE)
    total = sum(map(operator.mul, values[:17], _USCC_WEIGHTS))
    return USCC_ALPHABET[(31 - total % 31) % 31] == code[17]


def org_code_check_char(body8: str) -> str:
    """The GB 11714 check character of an 8-character organisation code body."""
    if len(body8) != 8:
        raise ValueError(f"organisation code body must be 8 characters, got {len(body8)}")
    total = 0
    for ch, w in zip(body8, _ORG_CODE_WEIGHTS, strict=True):
        if ch.isdigit():
            total += int(ch) * w
        elif "A" <= ch <= "Z":
            total += (ord(ch) - ord("A") + 10) * w
        else:
            raise ValueError(f"{ch!r} is not allowed in an organisation code")
    check = 11 - total % 11
    return "X" if check == 10 else "0" if check == 11 else str(check)


def make_uscc(
    authority: str = "9", category: str = "1", region: str = "310110", org_code_body: str = ""
) -> str:
    """Assemble a USCC with correct check characters.

    ``authority`` and ``category`` are one alphabet character each (``9``/``1`` is a company
    registered by market regulation), ``region`` the 6-digit division code, and
    ``org_code_body`` the 8-character organisation code body; its GB 11714 check character
    and the USCC check character are computed.
    """
    if len(region) != 6 or not region.isdigit():
        raise ValueError(f"region must be 6 digits, got {region!r}")
    org = org_code_body + org_code_check_char(org_code_body)
    body = authority + category + region + org
    code = body + uscc_check_char(body)
    if not is_valid_uscc(code):
        raise ValueError(f"cannot build a USCC from {body!r}: characters outside the alphabet")
    return code


def resident_id_check_char(body17: str) -> str:
    """The ISO 7064 MOD 11-2 check character (``0``–``9`` or ``X``) of a resident ID."""
    if len(body17) != 17 or not body17.isdigit():
        raise ValueError("resident ID body must be 17 digits")
    total = sum(int(d) * w for d, w in zip(body17, _RESIDENT_WEIGHTS, strict=True))
    check = (12 - total % 11) % 11
    return "X" if check == 10 else str(check)


def is_valid_resident_id(code: str) -> bool:
    """True if ``code`` is an 18-character resident ID card number with a valid check
    character and a real birth date (positions 7–14)."""
    if len(code) != 18 or _RESIDENT_SHAPE.fullmatch(code) is None:
        return False
    try:
        datetime.date(int(code[6:10]), int(code[10:12]), int(code[12:14]))
    except ValueError:
        return False
    return resident_id_check_char(code[:17]) == code[17]


def make_resident_id(region: str, birth: datetime.date, sequence: int) -> str:
    """Assemble a resident ID from a 6-digit region, a birth date and a 3-digit sequence."""
    if len(region) != 6 or not region.isdigit() or region[0] == "0":
        raise ValueError(f"region must be 6 digits not starting with 0, got {region!r}")
    if not 0 <= sequence <= 999:
        raise ValueError(f"sequence must be 0..999, got {sequence}")
    body = f"{region}{birth:%Y%m%d}{sequence:03d}"
    return body + resident_id_check_char(body)


def mask_resident_id(code: str) -> str:
    """A resident ID card number as reports show it: the region code and the last four
    characters, the birth date and the rest hidden (``110105********123X``). It is personal
    information under the PIPL; a company's USCC is public and is never masked."""
    if len(code) <= 10:
        return "*" * len(code)
    return code[:6] + "*" * (len(code) - 10) + code[-4:]


def party_label(party: dict[str, Any]) -> str:
    """How reports name a party ``{name, tax_id, id_type?}``: its identifier, masked if it is
    an individual's resident ID."""
    tax_id = str(party.get("tax_id", ""))
    return mask_resident_id(tax_id) if party.get("id_type") == "resident_id" else tax_id


def is_valid_legacy_taxpayer_id(code: str) -> bool:
    """True if ``code`` has the shape of a pre-USCC taxpayer number: 15, 17 or 20 upper-case
    letters and digits. These carry no check character that is reliable across provinces."""
    return _LEGACY_SHAPE.fullmatch(code) is not None


def is_valid_invoice_number(number: str) -> bool:
    """True if ``number`` is a fully digitalised e-invoice number: exactly 20 ASCII digits.

    The inner layout (year, region, sequence) is deliberately not checked: it is not
    published as a standard.
    """
    return len(number) == 20 and _INVOICE_NUMBER_SHAPE.fullmatch(number) is not None
