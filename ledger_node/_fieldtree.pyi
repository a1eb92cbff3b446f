"""The field tree of proof format v2, compiled (``_fieldtree.c``).

Each function answers exactly as its reference in :mod:`ledger_node.fieldtree` or returns
None, and then the reference decides (and words any error).
"""

from typing import Any

def fields_digest(record: object, master: object, /) -> tuple[bytes, bytes] | None:
    """``(commitment salt, digest of the record's field tree)``."""

def commit_v2(
    record: object, master: object, schema_id: bytes, tags: object, /
) -> tuple[bytes, bytes, bytes] | None:
    """``(record hash, commitment, leaf)`` of a v2 record (``commitment.commit_record_v2``)
    with its subject tags (a list or tuple of ``tagging.SubjectTag``), whose digest
    (``commitment.subjects_digest``) is hashed beside its tree."""

def use_tag_type(tag: type, /) -> None:
    """The subject tag class whose slots :func:`commit_v2` reads."""

def build_tree(record: object, master: object, /) -> tuple[Any, bytes] | None:
    """``(complete tree, its digest)``: the tree's nodes are ``fieldtree``'s classes."""

def tree_digest(node: object, path: str, check: bool, /) -> bytes | tuple[str, bytes, Any] | None:
    """The digest of a tree at ``path``; with ``check``, ``(path, computed, stated)`` of the
    first disclosed value, in pre-order, that does not hash to the digest it states."""

def use_node_types(value: type, object: type, array: type, hidden: type, /) -> None:
    """The node classes whose slots the functions read and write."""

def tree_from_json(data: object, /) -> Any:
    """The tree (``fieldtree``'s nodes) of a well-formed node object, or None."""
