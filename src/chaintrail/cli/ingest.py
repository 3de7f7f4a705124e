"""`chaintrail ingest btc`: blocks folder, raw/hex files, or a node over JSON-RPC."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import typer
from rich.progress import Progress

from chaintrail.chains.bitcoin.network import network_by_name
from chaintrail.cli._common import JsonOption, StoreOption, console, emit_json, one_line_errors, store_path
from chaintrail.cli._progress import progress_bar
from chaintrail.errors import UsageError
from chaintrail.i18n import _, fmt_number, ngettext

app = typer.Typer(help="Bring chain data into the store.", no_args_is_help=True)


def _progress(enabled: bool) -> Progress:
    """Bytes read, MB/s and ETA on a terminal; nothing with --json or when stdout is not a terminal."""
    return progress_bar(not enabled, in_bytes=True)


@app.command("btc")
@one_line_errors
def btc(
    blocks_dir: Path = typer.Option(None, "--blocks-dir", help="A Bitcoin Core blocks/ folder (blk*.dat, rev*.dat, xor.dat)"),
    raw: list[Path] = typer.Option(None, "--raw", help="Raw, framed or hex block files (repeatable); X-undo.raw beside X.raw is used as undo data"),
    more_raw: list[Path] = typer.Argument(None, metavar="FILE", help="More raw files: `--raw A B C` reads all three"),
    rpc: str = typer.Option(None, "--rpc", help="Bitcoin Core JSON-RPC URL, e.g. http://user:pass@127.0.0.1:8332"),
    rpc_cookie: Path = typer.Option(None, "--rpc-cookie", help="Core .cookie file for RPC auth"),
    rpc_user: str = typer.Option(None, "--rpc-user"),
    rpc_password: str = typer.Option(None, "--rpc-password", envvar="CHAINTRAIL_RPC_PASSWORD"),
    start_height: int = typer.Option(0, "--start-height", help="RPC: first height to fetch into an empty store"),
    network: str = typer.Option(None, "--network", help="mainnet, testnet, testnet4, signet or regtest (raw files; default mainnet)"),
    height: int = typer.Option(None, "--height", help="Raw files: height of the block when it cannot be derived"),
    skip_bad: bool = typer.Option(False, "--skip-bad", help="Record bad blocks in bad_blocks and continue"),
    store: Path = StoreOption,
    json_out: bool = JsonOption,
) -> None:
    """Ingest Bitcoin blocks. Resumable: rerun after an interruption to continue."""
    from chaintrail.ingest.btc_job import BtcIngest

    if more_raw and not raw:
        raise UsageError(_("unexpected argument {arg}; raw block files follow --raw").format(arg=more_raw[0]))
    raw = [*(raw or []), *(more_raw or [])]
    chosen = [x for x in (blocks_dir, raw, rpc) if x]
    if len(chosen) != 1:
        raise UsageError(_("give exactly one of --blocks-dir, --raw or --rpc"))
    net = None
    if network:
        try:
            net = network_by_name(network)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
    with _progress(not json_out) as bar:
        task = bar.add_task(_("ingest"), total=None)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        with BtcIngest(store_path(store), network=net, skip_bad=skip_bad, progress=progress) as job:
            if blocks_dir:
                report = job.ingest_blocks_dir(blocks_dir).as_dict()
            elif raw:
                report = job.ingest_raw(raw, height=height).as_dict()
            else:
                report = _sync_rpc(job, rpc, rpc_cookie, rpc_user, rpc_password, start_height, bar, task)
            counts = job.store.counts
        bar.update(task, description=_("workbench index"))
        _build_read_model(store_path(store))
    summary = {"store": str(store_path(store)), "ingested": report, "store_counts": counts}
    if json_out:
        emit_json(summary)
    else:
        r = summary["ingested"]
        console.print(_("ingested {blocks} blocks, {txs} txs, {inputs} inputs, {outputs} outputs; store now holds "
                        "{store_blocks} blocks, {store_txs} txs").format(
            blocks=fmt_number(r.get("blocks", 0)), txs=fmt_number(r.get("txs", 0)),
            inputs=fmt_number(r.get("inputs", 0)), outputs=fmt_number(r.get("outputs", 0)),
            store_blocks=fmt_number(counts["blocks"]), store_txs=fmt_number(counts["txs"])), highlight=False)
        if r.get("bad"):
            n = len(r["bad"])
            console.print(ngettext("[yellow]{n} bad block recorded in bad_blocks[/yellow]",
                                   "[yellow]{n} bad blocks recorded in bad_blocks[/yellow]", n).format(
                n=fmt_number(n)))


def _build_read_model(path: Path) -> None:
    """The workbench's persisted read model for the store as ingested (``chaintrail serve`` maps it)."""
    from chaintrail.store.chainstore import ChainStore
    from chaintrail.store.readmodel import build

    with ChainStore(path) as st:
        build(st)


