"""`chaintrail store`: what a store holds and its content hash."""

from __future__ import annotations

from pathlib import Path

import typer

from chaintrail.cli._common import JsonOption, StoreOption, console, emit_json, one_line_errors, store_path
from chaintrail.i18n import N_, _

# Words for the summary's keys in the table view (the JSON keeps the keys); Ethereum table counts keep their names.
LABELS = {"store": N_("store"), "network": N_("network"), "blocks": N_("blocks"), "txs": N_("transactions"),
          "inputs": N_("inputs"), "outputs": N_("outputs"), "addresses": N_("addresses"),
          "stale_blocks": N_("stale blocks"), "bad_blocks": N_("bad blocks"), "best_height": N_("best height"),
          "blocks_without_height": N_("blocks without height"), "created_sat": N_("created (sat)"),
          "unspent_sat": N_("unspent (sat)"), "fees_sat": N_("fees (sat)"),
          "index_bytes_per_input": N_("index bytes per input"), "index_bytes_per_output": N_("index bytes per output"),
          "content_hash": N_("content hash"), "eth_chain_id": N_("Ethereum chain id"),
          "eth_first_block": N_("Ethereum first block"), "eth_tip": N_("Ethereum tip"),
          "eth_traces_source": N_("Ethereum traces source"),
          "eth_index_bytes_per_tx": N_("Ethereum index bytes per transaction"),
          "eth_index_bytes_per_flow": N_("Ethereum index bytes per value flow")}

app = typer.Typer(help="Inspect the chain store.", no_args_is_help=True)


@app.command("info")
@one_line_errors
def info(store: Path = StoreOption, json_out: bool = JsonOption) -> None:
    """Counts, network, tip and index size."""
    from chaintrail.store.summary import store_summary

    summary = store_summary(store_path(store))
    if json_out:
        emit_json(summary)
        return
    for k, v in summary.items():
        label = _(LABELS[k]) if k in LABELS else k
        console.print(f"[bold]{label}[/bold]: {v}", highlight=False)


@app.command("hash")
@one_line_errors
def content_hash(store: Path = StoreOption, json_out: bool = JsonOption) -> None:
    """SHA-256 over the manifest, the committed Parquet parts and the index (the data, not the source files' paths)."""
    from chaintrail.store.chainstore import ChainStore

    with ChainStore(store_path(store)) as st:
        h = st.content_hash()
    emit_json({"content_hash": h}) if json_out else console.print(h)
