"""`chaintrail store`: what a store holds and its content hash."""

from __future__ import annotations

from pathlib import Path

import typer

from chaintrail.cli._common import JsonOption, StoreOption, console, emit_json, one_line_errors, store_path

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
        console.print(f"[bold]{k}[/bold]: {v}")


@app.command("hash")
@one_line_errors
def content_hash(store: Path = StoreOption, json_out: bool = JsonOption) -> None:
    """SHA-256 over the manifest, the committed Parquet parts and the index (the data, not the source files' paths)."""
    from chaintrail.store.chainstore import ChainStore

    with ChainStore(store_path(store)) as st:
        h = st.content_hash()
    emit_json({"content_hash": h}) if json_out else console.print(h)
