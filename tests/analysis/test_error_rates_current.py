"""The published error rates describe the code as it is: same heuristic versions, same inputs, same docs.

When this fails, a heuristic, the generator or an evaluator changed after the figures were measured:
run the command in the message (``chaintrail heuristics regenerate``) and commit what it writes.
"""

from __future__ import annotations

from pathlib import Path

from chaintrail.analysis import error_rates as ER
from chaintrail.analysis.error_rate_docs import block_of, render, table_file
from chaintrail.analysis.rate_inputs import REGENERATE_COMMAND, package_root, staleness
from chaintrail.cases.methodology import load_error_rates

RATES = package_root() / "analysis" / "error_rates.json"
DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_stored_figures_match_the_code():
    table = ER.load(RATES)
    assert table["format"] == ER.FORMAT
    problems = staleness(table)
    assert not problems, ("error_rates.json is stale: " + "; ".join(problems)
                          + f". Run `{REGENERATE_COMMAND}` and commit what it writes.")


def test_docs_tables_are_rendered_from_the_stored_figures():
    table = ER.load(RATES)
    assert (DOCS / "heuristics-table.md").read_text() == table_file(table), \
        f"docs/heuristics-table.md differs from error_rates.json: run `{REGENERATE_COMMAND}`"
    assert block_of((DOCS / "heuristics.md").read_text()) == render(table), \
        f"docs/heuristics.md's table differs from error_rates.json: run `{REGENERATE_COMMAND}`"


def test_the_packaged_table_is_the_one_reports_quote():
    assert load_error_rates() == ER.load(RATES)
