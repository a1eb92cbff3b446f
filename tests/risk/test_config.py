"""The one configuration file: every key present, each of the right kind, mistakes named."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ledger_node.risk.config import RiskConfigError, default_path, load_config
from ledger_node.risk.indicators import INDICATORS


def _copy(tmp_path: Path, old: str, new: str) -> Path:
    text = default_path().read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "risk.toml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


def test_the_packaged_file_sets_every_threshold_and_documents_it() -> None:
    config = load_config()
    text = default_path().read_text(encoding="utf-8")
    for indicator in INDICATORS:
        settings = config.indicators[indicator.code]
        assert settings.points > 0 and settings.max_hits >= 1
        assert set(settings.values) == {p.name for p in indicator.params}
        section = text.split(f"[indicators.{indicator.code}]")[1].split("[")[0]
        for param in indicator.params:
            # Each threshold is set in its indicator's section, under a comment saying what
            # it means.
            assert f"\n{param.name} = " in section, param.name
            assert "#" in section.split(f"\n{param.name} = ")[0], param.name
    # Yuan arrive in cents.
    assert config.indicators["seller_vanished"].values["min_amount"] == 50_000_000
    assert config.tier("A", "low") == "none" and config.tier("D", "low") == "inspection"


def test_a_missing_threshold_is_named(tmp_path: Path) -> None:
    path = _copy(tmp_path, "unpaid_after_days = 180\n", "")
    with pytest.raises(
        RiskConfigError,
        match=re.escape(f"{path}: indicators.flow_unpaid.unpaid_after_days: must be a whole"),
    ):
        load_config(path)


def test_a_threshold_of_the_wrong_kind_is_named(tmp_path: Path) -> None:
    path = _copy(tmp_path, "min_share = 0.8", 'min_share = "most"')
    with pytest.raises(
        RiskConfigError,
        match=re.escape("indicators.funds_returned.min_share: must be a number, got 'most'"),
    ):
        load_config(path)


def test_an_unknown_indicator_or_key_is_refused(tmp_path: Path) -> None:
    path = _copy(tmp_path, "[indicators.flow_unpaid]", "[indicators.flow_unpayed]")
    with pytest.raises(RiskConfigError, match=r"indicators\.flow_unpayed: no such indicator"):
        load_config(path)
    path = _copy(tmp_path, "unpaid_after_days = 180", "unpaid_after_days = 180\nwindow = 3")
    with pytest.raises(RiskConfigError, match=r"flow_unpaid\.window: not a threshold of this"):
        load_config(path)


def test_a_taxpayer_without_hits_is_always_left_alone(tmp_path: Path) -> None:
    path = _copy(tmp_path, 'D = { none = "none"', 'D = { none = "review"')
    with pytest.raises(RiskConfigError, match="every `none` must be none"):
        load_config(path)


def test_rings_are_bounded(tmp_path: Path) -> None:
    path = _copy(tmp_path, "max_length = 4", "max_length = 6")
    with pytest.raises(RiskConfigError, match="max_length: must be 2, 3 or 4"):
        load_config(path)


def test_a_file_that_is_not_toml_says_so(tmp_path: Path) -> None:
    path = tmp_path / "risk.toml"
    path.write_text("points = = 3", encoding="utf-8")
    with pytest.raises(RiskConfigError, match=re.escape(f"{path}: not a TOML file")):
        load_config(path)
