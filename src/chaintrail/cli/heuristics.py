"""`chaintrail heuristics evaluate`: measured error rates against a scenario's answer key."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from chaintrail.cli._common import JsonOption, console, emit_json, one_line_errors

app = typer.Typer(help="Heuristics and their measured error rates.", no_args_is_help=True)


@app.command("evaluate")
@one_line_errors
def evaluate(
    scenario: list[Path] = typer.Option(..., "--scenario", help="Generated scenario folder(s) with answer_key.json"),
    table: Path = typer.Option(None, "--table", help="Write a Markdown table of the totals over all scenarios"),
    rates: Path = typer.Option(None, "--rates", help="Update this error_rates.json with the totals"),
    json_out: bool = JsonOption,
) -> None:
    """Precision and recall of each heuristic and classifier against the answer key."""
    from chaintrail.analysis.scenario_eval import evaluate_scenario, markdown_table, update_rates

    results = [evaluate_scenario(folder) for folder in scenario]
    if table:
        table.parent.mkdir(parents=True, exist_ok=True)
        table.write_text(markdown_table(results))
    if rates:
        update_rates(rates, results)
    if json_out:
        emit_json(results if len(results) > 1 else results[0])
        return
    for res in results:
        g = res["scenario"]
        view = Table("heuristic / classifier", "precision", "recall", "tp", "fp", "fn",
                     title=f"seed {g['seed']}, kind {g['kind']}, scale {g['scale']}: {res['txs']:,} txs, "
                           f"{res['addresses_scored']:,} addresses")
        for s in res["scores"]:
            fmt = lambda v: "-" if v is None else f"{v:.4f}"  # noqa: E731
            view.add_row(s["name"], fmt(s["precision"]), fmt(s["recall"]), str(s["tp"]), str(s["fp"]), str(s["fn"]))
        console.print(view)
