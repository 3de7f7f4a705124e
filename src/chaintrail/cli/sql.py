"""`chaintrail sql`: read-only SQL over the store's tables."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from chaintrail.cli._common import JsonOption, StoreOption, console, emit_json, one_line_errors, store_path
from chaintrail.i18n import fmt_number, ngettext


@one_line_errors
def sql(
    statement: str = typer.Argument(..., help="A SELECT over blocks, txs, inputs, outputs, addresses, and eth_blocks, "
                                                 "eth_transactions, eth_logs, eth_traces, eth_token_transfers, "
                                                 "eth_value_flows, eth_addresses, eth_contracts, eth_tokens "
                                                 "(raw.* for dense ids)"),
    store: Path = StoreOption,
    json_out: bool = JsonOption,
    limit: int = typer.Option(200, "--limit", help="Rows shown in the table view (JSON prints all)"),
    memory_limit: str = typer.Option("2GB", "--memory-limit", envvar="CHAINTRAIL_SQL_MEMORY_LIMIT",
                                     help="Most memory the query may use (e.g. 512MB, 4GB); more spills to the "
                                          "store's scratch folder"),
    chain: str = typer.Option("btc", "--chain", help="btc or eth: which chain's views the plain names "
                                                       "(blocks, transactions, ...) show; eth_* views are always there"),
    timeout: float = typer.Option(300.0, "--timeout", envvar="CHAINTRAIL_SQL_TIMEOUT",
                                  help="Stop the query after this many seconds (0: no limit)"),
) -> None:
    """Run read-only SQL over the chain store."""
    from chaintrail.store.chainstore import ChainStore
    from chaintrail.store.sql import query

    with ChainStore(store_path(store)) as st:
        table = query(st, statement, memory_limit=memory_limit, timeout_s=timeout or None, chain=chain)
    rows = table.to_pylist()
    for row in rows:
        for k, v in row.items():
            if isinstance(v, bytes):
                row[k] = v.hex()
    if json_out:
        emit_json(rows)
        return
    view = Table(*table.column_names, show_lines=False)
    for row in rows[:limit]:
        view.add_row(*("" if v is None else str(v) for v in row.values()))
    console.print(view)
    if len(rows) > limit:
        n = len(rows) - limit
        console.print(ngettext("… {n} more row (use --json for all)", "… {n} more rows (use --json for all)",
                               n).format(n=fmt_number(n)), highlight=False)
