"""Field commitments: a record hashed field by field, so a part of it can be proven alone.
[contract]

A record of proof format ``taxledger.proof/v2`` is committed as the root of a tree that
mirrors its JSON: every value is a *node* with a salt of its own. A scalar is a leaf; an
object hashes its members' digests in key order; an array hashes its items' digests with
their count. With ``enc(path) = uint16_be(len(utf8(path))) ‖ utf8(path)``, keccak256 ``H``
and ``JCS`` the RFC 8785 bytes::

    value   H(0x00 ‖ salt ‖ enc(path) ‖ JCS(value))
    object  H(0x01 ‖ salt ‖ enc(path) ‖ uint32_be(n) ‖ digest_1 ‖ … ‖ digest_n)   keys sorted
    array   H(0x02 ‖ salt ‖ enc(path) ‖ uint32_be(n) ‖ digest_1 ‖ … ‖ digest_n)   item order

Paths name a node from the record's root (``""``): ``seller.tax_id``, ``lines[0].rate``.

**Salts.** The record keeps one random 32-byte *master* salt (the gateway's outbox stores
it as for v1). Every other salt is a slice of ``SHAKE256(b"taxledger.proof/v2" ‖ master)``
: bytes ``[0, 32)`` are the commitment's salt, bytes ``[32(i+1), 32(i+2))`` the salt of
the i-th node in pre-order (a node before its children; members in key order, items in
index order). An XOF's output blocks tell nothing of each other or of its input, so a
bundle that shows some salts lets no one derive the master salt or any salt it does not
show — a hidden field stays unguessable even if it has two possible values. The master salt
itself never appears in any bundle.

A *partial* tree replaces whole subtrees by their digest (:class:`Hidden`); it still hashes
to the same root. :func:`disclose` derives one from a tree and a list of field paths.
"""

from __future__ import annotations

import hashlib
import re
import struct
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Final

import sha3

from ledger_node import _fieldtree as _compiled
from ledger_node.canonical import canonical_bytes
from ledger_node.errors import LedgerValueError

#: The XOF's domain prefix; also the proof format these trees belong to.
SALT_DOMAIN: Final = b"taxledger.proof/v2"
VALUE_NODE: Final = b"\x00"
OBJECT_NODE: Final = b"\x01"
ARRAY_NODE: Final = b"\x02"

#: Member names a field tree accepts: the records' own field names.
_KEY = re.compile(r"[A-Za-z0-9_]+")
_keccak = sha3.keccak_256
_pack_count = struct.Struct(">I").pack
_pack_len = struct.Struct(">H").pack


class FieldPathError(LedgerValueError):
    """A field path is malformed, or names no field a bundle discloses."""

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"field path {path!r}: {reason}")


# --- nodes -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Hidden:
    """A subtree shown only by its digest."""

    digest: bytes


@dataclass(frozen=True, slots=True)
class ValueNode:
    """A disclosed scalar (string, number, boolean or null) with its salt, and the digest
    the bundle states for it (so a verifier can name the field whose value or salt changed)."""

    salt: bytes
    value: Any
    digest: bytes


@dataclass(frozen=True, slots=True)
class ObjectNode:
    """An object: its members in key order, each ``(key, node)`` or :class:`Hidden`."""

    salt: bytes
    members: tuple[tuple[str, Node] | Hidden, ...]


@dataclass(frozen=True, slots=True)
class ArrayNode:
    """An array: its items in order, each a node or :class:`Hidden`."""

    salt: bytes
    items: tuple[Node | Hidden, ...]


Node = ValueNode | ObjectNode | ArrayNode


def child_path(parent: str, key: str) -> str:
    """The path of member ``key`` of the object at ``parent``."""
    return f"{parent}.{key}" if parent else key


def item_path(parent: str, index: int) -> str:
    """The path of item ``index`` of the array at ``parent``."""
    return f"{parent}[{index}]"


def _enc(path: str) -> bytes:
    raw = path.encode()
    return _pack_len(len(raw)) + raw


def value_digest(salt: bytes, path: str, value: Any) -> bytes:
    """The digest of a disclosed scalar."""
    return _keccak(VALUE_NODE + salt + _enc(path) + canonical_bytes(value)).digest()  # type: ignore[no-any-return]


