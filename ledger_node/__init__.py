"""taxledger's core library: records, commitments, Merkle proofs, signing, chain access,
verification and audit, shared by every gateway, the verifier and the tools."""

__version__ = "0.1.0"
