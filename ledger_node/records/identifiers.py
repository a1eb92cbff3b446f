"""Identifiers that appear in records: USCC, personal documents, invoice numbers.

Every check here is on the canonical form only (upper case, no spaces): a record is hashed
as sent, so accepting ``91310110666007217t`` as well as ``…T`` would give one taxpayer two
hashes and two subject tags.

Sources of the tables (see docs/record-schemas.md):

- USCC: GB 32100-2015 (alphabet, registration authorities and their categories, the mod-31
  check), GB/T 2260 (the administrative division code at positions 3–8), GB 11714-1997 (the
  organisation code at positions 9–17 and its mod-11 check).
- Resident ID: GB 11643-1999 (division code, birth date, ISO 7064 MOD 11-2 check); the
  residence permits of Hong Kong, Macao and Taiwan residents use the same number with the
  division codes 810000, 820000 and 830000 (港澳台居民居住证申领发放办法, 2018).
- Foreign permanent resident ID: the 2017 card's 15 characters (3 letters, 12 digits) and the
  2023 card's 18 digits, first digit 9, MOD 11-2 check (National Immigration
  Administration, 新版外国人永久居留身份证机读信息规则, 2023).
- 数电 invoice number: positions 1–2 the year of issue, 3–4 the provincial-level division
  code of the issuing tax authority, 5 the channel, 6–20 a sequence (the State Taxation
  Administration's published layout of the fully digitalised e-invoice number).
"""

from __future__ import annotations

import datetime
import operator
import re
from typing import Any, Final

#: GB 32100-2015 alphabet; a character's value is its index (no I, O, S, V, Z).
USCC_ALPHABET: Final = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_VALUE = {ch: i for i, ch in enumerate(USCC_ALPHABET)}
USCC_VALUE_TABLE: Final = bytes(_USCC_VALUE.get(chr(b), 0) for b in range(256))
#: Weights for positions 1–17: 3^(i−1) mod 31.
_USCC_WEIGHTS = tuple(pow(3, i, 31) for i in range(17))
# Positions 1–2 (authority, category) and 9–18 come from the alphabet; 3–8 are the
# administrative division code, digits only. Letters are allowed at 1–2 (GB 32100 §4).
USCC_SHAPE: Final = re.compile(r"[0-9A-HJ-NP-RTUWXY]{2}[0-9]{6}[0-9A-HJ-NP-RTUWXY]{10}")

#: GB 32100-2015 table 1: registration authority (position 1) -> its categories (position 2).
USCC_CATEGORIES: Final[dict[str, str]] = {
    "1": "1239",  # 机构编制: 机关, 事业单位, 中央编办直接管理机构编制的群众团体, 其他
    "2": "19",  # 外交
    "3": "123459",  # 司法行政: 律师执业机构, 公证处, 基层法律服务所, 司法鉴定机构, 仲裁委员会
    "4": "19",  # 文化
    "5": "1239",  # 民政: 社会团体, 民办非企业单位, 基金会
    "6": "129",  # 旅游
    "7": "129",  # 宗教
    "8": "19",  # 工会
    "9": "123",  # 工商 (market regulation): 企业, 个体工商户, 农民专业合作社 — no 9
    "A": "19",  # 中央军委改革和编制办公室
    "N": "1239",  # 农业: 集体经济组织 at group, village and township level
    "Y": "1",  # 其他
}

