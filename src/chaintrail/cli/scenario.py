"""`chaintrail scenario generate`: write a synthetic regtest chain with planted cases and an answer key."""

from __future__ import annotations

import signal
import sys
import time
from contextlib import nullcontext
from pathlib import Path

import typer

from chaintrail.cli._common import JsonOption, console, emit_json, one_line_errors
from chaintrail.cli._progress import progress_bar, shows_progress
from chaintrail.errors import UsageError
from chaintrail.i18n import _, fmt_decimal, fmt_number

app = typer.Typer(help="Generate training and test scenarios (synthetic chains with answer keys).",
                  no_args_is_help=True)


@app.callback()
def _scenario() -> None:
    """Synthetic regtest chains with planted crime cases and exact answer keys."""


@app.command("generate")
@one_line_errors
def generate(
    seed: int = typer.Option(..., "--seed", help="Random seed; the same seed, kind and scale give the same bytes"),
    out: Path = typer.Option(..., "--out", help="Folder to write (a Core blocks/ folder plus answer_key.json)"),
    kind: str = typer.Option("all", "--kind", help="ransomware | exchange_hack | darknet | scam | all | none"),
    scale: float = typer.Option(1.0, "--scale", help="Size in thousands of transactions (1 = about 1,000; "
                                                     "10000 = about 10 million)"),
    xor: bool = typer.Option(False, "--xor", help="Obfuscate blk/rev files with a xor.dat key, as Core 28+ does"),
    behaviour: str = typer.Option(None, "--behaviour",
                                  help="reference (the fixed profile the rules were written on) | random (drawn "
                                       "per seed, see docs/scenario-behaviour.md); default: random for the "
                                       "evaluation seeds 9000-9999, reference otherwise; "
                                       "eth: docs/eth-scenario-behaviour.md"),
    chain: str = typer.Option("btc", "--chain", help="btc (regtest blk files) | eth (anvil chains replayed from "
                                                     "journals; kinds defi_exploit | approval_phishing | "
                                                     "pig_butchering | sanctions_evasion | all | none)"),
    dump_state: bool = typer.Option(False, "--dump-state", help="eth: also write anvil's state dumps (with "
                                                                "every block's state; small chains only)"),
    as_json: bool = JsonOption,
) -> None:
    """Generate a chain: blk/rev files on regtest (or anvil chains for --chain eth) and the answer key."""
    if chain == "eth":
        if xor:
            raise UsageError(_("--xor is for --chain btc"))
        _generate_eth(seed, kind, scale, out, dump_state, as_json, behaviour)
        return
    if chain != "btc":
        raise UsageError(_("--chain must be btc or eth, not {chain}").format(chain=repr(chain)))
    if dump_state:
        raise UsageError(_("--dump-state is for --chain eth"))
    from chaintrail.scenario.generator import generate as run

    started = time.perf_counter()
    with progress_bar(as_json, "txs") as bar:
        task = bar.add_task(_("generating"), total=None)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        sc = run(out, seed=seed, kind=kind, scale=scale, xor=xor, progress=progress, behaviour=behaviour)
    elapsed = time.perf_counter() - started
    n_tx = int(sc.chain.L.ctr[0]) + 1
    summary = {
        "out": str(out), "seed": seed, "kind": kind, "scale": scale, "blocks": len(sc.blocks) + 1,
        "txs": n_tx, "cases": [c.id for c in sc.cases], "behaviour": sc.behaviour.mode,
        "families": list(sc.behaviour.families), "elapsed_s": round(elapsed, 2),
        "tx_per_s": round(n_tx / elapsed, 1) if elapsed > 0 else None,
        "answer_key": str(Path(out) / "answer_key.json"),
    }
    if as_json:
        emit_json(summary)
    else:
        console.print(_("wrote {blocks} blocks, {txs} transactions, cases {cases} to {out} in {seconds} s ({rate} "
                        "tx/s); answer key {key}").format(
            blocks=fmt_number(summary["blocks"]), txs=fmt_number(n_tx), cases=", ".join(summary["cases"]) or _("none"),
            out=out, seconds=fmt_decimal(elapsed, 1), rate=fmt_decimal(summary["tx_per_s"] or 0, 1),
            key=summary["answer_key"]), highlight=False)


