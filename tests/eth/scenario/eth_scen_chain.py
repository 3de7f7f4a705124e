"""A fresh anvil with a fixed genesis time, its EthRpc and the plain sender, for the scenario tests."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

GENESIS = 1_700_000_000


@dataclass
class Chain:
    node: object
    rpc: object
    send: object
    accounts: list[str]

    def eth(self, address: str, block: int | str = "latest") -> int:
        return self.rpc.balances([address], block)[0]


def open_chain(tmp_path: Path, chain_id: int = 31337) -> Iterator[Chain]:
    """Yields one Chain; closing the generator stops anvil (skips without anvil, fails in CI)."""
    from anvil_needed import need_anvil

    from chaintrail.chains.ethereum.node import AnvilNode
    from chaintrail.chains.ethereum.rpc import EthRpc
    from chaintrail.scenario.eth.rpc_send import RpcSend

    need_anvil()
    with AnvilNode(chain_id=chain_id, log_dir=str(tmp_path), extra_args=("--timestamp", str(GENESIS))) as node:
        with EthRpc(node.url, workers=1) as rpc:
            accounts = [a.lower() for a in rpc.call("eth_accounts", [])]
            yield Chain(node, rpc, RpcSend(rpc, start_time=GENESIS + 12), accounts)
