"""The agency gateway: one FastAPI service per agency that accepts records, keeps them in a
durable outbox, and batches, signs and anchors them on the ledger.

``create_app`` in :mod:`gateway.app` builds the service; ``taxledger gateway serve`` runs it.
"""
