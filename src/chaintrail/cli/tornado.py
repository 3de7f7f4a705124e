"""`chaintrail tornado`: Tornado-style pools of an Ethereum store and the leads linking deposits to withdrawals."""

from __future__ import annotations

import re
from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table

from chaintrail.cli._common import JsonOption, StoreOption, console, emit_json, one_line_errors, store_path
from chaintrail.errors import UsageError
from chaintrail.i18n import _, fmt_number

app = typer.Typer(help="Tornado Cash pools: deposits, withdrawals, anonymity sets and linking leads.",
                  no_args_is_help=True)
_TX, _ADDR = re.compile(r"0x[0-9a-fA-F]{64}"), re.compile(r"0x[0-9a-fA-F]{40}")


@app.command("leads")
@one_line_errors
def leads(
    deposit: str = typer.Option(None, "--deposit", help="Only the leads of this deposit transaction (0x hash)"),
    address: str = typer.Option(None, "--address", help="Only leads where this address deposited or received"),
    store: Path = StoreOption,
    json_out: bool = JsonOption,
) -> None:
    """Find the pools, link deposits to withdrawals with each heuristic, and print the leads: heuristic, evidence,
    the heuristic's measured precision and its chance-match rate. A lead is not proof that a withdrawal is the
    depositor's. Writes analysis/eth_tornado_{deposits,withdrawals,leads}.parquet (SQL: eth_tornado_*)."""
    from chaintrail.analysis.eth.tornado_links import NOT_PROOF, analyse, lead_rows
    from chaintrail.store.chainstore import ChainStore

    if deposit is not None and not _TX.fullmatch(deposit):
        raise UsageError(_("--deposit must be a transaction hash (0x and 64 hex digits), not {value}").format(
            value=repr(deposit)))
    if address is not None and not _ADDR.fullmatch(address):
        raise UsageError(_("--address must be an Ethereum address (0x and 40 hex digits), not {value}").format(
            value=repr(address)))
    with ChainStore(store_path(store)) as st:
        m, _links = analyse(st)
        if deposit is not None and deposit.lower() not in _deposit_txs(st):
            raise UsageError(_("transaction {tx} holds no deposit into a Tornado-style pool in this store").format(
                tx=deposit))
        rows = lead_rows(st, deposit_tx=deposit, address=address)
    pools = [{"pool": "0x" + p.address.hex(), "asset": "ETH" if p.asset is None else "0x" + p.asset.hex(),
              "denomination": str(p.denomination), "deposits": p.deposits, "withdrawals": p.withdrawals}
             for p in m.pools]
    if json_out:
        emit_json({"pools": pools, "leads": rows, "note": NOT_PROOF[0].upper() + NOT_PROOF[1:] + ": each lead "
                   "carries its heuristic's measured precision and chance-match rate."})
        return
    console.print(_("pools: {pools}, leads: {leads}. Each is a lead, not proof that the withdrawal is the "
                    "depositor's.").format(pools=fmt_number(len(pools)), leads=fmt_number(len(rows))), highlight=False)
    view = Table(_("deposit tx"), _("withdrawal tx"), _("heuristic"), _("score"), _("precision"), _("chance rate"),
                 _("evidence"))
    for r in rows:
        view.add_row(r["deposit_tx"][:12] + "…", r["withdrawal_tx"][:12] + "…", r["heuristic"], f"{r['score']:.3f}",
                     _f(r["precision"]), _f(r["chance_match_rate"]), escape(r["evidence"]))
    console.print(view)


def _f(x) -> str:
    return "not measured" if x is None else f"{x:.3g}"


def _deposit_txs(st) -> set[str]:
    from chaintrail.store.sql import query
    return {r["transaction_hash"] for r in query(st, "SELECT transaction_hash FROM eth_tornado_deposits",
                                                  chain="eth").to_pylist()}
