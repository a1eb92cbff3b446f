"""The proof bundle: everything needed to check one record against the chain.  [contract]

A bundle is a versioned JSON document: ``taxledger.proof/v1`` (the whole record hashed at
once; JSON Schema in ``ledger_node/bundle.schema.json``, fields in ``docs/proof-bundle.md``)
or ``taxledger.proof/v2`` (the record committed field by field with its subject tags, so a
bundle may show only some fields; ``ledger_node/bundle-v2.schema.json``,
``docs/proof-bundle-v2.md``). Its
holder gives it to an auditor with the record; the auditor recomputes the record hash,
commitment and leaf, climbs the proof to the root and checks the root and signature on chain.

Construction checks the *shape* of a bundle (lengths, types, which anchor fields go with
which kind, ``root == commitment`` for a single attestation). Whether the hashes agree
with the record and the chain is the verifier's verdict to give, with a reason, so a
tampered bundle still loads and can be reported on.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Final

from ledger_node._fastpaths import hex_values as _hex_values
from ledger_node.commitment import CommittedRecord
from ledger_node.errors import LedgerValueError, ProofBundleError
from ledger_node.fieldtree import (
    FieldPath,
    ObjectNode,
    commitment_salt,
    complete_tree,
    disclose,
    disclosed_record,
    is_complete,
    node_from_json,
    node_to_json,
)
from ledger_node.hashing import keccak256
from ledger_node.records.schemas import SCHEMAS
from ledger_node.tagging import SubjectTag

FORMAT: Final = "taxledger.proof/v1"
ANCHOR_KINDS: Final = ("batch", "single")
#: Deeper than any tree the ledger builds (2^64 leaves); refuses absurd bundles early.
MAX_PROOF_LENGTH: Final = 64

_HEX = re.compile(r"0x(?:[0-9a-f]{2})*")
_UINT256_MAX = 2**256 - 1


def to_hex(data: bytes) -> str:
    """``0x``-prefixed lowercase hex, the spelling of every byte string in a bundle."""
    return "0x" + data.hex()


def _check_bytes(name: str, value: object, size: int) -> None:
    if type(value) is not bytes or len(value) != size:
        raise ProofBundleError(f"{name} must be {size} bytes")


def _check_uint(name: str, value: object) -> None:
    if type(value) is not int or not 0 <= value <= _UINT256_MAX:
        raise ProofBundleError(f"{name} must be a non-negative integer")


@dataclass(frozen=True, slots=True)
class Anchor:
    """Where and how the record's root went on chain, and who signed it.

    ``kind`` ``"batch"`` (``anchorBatch``) carries ``count``; ``"single"`` (``attest``)
    carries ``nonce``, ``subject``, ``ref_uid`` and ``expiration``. The other kind's fields
    are ``None``.
    """

    chain_id: int
    ledger: bytes
    tx_hash: bytes
    block_number: int
    agency_id: int
    signer: bytes
    signature: bytes
    kind: str
    deadline: int
    count: int | None = None
    nonce: int | None = None
    subject: bytes | None = None
    ref_uid: bytes | None = None
    expiration: int | None = None

    def __post_init__(self) -> None:
        for name in ("chain_id", "block_number", "agency_id", "deadline"):
            _check_uint(f"anchor.{name}", getattr(self, name))
        _check_bytes("anchor.ledger", self.ledger, 20)
        _check_bytes("anchor.tx_hash", self.tx_hash, 32)
        _check_bytes("anchor.signer", self.signer, 20)
        _check_bytes("anchor.signature", self.signature, 65)
        single = (self.nonce, self.subject, self.ref_uid, self.expiration)
        if self.kind == "batch":
            _check_uint("anchor.count", self.count)
            if self.count == 0:
                raise ProofBundleError("anchor.count must be at least 1")
            if any(value is not None for value in single):
                raise ProofBundleError(
                    "a batch anchor has no nonce, subject, ref_uid or expiration"
                )
        elif self.kind == "single":
            if self.count is not None:
                raise ProofBundleError("a single anchor has no count")
            _check_uint("anchor.nonce", self.nonce)
            _check_uint("anchor.expiration", self.expiration)
            _check_bytes("anchor.subject", self.subject, 32)
            _check_bytes("anchor.ref_uid", self.ref_uid, 32)
        else:
            raise ProofBundleError(
                f"anchor.kind must be one of {', '.join(ANCHOR_KINDS)}, got {self.kind!r}"
            )

    def to_dict(self) -> dict[str, Any]:
        """The JSON object of this anchor: hex for bytes, only the fields of its kind."""
        data: dict[str, Any] = {}
        for name in _ANCHOR_FIELDS[self.kind]:
            value = getattr(self, name)
            data[name] = to_hex(value) if isinstance(value, bytes) else value
        return data

    @classmethod
    def from_dict(cls, data: object) -> Anchor:
        """Parse the JSON object of an anchor; raises :class:`ProofBundleError`."""
        if not isinstance(data, dict):
            raise ProofBundleError("anchor must be an object")
        kind = data.get("kind")
        if kind not in ANCHOR_KINDS:
            raise ProofBundleError(f"anchor.kind must be one of {', '.join(ANCHOR_KINDS)}")
        fields = _ANCHOR_FIELDS[kind]
        _check_keys("anchor", data, fields)
        values: dict[str, Any] = {
            name: _parse_hex(f"anchor.{name}", data[name]) if name in _ANCHOR_HEX else data[name]
            for name in fields
            if name != "kind"
        }
        return cls(kind=kind, **values)


_ANCHOR_COMMON = (
    "chain_id",
    "ledger",
    "tx_hash",
    "block_number",
    "agency_id",
    "signer",
    "signature",
    "kind",
    "deadline",
)
_ANCHOR_FIELDS = {
    "batch": frozenset((*_ANCHOR_COMMON, "count")),
    "single": frozenset((*_ANCHOR_COMMON, "nonce", "subject", "ref_uid", "expiration")),
}
_ANCHOR_HEX = frozenset({"ledger", "tx_hash", "signer", "signature", "subject", "ref_uid"})


@dataclass(frozen=True, slots=True)
class ProofBundle:
    """One record with its salt, hashes, Merkle proof, subject tags and anchor."""

    schema: str
    schema_id: bytes
    record: dict[str, Any]
    salt: bytes
    record_hash: bytes
    commitment: bytes
    leaf: bytes
    proof: tuple[bytes, ...]
    root: bytes
    subjects: tuple[bytes, ...]
    anchor: Anchor

    def __post_init__(self) -> None:
        if type(self.record) is not dict:
            raise ProofBundleError("record must be a JSON object")
        if type(self.subjects) is not tuple:
            raise ProofBundleError("subjects must be a tuple")
        for index, tag in enumerate(self.subjects):
            _check_bytes(f"subjects[{index}]", tag, 32)
        _check_shape(self)

    @classmethod
    def create(
        cls,
        committed: CommittedRecord,
        proof: Sequence[bytes],
        root: bytes,
        subjects: Sequence[bytes],
        anchor: Anchor,
    ) -> ProofBundle:
        """The bundle of a committed record, once its root is anchored."""
        schema = committed.validated.schema
        return cls(
            schema=schema.name,
            schema_id=schema.schema_id,
            record=committed.validated.record,
            salt=committed.salt,
            record_hash=committed.record_hash,
            commitment=committed.commitment,
            leaf=committed.leaf,
            proof=tuple(proof),
            root=root,
            subjects=tuple(subjects),
            anchor=anchor,
        )

    def to_dict(self) -> dict[str, Any]:
        """The JSON object of this bundle."""
        return {
            "format": FORMAT,
            "schema": self.schema,
            "schema_id": to_hex(self.schema_id),
            "record": self.record,
            "salt": to_hex(self.salt),
            "record_hash": to_hex(self.record_hash),
            "commitment": to_hex(self.commitment),
            "leaf": to_hex(self.leaf),
            "proof": [to_hex(node) for node in self.proof],
            "root": to_hex(self.root),
            "subjects": [to_hex(tag) for tag in self.subjects],
            "anchor": self.anchor.to_dict(),
        }

    def to_json(self) -> str:
        """Pretty JSON with sorted keys, UTF-8 text kept readable, ending in a newline."""
        return _pretty(self.to_dict())

    @classmethod
    def from_dict(cls, data: object) -> ProofBundle:
        """Parse a bundle's JSON object; raises :class:`ProofBundleError` naming the field."""
        if cls is ProofBundle:
            bundle = _fast_from_dict(data)
            if bundle is not None:
                return bundle
        # Something is unusual (or wrong): the field-by-field parse below says what.
        return cls._checked_from_dict(data)

    @classmethod
    def _checked_from_dict(cls, data: object) -> ProofBundle:
        """The reference parse: every check in order, each error naming its field."""
        data = _check_document(data, FORMAT, _BUNDLE_FIELDS)
        return cls(
            schema=data["schema"],
            schema_id=_parse_hex("schema_id", data["schema_id"]),
            record=data["record"],
            salt=_parse_hex("salt", data["salt"]),
            record_hash=_parse_hex("record_hash", data["record_hash"]),
            commitment=_parse_hex("commitment", data["commitment"]),
            leaf=_parse_hex("leaf", data["leaf"]),
            proof=tuple(_parse_hex(f"proof[{i}]", n) for i, n in enumerate(data["proof"])),
            root=_parse_hex("root", data["root"]),
            subjects=tuple(_parse_hex(f"subjects[{i}]", t) for i, t in enumerate(data["subjects"])),
            anchor=Anchor.from_dict(data["anchor"]),
        )

    @classmethod
    def from_json(cls, text: str | bytes) -> ProofBundle:
        """Parse a bundle document; raises :class:`ProofBundleError` if it is not one."""
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise ProofBundleError(f"proof bundle is not JSON: {exc}") from exc
        return cls.from_dict(data)

    def save(self, path: str | Path) -> None:
        """Write the bundle to ``path`` as UTF-8 JSON."""
        Path(path).write_text(self.to_json(), encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> ProofBundle:
        """Read a bundle from ``path``."""
        return cls.from_json(Path(path).read_bytes())


_BUNDLE_FIELDS = frozenset(
    {
        "format",
        "schema",
        "schema_id",
        "record",
        "salt",
        "record_hash",
        "commitment",
        "leaf",
        "proof",
        "root",
        "subjects",
        "anchor",
    }
)


def _check_shape(bundle: ProofBundle | ProofBundleV2) -> None:
    """The shape both formats share: a schema the ledger defines, with its id; bytes32
    hashes and salt; a proof of bytes32 nodes; a single attestation's empty proof."""
    if bundle.schema not in SCHEMAS:
        raise ProofBundleError(f"unknown schema {bundle.schema!r}")
    if bundle.schema_id != _schema_id_of(bundle.schema):
        raise ProofBundleError(f"schema_id is not keccak256({bundle.schema!r})")
    for name in ("salt", "record_hash", "commitment", "leaf", "root"):
        _check_bytes(name, getattr(bundle, name), 32)
    if type(bundle.proof) is not tuple or len(bundle.proof) > MAX_PROOF_LENGTH:
        raise ProofBundleError(f"proof must be a tuple of at most {MAX_PROOF_LENGTH} nodes")
    for index, node in enumerate(bundle.proof):
        _check_bytes(f"proof[{index}]", node, 32)
    # A single attestation anchors the commitment itself: no tree, no proof.
    if bundle.anchor.kind == "single" and (bundle.proof or bundle.root != bundle.commitment):
        raise ProofBundleError("a single attestation has an empty proof and root = commitment")


def _pretty(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _check_document(data: object, format: str, fields: frozenset[str]) -> dict[str, Any]:
    """The checks every bundle format starts with: an object of that format with exactly
    its fields, a schema name, and arrays where the proof and the subjects go."""
    if not isinstance(data, dict):
        raise ProofBundleError("a proof bundle must be a JSON object")
    if data.get("format") != format:
        raise ProofBundleError(f"format must be {format!r}, got {data.get('format')!r}")
    _check_keys("bundle", data, fields)
    for name in ("proof", "subjects"):
        if not isinstance(data[name], list):
            raise ProofBundleError(f"{name} must be an array")
    if not isinstance(data["schema"], str):
        raise ProofBundleError("schema must be a string")
    return data


def _check_keys(where: str, data: dict[str, Any], expected: frozenset[str]) -> None:
    missing = sorted(expected - data.keys())
    unknown = sorted(str(key) for key in data.keys() - expected)
    if missing:
        raise ProofBundleError(f"{where} is missing {', '.join(missing)}")
    if unknown:
        raise ProofBundleError(f"{where} has unknown field(s) {', '.join(unknown)}")


def _parse_hex(name: str, value: object) -> bytes:
    if not isinstance(value, str) or _HEX.fullmatch(value) is None:
        raise ProofBundleError(f"{name} must be 0x-prefixed lowercase hex")
    return bytes.fromhex(value[2:])


# --- fast parse --------------------------------------------------------------------------
#
# Parsing is the verifier's hottest step, and nearly every bundle it sees is well-formed.
# :func:`_fast_from_dict` answers "certainly well-formed?" with a few C-level operations:
# every hex string of the bundle is type- and length-checked and decoded in ONE compiled call
# (``hex_values`` in ``_fastpaths.c``: an exact ``str``, "0x", lowercase hex digits
# only, as the ``_HEX`` pattern demands). It accepts only what the checked parse accepts,
# and builds the very same objects; on anything unusual it returns None and
# :meth:`ProofBundle._checked_from_dict` runs, so every error and its message are that
# parse's. ``tests/verify/test_fast_parse.py`` holds the two to agreeing.

_SCHEMA_IDS: dict[str, bytes] = {}


def _schema_id_of(name: str) -> bytes:
    """``keccak256(name)``, remembered for the ledger's schemas (callers check membership)."""
    schema_id = _SCHEMA_IDS.get(name)
    if schema_id is None:
        schema_id = keccak256(name.encode())
        if name in SCHEMAS:
            _SCHEMA_IDS[name] = schema_id
    return schema_id


_new = object.__new__
_ANCHOR_HEX_SIZES = {"batch": (20, 32, 20, 65), "single": (20, 32, 20, 65, 32, 32)}


#: (kind, proof length, subject count) -> the byte size of each hex string, in the order
#: :func:`_fast_from_dict` lists them; at most 2 * 65 * 65 of them.
_SIZES: dict[tuple[str, int, int], tuple[int, ...]] = {}


def _sizes(kind: str, proofs: int, subjects: int) -> tuple[int, ...]:
    key = (kind, proofs, subjects)
    sizes = _SIZES.get(key)
    if sizes is None:
        # schema_id, salt, record_hash, commitment, leaf, root, proof, subjects, anchor
        sizes = _SIZES[key] = (32,) * (6 + proofs + subjects) + _ANCHOR_HEX_SIZES[kind]
    return sizes


def _setter(cls: type, name: str) -> Any:
    return vars(cls)[name].__set__


_set_a = {name: _setter(Anchor, name) for name in Anchor.__slots__}
_set_b = {name: _setter(ProofBundle, name) for name in ProofBundle.__slots__}
(_a_chain_id, _a_ledger, _a_tx_hash, _a_block_number, _a_agency_id, _a_signer, _a_signature,
 _a_kind, _a_deadline, _a_count, _a_nonce, _a_subject, _a_ref_uid, _a_expiration) = (
    _set_a[name] for name in (
        "chain_id", "ledger", "tx_hash", "block_number", "agency_id", "signer", "signature",
        "kind", "deadline", "count", "nonce", "subject", "ref_uid", "expiration",
    )
)  # fmt: skip
(_b_schema, _b_schema_id, _b_record, _b_salt, _b_record_hash, _b_commitment, _b_leaf, _b_proof,
 _b_root, _b_subjects, _b_anchor) = (
    _set_b[name] for name in (
        "schema", "schema_id", "record", "salt", "record_hash", "commitment", "leaf", "proof",
        "root", "subjects", "anchor",
    )
)  # fmt: skip
_BATCH_KEYS = _ANCHOR_FIELDS["batch"]
_SINGLE_KEYS = _ANCHOR_FIELDS["single"]


def _fast_from_dict(data: object) -> ProofBundle | None:
    """The bundle ``data`` describes if it is certainly well-formed, else None."""
    if type(data) is not dict or data.keys() != _BUNDLE_FIELDS:
        return None
    schema, record, proof, subjects, anchor = (
        data["schema"], data["record"], data["proof"], data["subjects"], data["anchor"]
    )  # fmt: skip
    if (
        data["format"] != FORMAT
        or type(schema) is not str
        or type(record) is not dict
        or type(proof) is not list
        or type(subjects) is not list
        or type(anchor) is not dict
        or len(proof) > MAX_PROOF_LENGTH
        or len(subjects) > MAX_PROOF_LENGTH
        or schema not in SCHEMAS
    ):
        return None
    kind = anchor.get("kind")
    chain_id = block_number = agency_id = deadline = None
    count = nonce = expiration = None
    if kind == "batch":
        if anchor.keys() != _BATCH_KEYS:
            return None
        count = anchor["count"]
        if type(count) is not int or not 0 < count <= _UINT256_MAX:
            return None
        strings = [
            data["schema_id"], data["salt"], data["record_hash"], data["commitment"],
            data["leaf"], data["root"], *proof, *subjects,
            anchor["ledger"], anchor["tx_hash"], anchor["signer"], anchor["signature"],
        ]  # fmt: skip
    elif kind == "single":
        if anchor.keys() != _SINGLE_KEYS or proof:
            return None
        nonce, expiration = anchor["nonce"], anchor["expiration"]
        if (
            type(nonce) is not int
            or type(expiration) is not int
            or not 0 <= nonce <= _UINT256_MAX
            or not 0 <= expiration <= _UINT256_MAX
        ):
            return None
        strings = [
            data["schema_id"], data["salt"], data["record_hash"], data["commitment"],
            data["leaf"], data["root"], *subjects,
            anchor["ledger"], anchor["tx_hash"], anchor["signer"], anchor["signature"],
            anchor["subject"], anchor["ref_uid"],
        ]  # fmt: skip
    else:
        return None
    chain_id, block_number = anchor["chain_id"], anchor["block_number"]
    agency_id, deadline = anchor["agency_id"], anchor["deadline"]
    if (
        type(chain_id) is not int
        or type(block_number) is not int
        or type(agency_id) is not int
        or type(deadline) is not int
        or not 0 <= chain_id <= _UINT256_MAX
        or not 0 <= block_number <= _UINT256_MAX
        or not 0 <= agency_id <= _UINT256_MAX
        or not 0 <= deadline <= _UINT256_MAX
    ):
        return None
    values = _hex_values(strings, _sizes(kind, len(proof), len(subjects)))
    if values is None:
        return None
    if values[0] != _schema_id_of(schema):
        return None
    if kind == "single" and values[5] != values[3]:
        return None
    a = _new(Anchor)
    _a_chain_id(a, chain_id)
    _a_block_number(a, block_number)
    _a_agency_id(a, agency_id)
    _a_kind(a, kind)
    _a_deadline(a, deadline)
    _a_count(a, count)
    _a_nonce(a, nonce)
    _a_expiration(a, expiration)
    tail = 6 + len(proof) + len(subjects)
    _a_ledger(a, values[tail])
    _a_tx_hash(a, values[tail + 1])
    _a_signer(a, values[tail + 2])
    _a_signature(a, values[tail + 3])
    if kind == "single":
        _a_subject(a, values[tail + 4])
        _a_ref_uid(a, values[tail + 5])
    else:
        _a_subject(a, None)
        _a_ref_uid(a, None)
    b = _new(ProofBundle)
    _b_schema(b, schema)
    _b_schema_id(b, values[0])
    _b_record(b, record)
    _b_salt(b, values[1])
    _b_record_hash(b, values[2])
    _b_commitment(b, values[3])
    _b_leaf(b, values[4])
    _b_root(b, values[5])
    _b_proof(b, values[6 : 6 + len(proof)])
    _b_subjects(b, values[6 + len(proof) : tail])
    _b_anchor(b, a)
    return b


# --- taxledger.proof/v2 ------------------------------------------------------------------

FORMAT_V2: Final = "taxledger.proof/v2"


@dataclass(frozen=True, slots=True)
class ProofBundleV2:
    """A record committed field by field (``taxledger.proof/v2``), whole or in part.

    ``fields`` is the record's field tree (:mod:`ledger_node.fieldtree`): complete in the
    bundle a gateway serves, partial in one made by :meth:`disclose`. ``salt`` is the
    commitment's derived salt, never the record's master salt. ``subjects`` are committed
    with the record (they enter ``record_hash``).
    """

    schema: str
    schema_id: bytes
    fields: ObjectNode
    fields_digest: bytes
    subjects: tuple[SubjectTag, ...]
    salt: bytes
    record_hash: bytes
    commitment: bytes
    leaf: bytes
    proof: tuple[bytes, ...]
    root: bytes
    anchor: Anchor

    def __post_init__(self) -> None:
        if not isinstance(self.fields, ObjectNode):
            raise ProofBundleError("fields must be the record's object node")
        _check_bytes("fields_digest", self.fields_digest, 32)
        if type(self.subjects) is not tuple or not all(
            isinstance(t, SubjectTag) for t in self.subjects
        ):
            raise ProofBundleError("subjects must be a tuple of subject tags")
        _check_shape(self)

    @property
    def format(self) -> str:
        return FORMAT_V2

    @property
    def record(self) -> dict[str, Any]:
        """The record as far as this bundle discloses it (all of it if :attr:`complete`)."""
        shown = disclosed_record(self.fields)
        assert isinstance(shown, dict)
        return shown

    @property
    def complete(self) -> bool:
        """True if every field of the record is disclosed."""
        return is_complete(self.fields)

    @property
    def tags(self) -> tuple[bytes, ...]:
        """The subject tags' 32-byte values."""
        return tuple(t.tag for t in self.subjects)

    @classmethod
    def create(
        cls,
        committed: CommittedRecord,
        proof: Sequence[bytes],
        root: bytes,
        anchor: Anchor,
    ) -> ProofBundleV2:
        """The complete bundle of a record committed with :func:`commit_record_v2`."""
        if committed.tags is None:
            raise ProofBundleError("a v2 bundle needs a record committed with its tags (v2)")
        schema = committed.validated.schema
        tree, digest = complete_tree(committed.validated.record, committed.salt)
        return cls(
            schema=schema.name,
            schema_id=schema.schema_id,
            fields=tree,
            fields_digest=digest,
            subjects=committed.tags,
            salt=commitment_salt(committed.salt),
            record_hash=committed.record_hash,
            commitment=committed.commitment,
            leaf=committed.leaf,
            proof=tuple(proof),
            root=root,
            anchor=anchor,
        )

    def disclose(self, paths: Sequence[FieldPath], *, require_match: bool = True) -> ProofBundleV2:
        """The bundle that shows only the fields ``paths`` name (see
        :func:`ledger_node.fieldtree.disclose`); everything else stays as it is."""
        return replace(self, fields=disclose(self.fields, paths, require_match=require_match))

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT_V2,
            "schema": self.schema,
            "schema_id": to_hex(self.schema_id),
            "fields": node_to_json(self.fields),
            "fields_digest": to_hex(self.fields_digest),
            "subjects": [
                {"domain": t.domain, "version": t.version, "tag": to_hex(t.tag)}
                for t in self.subjects
            ],
            "salt": to_hex(self.salt),
            "record_hash": to_hex(self.record_hash),
            "commitment": to_hex(self.commitment),
            "leaf": to_hex(self.leaf),
            "proof": [to_hex(node) for node in self.proof],
            "root": to_hex(self.root),
            "anchor": self.anchor.to_dict(),
        }

    def to_json(self) -> str:
        return _pretty(self.to_dict())

    @classmethod
    def from_dict(cls, data: object) -> ProofBundleV2:
        """Parse a v2 bundle's JSON object; raises :class:`ProofBundleError` naming the field."""
        data = _check_document(data, FORMAT_V2, _BUNDLE_V2_FIELDS)
        if len(data["subjects"]) > MAX_PROOF_LENGTH:
            raise ProofBundleError(f"subjects must list at most {MAX_PROOF_LENGTH} tags")
        try:
            fields = node_from_json(data["fields"])
        except LedgerValueError as exc:
            raise ProofBundleError(str(exc)) from None
        if not isinstance(fields, ObjectNode):
            raise ProofBundleError("fields must be the record's object node, not hidden")
        return cls(
            schema=data["schema"],
            schema_id=_parse_hex("schema_id", data["schema_id"]),
            fields=fields,
            fields_digest=_parse_hex("fields_digest", data["fields_digest"]),
            subjects=tuple(_subject(i, t) for i, t in enumerate(data["subjects"])),
            salt=_parse_hex("salt", data["salt"]),
            record_hash=_parse_hex("record_hash", data["record_hash"]),
            commitment=_parse_hex("commitment", data["commitment"]),
            leaf=_parse_hex("leaf", data["leaf"]),
            proof=tuple(_parse_hex(f"proof[{i}]", n) for i, n in enumerate(data["proof"])),
            root=_parse_hex("root", data["root"]),
            anchor=Anchor.from_dict(data["anchor"]),
        )

    @classmethod
    def from_json(cls, text: str | bytes) -> ProofBundleV2:
        bundle = load_bundle_json(text)
        if not isinstance(bundle, ProofBundleV2):
            raise ProofBundleError(f"format must be {FORMAT_V2!r}, got {FORMAT!r}")
        return bundle

    def save(self, path: str | Path) -> None:
        Path(path).write_text(self.to_json(), encoding="utf-8")


_BUNDLE_V2_FIELDS = frozenset(
    {
        "format",
        "schema",
        "schema_id",
        "fields",
        "fields_digest",
        "subjects",
        "salt",
        "record_hash",
        "commitment",
        "leaf",
        "proof",
        "root",
        "anchor",
    }
)


def _subject(index: int, data: object) -> SubjectTag:
    where = f"subjects[{index}]"
    if not isinstance(data, dict):
        raise ProofBundleError(f"{where} must be an object")
    _check_keys(where, data, frozenset({"domain", "version", "tag"}))
    if not isinstance(data["domain"], str) or not data["domain"]:
        raise ProofBundleError(f"{where}.domain must be a domain name")
    if type(data["version"]) is not int or not 1 <= data["version"] <= 2**32 - 1:
        raise ProofBundleError(f"{where}.version must be an integer from 1 to 2^32 - 1")
    tag = _parse_hex(f"{where}.tag", data["tag"])
    _check_bytes(f"{where}.tag", tag, 32)
    return SubjectTag(data["domain"], data["version"], tag)


#: A proof bundle of either format.
AnyBundle = ProofBundle | ProofBundleV2


def bundle_from_dict(data: object) -> AnyBundle:
    """Parse a bundle of either format, by its ``format``."""
    if isinstance(data, dict) and data.get("format") == FORMAT_V2:
        return ProofBundleV2.from_dict(data)
    return ProofBundle.from_dict(data)


def load_bundle_json(text: str | bytes) -> AnyBundle:
    """Parse a bundle document of either format."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ProofBundleError(f"proof bundle is not JSON: {exc}") from exc
    return bundle_from_dict(data)


def load_bundle(path: str | Path) -> AnyBundle:
    """Read a bundle file of either format."""
    return load_bundle_json(Path(path).read_bytes())
