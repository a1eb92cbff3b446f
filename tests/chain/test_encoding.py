"""The hand-written fast paths agree with the general-purpose libraries they replace."""

from __future__ import annotations

import pytest
from eth_account import Account
from hypothesis import given, settings
from hypothesis import strategies as st
from web3 import Web3

from ledger_node.chain import errors
from ledger_node.chain.ledger import LedgerClient, encode_call
from ledger_node.chain.rpc import Rpc, connect
from ledger_node.chain.transactions import Sender
from ledger_node.contracts import load_artifact
from ledger_node.eip712 import AttestRequest, Domain, recover_request, sign_request
from ledger_node.keys import LocalKey

SECRET = bytes.fromhex("4c0883a69102937d6231471b5decb2dc6ef8ed8d9ab0ed06e1c5d8b8e3a0b5a1")
# Signing and encoding need no chain; one embedded instance serves every example.
RPC = Rpc(connect())


@settings(max_examples=50, deadline=None)
@given(
    nonce=st.integers(0, 2**64 - 1),
    gas=st.integers(21_000, 30_000_000),
    max_fee=st.integers(1, 10**15),
    data=st.binary(max_size=300),
    chain_id=st.integers(1, 2**48),
)
def test_transaction_signing_matches_eth_account(
    nonce: int, gas: int, max_fee: int, data: bytes, chain_id: int
) -> None:
    key = LocalKey(SECRET)
    sender = Sender(RPC, key, chain_id)
    to = "0x" + "ab" * 20
    ours = sender.sign(to, data, gas, nonce, max_fee)
    reference = Account.sign_transaction(
        {
            "type": 2,
            "chainId": chain_id,
            "nonce": nonce,
            "gas": gas,
            "to": Web3.to_checksum_address(to),
            "value": 0,
            "data": data,
            "maxFeePerGas": max_fee,
            "maxPriorityFeePerGas": min(sender.fees.tip, max_fee),
            "accessList": [],
        },
        SECRET,
    )
    assert ours.raw == bytes(reference.raw_transaction)
    assert ours.tx_hash == bytes(reference.hash)


@settings(max_examples=30, deadline=None)
@given(
    fields=st.tuples(*[st.binary(min_size=32, max_size=32)] * 4, *[st.integers(0, 2**64 - 1)] * 3)
)
def test_fast_attest_calldata_equals_the_abi_encoder(fields: tuple) -> None:  # type: ignore[type-arg]
    client = LedgerClient(RPC.w3, "0x" + "11" * 20, chain_id=1)
    key = LocalKey(SECRET)
    schema_id, commitment, subject, ref_uid, expiration, nonce, deadline = fields
    prepared = client.prepare_attest(
        key,
        schema_id=schema_id,
        commitment=commitment,
        subject=subject,
        ref_uid=ref_uid,
        expiration=expiration,
        nonce=nonce,
        deadline=deadline,
    )
    general = encode_call(
        "attest((bytes32,bytes32,bytes32,bytes32,uint64,uint256,uint64),bytes)",
        prepared.request.as_tuple(),
        prepared.signature,
    )
    assert prepared.calldata == general
    batch = client.prepare_anchor(
        key, schema_id=schema_id, root=commitment, count=5, deadline=deadline
    )
    assert batch.calldata == encode_call(
        "anchorBatch((bytes32,bytes32,uint32,uint64),bytes)",
        batch.request.as_tuple(),
        batch.signature,
    )


def test_signatures_recover_and_reject_malleable_forms() -> None:
    key = LocalKey(SECRET)
    domain = Domain(31337, "0x" + "22" * 20)
    request = AttestRequest(b"\1" * 32, b"\2" * 32, b"\3" * 32, bytes(32), 0, 0, 10)
    signature = sign_request(key._key, domain, request)
    assert recover_request(domain, request, signature) == key.address
    n = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
    s = int.from_bytes(signature[32:64], "big")
    high = signature[:32] + (n - s).to_bytes(32, "big") + bytes([signature[64] ^ 1])
    with pytest.raises(errors.ChainError.__mro__[1], match="high s value"):
        recover_request(domain, request, high)
    with pytest.raises(ValueError, match="65 bytes"):
        recover_request(domain, request, signature[:64])


def test_every_contract_error_has_a_typed_python_class() -> None:
    abi_errors = {
        item["name"] for item in load_artifact("TaxLedger").abi if item["type"] == "error"
    }
    assert abi_errors == {cls.__name__ for cls in errors.REVERTS.values()}
    for item in load_artifact("TaxLedger").abi:
        if item["type"] == "error":
            cls = getattr(errors, item["name"])
            assert tuple(i["name"] for i in item["inputs"]) == cls.FIELDS
