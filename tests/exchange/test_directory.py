"""The consortium directory file: written whole or not at all."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ledger_node.exchange.directory import Directory

LEDGER = "0x" + "ab" * 20


def test_a_rewrite_cut_short_leaves_the_directory_as_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "directory.json"
    Directory.of(31337, LEDGER, {"bank": "https://bank.example"}).save(path)
    before = path.read_bytes()

    def cut(fd: int) -> None:
        raise OSError("no space left on device")

    monkeypatch.setattr(os, "fsync", cut)
    moved = Directory.of(31337, LEDGER, {"bank": "https://bank2.example"})
    with pytest.raises(OSError, match="no space left"):
        moved.save(path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["directory.json"]
    monkeypatch.undo()
    moved.save(path)
    assert Directory.load(path, chain_id=31337, ledger=LEDGER) == moved