def _sync_rpc(job, url, cookie, user, password, start_height, bar, task) -> dict:
    from chaintrail.chains.bitcoin.rpc import RpcClient
    from chaintrail.ingest.rpc_sync import sync_from_rpc
    from chaintrail.ingest.store_cursor import StoreCursor

    parts = urlsplit(url if "://" in url else "http://" + url)
    source = f"rpc:{parts.hostname}:{parts.port or 8332}"
    with RpcClient.from_url(url, cookie_file=str(cookie) if cookie else None, user=user, password=password) as client:
        net = client.network()
        if job.network is None:
            job.network = net
        job.store.set_network(net.name)

        def progress(h: int, node_h: int) -> None:
            bar.update(task, completed=h, total=node_h)

        res = sync_from_rpc(client, StoreCursor(job, source), start_height=start_height, progress=progress)
    out = job.report.as_dict()
    out.update(rolled_back=res.rolled_back, fork_height=res.fork_height, tip_height=res.tip_height,
               tip_hash=res.tip_hash[::-1].hex(), node_height=res.node_height)
    return out


@app.command("eth")
@one_line_errors
def eth(
    rpc: str = typer.Option(..., "--rpc", help="Ethereum JSON-RPC URL: anvil, geth, erigon, reth or a provider"),
    start: int = typer.Option(None, "--from", help="First block to ingest into an empty store (default 0)"),
    stop: int = typer.Option(None, "--to", help="Last block (default: the node's head less --confirmations)"),
    follow: bool = typer.Option(False, "--follow", help="Keep following the head, rolling back on reorgs"),
    confirmations: int = typer.Option(None, "--confirmations",
                                      help="Stay this many blocks behind the head (default 12 with --follow, else 0)"),
    traces: str = typer.Option("auto", "--traces", help="auto (the node's tracer if any: trace_block, else "
                                                         "debug_traceBlockByNumber), require, parity, geth, or off"),
    batch_blocks: int = typer.Option(100, "--batch-blocks", help="Blocks per atomic commit"),
    poll: float = typer.Option(2.0, "--poll", help="--follow: seconds between looks at the head"),
    stop_after: float = typer.Option(None, "--stop-after", help="--follow: stop after this many seconds"),
    timeout: float = typer.Option(60.0, "--timeout", help="Seconds to wait for one RPC answer"),
    store: Path = StoreOption,
    json_out: bool = JsonOption,
) -> None:
    """Ingest Ethereum blocks, receipts, logs, traces and tokens. Resumable: rerun to continue."""
    from chaintrail.chains.ethereum.rpc import EthRpc
    from chaintrail.chains.urls import public_url
    from chaintrail.ingest.eth_job import EthIngest

    if follow and stop is not None:
        raise UsageError(_("give --to or --follow, not both"))
    if confirmations is None:
        confirmations = 12 if follow else 0
    if confirmations < 0:
        raise UsageError(_("--confirmations cannot be negative"))
    parts = urlsplit(rpc if "://" in rpc else "http://" + rpc)
    source = f"rpc:{parts.hostname}:{parts.port or (443 if parts.scheme == 'https' else 8545)}"
    with _progress(not json_out) as bar, EthRpc(rpc, timeout=timeout) as client:
        task = bar.add_task(_("ingest eth"), total=None)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        with EthIngest(store_path(store), client, source=source, batch_blocks=batch_blocks, traces=traces,
                       progress=progress) as job:
            try:
                if follow:
                    job.follow(confirmations=confirmations, poll_s=poll, stop_after=stop_after, start=start)
                else:
                    job.run(start, stop, confirmations=confirmations)
            except KeyboardInterrupt:
                job.report.notes.append("interrupted; rerun to continue")
            report = job.report.as_dict()
            counts = {k: v for k, v in job.store.counts.items() if k.startswith("eth_")}
    summary = {"store": str(store_path(store)), "rpc": public_url(rpc), "ingested": report, "store_counts": counts}
    if json_out:
        emit_json(summary)
        return
    r = report
    for note in r["notes"]:
        console.print(f"[yellow]{note}[/yellow]")
    if r["rolled_back"]:
        n = r["rolled_back"]
        console.print(ngettext("[yellow]chain reorganised: rolled back {n} block[/yellow]",
                               "[yellow]chain reorganised: rolled back {n} blocks[/yellow]", n).format(n=fmt_number(n)))
    console.print(_("ingested {blocks} blocks, {txs} txs, {logs} logs, {traces} traces, {transfers} token transfers, "
                    "{flows} value flows; store tip {tip} (node head {head}), {total} txs in all").format(
        blocks=fmt_number(r["blocks"]), txs=fmt_number(r["transactions"]), logs=fmt_number(r["logs"]),
        traces=fmt_number(r["traces"]), transfers=fmt_number(r["token_transfers"]),
        flows=fmt_number(r["value_flows"]), tip=r["tip"], head=r["node_head"],
        total=fmt_number(counts.get("eth_transactions", 0))), highlight=False)
