"""The hand-written EIP-712 digests and event decoding agree with the libraries they stand in
for: eth-account's ``encode_typed_data`` for every typed request, and web3's event
processing for every event of the ledger, on generated values and on a real ledger's logs."""

from __future__ import annotations

from typing import Any, get_args

import pytest
from eth_abi.abi import encode
from eth_account import Account
from eth_account.messages import encode_typed_data
from hypothesis import given, settings
from hypothesis import strategies as st
from web3 import Web3

from ledger_node.agencies import AgencyKind
from ledger_node.chain.deploy import FoundedConsortium
from ledger_node.chain.events import decode_log
from ledger_node.chain.governance import Action, Governance
from ledger_node.chain.ledger import LedgerClient
from ledger_node.commitment import leaf
from ledger_node.contracts import load_artifact
from ledger_node.eip712 import (
    AttestRequest,
    BatchRequest,
    Domain,
    ExchangeRequest,
    LeafRevokeRequest,
    RevokeRequest,
    SignedRequest,
)
from ledger_node.hashing import keccak256
from ledger_node.keys import EncryptionKey, LocalKey
from ledger_node.merkle import MerkleTree
from ledger_node.policy import NO_ACCESS
from ledger_node.records.schemas import INVOICE_ISSUED, SCHEMAS, TAX_RATING
from ledger_node.tagkeys import TAG_DOMAINS

WORD = st.binary(min_size=32, max_size=32)
ADDRESS = st.binary(min_size=20, max_size=20).map(lambda b: "0x" + b.hex())
DOMAINS = st.builds(Domain, st.integers(1, 2**64), ADDRESS)


def _uint(bits: int) -> st.SearchStrategy[int]:
    return st.integers(0, 2**bits - 1)


#: A strategy for each request type, and the EIP-712 type of each of its fields in order.
REQUESTS: dict[type[SignedRequest], tuple[st.SearchStrategy[Any], list[tuple[str, str]]]] = {
    AttestRequest: (
        st.builds(AttestRequest, WORD, WORD, WORD, WORD, _uint(64), _uint(256), _uint(64)),
        [
            ("schemaId", "bytes32"),
            ("commitment", "bytes32"),
            ("subject", "bytes32"),
            ("refUID", "bytes32"),
            ("expiration", "uint64"),
            ("nonce", "uint256"),
            ("deadline", "uint64"),
        ],
    ),
    BatchRequest: (
        st.builds(BatchRequest, WORD, WORD, _uint(32), _uint(64)),
        [("schemaId", "bytes32"), ("root", "bytes32"), ("count", "uint32"), ("deadline", "uint64")],
    ),
    RevokeRequest: (
        st.builds(RevokeRequest, WORD, WORD, _uint(256), _uint(64)),
        [("uid", "bytes32"), ("reason", "bytes32"), ("nonce", "uint256"), ("deadline", "uint64")],
    ),
    LeafRevokeRequest: (
        st.builds(LeafRevokeRequest, WORD, WORD, WORD, WORD, _uint(256), _uint(64)),
        [
            ("root", "bytes32"),
            ("schemaId", "bytes32"),
            ("commitment", "bytes32"),
            ("reason", "bytes32"),
            ("nonce", "uint256"),
            ("deadline", "uint64"),
        ],
    ),
}


def _typed_data(domain: Domain, request: SignedRequest) -> dict[str, Any]:
    """The request as eth-account's ``full_message``, built from its field list alone."""
    primary = request.TYPE.decode().split("(")[0]
    fields = REQUESTS[type(request)][1]
    return {
        "types": {
            "EIP712Domain": [
                {"name": "name", "type": "string"},
                {"name": "version", "type": "string"},
                {"name": "chainId", "type": "uint256"},
                {"name": "verifyingContract", "type": "address"},
            ],
            primary: [{"name": name, "type": typ} for name, typ in fields],
        },
        "primaryType": primary,
        "domain": {
            "name": "TaxLedger",
            "version": "1",
            "chainId": domain.chain_id,
            "verifyingContract": Web3.to_checksum_address(domain.verifying_contract),
        },
        "message": dict(zip((name for name, _ in fields), request.as_tuple(), strict=True)),
    }


#: Any key: eth-account reports the hash it signed, the digest to compare.
_KEY = bytes(range(1, 33))


def _check(domain: Domain, request: SignedRequest) -> None:
    signable = encode_typed_data(full_message=_typed_data(domain, request))
    assert signable.header == domain.separator
    assert signable.body == request.struct_hash()
    signed = Account.sign_message(signable, _KEY)
    assert bytes(signed.message_hash) == domain.digest(request.struct_hash())
    ours = LocalKey(_KEY).sign_digest(domain.digest(request.struct_hash()))
    assert ours == bytes(signed.signature)


