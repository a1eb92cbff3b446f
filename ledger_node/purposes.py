"""Why an agency reads another agency's facts: the purposes of the exchange's read policy.

One table names them. A purpose's number is its bit in the on-chain purpose mask of a read
rule (:mod:`ledger_node.policy`), and the label is how a consent, a disclosure or the command
line spells it; both are stable: a number is never reused for another purpose.
"""

from __future__ import annotations

from collections.abc import Iterable

from ledger_node.labels import LabelledEnum


class Purpose(LabelledEnum):
    """Why an agency reads. The number is the purpose's bit in the on-chain purpose mask; it is
    stable: a number is never reused for another purpose."""

    TAX_ADMINISTRATION = 0
    CREDIT_ASSESSMENT = 1
    MARKET_SUPERVISION = 2
    AUDIT = 3
    TAXPAYER_PORTAL = 4


def purpose_mask(purposes: Iterable[Purpose]) -> int:
    """The on-chain mask of ``purposes``: bit ``p`` set for purpose ``p``."""
    mask = 0
    for purpose in purposes:
        mask |= 1 << int(purpose)
    return mask


def mask_labels(mask: int) -> list[str]:
    """The purposes of a mask by label; a bit this library does not name shows as ``bit N``."""
    labels = []
    for bit in range(mask.bit_length()):
        if mask >> bit & 1:
            labels.append(Purpose(bit).label if bit in Purpose._value2member_map_ else f"bit {bit}")
    return labels
