"""Serve a generated Ethereum scenario: one anvil per chain, rebuilt from its journal (or anvil's state dump)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from chaintrail.chains.ethereum.node import AnvilNode
from chaintrail.chains.ethereum.rpc import EthRpc
from chaintrail.errors import SourceError, UsageError
from chaintrail.scenario.eth.journal import read_genesis, replay


def _answer_key(folder: Path) -> dict:
    path = folder / "answer_key.json"
    try:
        key = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise UsageError(f"{path}: not a generated Ethereum scenario ({exc})") from exc
    if key.get("chain") != "eth" or not isinstance(key.get("chains"), list):
        raise UsageError(f"{path}: not an Ethereum scenario's answer key (chain {key.get('chain')!r})")
    return key


@contextmanager
def serve(folder: str | Path, *, from_state: bool = False, log_dir: str | None = None
          ) -> Iterator[dict[int, AnvilNode]]:
    """Start one anvil per chain of the scenario in ``folder`` and yield them by chain id; stop them after.

    By default each node replays its chain's journal, which gives the whole history (what ingest needs).
    ``from_state`` loads anvil's state dumps instead (``generate --dump-state``): faster for small chains.
    Either way the tip must be the one the answer key names.
    """
    folder = Path(folder)
    key = _answer_key(folder)
    with ExitStack() as stack:
        nodes: dict[int, AnvilNode] = {}
        for chain in key["chains"]:
            journal = folder / chain["journal"]
            genesis = read_genesis(journal)
            if from_state:
                if not chain.get("state"):
                    raise UsageError(f"{folder} has no state dump for chain {chain['chain_id']} "
                                     "(generate it with --dump-state, or serve from the journal)")
                node = genesis.node(load_state=folder / chain["state"], log_dir=log_dir)
                stack.enter_context(node)
            else:
                node = stack.enter_context(genesis.node(log_dir=log_dir))
                with EthRpc(node.url, timeout=120.0, batch_size=1 << 30, workers=1, retries=0) as rpc:
                    replay(journal, rpc)
            with EthRpc(node.url) as rpc:
                head = rpc.call("eth_getBlockByNumber", ["latest", False])
            if int(head["number"], 16) != chain["tip"] or head["hash"] != chain["tip_hash"]:
                raise SourceError(f"chain {chain['chain_id']} served from {folder} has tip {head['hash']}, "
                                  f"the answer key names {chain['tip_hash']}")
            nodes[int(chain["chain_id"])] = node
        yield nodes


__all__ = ["serve"]