def inner_digest(kind: bytes, salt: bytes, path: str, children: Sequence[bytes]) -> bytes:
    """The digest of an object (``OBJECT_NODE``) or array (``ARRAY_NODE``) from its
    children's digests, in order."""
    return _keccak(  # type: ignore[no-any-return]
        kind + salt + _enc(path) + _pack_count(len(children)) + b"".join(children)
    ).digest()


# --- salts -------------------------------------------------------------------------------


def node_count(value: Any) -> int:
    """How many nodes the tree of ``value`` has (itself and every descendant)."""
    kind = type(value)
    if kind is dict:
        return 1 + sum(node_count(item) for item in value.values())
    if kind is list:
        return 1 + sum(node_count(item) for item in value)
    return 1


def salt_stream(master: bytes, nodes: int) -> bytes:
    """The commitment's salt followed by one salt per node, ``32 * (nodes + 1)`` bytes."""
    if type(master) is not bytes or len(master) != 32:
        raise LedgerValueError("a record's master salt is 32 bytes")
    return hashlib.shake_256(SALT_DOMAIN + master).digest(32 * (nodes + 1))


def commitment_salt(master: bytes) -> bytes:
    """The salt that enters ``commitment(schema_id, salt, record_hash)`` for a v2 record."""
    return salt_stream(master, 0)


# --- building and hashing ----------------------------------------------------------------
#
# The functions below run compiled (``_fieldtree.c``); each ``reference_*`` function is their
# definition in Python, and runs whenever the compiled one declines (a float, an integer beyond
# 2^53 - 1, a lone surrogate, a malformed node), so that it decides and words any error.
# ``tests/records/test_fieldtree.py`` holds the two to the same answers.


def fields_digest(record: dict[str, Any], master: bytes) -> tuple[bytes, bytes]:
    """``(commitment salt, digest of the record's tree)`` of a validated record: the commit
    path, no nodes built (the same digest as :func:`node_digest` of :func:`build_tree`)."""
    fast = _compiled.fields_digest(record, master)
    return fast if fast is not None else reference_fields_digest(record, master)


def reference_fields_digest(record: dict[str, Any], master: bytes) -> tuple[bytes, bytes]:
    """:func:`fields_digest` by its definition."""
    return commitment_salt(master), reference_digest(reference_build_tree(record, master))


def build_tree(record: dict[str, Any], master: bytes) -> ObjectNode:
    """The complete tree of ``record`` under ``master``: every node disclosed."""
    return complete_tree(record, master)[0]


def complete_tree(record: dict[str, Any], master: bytes) -> tuple[ObjectNode, bytes]:
    """:func:`build_tree` and its digest, in one pass."""
    fast = _compiled.build_tree(record, master)
    if fast is not None:
        return fast
    tree = reference_build_tree(record, master)
    return tree, reference_digest(tree)


def reference_build_tree(record: dict[str, Any], master: bytes) -> ObjectNode:
    """:func:`build_tree` by its definition."""
    if type(record) is not dict:
        raise LedgerValueError("a record is a JSON object")
    stream = salt_stream(master, node_count(record))
    node, _ = _build(record, "", stream, 32)
    assert isinstance(node, ObjectNode)
    return node


def _build(value: Any, path: str, stream: bytes, offset: int) -> tuple[Node, int]:
    salt = stream[offset : offset + 32]
    offset += 32
    kind = type(value)
    if kind is dict:
        members: list[tuple[str, Node] | Hidden] = []
        for key in sorted(value):
            if type(key) is not str or _KEY.fullmatch(key) is None:
                raise LedgerValueError(
                    f"field name {key!r} at {path or 'the root'} is not [A-Za-z0-9_]+"
                )
            child, offset = _build(value[key], child_path(path, key), stream, offset)
            members.append((key, child))
        return ObjectNode(salt, tuple(members)), offset
    if kind is list:
        items: list[Node | Hidden] = []
        for index, item in enumerate(value):
            child, offset = _build(item, item_path(path, index), stream, offset)
            items.append(child)
        return ArrayNode(salt, tuple(items)), offset
    return ValueNode(salt, value, value_digest(salt, path, value)), offset


def node_digest(node: Node | Hidden, path: str = "") -> bytes:
    """The digest of a (possibly partial) tree at ``path``."""
    fast = _compiled.tree_digest(node, path, False)
    if type(fast) is bytes:
        return fast
    return reference_digest(node, path)


