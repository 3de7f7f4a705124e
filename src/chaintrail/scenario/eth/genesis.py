"""The settings a scenario's anvil starts from: the same settings and the same calls give the same chain."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, fields

from chaintrail.chains.ethereum.node import AnvilNode

GENESIS_TIME = 1_700_000_000  # 2023-11-14, a fixed genesis so that two nodes agree on every hash


@dataclass(frozen=True)
class Genesis:
    """anvil's chain id, genesis time, dev accounts, block gas limit and pool order; mining is on demand.

    ``order="fifo"`` keeps the pool from sorting by fee (the economy draws fee styles per seed); anvil still
    mixes senders within a block, deterministically, so plans must not depend on the order across senders.
    Auto-impersonation lets any address send what it holds on chain without a key.
    """

    chain_id: int = 31337
    timestamp: int = GENESIS_TIME
    accounts: int = 10
    balance_ether: int = 10_000
    gas_limit: int = 30_000_000
    order: str = "fifo"

    def anvil_args(self) -> tuple[str, ...]:
        """anvil's arguments besides host, port and chain id (which ``AnvilNode`` sets)."""
        return ("--timestamp", str(self.timestamp), "--accounts", str(self.accounts),
                "--balance", str(self.balance_ether), "--gas-limit", str(self.gas_limit), "--order", self.order,
                "--no-mining", "--auto-impersonate")

    def node(self, *, extra_args: tuple[str, ...] = (), log_dir: str | None = None,
             load_state: str | os.PathLike[str] | None = None) -> AnvilNode:
        """An (unstarted) ``AnvilNode`` with these settings, plus ``extra_args``, from ``load_state`` if given."""
        return AnvilNode(chain_id=self.chain_id, extra_args=self.anvil_args() + tuple(extra_args), log_dir=log_dir,
                         load_state=load_state)

    def as_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> Genesis:
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown genesis settings {sorted(unknown)} (known: {sorted(known)})")
        return cls(**data)


__all__ = ["GENESIS_TIME", "Genesis"]