def test_the_field_lists_are_the_type_strings() -> None:
    assert set(REQUESTS) == set(get_args(SignedRequest)), "a typed request has no strategy here"
    for request_type, (_, fields) in REQUESTS.items():
        primary = request_type.TYPE.decode().split("(")[0]
        listed = ",".join(f"{typ} {name}" for name, typ in fields)
        assert request_type.TYPE.decode() == f"{primary}({listed})"


@pytest.mark.parametrize("request_type", list(REQUESTS), ids=lambda t: t.__name__)
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_digest_is_eth_accounts(request_type: type[SignedRequest], data: st.DataObject) -> None:
    _check(data.draw(DOMAINS), data.draw(REQUESTS[request_type][0]))


_EXCHANGE_FIELDS = [
    ("requester", "uint32"),
    ("provider", "uint32"),
    ("subject", "bytes32"),
    ("schemas", "bytes32[]"),
    ("purpose", "uint8"),
    ("consent", "bytes32"),
    ("nonce", "bytes32"),
    ("deadline", "uint64"),
    ("after", "uint64"),
]
EXCHANGE_REQUESTS = st.builds(
    ExchangeRequest,
    _uint(32),
    _uint(32),
    WORD,
    st.lists(WORD, max_size=5).map(tuple),
    _uint(8),
    WORD,
    WORD,
    _uint(64),
    _uint(64),
)


@settings(max_examples=60, deadline=None)
@given(domain=DOMAINS, request=EXCHANGE_REQUESTS)
def test_the_exchange_request_digest_is_eth_accounts(
    domain: Domain, request: ExchangeRequest
) -> None:
    listed = ",".join(f"{typ} {name}" for name, typ in _EXCHANGE_FIELDS)
    assert request.TYPE.decode() == f"ExchangeRequest({listed})"
    typed = _typed_data(domain, BatchRequest(bytes(32), bytes(32), 0, 0))
    del typed["types"]["AnchorBatch"]
    typed["types"]["ExchangeRequest"] = [{"name": n, "type": t} for n, t in _EXCHANGE_FIELDS]
    typed["primaryType"] = "ExchangeRequest"
    values = (
        request.requester,
        request.provider,
        request.subject,
        list(request.schema_ids),
        request.purpose,
        request.consent,
        request.nonce,
        request.deadline,
        request.after,
    )
    typed["message"] = dict(zip((n for n, _ in _EXCHANGE_FIELDS), values, strict=True))
    signable = encode_typed_data(full_message=typed)
    assert signable.body == request.struct_hash()
    signed = Account.sign_message(signable, _KEY)
    assert bytes(signed.message_hash) == domain.digest(request.struct_hash())


ABI = load_artifact("TaxLedger").abi
EVENTS = [item for item in ABI if item["type"] == "event"]
CONTRACT = Web3().eth.contract(abi=ABI)
LEDGER = "0x" + "5e" * 20


def _canonical(item: dict[str, Any]) -> str:
    if item["type"].startswith("tuple"):
        return (
            "(" + ",".join(_canonical(c) for c in item["components"]) + ")" + str(item["type"])[5:]
        )
    return str(item["type"])


def _value(typ: str) -> st.SearchStrategy[Any]:
    if typ == "address":
        return st.binary(min_size=20, max_size=20).map(lambda b: "0x" + b.hex())
    if typ == "bool":
        return st.booleans()
    if typ == "string":
        return st.text(max_size=80)
    if typ.startswith("bytes"):
        n = int(typ[5:])
        return st.binary(min_size=n, max_size=n)
    if typ.startswith("uint"):
        return st.integers(0, 2 ** int(typ[4:]) - 1)
    raise AssertionError(f"no strategy for {typ}")


@st.composite
def logs(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, Any]]:
    event = draw(st.sampled_from(EVENTS))
    types = [_canonical(i) for i in event["inputs"]]
    values = {i["name"]: draw(_value(t)) for i, t in zip(event["inputs"], types, strict=True)}
    signature = f"{event['name']}({','.join(types)})"
    topics = [keccak256(signature.encode())]
    data_types, data_values = [], []
    for item, typ in zip(event["inputs"], types, strict=True):
        if item["indexed"]:
            topics.append(encode([typ], [values[item["name"]]]))
        else:
            data_types.append(typ)
            data_values.append(values[item["name"]])
    log = {
        "address": Web3.to_checksum_address(LEDGER),
        "topics": ["0x" + t.hex() for t in topics],
        "data": "0x" + encode(data_types, data_values).hex(),
        "blockNumber": "0x" + format(draw(st.integers(0, 2**40)), "x"),
        "blockHash": "0x" + "ab" * 32,
        "transactionHash": "0x" + "cd" * 32,
        "transactionIndex": "0x0",
        "logIndex": "0x" + format(draw(st.integers(0, 1000)), "x"),
        "removed": False,
    }
    return event, log


