"""Verifying many bundles at once, in one process or in several: the same verdicts, in the
order given, as verifying them one by one."""

from __future__ import annotations

import dataclasses
import functools
from pathlib import Path

import orjson
from click.testing import CliRunner

from ledger_node.audit.index import AuditIndex
from ledger_node.bundle import ProofBundle
from ledger_node.cli import main
from ledger_node.cli.parallel import verify_in_processes
from ledger_node.cli.verify import index_verifier
from ledger_node.verify import VerificationFailure, Verifier

from .conftest import Ledger


def documents(chain: Ledger) -> list[bytes]:
    """Genuine bundles and each kind of tampering, interleaved, batch members repeated."""
    a, b, c = chain.invoices
    tampered: list[ProofBundle] = [
        dataclasses.replace(a, record={**a.record, "total": "0.01"}),  # (1)
        dataclasses.replace(a, salt=b.salt),  # (2)
        dataclasses.replace(a, proof=b.proof),  # (3)
        dataclasses.replace(a, anchor=dataclasses.replace(a.anchor, chain_id=1)),  # (4)
        dataclasses.replace(a, anchor=dataclasses.replace(a.anchor, signature=b"\1" * 65)),  # (5)
        chain.revoked_leaf,  # (8)
        chain.revoked_fact,  # (8)
    ]
    genuine = [a, b, c, chain.rating, chain.expiring, chain.after_rotation]
    raws = [orjson.dumps(x.to_dict()) for x in genuine + tampered]
    raws += [b"{", orjson.dumps({"format": "other"})]  # (0)
    return [raws[i % len(raws)] for i in range(7 * len(raws))]


def one_by_one(verifier: Verifier, raws: list[bytes]) -> list[tuple[int, str, str] | None]:
    verdicts: list[tuple[int, str, str] | None] = []
    for raw in raws:
        try:
            verifier.verify_bytes(raw)
        except VerificationFailure as exc:
            verdicts.append((exc.check, exc.code, exc.message))
        else:
            verdicts.append(None)
    return verdicts


def summary(verdicts: object) -> list[tuple[int, str, str] | None]:
    return [None if v is None else (v.check, v.code, v.message) for v in verdicts]  # type: ignore[attr-defined]


def test_verify_many_gives_the_one_by_one_verdicts(chain: Ledger, synced_index: Path) -> None:
    raws = documents(chain)
    expected = one_by_one(Verifier.from_index(AuditIndex.open(synced_index)), raws)
    assert {v[0] for v in expected if v is not None} == {0, 1, 2, 3, 4, 5, 8}
    assert expected.count(None) == 6 * 7
    verifier = Verifier.from_index(AuditIndex.open(synced_index))
    assert summary(verifier.verify_many(raws)) == expected
    factory = functools.partial(index_verifier, synced_index)
    assert summary(verify_in_processes(factory, raws, processes=2)) == expected
    # Small chunks: many tasks, verdicts still in input order.
    parallel = verify_in_processes(factory, raws, processes=2, chunk_size=5)
    assert summary(parallel) == expected


def test_verify_many_reads_files(chain: Ledger, synced_index: Path, tmp_path: Path) -> None:
    paths: list[str | Path] = []
    for i, raw in enumerate(documents(chain)[:20]):
        path = tmp_path / f"{i:02}.json"
        path.write_bytes(raw)
        paths.append(path)
    paths.append(tmp_path / "missing.json")
    verifier = Verifier.from_index(AuditIndex.open(synced_index))
    expected = summary(verifier.verify_many(paths))
    assert expected[-1] is not None and expected[-1][:2] == (0, "unreadable_bundle")
    factory = functools.partial(index_verifier, synced_index)
    assert summary(verify_in_processes(factory, paths, processes=2)) == expected


def test_workers_build_their_verifier_with_the_factory(chain: Ledger, synced_index: Path) -> None:
    """Whatever the factory sets up is what the workers verify with: here a verifier that
    requires more confirmations than the chain has, so every genuine bundle fails at (9)."""
    raws = documents(chain)[:6]
    strict = functools.partial(index_verifier, synced_index, 10**6)
    verdicts = summary(verify_in_processes(strict, raws, processes=2))
    assert [v[:2] if v else None for v in verdicts] == [(9, "unconfirmed")] * 6


def test_failure_survives_pickling() -> None:
    import pickle

    failure = pickle.loads(pickle.dumps(VerificationFailure(3, "proof_mismatch", "why")))
    assert (failure.check, failure.code, failure.message, str(failure)) == (
        3,
        "proof_mismatch",
        "why",
        "(3) why",
    )


def test_cli_output_is_the_same_with_workers(
    chain: Ledger, synced_index: Path, tmp_path: Path
) -> None:
    for i, raw in enumerate(documents(chain)):
        (tmp_path / f"{i:03}.json").write_bytes(raw)
    runs = [
        CliRunner().invoke(main, ["verify", str(tmp_path), "--index", str(synced_index), *jobs])
        for jobs in ([], ["--jobs", "1"], ["--jobs", "2"])
    ]
    assert runs[0].exit_code == 1
    assert runs[0].output.count("OK: ") == 6 * 7
    assert [(r.exit_code, r.output) for r in runs[1:]] == [(1, runs[0].output)] * 2


def test_cli_jobs_need_an_index(tmp_path: Path) -> None:
    path = tmp_path / "b.json"
    path.write_text("{}")
    result = CliRunner().invoke(main, ["verify", str(path), "--rpc", "http://x", "--jobs", "2"])
    assert result.exit_code == 2
    assert "--jobs needs --index" in result.output
