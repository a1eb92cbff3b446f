"""Deployment kits: the files a consortium needs to run taxledger on its own network.

:mod:`ledger_node.kit.besu` turns the member list (:mod:`ledger_node.kit.members`) into a
Hyperledger Besu QBFT network: node keys, the genesis (:mod:`ledger_node.kit.genesis`), node
configurations, allowlists, static nodes, a compose file and a README with the steps.
"""
