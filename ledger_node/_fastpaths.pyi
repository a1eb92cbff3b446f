"""Compiled fast paths (``_fastpaths.c``): record predicates and bundle hex decoding."""

RATE_PER_MILLE: dict[str, int]
MAX_LINES: int
MAX_NAME_LENGTH: int
MAX_REMARKS_LENGTH: int
USCC_ALPHABET: str

def invoice(record: object, /) -> bool:
    """True only if the invoice.issued/v1 record certainly satisfies its schema."""

def payment(record: object, /) -> bool:
    """True only if the payment.settled/v1 record certainly satisfies its schema."""

def uscc(code: object, /) -> bool:
    """True if ``code`` is a str holding a valid USCC."""

def resident_id(code: object, /) -> bool:
    """True if ``code`` is a str holding a valid resident ID card number."""

def hex_values(strings: list[object], sizes: tuple[int, ...], /) -> tuple[bytes, ...] | None:
    """The bytes of each ``"0x"``-prefixed lowercase hex string of its size, or None."""
