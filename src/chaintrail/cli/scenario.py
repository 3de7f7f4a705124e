"""`chaintrail scenario generate`: write a synthetic regtest chain with planted cases and an answer key."""

from __future__ import annotations

import time
from pathlib import Path

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from chaintrail.cli._common import JsonOption, console, emit_json, one_line_errors

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
                                       "evaluation seeds 9000-9999, reference otherwise"),
    as_json: bool = JsonOption,
) -> None:
    """Generate a chain: blk/rev files on regtest and the answer key, deterministically."""
    from chaintrail.scenario.generator import generate as run

    started = time.perf_counter()
    with Progress(TextColumn("[bold]generating"), BarColumn(), TextColumn("{task.description}"),
                  TimeElapsedColumn(), console=console, transient=True, disable=as_json) as bar:
        task = bar.add_task("", total=1)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total, description=f"{done:,}/{total:,} txs")

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
        console.print(f"wrote {summary['blocks']:,} blocks, {n_tx:,} transactions, cases "
                      f"{', '.join(summary['cases']) or 'none'} to {out} in {elapsed:.1f} s "
                      f"({summary['tx_per_s']:,} tx/s); answer key {summary['answer_key']}")


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
    view = Table("case", "cash-outs within 1%", "coverage", "precision at exchanges", "identity", "mixes demixed",
                 "unresolved (sat)")
    for c in res["cases"]:
        prec = "-" if c["precision"] is None else f"{c['precision']:.4f}"
        view.add_row(c["case"], f"{c['matched']}/{c['cash_outs']}", f"{c['coverage']:.4f}", prec,
                     "holds" if c["identity_holds"] else "BROKEN", str(c["demixed_mixes"]), f"{c['unresolved_sat']:,}")
    console.print(f"{res['model']} trace, mixer policy {res['mixer_policy']}")
    if res.get("tag_coverage"):
        console.print(f"tags: {res['tag_coverage']['description']}")
    console.print(view)
