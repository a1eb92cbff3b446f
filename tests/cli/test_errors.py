"""Every error the command line meets is one line on stderr that says what to do, and exit
status 2: the CLI runs as a real process, against a real anvil where a node is involved."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from ledger_node.chain.deploy import found_consortium
from ledger_node.chain.rpc import Rpc, connect
from ledger_node.exchange.directory import Directory
from ledger_node.keys import new_encryption_keyfile, new_keystore
from ledger_node.localnode import LocalNode, free_port, start_node

PASSWORD = "correct horse battery staple"
TAXLEDGER = str(Path(sys.executable).with_name("taxledger"))


def taxledger(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [TAXLEDGER, *args],
        capture_output=True,
        text=True,
        timeout=180,
        env={**os.environ, **(env or {})},
    )


def one_line(run: subprocess.CompletedProcess[str]) -> str:
    """The single line a failed command printed; it must be all it printed."""
    assert run.returncode == 2, run.stdout + run.stderr
    lines = run.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), run.stderr
    assert run.stdout == ""
    return lines[0]


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    (tmp_path / "pw").write_text(PASSWORD + "\n")
    (tmp_path / "wrong-pw").write_text("not the password at all\n")
    new_keystore(tmp_path / "key.json", PASSWORD)
    new_encryption_keyfile(tmp_path / "enc.pem", PASSWORD)
    (tmp_path / "not-a-database.sqlite").write_text("these are not the pages of a database\n")
    (tmp_path / "broken.json").write_text("{ not json")
    return {p.stem: p for p in tmp_path.iterdir()}


@pytest.fixture(scope="module")
def deployed(anvil: LocalNode, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A deployment file of a ledger founded on the session's anvil."""
    path = tmp_path_factory.mktemp("deployed") / "deployment.json"
    found_consortium(Rpc(connect(anvil.url))).deployment.save(path)
    return path


def test_a_file_that_is_not_an_index_database(files: dict[str, Path]) -> None:
    index = files["not-a-database"]
    message = f"error: {index} is not a taxledger index (file is not a database); give the index"
    tag = "0x" + "00" * 32
    for args in (
        ("verify", str(files["broken"]), "--index", str(index)),
        ("audit", "provenance", "--index", str(index), "--tag", tag),
    ):
        assert one_line(taxledger(*args)).startswith(message)


def test_an_sqlite_file_that_is_not_an_index(files: dict[str, Path], tmp_path: Path) -> None:
    import sqlite3

    other = tmp_path / "outbox.sqlite"
    sqlite3.connect(other).execute("CREATE TABLE records (id TEXT)").connection.commit()
    line = one_line(taxledger("verify", str(files["broken"]), "--index", str(other)))
    assert line.startswith(f"error: {other} is not a taxledger index (no such table: meta)")


