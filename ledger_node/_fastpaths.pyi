"""Compiled fast paths (``_fastpaths.c``): record predicates, bundle hex decoding, the split
of a JSON array into its items, and HMAC-SHA256 for subject tags.

Each record predicate takes the latest POSIX second a fact may carry (the acceptance moment
plus clock skew, :class:`ledger_node.records.clock.Moment`).
"""

#: rate -> (per mille, general taxpayers, small-scale taxpayers, allowed on special
#: invoices, ((first day, last day), ...) in force, ISO dates or None for open ends).
RATE_TABLE: dict[str, tuple[int, bool, bool, bool, tuple[tuple[str | None, str | None], ...]]]
#: ({USCC authority: its categories}, (mainland provincial division codes, ...)).
IDENTIFIER_TABLES: tuple[dict[str, str], tuple[str, ...]]
MAX_LINES: int
MAX_NAME_LENGTH: int
MAX_REMARKS_LENGTH: int
USCC_ALPHABET: str

def invoice_v1(record: object, latest_seconds: int, /) -> bool:
    """True only if the invoice.issued/v1 record certainly satisfies its schema."""

def invoice_v2(record: object, latest_seconds: int, /) -> bool:
    """True only if the invoice.issued/v2 record certainly satisfies its schema."""

def payment_v1(record: object, latest_seconds: int, /) -> bool:
    """True only if the payment.settled/v1 record certainly satisfies its schema."""

def payment_v2(record: object, latest_seconds: int, foreign_currencies: frozenset[str], /) -> bool:
    """True only if the payment.settled/v2 record certainly satisfies its schema."""

def declaration_v1(record: object, latest_seconds: int, /) -> bool:
    """True only if the tax.declaration/v1 record certainly satisfies its schema."""

def uscc(code: object, /) -> bool:
    """True if ``code`` is a str holding a valid USCC."""

def resident_id(code: object, latest_seconds: int, /) -> bool:
    """True if ``code`` is a str holding a valid resident ID number at that clock."""

def hex_values(strings: list[object], sizes: tuple[int, ...], /) -> tuple[bytes, ...] | None:
    """The bytes of each ``"0x"``-prefixed lowercase hex string of its size, or None."""

def array_items(data: bytes, start: int, /) -> list[int] | None:
    """``[begin, end, begin, end, ..., after]``: where each item of the JSON array at
    ``data[start]`` begins and ends (without the blanks around it), and the offset past its
    ``]``; None where the text is not a JSON array by a grammar that accepts nothing orjson
    refuses (and leaves to orjson items nested deeper than 64, numbers that might not fit a
    double, exponents of more than four digits)."""

def hmac_sha256_key(key: bytes, /) -> bytes:
    """The 64 bytes HMAC-SHA256 under ``key`` starts each message from (the SHA-256 states
    after its inner and outer pad blocks)."""

def hmac_sha256(keyed: bytes, prefix: bytes, text: str, /) -> bytes:
    """HMAC-SHA256 of ``prefix + text.encode()`` under the key ``keyed`` was made from by
    :func:`hmac_sha256_key`."""
