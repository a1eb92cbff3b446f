"""The README of a generated network directory: its nodes, the values chosen and why, the steps
to start it, and the Besu sources each file follows."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from ledger_node.agencies import AgencyKind
from ledger_node.chain.events import LOG_RANGE_BLOCKS
from ledger_node.chain.transactions import FeePolicy
from ledger_node.kit import genesis as qbft

if TYPE_CHECKING:
    from ledger_node.kit.besu import Network

#: What the kit's files follow; each entry is cited where it matters.
SOURCES = (
    (
        "QBFT genesis (`qbft` section, `extraData`, block time, tuning the round timeout)",
        "https://besu.hyperledger.org/private-networks/how-to/configure/consensus/qbft",
    ),
    (
        "extraData encoding: Besu's `QbftExtraDataCodec` (empty list for no vote, round 0)",
        "https://github.com/hyperledger/besu/blob/26.2.0/consensus/qbft/src/main/java/org/"
        "hyperledger/besu/consensus/qbft/QbftExtraDataCodec.java",
    ),
    (
        "free gas: `zeroBaseFee`, `min-gas-price=0`",
        "https://besu.hyperledger.org/private-networks/how-to/configure/free-gas",
    ),
    (
        "local permissioning: `permissions_config.toml`, `perm_reloadPermissionsFromFile`",
        "https://besu.hyperledger.org/private-networks/how-to/use-local-permissioning",
    ),
    (
        "node options (`rpc-max-logs-range` default 5,000, `host-allowlist`, `rpc-http-api`)",
        "https://besu.hyperledger.org/public-networks/reference/cli/options",
    ),
    (
        "the image's `BESU_RPC_HTTP_HOST=0.0.0.0`, and environment over configuration file",
        "https://github.com/hyperledger/besu/blob/26.2.0/docker/Dockerfile and "
        "app/src/main/java/org/hyperledger/besu/cli/util/ConfigDefaultValueProviderStrategy.java"
        " (the entry script app/src/main/scripts/besu-entry.sh sets the paths' owner)",
    ),
    (
        "a gas limit that stays the genesis value without `target-gas-limit`",
        "https://github.com/hyperledger/besu/blob/26.2.0/ethereum/core/src/main/java/org/"
        "hyperledger/besu/ethereum/core/BlockHeaderBuilder.java",
    ),
)


def _table(header: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def render_readme(network: Network, sizing: qbft.GasSizing, writers: frozenset[AgencyKind]) -> str:
    """The directory's README.md."""
    from ledger_node.kit.besu import BESU_IMAGE, GATEWAY_APIS

    consortium = network.consortium
    count = len(network.validators)
    faults = (count - 1) // 3
    first = consortium.members[0]
    threshold = len(consortium.members) // 2 + 1
    nodes = [
        (
            f"`{m.name}`",
            m.kind.label,
            "yes" if m.name in network.validators else "no",
            f"`{network.nodes[m.name].address}`",
            f"`{m.rpc_url}`",
            f"{m.host}:{m.p2p_port}",
            f"127.0.0.1:{m.operator_port}",
        )
        for m in consortium.members
    ]
    balance = qbft.funding_wei(sizing.gas_limit)
    values = [
        ("chain id", str(consortium.chain_id), "from the member list"),
        (
            "`blockperiodseconds`",
            str(qbft.BLOCK_PERIOD_SECONDS),
            "a record is final about 3 s after it is accepted (batch cut within 1 s, final "
            "in the next block: QBFT never reverts one); a QBFT round usually takes about 1 s",
        ),
        (
            "`requesttimeoutseconds`",
            str(qbft.REQUEST_TIMEOUT_SECONDS),
            "twice the block period, Besu's starting point; lower it until round changes show",
        ),
        (
            "`epochlength`",
            f"{qbft.EPOCH_LENGTH:,}",
            "Besu's default; pending votes reset every epoch; never change it on a running chain",
        ),
        (
            "`gasLimit`",
            f"{sizing.gas_limit:,}",
            f"the larger of {qbft.BATCHES_PER_AGENCY_PER_BLOCK} `anchorBatch` "
            f"({qbft.ANCHOR_BATCH_GAS:,} gas each) per agency per block for "
            f"{sizing.agencies} agencies ({sizing.batches_gas:,}) and the ledger's deployment "
            f"with a {qbft.DEPLOY_MARGIN - 1:.0%} margin ({sizing.deploy_gas:,}), in whole "
            f"millions; holds {sizing.batches_per_block:,} batches a block",
        ),
        (
            "fees",
            "`zeroBaseFee`, `min-gas-price=0`",
            "no fee market between agencies; fees never climb under load",
        ),
        (
            "balance of each account",
            f"10^{len(str(balance)) - 1} wei",
            f"full blocks at taxledger's {FeePolicy().tip / 10**9:g} gwei tip for "
            f"{qbft.FUNDED_YEARS} years",
        ),
        (
            "`rpc-max-logs-range`",
            f"{LOG_RANGE_BLOCKS:,}",
            "what taxledger's readers page `eth_getLogs` by (`LOG_RANGE_BLOCKS`)",
        ),
        (
            "gateway APIs",
            ", ".join(GATEWAY_APIS),
            "taxledger calls only `eth_*`; no ADMIN; QBFT and PERM only on the loopback "
            "operator endpoint",
        ),
    ]
    # Each agency's encryption public key: `taxledger keys public-key` of its key file.
    members = " ".join(
        f"--member {m.name}:{m.kind.label}:{m.signing_key}:ENCRYPTION_KEY_OF_{m.name.upper()}"
        for m in consortium.members
    )
    gateways = [m.name for m in consortium.members if m.kind in writers]
    lines = [
        "# Besu QBFT network of the consortium",
        "",
        "Written by `taxledger kit besu` from the member list. Every agency runs one node; "
        f"{count} of them are QBFT validators, so the network keeps making blocks with "
        f"{faults} validator(s) down or faulty (QBFT tolerates f of 3f+1). Keep it that way: "
        "if more than a third of the validators stop, no block is made.",
        "",
        *_table(
            ("member", "kind", "validator", "node address", "JSON-RPC", "P2P", "operator"),
            nodes,
        ),
        "",
        "## Values and why",
        "",
        *_table(("what", "value", "why"), values),
        "",
        "The accounts allowlist (in every `nodes/NAME/permissions_config.toml`) and the genesis "
        "`alloc` hold the same accounts: the deployer and each agency's signing key (it sends "
        "governance proposals and approvals) and sender. The nodes allowlist and "
        "`static-nodes.json` hold every member's enode. The genesis `extraData` lists exactly "
        "the validators' node addresses, sorted.",
        "",
        "## Steps",
        "",
        "1. Each agency copies this directory's `genesis.json`, `static-nodes.json`, "
        "`compose.yaml` and its own `nodes/NAME/` to its node's host, and keeps the node key "
        "`nodes/NAME/key` readable by its owner only. `docker compose up -d NAME` starts "
        f"`{BESU_IMAGE}` with `nodes/NAME/config.toml`; the image's entry script first hands "
        "the paths the configuration names (key, allowlists, data) to the user Besu runs as.",
        "2. Check a node: `curl -s -H 'content-type: application/json' --data "
        '\'{"jsonrpc":"2.0","id":1,"method":"net_peerCount","params":[]}\' '
        f"{first.rpc_url}` shows its peers, and `eth_blockNumber` grows every "
        f"{qbft.BLOCK_PERIOD_SECONDS} s once more than two thirds of the validators run.",
        "3. Each agency makes its encryption key (`taxledger keys new --encryption`) and hands "
        "its public key to the deploying member. The tax bureau, custodian of the subject-tag "
        "keys, makes them sealed to its own encryption key: `taxledger keyring new "
        "--encryption-key tax-bureau.encryption.pem --out custodian.keyring.json` prints one "
        "`--tag-key DOMAIN:KINDS:0xCOMMITMENT` per domain. The deploying member deploys the "
        "ledger against its own node, from the deployer account funded in the genesis (no "
        "`--fund-from-node`):",
        "",
        "   ```bash",
        f"   taxledger chain deploy --rpc {first.rpc_url} --keystore deployer.keystore.json \\",
        f"     --password-file deployer.password {members} \\",
        "     --tag-key ... --tag-key ... --tag-key ... \\",
        f"     --threshold {threshold} --out deployment.json",
        "   ```",
        "",
        "   and hands `deployment.json` to every member. The tax bureau then issues each "
        "member its keyring, sealed to the member's registered encryption key and holding the "
        "domains its kind may hold (`taxledger keyring issue --keyring custodian.keyring.json "
        "--encryption-key tax-bureau.encryption.pem --password-file F --rpc URL --deployment "
        "deployment.json --agency NAME --out NAME.keyring.json`). Each gateway is reached by "
        "the others at an address its operator gives it (a TLS front for the gateway's "
        "loopback port); the deploying member collects them and writes the consortium "
        "directory that every gateway names in `directory_file`:",
        "",
        "   ```bash",
        f"   taxledger chain directory --rpc {first.rpc_url} --deployment deployment.json \\",
        *(
            f"     --gateway {name}=https://GATEWAY_OF_{name.upper().replace('-', '_')} \\"
            for name in gateways
        ),
        "     --out directory.json",
        "   ```",
        "",
        "   and hands `directory.json` to every member with `deployment.json`.",
        "4. Each agency that submits records runs its gateway next to its own node with "
        f"`gateways/NAME/gateway.toml` ({', '.join(gateways)}): it names the node's JSON-RPC "
        "URL and `confirmations = 1`, since a QBFT block is final once added. Put the "
        "keystores, the password file, `deployment.json`, `directory.json`, the API keys, the "
        "encryption key file and the keyring beside it, then `taxledger gateway serve --config "
        "gateways/NAME/gateway.toml`.",
        "5. Auditors run `taxledger audit --rpc URL --deployment deployment.json ...` against "
        "any member's node.",
        "",
        "## Changing the validators",
        "",
        "Edit the member list (a new member, or `validator = true`/`false`), then run "
        "`taxledger kit besu add-validator --members FILE --out DIR --name NAME` (or "
        "`remove-validator`). The genesis stays as it is; the kit rewrites the allowlists, "
        "static nodes, node configurations and this file, and prints the "
        "`qbft_proposeValidatorVote` call each current validator makes on its operator "
        "endpoint (WebSocket on 127.0.0.1, never exposed to gateways). The change takes "
        "effect once more than half of the validators have voted; each then confirms it with "
        "`qbft_getValidatorsByBlockNumber` and drops its vote with "
        "`qbft_discardValidatorVote`.",
        "",
        "## Sources",
        "",
        *(f"- {what}: {where}" for what, where in SOURCES),
        "",
        "## What has been checked, and what has not",
        "",
        "taxledger's tests generate this kit, decode `extraData` with an independent RLP "
        "implementation, parse every file, boot the genesis on anvil (`--init genesis.json`) "
        "and check its chain id, gas limit, zero base fee and funded accounts, deploy with the "
        "genesis-funded deployer, run a gateway with one confirmation and the demo on it. "
        "Besu itself was not run (it cannot be installed where the kit was built): the node "
        "configurations, allowlists, compose file and validator votes are written from Besu's "
        "documentation and source, not tested against a Besu node.",
        "",
    ]
    return "\n".join(lines)
