"""`chaintrail demo`: the main job on a fresh machine.

Until the scenario generator and the workbench land, the demo ingests the real
blocks shipped in ../shared/data into a fresh store and prints what it holds.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import typer

from chaintrail.cli._common import JsonOption, console, emit_json, one_line_errors
from chaintrail.errors import SourceError


def _shared_data() -> Path:
    here = Path(__file__).resolve()
    for base in [Path.cwd(), *here.parents]:
        cand = base / ".." / "shared" / "data" / "btc"
        if cand.is_dir():
            return cand.resolve()
    raise SourceError("cannot find ../shared/data/btc beside the project")


@one_line_errors
def demo(
    store: Path = typer.Option(Path("./chaintrail-demo-store"), "--store", "-s", help="Where the demo store is built (replaced)"),
    json_out: bool = JsonOption,
) -> None:
    """Build a store from real mainnet blocks and print a summary."""
    from chaintrail.ingest.btc_job import BtcIngest
    from chaintrail.store.summary import store_summary

    data = _shared_data()
    if store.exists():
        shutil.rmtree(store)
    with console.status("ingesting mainnet blocks 0-599 from blk/rev files…", spinner="dots"):
        with BtcIngest(store) as job:
            job.ingest_blocks_dir(data / "mainnet" / "core-blocks-0-599")
            raws = sorted(p for p in (data / "mainnet" / "raw").glob("block*.raw") if not p.stem.endswith("-undo"))
            job.ingest_raw(raws)
    summary = store_summary(store)
    if json_out:
        emit_json(summary)
        return
    console.print("[bold green]chaintrail demo[/bold green]: real Bitcoin mainnet data ingested")
    for k, v in summary.items():
        console.print(f"  {k:24} {v}")
    console.print(f"\nTry: chaintrail sql --store {store} \"SELECT * FROM outputs WHERE address = '1Q2TWHE3GMdB6BZKafqwxXtWAWgFt5Jvm3'\"")