class FieldMismatch(LedgerValueError):
    """A disclosed field's salt and value do not hash to the digest its bundle states."""

    def __init__(self, path: str, computed: bytes, stated: bytes) -> None:
        self.path, self.computed, self.stated = path, computed, stated
        super().__init__(f"field {path}: hashes to 0x{computed.hex()}, stated 0x{stated.hex()}")


def checked_digest(node: Node | Hidden, path: str = "") -> bytes:
    """:func:`node_digest`, checking on the way that every disclosed scalar hashes to the
    digest stated for it (:class:`FieldMismatch` names the first, in pre-order, that does not)."""
    fast = _compiled.tree_digest(node, path, True)
    if type(fast) is bytes:
        return fast
    if fast is not None:
        raise FieldMismatch(*fast)
    return reference_digest(node, path, check=True)


def reference_digest(node: Node | Hidden, path: str = "", *, check: bool = False) -> bytes:
    """:func:`node_digest` (or with ``check``, :func:`checked_digest`) by its definition."""
    if isinstance(node, Hidden):
        return node.digest
    if isinstance(node, ValueNode):
        computed = value_digest(node.salt, path, node.value)
        if check and computed != node.digest:
            raise FieldMismatch(path, computed, node.digest)
        return computed
    if isinstance(node, ObjectNode):
        return inner_digest(
            OBJECT_NODE,
            node.salt,
            path,
            [
                m.digest
                if isinstance(m, Hidden)
                else reference_digest(m[1], child_path(path, m[0]), check=check)
                for m in node.members
            ],
        )
    return inner_digest(
        ARRAY_NODE,
        node.salt,
        path,
        [
            reference_digest(item, item_path(path, i), check=check)
            for i, item in enumerate(node.items)
        ],
    )


def disclosed_record(node: Node) -> Any:
    """The JSON value a tree shows: hidden members are left out, hidden items too."""
    if isinstance(node, ValueNode):
        return node.value
    if isinstance(node, ObjectNode):
        return {m[0]: disclosed_record(m[1]) for m in node.members if not isinstance(m, Hidden)}
    return [disclosed_record(i) for i in node.items if not isinstance(i, Hidden)]


def leaf_paths(node: Node | Hidden, path: str = "") -> list[str]:
    """Paths of the disclosed scalars and empty containers of a tree, in pre-order."""
    if isinstance(node, Hidden):
        return []
    if isinstance(node, ValueNode):
        return [path]
    if isinstance(node, ObjectNode):
        inner = [
            p
            for m in node.members
            if not isinstance(m, Hidden)
            for p in leaf_paths(m[1], child_path(path, m[0]))
        ]
        return inner if node.members else [path]
    inner = [p for i, item in enumerate(node.items) for p in leaf_paths(item, item_path(path, i))]
    return inner if node.items else [path]


def disclosed_values(node: Node | Hidden, path: str = "") -> Iterator[tuple[str, ValueNode]]:
    """``(path, node)`` of every disclosed scalar of a tree, in pre-order."""
    if isinstance(node, ValueNode):
        yield path, node
    elif isinstance(node, ObjectNode):
        for m in node.members:
            if not isinstance(m, Hidden):
                yield from disclosed_values(m[1], child_path(path, m[0]))
    elif isinstance(node, ArrayNode):
        for i, item in enumerate(node.items):
            yield from disclosed_values(item, item_path(path, i))


def is_complete(node: Node | Hidden) -> bool:
    """True if nothing in the tree is hidden."""
    if isinstance(node, Hidden):
        return False
    if isinstance(node, ValueNode):
        return True
    if isinstance(node, ObjectNode):
        return all(not isinstance(m, Hidden) and is_complete(m[1]) for m in node.members)
    return all(is_complete(item) for item in node.items)


# --- field paths -------------------------------------------------------------------------
#
# The syntax of read rules (``ledger_node.policy``): ``*`` is the whole record; otherwise a
# dotted path of member names, where ``name[]`` steps into every item of an array and
# ``name[N]`` into item N. A path that ends on an object or array discloses all of it.

_STEP = re.compile(r"([A-Za-z0-9_]+)(\[\]|\[(0|[1-9][0-9]{0,8})\])?")

#: One step of a field path: a member name and, for an array, ``None`` (no index), ``"*"``
#: (every item) or an item's index.
Step = tuple[str, int | str | None]


