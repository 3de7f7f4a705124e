"""`chaintrail account`: sources and uses of funds, balance, months and lot gains of an entity or address."""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table

from chaintrail.cli._common import JsonOption, StoreOption, console, emit_json, one_line_errors, store_path


def money(cents: int | None, currency: str) -> str:
    """Cents as ``12,345.67 USD`` (``n/a`` where a price is missing)."""
    return "n/a" if cents is None else f"{cents / 100:,.2f} {currency}"


def btc(sat: int) -> str:
    return f"{sat / 1e8:,.8f} BTC"


@one_line_errors
def account(
    subject: str = typer.Argument(..., help="cluster:N (an entity) or an address"),
    date_from: str = typer.Option(None, "--from", help="First UTC day YYYY-MM-DD [default: the subject's first tx]"),
    date_to: str = typer.Option(None, "--to", help="Last UTC day YYYY-MM-DD [default: its last tx]"),
    lots: str = typer.Option("fifo", "--lots", help="Lot method for gains: fifo | specific (the outputs each tx "
                                                    "really spends)"),
    currency: str = typer.Option("USD", "--currency", help="Reporting currency: USD, or one with a USD series in "
                                                           "the store (EUR from the ECB file)"),
    csv_out: Path = typer.Option(None, "--csv", help="Also write the movements as CSV ('-' for stdout)"),
    store: Path = StoreOption,
    json_out: bool = JsonOption,
) -> None:
    """Forensic-accounting schedules; fiat at the UTC daily close of each transaction's day (chaintrail prices)."""
    from chaintrail.analysis.accounting import AccountParams, to_rows
    from chaintrail.analysis.accounting import account as run
    from chaintrail.store.chainstore import ChainStore

    with ChainStore(store_path(store)) as st:
        r = run(st, subject, AccountParams(date_from, date_to, lots, currency.upper()))
    if csv_out is not None:
        _write_csv(csv_out, to_rows(r))
        if str(csv_out) == "-":
            return
    if json_out:
        emit_json(r)
        return
    _print(r)


def _write_csv(path: Path, rows: list[dict]) -> None:
    from chaintrail.csv_export import safe_dict

    out = sys.stdout if str(path) == "-" else open(path, "w", newline="")
    try:
        if rows:
            w = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
            w.writeheader()
            for row in rows:
                w.writerow(safe_dict(row))
    finally:
        if out is not sys.stdout:
            out.close()


def _print(r: dict) -> None:
    cur, t = r["currency"], r["totals"]
    s = r["subject"]
    console.print(f"[bold]{s['kind']} {escape(s['id'])}[/bold] ({s['addresses']} addresses), "
                  f"{r['period']['from']} to {r['period']['to']}; lots {r['lot_method']}; {r['convention']}",
                  highlight=False)
    for title, rows in (("Sources of funds", r["sources"]), ("Uses of funds", r["uses"])):
        tab = Table("category", "counterparty", "txs", "BTC", cur, title=title)
        for row in rows:
            tab.add_row(row["category"], escape(row["name"]), str(row["txs"]), btc(row["sat"]),
                        money(row["fiat_cents"], cur))
        console.print(tab)
    tab = Table("", "BTC", f"{cur} (cost)", title="Balance")
    tab.add_row("opening", btc(t["opening_sat"]), money(t["opening_cost_cents"], cur))
    tab.add_row("+ sources", btc(t["sources_sat"]), money(t["sources_cents"], cur))
    tab.add_row("- uses", btc(t["uses_sat"]), money(t["uses_cents"], cur))
    tab.add_row("+ realised gain", "", money(t["realised_gain_cents"], cur))
    tab.add_row("= closing", btc(t["closing_sat"]), money(t["closing_cost_cents"], cur))
    tab.add_row(f"closing at market ({t['closing_day']})", "", money(t["closing_market_cents"], cur))
    console.print(tab)
    tab = Table("month", "receipts BTC", f"receipts {cur}", "disbursements BTC", f"disbursements {cur}",
                title="Receipts and disbursements by month")
    for m in r["monthly"]:
        tab.add_row(m["month"], btc(m["receipts_sat"]), money(m["receipts_cents"], cur), btc(m["disbursements_sat"]),
                    money(m["disbursements_cents"], cur))
    console.print(tab)
    for p in r["prices"]:
        console.print(f"prices: {p['asset']}/{p['currency']} from {escape(str(p['source']))} "
                      f"({escape(str(p['file']))}, licence: {escape(str(p['licence']))})", highlight=False)
    if r["missing_prices"]:
        console.print(f"[yellow]no price on {', '.join(r['missing_prices'])}: those movements have no fiat value "
                      "(left out of the fiat totals, never filled in)[/yellow]")