#: GB/T 2260 provincial-level division codes (first two digits) of the mainland.
_PROVINCE_CODES = (
    "11",
    "12",
    "13",
    "14",
    "15",
    "21",
    "22",
    "23",
    "31",
    "32",
    "33",
    "34",
    "35",
    "36",
    "37",
    "41",
    "42",
    "43",
    "44",
    "45",
    "46",
    "50",
    "51",
    "52",
    "53",
    "54",
    "61",
    "62",
    "63",
    "64",
    "65",
)  # fmt: skip
MAINLAND_PROVINCES: Final = frozenset(_PROVINCE_CODES)
#: Division prefixes a USCC may carry: the mainland provinces, and 10 for registrations by
#: central-level authorities (division code 100000).
USCC_REGIONS: Final = MAINLAND_PROVINCES | {"10"}
#: Division prefixes of a resident ID number: the mainland, Taiwan (71, GB/T 2260), and
#: Hong Kong, Macao and Taiwan residents' residence permits (81, 82, 83).
RESIDENT_REGIONS: Final = MAINLAND_PROVINCES | {"71", "81", "82", "83"}
#: Positions 3–4 of a 数电 invoice number: the provincial-level tax authority that issued it,
#: by its GB/T 2260 provincial code. The five cities with separate planning status (大连,
#: 宁波, 厦门, 青岛, 深圳) have provincial-level tax bureaus; their division codes (2102,
#: 3302, 3502, 3702, 4403) begin with their province's two digits, which is all two
#: positions can hold, so the table is the provincial one.
INVOICE_REGIONS: Final = MAINLAND_PROVINCES

#: GB 11714 organisation code: weights for its 8 body characters, check is mod 11.
_ORG_CODE_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)

#: ISO 7064 MOD 11-2 weights for the 17 body digits of a resident ID: 2^(17−i) mod 11.
_RESIDENT_WEIGHTS = tuple(pow(2, 17 - i, 11) for i in range(17))
_RESIDENT_SHAPE = re.compile(r"[1-9][0-9]{16}[0-9X]")
#: The earliest birth date a resident ID may carry.
EARLIEST_BIRTH: Final = datetime.date(1900, 1, 1)

# Pre-USCC taxpayer numbers: 15 (region + organisation code), 17 or 20 characters.
_LEGACY_SHAPE = re.compile(r"[0-9A-Z]{15}|[0-9A-Z]{17}|[0-9A-Z]{20}")
# A passport number as printed: ICAO 9303 document numbers are 9 characters in the
# machine-readable zone, longer where a state extends them; 5..20 upper-case letters and digits.
_PASSPORT_SHAPE = re.compile(r"[0-9A-Z]{5,20}")
# 港澳居民来往内地通行证: H (Hong Kong) or M (Macao) and 8 digits on the card issued since
# 2013; the older booklet added a 2-digit issue count.
_HKMO_PERMIT_SHAPE = re.compile(r"[HM][0-9]{8}(?:[0-9]{2})?")
# 台湾居民来往大陆通行证: 8 digits on the card issued since 2015 (10 on the older booklet).
_TAIWAN_PERMIT_SHAPE = re.compile(r"[0-9]{8}(?:[0-9]{2})?")
# 外国人永久居留身份证, 2017 card: ISO 3166 alpha-3 nationality and 12 digits.
_FOREIGN_2017_SHAPE = re.compile(r"[A-Z]{3}[0-9]{12}")
_INVOICE_NUMBER_SHAPE = re.compile(r"[0-9]{20}")
# Pre-digital VAT invoices: a 10- or 12-digit invoice code and an 8-digit number.
_LEGACY_INVOICE_CODE = re.compile(r"[0-9]{10}|[0-9]{12}")
_LEGACY_INVOICE_NUMBER = re.compile(r"[0-9]{8}")


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


def uscc_checksum_ok(code: str) -> bool:
    """The GB 32100 check character of a code already known to have the USCC shape."""
    # The shape check made the code ASCII; translate() maps characters to their values in C,
    # several times faster than a Python loop on this hot path.
    values = code.encode("ascii").translate(USCC_VALUE_TABLE)
    total = sum(map(operator.mul, values[:17], _USCC_WEIGHTS))
    return USCC_ALPHABET[(31 - total % 31) % 31] == code[17]


