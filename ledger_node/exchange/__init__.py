"""The exchange between agencies: one agency's gateway asks another's for the facts about a
subject and gets them encrypted to its registered key, each fact verifiable on the ledger.

* :mod:`.refusals` — why a provider refuses a request, each with a stable code;
* :mod:`.messages` — the signed request and the answer on the wire;
* :mod:`.sealing` — HPKE (RFC 9180) encryption of an answer to the requester's key;
* :mod:`.provider` — the provider's checks against the chain at its latest block;
* :mod:`.requester` — signing a request, opening and verifying its answer;
* :mod:`.directory` — where each member's gateway answers;
* :mod:`.subjects` — the subject tag a request names.
"""
