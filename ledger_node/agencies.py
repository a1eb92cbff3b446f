"""Kinds of consortium member. The numbers are the contract's ``AgencyKind`` enum."""

from __future__ import annotations

import enum


class AgencyKind(enum.IntEnum):
    """What a member agency is; decides which schemas it may attest."""

    TAX_BUREAU = 1
    BANK = 2
    MARKET_REGULATOR = 3
    AUDITOR = 4

    @property
    def label(self) -> str:
        return self.name.lower().replace("_", "-")

    @classmethod
    def parse(cls, text: str) -> AgencyKind:
        """Parse ``tax-bureau``, ``TAX_BUREAU`` or ``1``."""
        key = text.strip().upper().replace("-", "_")
        if key.isdigit():
            return cls(int(key))
        try:
            return cls[key]
        except KeyError:
            allowed = ", ".join(k.label for k in cls)
            raise ValueError(f"unknown agency kind {text!r}; expected one of {allowed}") from None


def kind_mask(kinds: list[AgencyKind] | tuple[AgencyKind, ...] | frozenset[AgencyKind]) -> int:
    """The contract's bit mask of agency kinds: bit ``k`` set for kind ``k``."""
    mask = 0
    for kind in kinds:
        mask |= 1 << int(kind)
    return mask