def uscc_problem(code: str) -> tuple[str, str] | None:
    """``(rule, message)`` for the first thing wrong with ``code`` as a USCC, or None.

    Rules: ``uscc_format`` (shape), ``uscc_authority`` (positions 1–2), ``uscc_region``
    (positions 3–4), ``uscc_org_check`` (positions 9–17) and ``uscc_check`` (position 18).
    """
    if len(code) != 18 or USCC_SHAPE.fullmatch(code) is None:
        return (
            "uscc_format",
            f"{code!r} is not 18 characters of 0-9A-HJ-NP-RTUWXY with digits at 3-8",
        )
    if code[1] not in USCC_CATEGORIES.get(code[0], ""):
        return (
            "uscc_authority",
            f"{code!r}: {code[:2]!r} is not a registration authority and category of GB 32100-2015",
        )
    if code[2:4] not in USCC_REGIONS:
        return (
            "uscc_region",
            f"{code!r}: {code[2:8]!r} is not an administrative division code (GB/T 2260)",
        )
    if org_code_check_char(code[8:16]) != code[16]:
        return (
            "uscc_org_check",
            f"{code!r}: the organisation code {code[8:17]!r} has a wrong GB 11714 check character",
        )
    if not uscc_checksum_ok(code):
        return ("uscc_check", f"{code!r} has a wrong check character")
    return None


def is_valid_uscc(code: str) -> bool:
    """True if ``code`` is a USCC every part of which is right (see :func:`uscc_problem`)."""
    return uscc_problem(code) is None


def org_code_check_char(body8: str) -> str:
    """The GB 11714 check character of an 8-character organisation code body."""
    if len(body8) != 8:
        raise ValueError(f"organisation code body must be 8 characters, got {len(body8)}")
    total = 0
    for ch, w in zip(body8, _ORG_CODE_WEIGHTS, strict=True):
        if "0" <= ch <= "9":
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
    problem = uscc_problem(code)
    if problem is not None:
        raise ValueError(f"cannot build a USCC from {body!r}: {problem[1]}")
    return code


def resident_id_check_char(body17: str) -> str:
    """The ISO 7064 MOD 11-2 check character (``0``–``9`` or ``X``) of a resident ID."""
    if len(body17) != 17 or not body17.isdigit():
        raise ValueError("resident ID body must be 17 digits")
    total = sum(int(d) * w for d, w in zip(body17, _RESIDENT_WEIGHTS, strict=True))
    check = (12 - total % 11) % 11
    return "X" if check == 10 else str(check)


def _birth_date(code: str) -> datetime.date | None:
    try:
        return datetime.date(int(code[6:10]), int(code[10:12]), int(code[12:14]))
    except ValueError:
        return None


def is_valid_resident_id(code: str, latest: datetime.date | None = None) -> bool:
    """True if ``code`` is a resident ID number: a real division prefix, a real birth date
    from 1900 to ``latest`` (today if None), and the MOD 11-2 check character."""
    if len(code) != 18 or _RESIDENT_SHAPE.fullmatch(code) is None:
        return False
    if code[:2] not in RESIDENT_REGIONS:
        return False
    birth = _birth_date(code)
    if birth is None or not EARLIEST_BIRTH <= birth <= (latest or datetime.date.today()):
        return False
    return resident_id_check_char(code[:17]) == code[17]


def is_valid_foreign_permanent_resident_id(code: str, latest: datetime.date | None = None) -> bool:
    """True if ``code`` is a foreign permanent resident ID: the 2017 card's shape, or the
    2023 card's 18 digits starting with 9, a real birth date and the MOD 11-2 check."""
    if _FOREIGN_2017_SHAPE.fullmatch(code) is not None:
        return True
    if len(code) != 18 or code[0] != "9" or _RESIDENT_SHAPE.fullmatch(code) is None:
        return False
    birth = _birth_date(code)
    if birth is None or not EARLIEST_BIRTH <= birth <= (latest or datetime.date.today()):
        return False
    return resident_id_check_char(code[:17]) == code[17]


def make_resident_id(region: str, birth: datetime.date, sequence: int) -> str:
    """Assemble a resident ID from a 6-digit region, a birth date and a 3-digit sequence."""
    if len(region) != 6 or not region.isdigit() or region[:2] not in RESIDENT_REGIONS:
        raise ValueError(f"region must be a 6-digit division code, got {region!r}")
    if not 0 <= sequence <= 999:
        raise ValueError(f"sequence must be 0..999, got {sequence}")
    body = f"{region}{birth:%Y%m%d}{sequence:03d}"
    return body + resident_id_check_char(body)