def test_a_node_that_is_not_there(deployed: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    line = one_line(taxledger("chain", "members", "--rpc", url, "--deployment", str(deployed)))
    assert line == (
        f"error: node unreachable: {url} refused the connection; check the URL and that it runs"
    )


@pytest.mark.slow
def test_a_node_that_hangs(tmp_path: Path) -> None:
    node = start_node("anvil")
    try:
        deployment = tmp_path / "deployment.json"
        found_consortium(Rpc(connect(node.url))).deployment.save(deployment)
        os.kill(node.pid, signal.SIGSTOP)
        try:
            run = taxledger(
                "chain",
                "members",
                "--rpc",
                node.url,
                "--deployment",
                str(deployment),
                env={"TAXLEDGER_RPC_TIMEOUT": "2"},
            )
        finally:
            os.kill(node.pid, signal.SIGCONT)
        assert one_line(run) == (
            f"error: node unreachable: {node.url} did not answer within 2 s; check that it runs "
            "and is not overloaded"
        )
    finally:
        node.stop()


def test_insufficient_funds_hints_at_funding(anvil: LocalNode, files: dict[str, Path]) -> None:
    member = f"tax-bureau:tax-bureau:{files['key']}:{files['enc']}"
    run = taxledger(
        *("chain", "deploy", "--rpc", anvil.url, "--keystore", str(files["key"])),
        *("--password-file", str(files["pw"]), "--member", member, "--threshold", "1"),
        *("--out", str(files["key"].with_name("d.json"))),
    )
    line = one_line(run)
    assert line.startswith("error: the account ")
    assert line.endswith(
        "cannot pay for the transaction; fund it (in the genesis, or on a development chain "
        "with --fund-from-node)"
    )


def test_a_malformed_deployment_file_names_the_field(anvil: LocalNode, deployed: Path) -> None:
    broken = deployed.with_name("broken-deployment.json")
    doc = json.loads(deployed.read_text())
    del doc["chain_id"]
    broken.write_text(json.dumps(doc))
    line = one_line(taxledger("chain", "members", "--rpc", anvil.url, "--deployment", str(broken)))
    assert line == f"error: deployment file {broken} is malformed: chain_id: Field required"


def test_a_read_rule_with_a_malformed_field_path(
    anvil: LocalNode, deployed: Path, files: dict[str, Path]
) -> None:
    run = taxledger(
        *("chain", "propose", "set-read-policy", "--rpc", anvil.url, "--deployment"),
        *(str(deployed), "--keystore", str(files["key"]), "--password-file", str(files["pw"])),
        *("--schema", "credit.tax-rating/v1", "--reader", "bank"),
        *("--purposes", "credit-assessment", "--fields", "uscc,year level"),
    )
    assert one_line(run) == (
        "error: field path 'year level': step 'year level' is not a field name "
        "([A-Za-z0-9_]+), optionally followed by [] (every item) or [N] (item N)"
    )


def test_the_consortium_directory_lists_members_only(
    anvil: LocalNode, deployed: Path, tmp_path: Path
) -> None:
    out = tmp_path / "directory.json"
    chain = ("chain", "directory", "--rpc", anvil.url, "--deployment", str(deployed))
    ledger = json.loads(deployed.read_text())["ledger"]
    for gateways, error in (
        (("bank",), "'bank' is not NAME=URL"),
        (("bank=http://b", "bank=http://c"), "bank is named twice"),
        (("bank=http://b", "ministry=http://m"), f"ministry is not a member of ledger {ledger}"),
        (("bank=ftp://b",), "the gateway URL of bank ('ftp://b') is not http(s)://HOST[:PORT]"),
    ):
        flags = [arg for g in gateways for arg in ("--gateway", g)]
        assert error in one_line(taxledger(*chain, *flags, "--out", str(out)))
        assert not out.exists()
    run = taxledger(*chain, "--gateway", "bank=https://bank.example:8443/", "--out", str(out))
    assert run.returncode == 0, run.stderr
    chain_id = json.loads(deployed.read_text())["chain_id"]
    directory = Directory.load(out, chain_id=chain_id, ledger=ledger)
    assert directory.gateways == {"bank": "https://bank.example:8443"}


def test_a_keystore_with_the_wrong_password(anvil: LocalNode, files: dict[str, Path]) -> None:
    member = f"tax-bureau:tax-bureau:{files['key']}:{files['enc']}"
    run = taxledger(
        *("chain", "deploy", "--rpc", anvil.url, "--keystore", str(files["key"])),
        *("--password-file", str(files["wrong-pw"]), "--member", member, "--threshold", "1"),
        *("--out", str(files["key"].with_name("d.json"))),
    )
    assert one_line(run) == (
        f"error: wrong password for keystore {files['key']}; give the password it was created with"
    )
    line = one_line(taxledger("keys", "address", str(files["broken"])))
    assert line.startswith(f"error: {files['broken']} is not a keystore")


def test_a_bundle_that_is_not_json(
    anvil: LocalNode, deployed: Path, files: dict[str, Path]
) -> None:
    broken = files["broken"]
    run = taxledger("verify", str(broken), "--rpc", anvil.url, "--deployment", str(deployed))
    assert run.returncode == 1 and run.stderr == ""
    (line,) = run.stdout.splitlines()
    assert line.startswith(f"FAIL: {broken}: (0) not JSON (")
    assert line.endswith(
        "give a proof bundle, the JSON document a gateway serves at /v1/records/ID/proof"
    )


def test_an_exchange_query_to_a_gateway_that_is_not_there(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    key = tmp_path / "api-key"
    key.write_text("tlk_some-key\n")
    asked = ("--provider", "tax-bureau", "--taxpayer", "91310110666007217T")
    why = ("--schema", "credit.tax-rating/v1", "--purpose", "credit-assessment")
    run = taxledger(
        "exchange", "query", "--gateway", url, "--api-key-file", str(key), *asked, *why,
        "--out", str(tmp_path / "out"),
    )  # fmt: skip
    assert one_line(run) == (
        f"error: gateway {url} did not answer (ConnectError); check --gateway and that the "
        "gateway runs"
    )
    empty = tmp_path / "empty"
    empty.write_text("")
    run = taxledger(
        "exchange", "query", "--gateway", url, "--api-key-file", str(empty), *asked, *why,
        "--out", str(tmp_path / "out"),
    )  # fmt: skip
    assert one_line(run) == f"error: API-key file {empty} is empty; put the gateway API key in it"
