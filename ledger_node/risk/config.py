"""The risk configuration: every threshold and weight, read from one TOML file.

The packaged ``risk.toml`` is the default and documents each key; ``taxledger risk --config
FILE`` reads a copy. A file must hold every key the indicators declare (no silent default),
each of the right kind; a mistake is reported as ``FILE: key: what is wrong``.
"""

from __future__ import annotations

import hashlib
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Final

from ledger_node.errors import ConfigurationError
from ledger_node.risk.indicators import BY_CODE, INDICATORS, Param

#: Supervision tiers, mildest first (a higher index is the stronger action).
TIERS: Final = ("none", "reminder", "review", "inspection")
#: What each tier means to a tax official.
TIER_NAMES: Final = {
    "none": ("无需处理", "no action"),
    "reminder": ("提示提醒", "reminder"),
    "review": ("评估核查", "review"),
    "inspection": ("稽查", "inspection"),
}
#: Score bands, from no hit to a high score.
BANDS: Final = ("none", "low", "medium", "high")
#: Tax credit levels (纳税信用等级), and the row for taxpayers with no rating.
LEVELS: Final = ("A", "B", "M", "C", "D", "unrated")


class RiskConfigError(ConfigurationError):
    """The risk configuration file is unreadable, incomplete or has a bad value."""


@dataclass(frozen=True)
class IndicatorSettings:
    """An indicator's weight and thresholds. ``values`` are as the queries want them:
    yuan as cents, everything else as written."""

    points: int
    max_hits: int
    values: dict[str, int | float]


@dataclass(frozen=True)
class RiskConfig:
    """Everything ``risk.toml`` decides."""

    source: str
    digest: str
    max_facts_per_hit: int
    industry_digits: int
    indicators: dict[str, IndicatorSettings]
    medium: int
    high: int
    #: tier of (credit level, score band)
    tiers: dict[tuple[str, str], str]
    max_pages: int
    max_counterparties: int

    def tier(self, level: str, band: str) -> str:
        """The supervision tier of a taxpayer at ``level`` whose score is in ``band``."""
        return self.tiers[(level, band)]


def default_path() -> Path:
    """The packaged ``risk.toml``."""
    return Path(str(resources.files("ledger_node.risk").joinpath("risk.toml")))


def load_config(path: Path | None = None) -> RiskConfig:
    """Read and check a risk configuration (the packaged one when ``path`` is None)."""
    path = path or default_path()
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise RiskConfigError(f"cannot read the risk configuration {path}: {exc}") from None
    try:
        doc = tomllib.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise RiskConfigError(f"{path}: not a TOML file: {exc}") from None
    return _parse(doc, str(path), hashlib.sha256(raw).hexdigest())


def _parse(doc: dict[str, Any], source: str, digest: str) -> RiskConfig:
    def fail(key: str, message: str) -> RiskConfigError:
        return RiskConfigError(f"{source}: {key}: {message}")

    def table(parent: dict[str, Any], key: str, where: str) -> dict[str, Any]:
        value = parent.get(key)
        if not isinstance(value, dict):
            raise fail(f"{where}{key}", "missing table; copy it from the packaged risk.toml")
        return value

    def number(parent: dict[str, Any], key: str, where: str, *, whole: bool) -> int | float:
        value = parent.get(key)
        kinds = (int,) if whole else (int, float)
        if isinstance(value, bool) or not isinstance(value, kinds):
            kind = "a whole number" if whole else "a number"
            raise fail(f"{where}{key}", f"must be {kind}, got {value!r}")
        if value < 0:
            raise fail(f"{where}{key}", f"must not be negative, got {value!r}")
        return value

    def settings(code: str, given: dict[str, Any]) -> IndicatorSettings:
        where = f"indicators.{code}."
        declared = {p.name: p for p in BY_CODE[code].params}
        extra = sorted(set(given) - set(declared) - {"points", "max_hits"})
        if extra:
            raise fail(where + extra[0], "not a threshold of this indicator")
        values = {name: _value(param, number, given, where) for name, param in declared.items()}
        max_hits = int(number(given, "max_hits", where, whole=True))
        if max_hits < 1:
            raise fail(where + "max_hits", "must be at least 1")
        return IndicatorSettings(int(number(given, "points", where, whole=True)), max_hits, values)

    listed = table(doc, "indicators", "")
    unknown = sorted(set(listed) - set(BY_CODE))
    if unknown:
        raise fail(f"indicators.{unknown[0]}", f"no such indicator; known: {', '.join(BY_CODE)}")
    indicators = {
        i.code: settings(i.code, table(listed, i.code, "indicators.")) for i in INDICATORS
    }
    ring = indicators["circular_invoicing"].values["max_length"]
    if not 2 <= ring <= 4:
        raise fail("indicators.circular_invoicing.max_length", "must be 2, 3 or 4")
    scorecard = table(doc, "scorecard", "")
    medium = int(number(scorecard, "medium", "scorecard.", whole=True))
    high = int(number(scorecard, "high", "scorecard.", whole=True))
    if not 0 < medium < high:
        raise fail("scorecard", f"needs 0 < medium < high, got {medium} and {high}")
    rows = table(doc, "tiers", "")
    tiers: dict[tuple[str, str], str] = {}
    for level in LEVELS:
        row = table(rows, level, "tiers.")
        for band in BANDS:
            tier = row.get(band)
            if tier not in TIERS:
                raise fail(f"tiers.{level}.{band}", f"must be one of {', '.join(TIERS)}")
            tiers[(level, band)] = tier
    if any(tiers[(level, "none")] != "none" for level in LEVELS):
        raise fail("tiers", "a taxpayer with no hit is left alone: every `none` must be none")
    evidence, industry = table(doc, "evidence", ""), table(doc, "industry", "")
    dashboard = table(doc, "dashboard", "")
    return RiskConfig(
        source,
        digest,
        int(number(evidence, "max_facts_per_hit", "evidence.", whole=True)),
        int(number(industry, "code_digits", "industry.", whole=True)),
        indicators,
        medium,
        high,
        tiers,
        int(number(dashboard, "max_pages", "dashboard.", whole=True)),
        int(number(dashboard, "max_counterparties", "dashboard.", whole=True)),
    )


def _value(param: Param, number: Any, given: dict[str, Any], where: str) -> int | float:
    whole = param.unit in ("days", "count", "seconds")
    value: int | float = number(given, param.name, where, whole=whole)
    # Money is compared in cents, as the engine keeps it.
    return round(value * 100) if param.unit == "yuan" else value
