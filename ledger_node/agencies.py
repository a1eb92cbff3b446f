"""Kinds of consortium member. The numbers are the contract's ``AgencyKind`` enum."""

from __future__ import annotations

from ledger_node.labels import LabelledEnum


class AgencyKind(LabelledEnum):
    """What a member agency is; decides which schemas it may attest."""

    TAX_BUREAU = 1
    BANK = 2
    MARKET_REGULATOR = 3
    AUDITOR = 4

    @classmethod
    def noun(cls) -> str:
        return "agency kind"


def kind_mask(kinds: list[AgencyKind] | tuple[AgencyKind, ...] | frozenset[AgencyKind]) -> int:
    """The contract's bit mask of agency kinds: bit ``k`` set for kind ``k``."""
    mask = 0
    for kind in kinds:
        mask |= 1 << int(kind)
    return mask
