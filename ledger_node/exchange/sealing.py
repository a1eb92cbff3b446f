"""HPKE (RFC 9180) sealing of an answer to the requester's registered X25519 key.

Base mode, DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, ChaCha20-Poly1305, through the
``cryptography`` package. The ``info`` binds the ciphertext to one request's digest, so an
answer cannot be passed off as the answer to another request.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hpke
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PublicKey

from ledger_node.errors import LedgerValueError
from ledger_node.keys import EncryptionKey

SUITE: Final = hpke.Suite(hpke.KEM.X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.CHACHA20_POLY1305)
_INFO: Final = b"taxledger.exchange/v1\x00"


def seal(plaintext: bytes, public_key: bytes, request_digest: bytes) -> bytes:
    """``plaintext`` encrypted to the 32-byte X25519 ``public_key`` for one request."""
    recipient = _recipient(public_key)
    return SUITE.encrypt(plaintext, recipient, info=_INFO + request_digest)


@lru_cache(maxsize=1024)
def _recipient(public_key: bytes) -> X25519PublicKey:
    """A registered key, parsed once (a provider seals to the same few keys all day)."""
    return X25519PublicKey.from_public_bytes(public_key)


def open_sealed(ciphertext: bytes, key: EncryptionKey, request_digest: bytes) -> bytes:
    """Decrypt what :func:`seal` made for ``key`` and this request; LedgerValueError if it
    was sealed to another key or request, or altered."""
    try:
        return SUITE.decrypt(ciphertext, key.private_key(), info=_INFO + request_digest)
    except (InvalidTag, ValueError) as exc:
        raise LedgerValueError(
            "the answer does not open with this agency's encryption key for this request "
            f"(sealed to another key or request, or altered): {type(exc).__name__}"
        ) from None
