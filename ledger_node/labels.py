"""Enumerations that files and the command line spell as lowercase labels (``tax-bureau``),
while the contracts know them by number."""

from __future__ import annotations

import enum
from typing import Self

from ledger_node.errors import LedgerValueError


class LabelledEnum(enum.IntEnum):
    """An ``IntEnum`` whose members read and print as labels: ``TAX_BUREAU`` is ``tax-bureau``."""

    @property
    def label(self) -> str:
        return self.name.lower().replace("_", "-")

    @classmethod
    def noun(cls) -> str:
        """What one member is, for messages (``agency kind``)."""
        return cls.__name__.lower()

    @classmethod
    def parse(cls, text: str) -> Self:
        """Parse a label (``tax-bureau``), a name (``TAX_BUREAU``) or a number (``1``)."""
        key = text.strip().upper().replace("-", "_")
        if key.isdigit() and int(key) in cls._value2member_map_:
            return cls(int(key))
        try:
            return cls[key]
        except KeyError:
            allowed = ", ".join(member.label for member in cls)
            raise LedgerValueError(
                f"unknown {cls.noun()} {text!r}; expected one of {allowed}"
            ) from None
