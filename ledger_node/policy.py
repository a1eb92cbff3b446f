"""The exchange's read policy: read rules, and the policy a consortium is founded with.

A read rule says what agencies of one kind may read of one schema through the exchange: for
which purposes (:mod:`ledger_node.purposes`), whether the taxpayer's consent must be cited,
and which fields may be disclosed. Rules live on chain (``ExchangeRegistry.sol``), change
only by M-of-N governance, and take effect from the block after the one that changed them,
like membership. A schema without a rule for a kind is readable by that kind for no purpose.

Minimum necessary (PIPL Art. 6) is the default: :data:`DEFAULT_READ_POLICY` grants each kind
what its duties need and nothing else.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ledger_node.agencies import AgencyKind
from ledger_node.errors import LedgerValueError
from ledger_node.purposes import Purpose, purpose_mask
from ledger_node.records import schemas

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

_PAYMENT_TO_A_COMPANY = "payment_id,payee.tax_id,amount,currency,value_date"

#: The read policy a consortium is founded with, by schema name and reader kind; every schema
#: has an entry (a schema without one is readable by no one). The auditor reads every schema
#: for audit; every other grant is what that kind's duties need.
DEFAULT_READ_POLICY: dict[str, dict[AgencyKind, ReadRule]] = {
    schemas.INVOICE_ISSUED: {AgencyKind.TAX_BUREAU: _TAX, AgencyKind.AUDITOR: _AUDIT},
    schemas.INVOICE_ISSUED_V2: {AgencyKind.TAX_BUREAU: _TAX, AgencyKind.AUDITOR: _AUDIT},
    # 三流一致 needs the payments (tax bureau); a regulator looking into a company reads the
    # payments it received, not who paid it (a payer may be a natural person).
    schemas.PAYMENT_SETTLED: {
        AgencyKind.TAX_BUREAU: _TAX,
        AgencyKind.MARKET_REGULATOR: ReadRule.of(
            Purpose.MARKET_SUPERVISION, fields=_PAYMENT_TO_A_COMPANY + ",invoice_number"
        ),
        AgencyKind.AUDITOR: _AUDIT,
    },
    schemas.PAYMENT_SETTLED_V2: {
        AgencyKind.TAX_BUREAU: _TAX,
        AgencyKind.MARKET_REGULATOR: ReadRule.of(
            Purpose.MARKET_SUPERVISION,
            fields=_PAYMENT_TO_A_COMPANY + ",settles[].invoice_number,settles[].amount",
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
    schemas.BANK_DECISION: {AgencyKind.AUDITOR: _AUDIT},
    schemas.BANK_DECISION_V2: {AgencyKind.AUDITOR: _AUDIT},
    # An abnormal or absconded taxpayer (非正常户, 走逃户) matters to a lender (with consent)
    # and to the regulator supervising the company; neither needs more than the status.
    schemas.TAX_STATUS: {
        AgencyKind.TAX_BUREAU: _TAX,
        AgencyKind.BANK: ReadRule.of(
            Purpose.CREDIT_ASSESSMENT, fields="uscc,status,since", consent=True
        ),
        AgencyKind.MARKET_REGULATOR: ReadRule.of(
            Purpose.MARKET_SUPERVISION, fields="uscc,status,since"
        ),
        AgencyKind.AUDITOR: _AUDIT,
    },
    # Returns are confidential (税收征收管理法 Art. 8): the tax bureau and the auditor only.
    schemas.TAX_DECLARATION: {AgencyKind.TAX_BUREAU: _TAX, AgencyKind.AUDITOR: _AUDIT},
    # The bureau that records consents checks them and shows them to the taxpayer.
    schemas.CONSENT_GRANTED: {
        AgencyKind.TAX_BUREAU: ReadRule.of(
            Purpose.TAX_ADMINISTRATION, Purpose.TAXPAYER_PORTAL, fields=ALL_FIELDS
        ),
        AgencyKind.AUDITOR: _AUDIT,
    },
    # Who saw what about a taxpayer: the tax bureau's portal shows it to the taxpayer.
    schemas.DISCLOSURE_MADE: {
        AgencyKind.TAX_BUREAU: ReadRule.of(Purpose.TAXPAYER_PORTAL, fields=ALL_FIELDS),
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