def _formatted(log: dict[str, Any]) -> Any:
    """A JSON-RPC log in the shape web3's result formatters hand to event processing (bytes
    where they give HexBytes, a bytes subclass; integers for quantities)."""

    def data(text: str) -> bytes:
        return bytes.fromhex(text.removeprefix("0x"))

    return {
        **log,
        "topics": [data(t) for t in log["topics"]],
        "data": data(log["data"]),
        "blockHash": data(log["blockHash"]),
        "transactionHash": data(log["transactionHash"]),
        "blockNumber": int(log["blockNumber"], 16),
        "logIndex": int(log["logIndex"], 16),
        "transactionIndex": int(log["transactionIndex"], 16),
    }


def _plain(value: Any) -> Any:
    if isinstance(value, str) and value.startswith("0x") and len(value) == 42:
        return value.lower()
    if isinstance(value, bytes):
        return bytes(value)
    return value


@settings(max_examples=200, deadline=None)
@given(case=logs())
def test_generated_logs_decode_as_web3_decodes_them(
    case: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    event, log = case
    ours = decode_log(log)
    assert ours is not None and ours.name == event["name"]
    theirs = getattr(CONTRACT.events, event["name"])().process_log(_formatted(log))
    assert theirs["event"] == ours.name
    assert {k: _plain(v) for k, v in theirs["args"].items()} == ours.args
    assert (theirs["blockNumber"], theirs["logIndex"]) == (ours.block_number, ours.log_index)


def test_every_event_of_a_real_ledger_decodes_as_web3_decodes_it(
    ledger: LedgerClient, consortium: FoundedConsortium
) -> None:
    """Founding, writes, revocations and each kind of governance, as the node logs them."""
    tax, bank, auditor = (consortium.keys[n] for n in ("tax-bureau", "bank", "auditor"))
    sender = ledger.sender(tax)
    invoice = SCHEMAS[INVOICE_ISSUED].schema_id
    commitments = [keccak256(b"invoice %d" % i) for i in range(3)]
    tree = MerkleTree([leaf(invoice, c) for c in commitments])
    ledger.anchor_batch(tax, sender, schema_id=invoice, root=tree.root, count=3)
    rating = SCHEMAS[TAX_RATING].schema_id
    ledger.attest(tax, sender, schema_id=rating, commitment=keccak256(b"r"), subject=b"\1" * 32)
    ledger.revoke(tax, sender, uid=keccak256(b"r"), reason=b"\2" * 32)
    ledger.revoke_leaf(
        tax,
        sender,
        root=tree.root,
        schema_id=invoice,
        commitment=commitments[0],
        proof=tree.proof(tree.index_of(leaf(invoice, commitments[0]))),
        reason=b"\3" * 32,
    )
    governance = Governance(ledger)
    for action in (
        Action.add_agency(
            AgencyKind.BANK,
            LocalKey.generate().address,
            "second-bank",
            EncryptionKey.generate().public_key,
        ),
        Action.set_encryption_key(2, EncryptionKey.generate().public_key),
        Action.set_read_policy(rating, AgencyKind.MARKET_REGULATOR, NO_ACCESS),
        Action.register_tag_key(
            TAG_DOMAINS["invoice"].domain_id, (AgencyKind.TAX_BUREAU,), b"\4" * 32
        ),
        Action.rotate_key(3, LocalKey.generate().address),
        Action.suspend(5),
        Action.reinstate(5),
    ):
        proposal = governance.propose(ledger.sender(tax), action)
        governance.approve(ledger.sender(bank), proposal)
        governance.approve(ledger.sender(auditor), proposal)
        governance.execute(ledger.sender(bank), proposal)
    query = {"address": ledger.address, "fromBlock": "0x0", "toBlock": "latest"}
    raw = ledger.rpc.request("eth_getLogs", [query])
    formatted = ledger.w3.eth.get_logs(
        {"address": Web3.to_checksum_address(ledger.address), "fromBlock": 0, "toBlock": "latest"}
    )
    assert len(raw) == len(formatted) > 40
    seen = set()
    for ours_raw, theirs_raw in zip(raw, formatted, strict=True):
        ours = decode_log(ours_raw)
        assert ours is not None
        theirs = getattr(CONTRACT.events, ours.name)().process_log(theirs_raw)
        assert {k: _plain(v) for k, v in theirs["args"].items()} == ours.args, ours.name
        assert (theirs["blockNumber"], theirs["logIndex"]) == (ours.block_number, ours.log_index)
        seen.add(ours.name)
    assert seen == {e["name"] for e in EVENTS} - {"EIP712DomainChanged"}
