"""Recursive Length Prefix encoding (the Ethereum yellow paper, appendix B), the parts the
library writes: byte strings, non-negative integers and lists of already encoded items.

Transactions (:mod:`ledger_node.chain.transactions`) and the QBFT genesis ``extraData``
(:mod:`ledger_node.kit.genesis`) are both built from these.
"""

from __future__ import annotations


def _length_prefix(length: int, offset: int) -> bytes:
    if length <= 55:
        return bytes([offset + length])
    encoded = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes([offset + 55 + len(encoded)]) + encoded


def encode_bytes(value: bytes) -> bytes:
    """RLP of a byte string."""
    if len(value) == 1 and value[0] < 0x80:
        return value
    return _length_prefix(len(value), 0x80) + value


def encode_int(value: int) -> bytes:
    """RLP of a non-negative integer (big-endian, no leading zeros; 0 is the empty string)."""
    return encode_bytes(value.to_bytes((value.bit_length() + 7) // 8, "big"))


def encode_list(payload: bytes) -> bytes:
    """RLP of a list whose items are already encoded and concatenated in ``payload``."""
    return _length_prefix(len(payload), 0xC0) + payload