@dataclass(frozen=True, slots=True)
class FieldPath:
    """A parsed field path (``settles[].invoice_number``); ``steps`` empty for ``*``."""

    text: str
    steps: tuple[Step, ...]

    @classmethod
    def parse(cls, text: str) -> FieldPath:
        """Parse one field path; raises :class:`FieldPathError` saying what is wrong."""
        text = text.strip()
        if text == "*":
            return cls(text, ())
        if not text:
            raise FieldPathError(text, "is empty; name a field such as seller.tax_id, or *")
        steps: list[Step] = []
        for part in text.split("."):
            match = _STEP.fullmatch(part)
            if match is None:
                raise FieldPathError(
                    text,
                    f"step {part!r} is not a field name ([A-Za-z0-9_]+), optionally followed "
                    "by [] (every item) or [N] (item N)",
                )
            name, bracket, index = match.groups()
            steps.append((name, None if bracket is None else "*" if index is None else int(index)))
        return cls(text, tuple(steps))


def parse_field_paths(text: str | Iterable[str]) -> tuple[FieldPath, ...]:
    """Comma-separated field paths (or an iterable of them), each parsed."""
    parts = text.split(",") if isinstance(text, str) else list(text)
    if not parts or all(not p.strip() for p in parts):
        raise FieldPathError("", "no field named; give field paths such as seller.tax_id,total")
    return tuple(FieldPath.parse(p) for p in parts)


def disclose(
    tree: ObjectNode, paths: Sequence[FieldPath], *, require_match: bool = True
) -> ObjectNode:
    """The partial tree of ``tree`` that shows only what ``paths`` name, and digests of the
    rest. Each path must name something ``tree`` discloses unless ``require_match`` is
    false (a read rule naming an optional field the record lacks)."""
    wanted = [p.steps for p in paths]
    for path in paths:
        if not _matches_any(tree, path.steps) and require_match:
            raise FieldPathError(
                path.text,
                "names no field this bundle discloses (check the spelling; or the record has "
                "no such field, or the bundle hides it)",
            )
    pruned = _prune(tree, "", wanted)
    assert isinstance(pruned, ObjectNode)
    return pruned


def _matches_any(node: Node | Hidden, steps: tuple[Step, ...]) -> bool:
    if isinstance(node, Hidden):
        return False
    if not steps:
        return True
    (name, index), rest = steps[0], steps[1:]
    if not isinstance(node, ObjectNode):
        return False
    for member in node.members:
        if isinstance(member, Hidden) or member[0] != name:
            continue
        child = member[1]
        if index is None:
            return _matches_any(child, rest)
        if not isinstance(child, ArrayNode):
            return False
        if index == "*":
            return any(_matches_any(item, rest) for item in child.items)
        return (
            isinstance(index, int)
            and index < len(child.items)
            and _matches_any(child.items[index], rest)
        )
    return False


def _prune(node: Node | Hidden, path: str, wanted: list[tuple[Step, ...]]) -> Node | Hidden:
    """``node`` with everything ``wanted`` (steps relative to ``node``) kept."""
    if isinstance(node, Hidden):
        return node
    if any(not steps for steps in wanted):
        return node  # a path ends here: the whole subtree is disclosed
    if not wanted:
        return Hidden(node_digest(node, path))
    if isinstance(node, ObjectNode):
        members: list[tuple[str, Node] | Hidden] = []
        for member in node.members:
            if isinstance(member, Hidden):
                members.append(member)
                continue
            key, child = member
            below = [s[1:] for s in wanted if s[0][0] == key and s[0][1] is None]
            items = [s for s in wanted if s[0][0] == key and s[0][1] is not None]
            kept: Node | Hidden
            if items and isinstance(child, ArrayNode):
                kept = _prune_items(child, child_path(path, key), items, below)
            else:
                kept = _prune(child, child_path(path, key), below)
            members.append(kept if isinstance(kept, Hidden) else (key, kept))
        if all(isinstance(m, Hidden) for m in members):
            return Hidden(node_digest(node, path))
        return ObjectNode(node.salt, tuple(members))
    return Hidden(node_digest(node, path))


def _prune_items(
    node: ArrayNode, path: str, items: list[tuple[Step, ...]], below: list[tuple[Step, ...]]
) -> Node | Hidden:
    kept: list[Node | Hidden] = []
    for index, item in enumerate(node.items):
        here = [s[1:] for s in items if s[0][1] == "*" or s[0][1] == index] + below
        kept.append(_prune(item, item_path(path, index), here))
    if all(isinstance(k, Hidden) for k in kept):
        return Hidden(node_digest(node, path))
    return ArrayNode(node.salt, tuple(kept))


