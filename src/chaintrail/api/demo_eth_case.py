"""The Ethereum demo case: a DeFi crime generated on two anvil chains, ingested and tagged.

``build_eth_demo`` builds under ``workdir`` (replaced, as the Bitcoin demo's is):

1. ``scenario/``: ``chaintrail scenario generate --chain eth`` (journals and answer key);
2. ``store/`` and ``store-b/``: both chains replayed by anvil from their journals and read with
   ``chaintrail ingest eth`` (the main chain, and the bridge's far chain);
3. ``tags/``: the services an investigator can know (exchange hot wallets, pools, DEX, bridge) and the real
   OFAC ETH list, imported into ``store/``;
4. ``analysis/`` of ``store/``: what an investigator runs before tracing (swaps and wraps as conversions,
   exchange deposit addresses by their forwarding pattern, account entities, Tornado pools and leads);
5. ``store/cases.sqlite``: a single-user case file whose local operator the workbench acts as ("Save trace to
   case" runs the trace again on the server, across the bridge onto ``store-b/``, and keeps it as a finding);
6. ``demo.json``: where to start (the theft's first transaction), the stores, and the workbench's banner
   (``case_info``: title and guided steps).

What the investigator is told is the theft only: the victim, the transaction and what was taken. Where the
money went is the exercise; the answer key stays in ``scenario/``.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from pathlib import Path

from chaintrail.api.demo_case import _check_replaceable, _local_operator, shared_data

ETH_KINDS = ("defi_exploit", "approval_phishing", "pig_butchering", "sanctions_evasion")


def build_eth_demo(workdir: str | Path, *, seed: int = 7, scale: float = 5.0, kind: str = "defi_exploit",
                   progress: Callable[[str], None] | None = None) -> dict:
    """Build the Ethereum demo under ``workdir`` (replaced); returns what ``demo.json`` holds."""
    from chaintrail.chains.ethereum.rpc import EthRpc
    from chaintrail.errors import UsageError
    from chaintrail.ingest.eth_job import EthIngest
    from chaintrail.scenario.eth.generate import BRIDGE_CHAIN, MAIN_CHAIN, generate
    from chaintrail.scenario.eth.serve import serve
    from chaintrail.scenario.eth.service_tags import write_service_tags
    from chaintrail.tags.tagstore import TagStore

    if kind not in ETH_KINDS:
        raise UsageError(f"unknown Ethereum demo case {kind!r} (choose from {', '.join(ETH_KINDS)})")
    say = progress or (lambda msg: None)
    work = Path(workdir)
    if work.exists():
        _check_replaceable(work)
        shutil.rmtree(work)
    work.mkdir(parents=True)
    timings: dict[str, float] = {}
    t = time.perf_counter()
    say(f"generating a {kind.replace('_', ' ')} case on two anvil chains")
    summary = generate(seed, kind, scale, work / "scenario")
    timings["generate_s"] = time.perf_counter() - t
    stores = {MAIN_CHAIN: work / "store", BRIDGE_CHAIN: work / "store-b"}
    t = time.perf_counter()
    with serve(work / "scenario") as nodes:
        for chain_id, store in stores.items():
            say(f"ingesting chain {chain_id}")
            with EthRpc(nodes[chain_id].url) as rpc, \
                    EthIngest(store, rpc, source=f"rpc:scenario-chain-{chain_id}") as job:
                job.run()
    timings["ingest_s"] = time.perf_counter() - t
    say("importing tags")
    (work / "tags").mkdir()
    services = work / "tags" / "scenario-eth-services.csv"
    write_service_tags(work / "scenario", services)
    ofac = shared_data() / "tags" / "ofac-sdn" / "sanctioned_addresses_ETH.txt"
    report = TagStore(stores[MAIN_CHAIN]).import_paths([services, *([ofac] if ofac.exists() else [])])
    if report.errors:
        raise UsageError("demo tags did not import: " + "; ".join(report.errors))
    t = time.perf_counter()
    say("finding swaps, deposit addresses, entities and Tornado leads")
    analyse_eth_store(stores[MAIN_CHAIN])
    timings["analyse_s"] = time.perf_counter() - t
    from chaintrail.ingest.prices import import_prices

    for prices in sorted((work / "scenario" / "prices").glob("*_usd_daily.csv")):
        import_prices(stores[MAIN_CHAIN], prices)     # the chain's own synthetic ETH and stablecoin series
    _local_operator(stores[MAIN_CHAIN])       # the workbench saves findings to the case file as this operator
    key = json.loads((work / "scenario" / "answer_key.json").read_text())
    (case,) = [c for c in key["cases"] if c["kind"] == kind]
    first = case["sources"][0]
    demo = {
        "chain": "eth", "kind": kind, "seed": seed, "scale": scale, "case": case["id"],
        "description": case["description"],
        "start": {"tx": first["tx"], "from": first["from"], "to": first["to"], "asset": first["asset"],
                  "amount": first["amount"], "block": first["block"]},
        "stolen": case["stolen"],
        "store": str(stores[MAIN_CHAIN]), "store_b": str(stores[BRIDGE_CHAIN]),
        "scenario": str(work / "scenario"), "transactions": summary["transactions"],
        "timings": {k: round(v, 2) for k, v in timings.items()},
    }
    demo["case_info"] = eth_case_info(demo)
    (work / "demo.json").write_text(json.dumps(demo, indent=1, sort_keys=True) + "\n")
    return demo


def analyse_eth_store(store: Path) -> None:
    """The analyses a trace reads, written into ``store/analysis`` (as `chaintrail cluster --chain eth` and
    `chaintrail tornado leads` do)."""
    from chaintrail.analysis.eth.conversions import write_conversions
    from chaintrail.analysis.eth.deposits import write_deposit_addresses
    from chaintrail.analysis.eth.entities import EntityParams, build_entities, service_mask
    from chaintrail.analysis.eth.tornado_links import analyse
    from chaintrail.store.chainstore import ChainStore

    with ChainStore(store, writable=True) as st:
        write_conversions(st)
        write_deposit_addresses(st)
        build_entities(st, EntityParams(), service_mask(st))
        analyse(st)


def eth_case_info(demo: dict) -> dict:
    """The workbench banner for the Ethereum demo: the theft, and three guided steps ("do it" links)."""
    s = demo["start"]
    return {
        "title": f"Training case {demo['case']} (Ethereum): {demo['description']}",
        "subject": s["to"], "case_id": demo["case"], "source": "scenario", "chain": "eth",
        "steps": [
            {"text": f"Open the theft: transaction {s['tx']} (block {s['block']}) moved {s['amount']} base units of "
                     f"token {s['asset']} from {s['from']} to the attacker's {s['to']}.",
             "action": "eth_tx", "arg": s["tx"]},
            {"text": "Trace it until exchange: every asset the theft moved, through the swaps (conversion nodes at "
                     "the executed rate), Tornado (each withdrawal followed only by a lead, with its measured "
                     "precision and chance-match rate) and bridges, to the exchanges that can be served.",
             "action": "eth_trace", "arg": s["tx"]},
            {"text": "Read the records requests in the Ethereum tab: per exchange, each asset, amount and deposit "
                     "address to ask records for; and the Tornado leads, which are leads, not proof.",
             "action": "eth_requests", "arg": None},
        ],
    }