def mask_resident_id(code: str) -> str:
    """A personal document number as reports show it: the first six and the last four
    characters, the rest hidden (``110105********123X``). It is personal information under
    the PIPL; a company's USCC is public and is never masked."""
    if len(code) <= 10:
        return "*" * len(code)
    return code[:6] + "*" * (len(code) - 10) + code[-4:]


#: Buyer and seller identifier types that name a natural person (personal information).
PERSONAL_ID_TYPES: Final = frozenset(
    {"resident_id", "passport", "hkmo_permit", "taiwan_permit", "foreign_permanent_resident"}
)


def party_label(party: dict[str, Any]) -> str:
    """How reports name a party ``{name, tax_id?, id_type?}``: its identifier, masked if it
    names a natural person, or its name if it carries no identifier."""
    if "tax_id" not in party:
        return f"{party.get('name', '')} (no ID)"
    tax_id = str(party["tax_id"])
    return mask_resident_id(tax_id) if party.get("id_type") in PERSONAL_ID_TYPES else tax_id


def is_valid_legacy_taxpayer_id(code: str) -> bool:
    """True if ``code`` has the shape of a pre-USCC taxpayer number: 15, 17 or 20 upper-case
    letters and digits. These carry no check character that is reliable across provinces."""
    return _LEGACY_SHAPE.fullmatch(code) is not None


def is_valid_passport(code: str) -> bool:
    """True if ``code`` has the shape of a passport number (5..20 of ``[0-9A-Z]``)."""
    return _PASSPORT_SHAPE.fullmatch(code) is not None


def is_valid_hkmo_permit(code: str) -> bool:
    """True if ``code`` is a Mainland Travel Permit number of a Hong Kong or Macao resident."""
    return _HKMO_PERMIT_SHAPE.fullmatch(code) is not None


def is_valid_taiwan_permit(code: str) -> bool:
    """True if ``code`` is a Mainland Travel Permit number of a Taiwan resident."""
    return _TAIWAN_PERMIT_SHAPE.fullmatch(code) is not None


def invoice_number_problem(number: str, issue_year: int | None) -> tuple[str, str] | None:
    """``(rule, message)`` for what is wrong with a 数电 invoice number, or None.

    ``invoice_number_format``: not 20 digits; ``invoice_number_region``: positions 3–4 are
    not a provincial-level tax authority (:data:`INVOICE_REGIONS`); ``invoice_number_year``:
    positions 1–2 are not the last two digits of ``issue_year`` (skipped if None).
    """
    if len(number) != 20 or _INVOICE_NUMBER_SHAPE.fullmatch(number) is None:
        return ("invoice_number_format", f"expected 20 digits, got {number!r}")
    if number[2:4] not in INVOICE_REGIONS:
        return (
            "invoice_number_region",
            f"{number!r}: positions 3-4 {number[2:4]!r} are not a provincial-level tax authority",
        )
    if issue_year is not None and number[:2] != f"{issue_year % 100:02d}":
        return (
            "invoice_number_year",
            f"{number!r}: positions 1-2 {number[:2]!r} are not the year of issue {issue_year}",
        )
    return None


def is_valid_legacy_invoice_code(code: str) -> bool:
    """True if ``code`` is a pre-digital invoice code: 10 digits whose first two are a
    province, or 12 digits whose first is 0, 1 or 2 and next two a province."""
    if _LEGACY_INVOICE_CODE.fullmatch(code) is None:
        return False
    province = code[:2] if len(code) == 10 else code[1:3]
    return province in MAINLAND_PROVINCES and (len(code) == 10 or code[0] in "012")


def is_valid_legacy_invoice_number(number: str) -> bool:
    """True if ``number`` is the 8-digit number of a pre-digital invoice."""
    return _LEGACY_INVOICE_NUMBER.fullmatch(number) is not None