# --- JSON --------------------------------------------------------------------------------


def node_to_json(node: Node | Hidden) -> dict[str, Any]:
    """The JSON object of a node (see ``docs/proof-bundle-v2.md``)."""
    if isinstance(node, Hidden):
        return {"hidden": "0x" + node.digest.hex()}
    if isinstance(node, ValueNode):
        return {
            "salt": "0x" + node.salt.hex(),
            "value": node.value,
            "digest": "0x" + node.digest.hex(),
        }
    if isinstance(node, ObjectNode):
        return {
            "salt": "0x" + node.salt.hex(),
            "members": [
                node_to_json(m) if isinstance(m, Hidden) else {"key": m[0], **node_to_json(m[1])}
                for m in node.members
            ],
        }
    return {"salt": "0x" + node.salt.hex(), "items": [node_to_json(i) for i in node.items]}


_HEX32 = re.compile(r"0x[0-9a-f]{64}")
_MAX_DEPTH = 32


def node_from_json(data: object) -> Node | Hidden:
    """Parse a tree's JSON object; raises :class:`LedgerValueError` naming where."""
    fast = _compiled.tree_from_json(data)
    return fast if fast is not None else reference_node_from_json(data)


def reference_node_from_json(data: object, where: str = "fields", depth: int = 0) -> Node | Hidden:
    """:func:`node_from_json` by its definition (the compiled parse leaves anything that is
    not well formed to it, to word the error)."""
    if depth > _MAX_DEPTH:
        raise LedgerValueError(f"{where}: the tree is nested deeper than {_MAX_DEPTH} levels")
    if not isinstance(data, dict):
        raise LedgerValueError(f"{where} must be an object")
    keys = set(data)
    if keys == {"hidden"}:
        return Hidden(_hex32(f"{where}.hidden", data["hidden"]))
    salt = _hex32(f"{where}.salt", data.get("salt"))
    if keys == {"salt", "value", "digest"}:
        value = data["value"]
        if isinstance(value, dict | list):
            raise LedgerValueError(f"{where}.value must be a string, number, boolean or null")
        return ValueNode(salt, value, _hex32(f"{where}.digest", data["digest"]))
    if keys == {"salt", "members"} and isinstance(data["members"], list):
        members: list[tuple[str, Node] | Hidden] = []
        last = ""
        for i, raw in enumerate(data["members"]):
            here = f"{where}.members[{i}]"
            if isinstance(raw, dict) and "key" in raw:
                key = raw["key"]
                if not isinstance(key, str) or _KEY.fullmatch(key) is None:
                    raise LedgerValueError(f"{here}.key must be a field name ([A-Za-z0-9_]+)")
                if key <= last:
                    raise LedgerValueError(
                        f"{here}.key {key!r}: members must be in key order, each once"
                    )
                last = key
                child = reference_node_from_json(
                    {k: v for k, v in raw.items() if k != "key"}, here, depth + 1
                )
                if isinstance(child, Hidden):
                    raise LedgerValueError(f"{here}: a hidden member has no key")
                members.append((key, child))
            else:
                hidden = reference_node_from_json(raw, here, depth + 1)
                if not isinstance(hidden, Hidden):
                    raise LedgerValueError(f"{here}: a disclosed member needs its key")
                members.append(hidden)
        return ObjectNode(salt, tuple(members))
    if keys == {"salt", "items"} and isinstance(data["items"], list):
        return ArrayNode(
            salt,
            tuple(
                reference_node_from_json(item, f"{where}.items[{i}]", depth + 1)
                for i, item in enumerate(data["items"])
            ),
        )
    raise LedgerValueError(
        f"{where} must be {{hidden}}, {{salt, value, digest}}, {{salt, members}} or {{salt, items}}"
    )


def _hex32(where: str, value: object) -> bytes:
    if not isinstance(value, str) or _HEX32.fullmatch(value) is None:
        raise LedgerValueError(f"{where} must be 32 bytes of 0x-prefixed lowercase hex")
    return bytes.fromhex(value[2:])


_compiled.use_node_types(ValueNode, ObjectNode, ArrayNode, Hidden)
