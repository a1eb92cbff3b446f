"""The exchange's read policy: purposes, read rules, and the policy a consortium is founded with.

A read rule says what agencies of one kind may read of one schema through the exchange: for
which purposes, whether the taxpayer's consent must be cited, and which fields may be
disclosed. Rules live on chain (``Consortium.sol``), change only by M-of-N governance, and take
effect from the block after the one that changed them, like membership. A schema without a
rule for a kind is readable by that kind for no purpose.

Minimum necessary (PIPL Art. 6) is the default: :data:`DEFAULT_READ_POLICY` grants each kind
what its duties need and nothing else.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ledger_node.agencies import AgencyKind
from ledger_node.errors import LedgerValueError
from ledger_node.labels import LabelledEnum
from ledger_node.records import schemas


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


#: The ``fields`` value that discloses the whole record.
ALL_FIELDS = "*"


@dataclass(frozen=True)
class ReadRule:
    """What readers of one kind may read of one schema. ``fields`` is ``*`` (the whole record)
    or comma-separated field paths, kept opaque here: the disclosure code defines the path
    syntax. A rule without purposes allows nothing and carries no fields or consent."""

    purposes: frozenset[Purpose]
    consent_required: bool
    fields: str

    def __post_init__(self) -> None:
        if self.purposes and not self.fields:
            raise LedgerValueError("a read rule that allows a purpose must name its fields")
        if not self.purposes and (self.fields or self.consent_required):
            raise LedgerValueError(
                "a read rule that allows no purpose must name no fields and require no consent"
            )

    @classmethod
    def of(cls, *purposes: Purpose, fields: str, consent: bool = False) -> ReadRule:
        """A rule allowing ``purposes``."""
        return cls(frozenset(purposes), consent, fields)

    @property
    def purpose_mask(self) -> int:
        return purpose_mask(self.purposes)

    def allows(self, purpose: Purpose) -> bool:
        return purpose in self.purposes


#: The rule that allows nothing: what a schema without an entry gives every kind.
NO_ACCESS = ReadRule(frozenset(), False, "")

_AUDIT = ReadRule.of(Purpose.AUDIT, fields=ALL_FIELDS)
_TAX = ReadRule.of(Purpose.TAX_ADMINISTRATION, fields=ALL_FIELDS)

#: The read policy a consortium is founded with, by schema name and reader kind. The auditor
#: reads every schema for audit; every other grant is what that kind's duties need.
DEFAULT_READ_POLICY: dict[str, dict[AgencyKind, ReadRule]] = {
    schemas.INVOICE_ISSUED: {
        AgencyKind.TAX_BUREAU: _TAX,
        AgencyKind.AUDITOR: _AUDIT,
    },
    # 三流一致 needs the payments (tax bureau); a regulator looking into a company reads the
    # payments it received, not who paid it (a payer may be a natural person).
    schemas.PAYMENT_SETTLED: {
        AgencyKind.TAX_BUREAU: _TAX,
        AgencyKind.MARKET_REGULATOR: ReadRule.of(
            Purpose.MARKET_SUPERVISION,
            fields="payment_id,invoice_number,payee.tax_id,amount,currency,value_date",
        ),
        AgencyKind.AUDITOR: _AUDIT,
    },
    # Registration status is public (企业信息公示暂行条例), so a bank needs no consent.
    schemas.REGISTRATION_STATUS: {
        AgencyKind.TAX_BUREAU: _TAX,
        AgencyKind.BANK: ReadRule.of(
            Purpose.CREDIT_ASSESSMENT, fields="uscc,status,abnormal,as_of"
        ),
        AgencyKind.AUDITOR: _AUDIT,
    },
    # 银税互动: a bank reads the level of a rating, not its score, and only with consent.
    schemas.TAX_RATING: {
        AgencyKind.TAX_BUREAU: _TAX,
        AgencyKind.BANK: ReadRule.of(
            Purpose.CREDIT_ASSESSMENT, fields="uscc,year,level", consent=True
        ),
        AgencyKind.AUDITOR: _AUDIT,
    },
    schemas.BANK_DECISION: {
        AgencyKind.AUDITOR: _AUDIT,
    },
}


def default_rules(schema_names: Iterable[str]) -> list[tuple[str, AgencyKind, ReadRule]]:
    """``(schema, reader kind, rule)`` of the default policy for the schemas named, in the
    table's order."""
    wanted = set(schema_names)
    return [
        (schema, kind, rule)
        for schema, rules in DEFAULT_READ_POLICY.items()
        if schema in wanted
        for kind, rule in rules.items()
    ]
