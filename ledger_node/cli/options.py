"""Options shared by several command groups."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    from web3 import Web3

F = TypeVar("F", bound=Callable[..., Any])

#: The environment variable that sets every node call's deadline, in seconds.
RPC_TIMEOUT_ENV = "TAXLEDGER_RPC_TIMEOUT"
DEFAULT_RPC_TIMEOUT = 30.0


def connect_node(url: str) -> Web3:
    """A Web3 for ``--rpc URL`` whose every call answers within ``TAXLEDGER_RPC_TIMEOUT``
    seconds (30 by default) or fails."""
    from ledger_node.chain.rpc import connect

    text = os.environ.get(RPC_TIMEOUT_ENV, "")
    try:
        timeout = float(text) if text else DEFAULT_RPC_TIMEOUT
    except ValueError:
        timeout = 0.0
    if not timeout > 0:
        raise click.UsageError(f"{RPC_TIMEOUT_ENV}={text!r} is not a number of seconds above 0")
    return connect(url, timeout=timeout)


def password_options(fn: F) -> F:
    """``--password-file`` / ``--password-env``: where a keystore password comes from."""
    fn = click.option(
        "--password-env",
        metavar="VAR",
        default=None,
        help="Environment variable holding the keystore password.",
    )(fn)
    fn = click.option(
        "--password-file",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        help="File whose first line is the keystore password.",
    )(fn)
    return fn


def read_cli_password(password_file: Path | None, password_env: str | None) -> str:
    """The password from exactly one of the two sources."""
    from ledger_node.keys import read_password

    if (password_file is None) == (password_env is None):
        raise click.UsageError("give exactly one of --password-file or --password-env")
    return read_password(file=password_file, env=password_env)


def _chain_options(required: bool, deployment_help: str) -> Callable[[F], F]:
    def decorate(fn: F) -> F:
        fn = click.option(
            "--deployment",
            type=click.Path(dir_okay=False, exists=True, path_type=Path),
            required=required,
            default=None,
            help=deployment_help,
        )(fn)
        fn = click.option(
            "--rpc",
            required=required,
            default=None,
            envvar="TAXLEDGER_RPC",
            help="JSON-RPC URL of a node.",
        )(fn)
        return fn

    return decorate


def chain_options(fn: F) -> F:
    """``--rpc`` and ``--deployment``: which node and which ledger."""
    return _chain_options(True, "The deployment file written by `taxledger chain deploy`.")(fn)


def reader_options(
    *, deployment_help: str, index_help: str, confirmations_help: str
) -> Callable[[F], F]:
    """``--rpc`` and ``--deployment`` (optional: a synced ``--index`` may stand in for the
    node), ``--index`` and ``--confirmations``: where a reader of the ledger gets its facts."""

    def decorate(fn: F) -> F:
        fn = click.option(
            "--confirmations",
            type=click.IntRange(min=0),
            default=0,
            show_default=True,
            help=confirmations_help,
        )(fn)
        fn = click.option(
            "--index",
            type=click.Path(dir_okay=False, path_type=Path),
            default=None,
            help=index_help,
        )(fn)
        return _chain_options(False, deployment_help)(fn)

    return decorate
