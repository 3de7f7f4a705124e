"""`chaintrail heuristics evaluate|regenerate|check`: measured error rates and the stored table."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from chaintrail.cli._common import JsonOption, console, emit_json, one_line_errors
from chaintrail.errors import UsageError
from chaintrail.i18n import _, fmt_number

app = typer.Typer(help="Heuristics and their measured error rates.", no_args_is_help=True)


@app.command("evaluate")
@one_line_errors
def evaluate(
    scenario: list[Path] = typer.Option(None, "--scenario", help="Generated scenario folder(s) with answer_key.json"),
    real: Path = typer.Option(None, "--real", help="Measure the classifiers on the real labelled sets and blocks "
                              "of this shared data folder (e.g. ../shared/data) instead"),
    table: Path = typer.Option(None, "--table", help="Write a Markdown table of the totals over all scenarios"),
    json_out: bool = JsonOption,
) -> None:
    """Precision and recall of each heuristic and classifier against the answer key.

    The published table (error_rates.json, docs) is written only by `chaintrail heuristics regenerate`.
    """
    from chaintrail.analysis.scenario_eval import evaluate_scenario, markdown_table

    if real is not None:
        return _evaluate_real(real, json_out)
    if not scenario:
        raise UsageError(_("give --scenario DIR (a generated chain with its answer key) or --real DATA_DIR"))
    results = [evaluate_scenario(folder) for folder in scenario]
    if table:
        table.parent.mkdir(parents=True, exist_ok=True)
        table.write_text(markdown_table(results))
    if json_out:
        emit_json(results if len(results) > 1 else results[0])
        return
    for res in results:
        g = res["scenario"]
        view = Table(_("heuristic / classifier"), _("precision"), _("recall"), "tp", "fp", "fn",
                     title=_("seed {seed}, kind {kind}, scale {scale}: {txs} txs, {addresses} addresses").format(
                         seed=g["seed"], kind=g["kind"], scale=g["scale"], txs=fmt_number(res["txs"]),
                         addresses=fmt_number(res["addresses_scored"])))
        for s in res["scores"]:
            fmt = lambda v: "-" if v is None else f"{v:.4f}"  # noqa: E731
            view.add_row(s["name"], fmt(s["precision"]), fmt(s["recall"]), str(s["tp"]), str(s["fp"]), str(s["fn"]))
        console.print(view)


def _evaluate_real(data: Path, json_out: bool) -> None:
    from chaintrail.analysis.real_eval import evaluate_real

    with console.status(_("classifying the real sets"), spinner="dots"):
        res = evaluate_real(data)
    if json_out:
        emit_json(res)
        return
    ci = lambda c: "-" if c is None else f"{c[0]:.3f}-{c[1]:.3f}"  # noqa: E731
    view = Table(_("protocol"), _("dataset"), _("positives"), _("named right"), _("recall"), _("95% CI"),
                 _("labelled instead"), title=_("Real positives ({classifier}); labels of Dumplings are heuristic, not "
                                                "ground truth").format(classifier=res["classifier"]))
    for r in res["positives"]:
        view.add_row(r["name"], r["dataset"], str(r["positives"]), str(r["tp"]), f"{r['recall']:.4f}",
                     ci(r["recall_ci95"]), ", ".join(f"{k} {v}" for k, v in r["labelled_as"].items()) or "-")
    console.print(view)
    view = Table(_("dataset"), _("txs"), _("mixing labels"), _("rate"), _("95% CI"), _("labelled as"),
                 title=_("Negatives and post-mix"))
    for r in res["negatives"]:
        view.add_row(r["dataset"], str(r["txs"]), str(r["mixing_labels"]), f"{r['rate']:.4f}", ci(r["rate_ci95"]),
                     ", ".join(f"{k} {v}" for k, v in r["labelled_as"].items()) or "-")
    console.print(view)
    b = res["background"]
    console.print(_("Background: {labels} mixing labels in {txs} real txs = {rate} per 10,000 (95% CI {low}-{high}); "
                    "{without} made without input values. For review:").format(
        labels=b["mixing_labels"], txs=fmt_number(b["txs"]), rate=b["per_10k"], low=b["per_10k_ci95"][0],
        high=b["per_10k_ci95"][1], without=b["without_input_values"]), highlight=False)
    for p in b["positives"]:
        console.print(_("  {txid}  {label}  {inputs} in / {outputs} out").format(
            txid=p["txid"], label=p["label"], inputs=p["inputs"], outputs=p["outputs"])
            + ("" if p["input_values_known"] else _("  (input values unknown: reduced confidence)")), highlight=False)


def _repo_file(rel: str) -> Path:
    """A file of the source checkout the package runs from (src layout: two folders above the package)."""
    from chaintrail.analysis.rate_inputs import package_root

    return package_root().parents[1] / rel


@app.command("regenerate")
@one_line_errors
def regenerate(
    real_data: Path = typer.Option(None, "--real-data", help="Shared data folder with labels/ and btc/ (real sets)"),
    quick: bool = typer.Option(False, "--quick", help="One small chain per generated source (minutes; wide intervals)"),
    rates: Path = typer.Option(None, "--rates", help="error_rates.json to write [default: the package's own]"),
    table: Path = typer.Option(None, "--table", help="Markdown table to write [default: docs/heuristics-table.md]"),
    doc: Path = typer.Option(None, "--doc", help="Doc whose marked block to refresh [default: docs/heuristics.md]"),
    workdir: Path = typer.Option(None, "--workdir", help="Where to generate the scratch chains [default: temp]"),
    json_out: bool = JsonOption,
) -> None:
    """Measure every heuristic in sample, out of sample and on real data; write error_rates.json and the docs."""
    from chaintrail.analysis import error_rates as ER
    from chaintrail.analysis.error_rate_docs import BEGIN, END, block_of, replace_block, table_file
    from chaintrail.analysis.rate_inputs import package_root
    from chaintrail.analysis.rate_regen import regenerate as run
    from chaintrail.errors import UsageError

    rates = rates or package_root() / "analysis" / "error_rates.json"
    table = table or _repo_file("docs/heuristics-table.md")
    doc = doc or _repo_file("docs/heuristics.md")
    if not doc.is_file():
        raise UsageError(_("{doc} not found: run from a source checkout or pass --doc and --table").format(doc=doc))
    if block_of(doc.read_text()) is None:   # before minutes of work, not after
        raise UsageError(_("{doc} must hold the error-rate markers {begin} ... {end}").format(doc=doc, begin=BEGIN, end=END))
    with console.status(_("measuring"), spinner="dots") as status:
        real_detail: dict = {}
        result = run(real_data, quick=quick, workdir=workdir, step=lambda m: status.update(m), real_out=real_detail)
    new_doc = replace_block(doc.read_text(), result, str(doc))
    rates.write_text(ER.dump(result))
    table.write_text(table_file(result))
    doc.write_text(new_doc)
    if real_detail:   # the per-pool, negative and background tables behind the real figures
        from chaintrail.analysis.real_eval import markdown
        real_doc = table.parent / "heuristics-real.md"
        real_doc.write_text("# The classifiers on real data\n\nGenerated by `chaintrail heuristics regenerate "
                            "--real-data DIR` (the same run as error_rates.json); `chaintrail heuristics evaluate "
                            "--real DIR` prints it.\n\n" + markdown(real_detail))
    if json_out:
        emit_json(result)
        return
    console.print(_("wrote {rates}, {table} and {doc}").format(rates=rates, table=table, doc=doc), highlight=False)


@app.command("check")
@one_line_errors
def check(
    rates: Path = typer.Option(None, "--rates", help="error_rates.json to check [default: the package's own]"),
) -> None:
    """Fail (exit 1) when the stored figures no longer match the heuristics' code or versions."""
    from chaintrail.analysis import error_rates as ER
    from chaintrail.analysis.rate_inputs import REGENERATE_COMMAND, package_root, staleness

    problems = staleness(ER.load(rates or package_root() / "analysis" / "error_rates.json"))
    for p in problems:
        console.print(_("stale: {problem}").format(problem=p), highlight=False)
    if problems:
        console.print(_("run: {command}").format(command=REGENERATE_COMMAND), highlight=False)
        raise typer.Exit(1)
    console.print(_("error rates are current"))
