"""Reading the ledger's events: paged over block ranges, and only up to the last final block.

A block counts as final once ``confirmations`` blocks are on top of it, so a reorganisation
shallower than that can never change what a reader has seen.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from eth_abi.abi import decode

from ledger_node.chain.rpc import Rpc, as_bytes, as_int
from ledger_node.contracts import load_artifact
from ledger_node.hashing import keccak256


@dataclass(frozen=True)
class LedgerEvent:
    """One decoded event of the ledger contract."""

    name: str
    block_number: int
    block_hash: bytes
    tx_hash: bytes
    log_index: int
    args: dict[str, Any]


@dataclass(frozen=True)
class _EventAbi:
    name: str
    indexed: tuple[tuple[str, str], ...]
    data: tuple[tuple[str, str], ...]


def _canonical_type(item: dict[str, Any]) -> str:
    if item["type"].startswith("tuple"):
        inner = ",".join(_canonical_type(c) for c in item["components"])
        return f"({inner}){item['type'][5:]}"
    return str(item["type"])


def _event_table() -> dict[bytes, _EventAbi]:
    table = {}
    for item in load_artifact("TaxLedger").abi:
        if item["type"] != "event":
            continue
        types = [_canonical_type(i) for i in item["inputs"]]
        topic = keccak256(f"{item['name']}({','.join(types)})".encode())
        table[topic] = _EventAbi(
            item["name"],
            tuple(
                (i["name"], t) for i, t in zip(item["inputs"], types, strict=True) if i["indexed"]
            ),
            tuple(
                (i["name"], t)
                for i, t in zip(item["inputs"], types, strict=True)
                if not i["indexed"]
            ),
        )
    return table


_EVENTS = _event_table()
#: topic0 of every ledger event by name.
TOPICS: dict[str, bytes] = {abi.name: topic for topic, abi in _EVENTS.items()}


def _normalise(value: Any) -> Any:
    if isinstance(value, str) and value.startswith("0x") and len(value) == 42:
        return value.lower()
    return value


def decode_log(log: dict[str, Any]) -> LedgerEvent | None:
    """Decode a raw JSON-RPC log of the ledger; None for a log of another contract's event."""
    topics = [as_bytes(t) for t in log["topics"]]
    if not topics or topics[0] not in _EVENTS:
        return None
    abi = _EVENTS[topics[0]]
    args: dict[str, Any] = {}
    for (name, typ), topic in zip(abi.indexed, topics[1:], strict=True):
        args[name] = _normalise(decode([typ], topic)[0]) if typ != "bytes32" else topic
    if abi.data:
        values = decode([t for _, t in abi.data], as_bytes(log["data"]))
        for (name, _), value in zip(abi.data, values, strict=True):
            args[name] = _normalise(value)
    return LedgerEvent(
        name=abi.name,
        block_number=as_int(log["blockNumber"]),
        block_hash=as_bytes(log["blockHash"]),
        tx_hash=as_bytes(log["transactionHash"]),
        log_index=as_int(log["logIndex"]),
        args=args,
    )


#: Most blocks one ``eth_getLogs`` asks for: Besu refuses wider ranges (its
#: ``rpc-max-logs-range``, 5,000 by default), and the Besu kit writes this same value into
#: every node's configuration, so every reader of the ledger pages by it.
LOG_RANGE_BLOCKS = 5_000


class EventReader:
    """Pages through the ledger's events in final blocks."""

    def __init__(
        self, rpc: Rpc, address: str, *, confirmations: int = 0, page_size: int = LOG_RANGE_BLOCKS
    ) -> None:
        if confirmations < 0 or page_size < 1:
            raise ValueError("confirmations must be >= 0 and page_size >= 1")
        self.rpc = rpc
        self.address = address.lower()
        self.confirmations = confirmations
        self.page_size = page_size

    def final_block(self) -> int:
        """The newest block with the required confirmations on top (-1 if none is)."""
        head = as_int(self.rpc.request("eth_blockNumber", []))
        return head - self.confirmations

    def pages(self, from_block: int, to_block: int | None = None) -> Iterator[tuple[int, int]]:
        """Block ranges ``[start, end]`` covering ``from_block`` up to the final block."""
        last = self.final_block() if to_block is None else min(to_block, self.final_block())
        start = from_block
        while start <= last:
            end = min(start + self.page_size - 1, last)
            yield start, end
            start = end + 1

    def logs(self, start: int, end: int, topics: list[Any] | None = None) -> list[LedgerEvent]:
        """Decoded events of blocks ``start..end`` (inclusive), in chain order."""
        query: dict[str, Any] = {
            "address": self.address,
            "fromBlock": hex(start),
            "toBlock": hex(end),
        }
        if topics:
            query["topics"] = topics
        raw = self.rpc.request("eth_getLogs", [query])
        events = [e for log in raw if not log.get("removed") and (e := decode_log(log)) is not None]
        events.sort(key=lambda e: (e.block_number, e.log_index))
        return events

    def read(self, from_block: int, to_block: int | None = None) -> Iterator[LedgerEvent]:
        """Every event from ``from_block`` up to the final block (or ``to_block``)."""
        for start, end in self.pages(from_block, to_block):
            yield from self.logs(start, end)
