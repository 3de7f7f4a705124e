"""An exercise set's Ethereum chains: generated on anvil, replayed, ingested, tagged and analysed.

As ``chaintrail scenario generate --chain eth``, ``chaintrail ingest eth`` (both
chains: the main one into ``store/``, the bridge's far chain into ``store-b/``),
``chaintrail tags import`` of the scenario's public service tags (never the
answer key), and the analyses a trace reads (swaps as conversions, exchange
deposit addresses, account entities, Tornado pools and leads).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path


def generate_eth(scenario: Path, seed: int, scale: float, fast: bool,
                 progress: Callable[[str], None] | None = None) -> dict:
    """Play the set's Ethereum chains (every crime kind) into ``scenario``; returns the answer key."""
    from chaintrail.scenario.eth.behaviour import REFERENCE
    from chaintrail.scenario.eth.generate import generate

    behaviour = replace(REFERENCE, txs_per_block=40, tornado_wait_min=1, tornado_wait_max=4, sweep_every=4,
                        bridge_back_p=0.9) if fast else "random"
    key = generate(seed, "all", scale, scenario, behaviour=behaviour, progress=progress)
    return {k: v for k, v in key.items() if k not in ("seconds", "tx_per_s")}


def build_eth_stores(scenario: Path, home: Path, say: Callable[[str], None]) -> tuple[Path, Path]:
    """Ingest both chains of ``scenario`` into ``home/store`` and ``home/store-b``, tag and analyse them."""
    from chaintrail.analysis.eth.conversions import write_conversions
    from chaintrail.analysis.eth.deposits import write_deposit_addresses
    from chaintrail.analysis.eth.entities import EntityParams, build_entities, service_mask
    from chaintrail.analysis.eth.tornado_links import analyse
    from chaintrail.chains.ethereum.rpc import EthRpc
    from chaintrail.errors import UsageError
    from chaintrail.ingest.eth_job import EthIngest
    from chaintrail.scenario.eth.generate import BRIDGE_CHAIN, MAIN_CHAIN
    from chaintrail.scenario.eth.serve import serve
    from chaintrail.scenario.eth.service_tags import write_service_tags
    from chaintrail.store.chainstore import ChainStore
    from chaintrail.tags.tagstore import TagStore

    stores = {MAIN_CHAIN: home / "store", BRIDGE_CHAIN: home / "store-b"}
    with serve(scenario) as nodes:
        for chain_id, store in stores.items():
            say(f"ingesting Ethereum chain {chain_id}")
            with EthRpc(nodes[chain_id].url) as rpc, \
                    EthIngest(store, rpc, source=f"rpc:scenario-chain-{chain_id}") as job:
                job.run()
    tags = home / "scenario-eth-services.csv"
    write_service_tags(scenario, tags)
    for store in stores.values():
        report = TagStore(store).import_paths([tags])
        if report.errors:
            raise UsageError("Ethereum service tags did not import: " + "; ".join(report.errors))
    say("finding swaps, deposit addresses, entities and Tornado leads")
    with ChainStore(stores[MAIN_CHAIN], writable=True) as st:
        write_conversions(st)
        write_deposit_addresses(st)
        build_entities(st, EntityParams(), service_mask(st))
        analyse(st)
    with ChainStore(stores[BRIDGE_CHAIN], writable=True) as st:
        write_conversions(st)
        write_deposit_addresses(st)
    return stores[MAIN_CHAIN], stores[BRIDGE_CHAIN]