def _generate_eth(seed: int, kind: str, scale: float, out: Path, dump_state: bool, as_json: bool,
                  behaviour: str | None) -> None:
    from chaintrail.scenario.eth.generate import generate as run_eth

    live = shows_progress(as_json)
    with console.status(_("generating Ethereum chains"), spinner="dots") if live else nullcontext() as status:
        summary = run_eth(seed, kind, scale, out, dump_state=dump_state, behaviour=behaviour,
                          progress=None if status is None else lambda m: status.update(_("generating Ethereum: {step}").format(step=m)))
    summary = {"out": str(out), **summary, "answer_key": str(Path(out) / "answer_key.json")}
    if as_json:
        emit_json(summary)
        return
    chains = ", ".join(_("chain {id}: {blocks} blocks, {txs} txs").format(
        id=c["chain_id"], blocks=fmt_number(c["tip"]), txs=fmt_number(c["transactions"])) for c in summary["chains"])
    console.print(_("wrote {chains} to {out} in {seconds} s ({rate} tx/s); answer key {key}; serve it with: chaintrail "
                    "scenario serve --chain eth --dir {out}").format(
        chains=chains, out=out, seconds=fmt_decimal(summary["seconds"], 1), rate=fmt_decimal(summary["tx_per_s"], 1),
        key=summary["answer_key"]), highlight=False)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


@app.command("serve")
@one_line_errors
def serve(
    folder: Path = typer.Option(..., "--dir", help="A folder written by scenario generate --chain eth"),
    chain: str = typer.Option("eth", "--chain", help="eth (Bitcoin scenarios are block files: ingest them)"),
    from_state: bool = typer.Option(False, "--from-state", help="Load anvil's state dumps (--dump-state) "
                                                                "instead of replaying the journals"),
    stop_after: float = typer.Option(None, "--stop-after", help="Stop after this many seconds (default: Ctrl-C)"),
    as_json: bool = JsonOption,
) -> None:
    """Serve a generated Ethereum scenario on local anvil nodes, for chaintrail ingest eth --rpc URL."""
    from chaintrail.scenario.eth.serve import serve as run_serve

    if chain != "eth":
        raise UsageError(_("scenario serve is for --chain eth, not {chain}").format(chain=repr(chain)))
    with run_serve(folder, from_state=from_state) as nodes:
        urls = {str(cid): node.url for cid, node in nodes.items()}
        if as_json:
            emit_json({"dir": str(folder), "rpc": urls})
        else:
            for cid, url in urls.items():
                console.print(_("chain {id}: {url}   (chaintrail ingest eth --rpc {url})").format(id=cid, url=url),
                              soft_wrap=True)
            console.print(_("serving until Ctrl-C"))
        sys.stdout.flush()
        signal.signal(signal.SIGTERM, _interrupt)  # a terminated server still stops its nodes
        deadline = None if stop_after is None else time.monotonic() + stop_after
        try:
            while deadline is None or time.monotonic() < deadline:
                time.sleep(0.2)
        except KeyboardInterrupt:
            pass


@app.command("score-trace")
@one_line_errors
def score_trace(
    folder: Path = typer.Argument(..., help="A generated scenario folder (blk files + answer_key.json)"),
    model: str = typer.Option("haircut", "--model", help="haircut | poison | fifo | lifo | tiho"),
    mixer_policy: str = typer.Option("demix", "--mixer-policy", help="demix | haircut | stop"),
    demix_leads: bool = typer.Option(True, "--demix-leads/--no-demix-leads",
                                     help="demix: claim sweep-pattern leads too"),
    store: Path = typer.Option(None, "--store", help="A store already prepared from this folder (else a scratch one)"),
    coverage: str = typer.Option(None, "--coverage",
                                 help="Service tags the scratch store gets: realistic (default: hot wallets, 30%% of "
                                      "exchange deposit addresses, 3 published mixer addresses), full (every service "
                                      "address, from the answer key), hot, or a fraction such as 0.5"),
    json_out: bool = JsonOption,
) -> None:
    """Trace every planted case from its victim payments and compare each cash-out with the answer key."""
    from rich.table import Table

    from chaintrail.analysis.trace_eval import score_traces

    res = score_traces(folder, store, model=model, mixer_policy=mixer_policy, demix_leads=demix_leads,
                       coverage=coverage)
    if json_out:
        emit_json(res)
        return
    view = Table(_("case"), _("cash-outs within 1%"), _("coverage"), _("precision at exchanges"), _("identity"),
                 _("mixes demixed"), _("unresolved (sat)"))
    for c in res["cases"]:
        prec = "-" if c["precision"] is None else f"{c['precision']:.4f}"
        view.add_row(c["case"], f"{c['matched']}/{c['cash_outs']}", f"{c['coverage']:.4f}", prec,
                     _("holds") if c["identity_holds"] else _("BROKEN"), str(c["demixed_mixes"]),
                     fmt_number(c["unresolved_sat"]))
    console.print(_("{model} trace, mixer policy {policy}").format(model=res["model"], policy=res["mixer_policy"]),
                  highlight=False)
    if res.get("tag_coverage"):
        console.print(_("tags: {description}").format(description=res["tag_coverage"]["description"]),
                      highlight=False)
    console.print(view)
