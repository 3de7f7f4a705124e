"""`chaintrail cluster` and `chaintrail entity explain`."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import numpy as np
import typer

from chaintrail.cli._common import JsonOption, StoreOption, console, emit_json, one_line_errors, store_path
from chaintrail.cli._progress import progress_bar
from chaintrail.errors import UsageError
from chaintrail.i18n import _, fmt_btc, fmt_decimal, fmt_number

entity_app = typer.Typer(help="Entities (clusters of addresses).", no_args_is_help=True)


@one_line_errors
def cluster(
    engine: str = typer.Option("local", "--engine", help="local (numba) or spark (PySpark over the same Parquet)"),
    big: int = typer.Option(10_000, "--big", help="Record merges of two clusters that both hold at least this many addresses"),
    block_big_merges: bool = typer.Option(False, "--block-big-merges", help="Refuse such merges instead of only recording them"),
    change: bool = typer.Option(False, "--change", help="Also link each confident change output to its tx's inputs"),
    chain: str = typer.Option("btc", "--chain", help="btc (multi-input) | eth (deposit reuse, gas funding, "
                                                     "approvals, deployers)"),
    store: Path = StoreOption,
    json_out: bool = JsonOption,
) -> None:
    """Build or update entities from the transactions not yet clustered."""
    if chain not in ("btc", "eth"):
        raise UsageError(_("chain must be btc or eth, not {chain}").format(chain=repr(chain)))
    if chain == "eth":
        if engine not in ("local", "spark"):
            raise UsageError(_("engine must be local or spark"))
        _cluster_eth(store, big, block_big_merges, json_out, engine)
        return
    from chaintrail.analysis.clustering import ClusterParams, update_clusters
    from chaintrail.analysis.tracing import mixer_tx_mask
    from chaintrail.store.chainstore import ChainStore

    if engine not in ("local", "spark"):
        raise UsageError(_("engine must be local or spark"))
    from chaintrail.analysis.clustering import cluster_labels
    from chaintrail.analysis.tx_labels import label_transactions

    with progress_bar(json_out, "txs") as bar, ChainStore(store_path(store), writable=True) as st:
        task = bar.add_task(_("labelling CoinJoins"), total=None)
        # CoinJoins must never merge their inputs: label every tx first.
        label_transactions(st)
        skip = mixer_tx_mask(st)
        bar.update(task, description=_("clustering"))
        if engine == "spark":
            if block_big_merges:
                raise UsageError(_("--block-big-merges is a local-engine option"))
            report = spark_recluster(st, skip)
        else:
            pairs = change_pairs(st, skip) if change else None
            report = update_clusters(st, skip, ClusterParams(big=big, block_big_merges=block_big_merges,
                                                             change_links=change), extra_pairs=pairs,
                                     progress=lambda done, total: bar.update(task, completed=done, total=total))
        # Chip-mixer labels that need the mixer's entity (they never change the CoinJoin skip mask).
        bar.reset(task, description=_("labelling chip mixers"), total=None)
        label_transactions(st, cluster_of_addr=cluster_labels(st))
        from chaintrail.store.readmodel import build

        bar.update(task, description=_("workbench index"))
        build(st)       # the workbench's read model with the new entities (``chaintrail serve`` maps it)
    if json_out:
        emit_json(asdict(report))
        return
    console.print(_("clustered {txs} new txs ({inputs} inputs, {merges} merges): {entities} entities over {addresses} "
                    "addresses, largest {largest}").format(
        txs=fmt_number(report.txs_new), inputs=fmt_number(report.inputs_visited), merges=fmt_number(report.merges),
        entities=fmt_number(report.clusters), addresses=fmt_number(report.addresses),
        largest=fmt_number(report.largest)), highlight=False)
    for e in report.large_merges[:20]:
        line = (_("[yellow]large merge[/yellow] blocked by tx {txid}: {a} + {b} addresses") if e["blocked"] else
                _("[yellow]large merge[/yellow] done by tx {txid}: {a} + {b} addresses"))
        console.print(line.format(txid=e["txid"], a=fmt_number(e["size_a"]), b=fmt_number(e["size_b"])),
                      highlight=False)


def _cluster_eth(store: Path, big: int, block: bool, json_out: bool, engine: str = "local") -> None:
    from chaintrail.analysis.eth.entities import EntityParams, build_entities, service_mask
    from chaintrail.store.chainstore import ChainStore

    with ChainStore(store_path(store), writable=True) as st:
        if not st.counts.get("eth_addresses"):
            raise UsageError(_("{path}: the store holds no Ethereum data").format(path=st.path))
        params = EntityParams(big=big, block_big_merges=block)
        if engine == "spark":
            from chaintrail.analysis.eth.spark_entities import spark_build_entities
            _labels, report = spark_build_entities(st, params, service_mask(st))
        else:
            _labels, report = build_entities(st, params, service_mask(st))
    if json_out:
        emit_json(asdict(report))
        return
    links = ", ".join(f"{h} {fmt_number(n)}" for h, n in report.links.items())
    console.print(_("{entities} entities over {accounts} accounts, largest {largest} ({merges} merges; links: {links}; "
                    "deposit addresses from {source})").format(
        entities=fmt_number(report.clusters), accounts=fmt_number(report.addresses),
        largest=fmt_number(report.largest), merges=fmt_number(report.merges), links=links,
        source=report.deposit_source), highlight=False)
    for r in report.refused[:20]:
        console.print(_("[yellow]refused[/yellow] approvals to {spender}: {why}").format(
            spender=r["spender"], why=r["why"]), highlight=False)
    for e in report.large_merges[:20]:
        line = (_("[yellow]large merge[/yellow] blocked by {heuristic} (tx_num {tx_num}): {a} + {b} accounts")
                if e["blocked"] else
                _("[yellow]large merge[/yellow] done by {heuristic} (tx_num {tx_num}): {a} + {b} accounts"))
        console.print(line.format(heuristic=e["heuristic"], tx_num=e["tx_num"], a=fmt_number(e["size_a"]),
                                  b=fmt_number(e["size_b"])), highlight=False)


def change_pairs(st, skip):
    """(input address, change address) for every tx with a confident change output."""
    from chaintrail.analysis.heuristics import detect_change
    from chaintrail.analysis.heuristics.context import build_context

    ctx = build_context(st, skip)
    res = detect_change(ctx)
    t = np.flatnonzero(res.change >= 0)
    first_in = ctx.tx_first_in[t].astype(np.int64)
    a = ctx.in_addr[first_in]
    b = ctx.out_addr[res.change[t]]
    ok = (a != np.uint32(0xFFFFFFFF)) & (b != np.uint32(0xFFFFFFFF))
    return a[ok], b[ok]


def spark_recluster(st, skip):
    """Full multi-input clustering on Spark; writes the same clusters table as the local engine."""
    from chaintrail.analysis.clustering import ClusterReport, write_clusters_table
    from chaintrail.analysis.spark_clustering import spark_cluster_labels

    labels = spark_cluster_labels(st, skip)
    write_clusters_table(st, labels.astype(np.uint32))
    sizes = np.bincount(labels, minlength=len(labels)) if len(labels) else np.zeros(0, np.int64)
    return ClusterReport(txs_done=st.counts["txs"], txs_new=st.counts["txs"], inputs_visited=st.counts["inputs"],
                         merges=int(len(labels) - (sizes > 0).sum()), addresses=len(labels),
                         clusters=int((sizes > 0).sum()), largest=int(sizes.max()) if len(sizes) else 0,
                         skipped_txs=int(skip.sum()))


@entity_app.command("explain")
@one_line_errors
def explain_cmd(
    addr_a: str = typer.Argument(...),
    addr_b: str = typer.Argument(...),
    chain: str = typer.Option("btc", "--chain", help="btc | eth"),
    store: Path = StoreOption,
    json_out: bool = JsonOption,
) -> None:
    """Why are these two addresses in one entity? The chain of transactions and the heuristic behind each link."""
    if chain == "eth":
        from chaintrail.analysis.eth.entities import explain_eth
        from chaintrail.store.chainstore import ChainStore

        with ChainStore(store_path(store)) as st:
            steps = explain_eth(st, addr_a, addr_b)
        if json_out:
            emit_json({"from": addr_a, "to": addr_b, "links": steps})
            return
        for n, s in enumerate(steps, 1):
            console.print(_("{n}. {a} and {b}: {detail} ({heuristic}, tx {tx}, block {block})").format(
                n=n, a=s["from"], b=s["to"], detail=s["detail"], heuristic=s["heuristic"], tx=s["tx"],
                block=s["block"]), highlight=False)
        return
    from chaintrail.analysis.explain import explain
    from chaintrail.analysis.tracing import mixer_tx_mask
    from chaintrail.store.chainstore import ChainStore

    with ChainStore(store_path(store)) as st:
        links = explain(st, addr_a, addr_b, mixer_tx_mask(st))
    if json_out:
        emit_json({"from": addr_a, "to": addr_b, "links": [asdict(link) for link in links]})
        return
    for n, link in enumerate(links, 1):
        console.print(_("{n}. {a} and {b} both spend in tx {txid} ({heuristic}, block {block})").format(
            n=n, a=link.from_address, b=link.to_address, txid=link.txid, heuristic=link.heuristic,
            block=link.block_hash), highlight=False)


@entity_app.command("show")
@one_line_errors
def show_cmd(
    subject: str = typer.Argument(..., help="cluster:N (an entity) or an address (its entity)"),
    currency: str = typer.Option("USD", "--currency", help="Reporting currency beside USD (a USD series in the "
                                 "store: EUR from the ECB fixing)"),
    store: Path = StoreOption,
    json_out: bool = JsonOption,
) -> None:
    """An entity's summary, as the API's /entities/{id}: size, totals, risk, tags, and fiat (received and sent
    at the close of each tx's UTC day, balance at the store's last day)."""
    from chaintrail.api import present
    from chaintrail.api.workbench import Workbench

    wb = Workbench(store_path(store))
    try:
        s = subject.strip()
        if s.startswith(("cluster:", "entity:")):
            ref = s.split(":", 1)[1]
            if not ref.isdigit():
                raise UsageError(_("an entity is cluster:N with N a number, not {subject!r}").format(subject=subject))
            cid = present.resolve_entity(wb, int(ref))
        else:
            cid = wb.view.cluster_of(present.resolve_address(wb, s))
        out = present.entity(wb, cid, currency.upper())
    finally:
        wb.store.close()
    if json_out:
        emit_json(out)
        return
    fiat = out.get("fiat") or {}
    cur = fiat.get("currency", "USD")
    console.print(_("entity cluster:{id}: {size} addresses{name}").format(
        id=out["id"], size=out["size"], name=f" ({out['name']})" if out["name"] else ""), highlight=False)
    for key, word, sat in (("received", _("received"), out["received_sat"]), ("sent", _("sent"), out["sent_sat"]),
                           ("balance", _("balance"), out["balance_sat"])):
        f = fiat.get(key) or {}
        vals = [f"{fmt_decimal(f[c.lower()], 2)} {c}" for c in dict.fromkeys(("USD", cur)) if f.get(c.lower()) is not None]
        console.print(f"  {word}: {fmt_btc(sat)}" + (f" = {' = '.join(vals)}" if vals else ""), highlight=False)
    if fiat:
        console.print("  " + _("values: {convention}; balance at the close of {day}").format(
            convention=fiat["convention"], day=fiat["balance"]["day"]), highlight=False)
    console.print("  " + _("risk: {risk}").format(risk=", ".join(out["risk"]) or "-"), highlight=False)
