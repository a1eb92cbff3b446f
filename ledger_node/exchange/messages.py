"""The exchange on the wire: the signed request, and the answer sealed to the requester.

A request (``taxledger.exchange-request/v1``) carries the EIP-712
:class:`~ledger_node.eip712.ExchangeRequest` as JSON, with schema names and the purpose by
label, and the requester's signature; it may carry the bundle of the ``consent.granted``
fact it cites, for a provider that does not hold it. The answer's plaintext
(``taxledger.exchange-answer/v1``) names the request's digest, the disclosure record and the
proof bundles; it travels only sealed (``taxledger.exchange-sealed/v1``, :mod:`.sealing`).
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any, Final

import orjson

from ledger_node.bundle import to_hex
from ledger_node.eip712 import Domain, ExchangeRequest
from ledger_node.errors import LedgerValueError, UnknownSchemaError
from ledger_node.exchange.refusals import Refusal
from ledger_node.purposes import Purpose
from ledger_node.records.schemas import get_schema

REQUEST_FORMAT: Final = "taxledger.exchange-request/v1"
ANSWER_FORMAT: Final = "taxledger.exchange-answer/v1"
SEALED_FORMAT: Final = "taxledger.exchange-sealed/v1"
#: Most schemas one request may ask for (there are twelve).
MAX_SCHEMAS: Final = 16
ZERO32: Final = bytes(32)
#: Most facts (shown or withheld) one answer holds: a subject with more is answered in pages,
#: each asked by its own signed request and logged by its own disclosure record. A hundred
#: full invoice bundles make about 300 KB.
MAX_FACTS: Final = 100

_REQUEST_KEYS = frozenset(
    {
        "requester",
        "provider",
        "subject",
        "schemas",
        "purpose",
        "consent",
        "nonce",
        "deadline",
        "after",
    }
)


def _malformed(message: str) -> Refusal:
    return Refusal("malformed_request", message)


def _hex32(doc: dict[str, Any], name: str) -> bytes:
    value = doc.get(name)
    if type(value) is not str or len(value) != 66 or not value.startswith("0x"):
        raise _malformed(f"request.{name} must be 0x and 64 hex digits")
    try:
        return bytes.fromhex(value[2:])
    except ValueError:
        raise _malformed(f"request.{name} must be 0x and 64 hex digits") from None


def _uint(doc: dict[str, Any], name: str) -> int:
    value = doc.get(name)
    if type(value) is not int or value < 0:
        raise _malformed(f"request.{name} must be a non-negative integer")
    return value


@dataclass(frozen=True)
class SignedExchange:
    """A signed exchange request, as the provider receives it."""

    request: ExchangeRequest
    schemas: tuple[str, ...]
    purpose: Purpose
    signature: bytes
    consent_bundle: dict[str, Any] | None = None

    def digest(self, domain: Domain) -> bytes:
        """The EIP-712 digest the requester signed (the request's identity in the
        disclosure record and in the answer)."""
        return domain.digest(self.request.struct_hash())

    def to_dict(self) -> dict[str, Any]:
        r = self.request
        doc: dict[str, Any] = {
            "format": REQUEST_FORMAT,
            "request": {
                "requester": r.requester,
                "provider": r.provider,
                "subject": to_hex(r.subject),
                "schemas": list(self.schemas),
                "purpose": self.purpose.label,
                "consent": to_hex(r.consent),
                "nonce": to_hex(r.nonce),
                "deadline": r.deadline,
                "after": r.after,
            },
            "signature": to_hex(self.signature),
        }
        if self.consent_bundle is not None:
            doc["consent_bundle"] = self.consent_bundle
        return doc

    @classmethod
    def from_dict(cls, doc: object) -> SignedExchange:
        """Parse a request document; :class:`Refusal` ``malformed_request`` names what is
        wrong."""
        if type(doc) is not dict:
            raise _malformed("the body must be a JSON object")
        extra = set(doc) - {"format", "request", "signature", "consent_bundle"}
        if extra:
            raise _malformed(f"unknown field(s): {', '.join(sorted(map(str, extra)))}")
        if doc.get("format") != REQUEST_FORMAT:
            raise _malformed(f"format must be {REQUEST_FORMAT!r}")
        body = doc.get("request")
        if type(body) is not dict or set(body) != _REQUEST_KEYS:
            raise _malformed(f"request must hold exactly {', '.join(sorted(_REQUEST_KEYS))}")
        names = body["schemas"]
        if type(names) is not list or not 1 <= len(names) <= MAX_SCHEMAS:
            raise _malformed(f"request.schemas must list 1 to {MAX_SCHEMAS} schema names")
        if len(set(map(str, names))) != len(names) or not all(type(n) is str for n in names):
            raise _malformed("request.schemas must be distinct schema names")
        try:
            schema_ids = tuple(get_schema(name).schema_id for name in names)
        except UnknownSchemaError as exc:
            raise _malformed(f"request.schemas: {exc}") from None
        purpose_text = body["purpose"]
        if type(purpose_text) is not str:
            raise _malformed("request.purpose must be a purpose label")
        try:
            purpose = Purpose.parse(purpose_text)
        except LedgerValueError as exc:
            raise _malformed(f"request.purpose: {exc}") from None
        signature_text = doc.get("signature")
        if type(signature_text) is not str or not signature_text.startswith("0x"):
            raise _malformed("signature must be 0x and 130 hex digits")
        try:
            signature = bytes.fromhex(signature_text[2:])
        except ValueError:
            raise _malformed("signature must be 0x and 130 hex digits") from None
        consent_bundle = doc.get("consent_bundle")
        if consent_bundle is not None and type(consent_bundle) is not dict:
            raise _malformed("consent_bundle must be a proof bundle")
        try:
            request = ExchangeRequest(
                requester=_uint(body, "requester"),
                provider=_uint(body, "provider"),
                subject=_hex32(body, "subject"),
                schema_ids=schema_ids,
                purpose=int(purpose),
                consent=_hex32(body, "consent"),
                nonce=_hex32(body, "nonce"),
                deadline=_uint(body, "deadline"),
                after=_uint(body, "after"),
            )
        except LedgerValueError as exc:
            raise _malformed(str(exc)) from None
        return cls(request, tuple(names), purpose, signature, consent_bundle)


#: Why a provider withholds a fact it holds about the subject: the fact was committed whole
#: (``taxledger.proof/v1``) and the read policy lets the requester read only some fields.
COMMITTED_WHOLE: Final = "committed_whole"


@dataclass(frozen=True)
class Withheld:
    """A fact an answer does not show, and why (:data:`COMMITTED_WHOLE`)."""

    schema: str
    commitment: bytes
    code: str
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": self.schema,
            "commitment": to_hex(self.commitment),
            "code": self.code,
            "message": self.message,
        }

    @classmethod
    def from_dict(cls, doc: object) -> Withheld:
        if type(doc) is not dict or not all(
            type(doc.get(k)) is str for k in ("schema", "commitment", "code", "message")
        ):
            raise LedgerValueError("a withheld fact lacks its schema, commitment, code or message")
        try:
            commitment = bytes.fromhex(doc["commitment"].removeprefix("0x"))
        except ValueError:
            raise LedgerValueError("a withheld fact's commitment is not hex") from None
        return cls(doc["schema"], commitment, doc["code"], doc["message"])


@dataclass(frozen=True)
class Answer:
    """The plaintext of an answer: the facts' proof bundles for one request (each showing
    the fields the read policy lets the requester read), and the facts withheld, each with
    its schema, commitment and why; at most :data:`MAX_FACTS` of them, the page of the facts
    after the request's ``after``, with the cursor of the next page if there are more."""

    request_digest: bytes
    disclosure_id: str
    bundles: tuple[dict[str, Any], ...]
    withheld: tuple[Withheld, ...] = ()
    #: Where the next page starts (the request's ``after`` for it), None on the last page.
    next: int | None = None

    def to_bytes(self) -> bytes:
        """The bytes that are sealed, and whose keccak the disclosure record holds."""
        return orjson.dumps(
            {
                "format": ANSWER_FORMAT,
                "request": to_hex(self.request_digest),
                "disclosure_id": self.disclosure_id,
                "bundles": list(self.bundles),
                "withheld": [w.to_dict() for w in self.withheld],
                "next": self.next,
            }
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> Answer:
        """Parse an opened answer; LedgerValueError if it is not one."""
        try:
            doc = orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            raise LedgerValueError(f"the answer is not JSON: {exc}") from None
        if type(doc) is not dict or doc.get("format") != ANSWER_FORMAT:
            raise LedgerValueError(f"the answer is not a {ANSWER_FORMAT} document")
        bundles = doc.get("bundles")
        request = doc.get("request")
        disclosure_id = doc.get("disclosure_id")
        if (
            type(bundles) is not list
            or type(request) is not str
            or type(disclosure_id) is not str
            or not all(type(b) is dict for b in bundles)
        ):
            raise LedgerValueError("the answer lacks its request, disclosure id or bundles")
        try:
            digest = bytes.fromhex(request.removeprefix("0x"))
        except ValueError:
            raise LedgerValueError("the answer's request digest is not hex") from None
        withheld = doc.get("withheld", [])
        if type(withheld) is not list:
            raise LedgerValueError("the answer's withheld facts are not a list")
        following = doc.get("next")
        if following is not None and (type(following) is not int or following <= 0):
            raise LedgerValueError("the answer's next page cursor is not a positive integer")
        return cls(
            digest,
            disclosure_id,
            tuple(bundles),
            tuple(map(Withheld.from_dict, withheld)),
            following,
        )


def sealed_document(disclosure_id: str, ciphertext: bytes) -> dict[str, Any]:
    """The answer as it travels: the disclosure record's id and the sealed plaintext."""
    return {
        "format": SEALED_FORMAT,
        "disclosure_id": disclosure_id,
        "ciphertext": base64.b64encode(ciphertext).decode("ascii"),
    }


def parse_sealed(doc: object) -> tuple[str, bytes]:
    """``(disclosure id, ciphertext)`` of a sealed answer; LedgerValueError otherwise."""
    if type(doc) is not dict or doc.get("format") != SEALED_FORMAT:
        raise LedgerValueError(f"the provider's answer is not a {SEALED_FORMAT} document")
    disclosure_id, text = doc.get("disclosure_id"), doc.get("ciphertext")
    if type(disclosure_id) is not str or type(text) is not str:
        raise LedgerValueError("the sealed answer lacks its disclosure id or ciphertext")
    try:
        return disclosure_id, base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise LedgerValueError("the sealed answer's ciphertext is not base64") from None
