"""`chaintrail account`: sources and uses of funds, balance, months and lot gains of an entity or address."""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table

from chaintrail.cli._common import JsonOption, StoreOption, console, emit_json, one_line_errors, store_path
from chaintrail.errors import UsageError
from chaintrail.i18n import _


def money(cents: int | None, currency: str) -> str:
    """Cents as ``12,345.67 USD`` (``n/a`` where a price is missing)."""
    return "n/a" if cents is None else f"{cents / 100:,.2f} {currency}"


def btc(sat: int) -> str:
    return f"{sat / 1e8:,.8f} BTC"


@one_line_errors
def account(
    subject: str = typer.Argument(..., help="cluster:N (an entity) or an address; eth: 0xACCOUNT or cluster:N"),
    chain: str = typer.Option("btc", "--chain", help="btc | eth (per asset: ETH and each token at its own price "
                                                     "series; FIFO lots)"),
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

    if chain not in ("btc", "eth"):
        raise UsageError(f"--chain must be btc or eth, not {chain!r}")
    if chain == "eth":
        _eth(subject, date_from, date_to, lots, currency, store, json_out, csv_out)
        return
    with ChainStore(store_path(store)) as st:
        r = run(st, subject, AccountParams(date_from, date_to, lots, currency.upper()))
    if _written(r, to_rows, csv_out, json_out):
        return
    _print(r)


def _written(r: dict, rows_of, csv_out: Path | None, json_out: bool) -> bool:
    """Write --csv (``rows_of(r)``) and --json; True when that is all the command prints."""
    if csv_out is not None:
        _write_csv(csv_out, rows_of(r))
        if str(csv_out) == "-":
            return True
    if json_out:
        emit_json(r)
        return True
    return False


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


def _eth(subject: str, date_from, date_to, lots: str, currency: str, store: Path, json_out: bool,
         csv_out: Path | None = None) -> None:
    from chaintrail.analysis.eth.accounting import eth_account, eth_rows
    from chaintrail.store.chainstore import ChainStore

    if lots != "fifo":
        raise UsageError(_("--chain eth keeps FIFO lots per asset (an account has no outputs to identify)"))
    with ChainStore(store_path(store)) as st:
        r = eth_account(st, subject, date_from=date_from, date_to=date_to, currency=currency.upper())
    if _written(r, eth_rows, csv_out, json_out):
        return
    cur = r["currency"]
    subj = r["subject"]
    if subj["kind"] == "entity":
        console.print(_("[bold]entity {id}[/bold] (Ethereum, {n} accounts), {start} to {end}; lots FIFO per asset; "
                        "{convention}").format(id=subj["id"], n=subj["addresses"], start=r["period"]["from"] or "-",
                                               end=r["period"]["to"] or "-", convention=r["convention"]),
                      highlight=False)
    else:
        console.print(_("[bold]account {id}[/bold] (Ethereum), {start} to {end}; lots FIFO per asset; {convention}"
                        ).format(id=subj["id"], start=r["period"]["from"] or "-", end=r["period"]["to"] or "-",
                                 convention=r["convention"]), highlight=False)
    for a in r["assets"]:
        unit = a["symbol"] or a["asset"]
        amt = lambda v: units(v, a["decimals"], unit)  # noqa: E731
        console.print(f"[bold]{escape(unit)}[/bold] {a['asset']}: {escape(a['price_note'])}", highlight=False)
        for title, rows in ((_("Sources of funds"), a["sources"]), (_("Uses of funds"), a["uses"])):
            tab = Table("category", "counterparty", "flows", unit, cur, title=f"{title}: {unit}")
            for row in rows:
                tab.add_row(row["category"], escape(row["name"]), str(row["flows"]), amt(row["amount"]),
                            money(None if row["unpriced"] else row["fiat_cents"], cur))
            console.print(tab)
        t = a["totals"]
        tab = Table("", unit, f"{cur} (cost)", title=_("Balance: {unit}").format(unit=unit))
        tab.add_row("opening", amt(t["opening"]), money(t["opening_cost_cents"], cur))
        tab.add_row("+ sources", amt(t["sources"]), money(t["sources_cents"], cur))
        tab.add_row("- uses", amt(t["uses"]), money(t["uses_cents"], cur))
        tab.add_row("+ realised gain", "", money(t["realised_gain_cents"], cur))
        tab.add_row("= closing", amt(t["closing"]), money(t["closing_cost_cents"], cur))
        tab.add_row(f"closing at market ({t['closing_day']})", "", money(t["closing_market_cents"], cur))
        console.print(tab)
        tab = Table("month", f"receipts {unit}", f"receipts {cur}", f"disbursements {unit}", f"disbursements {cur}",
                    title=_("Receipts and disbursements by month: {unit}").format(unit=unit))
        for m in a["monthly"]:
            tab.add_row(m["month"], amt(m["receipts"]), money(m["receipts_cents"], cur), amt(m["disbursements"]),
                        money(m["disbursements_cents"], cur))
        console.print(tab)
        if a["note"]:
            console.print(f"[yellow]{escape(a['note'])}[/yellow]")
    for p in r["prices"]:
        console.print(_("prices: {asset}/{currency} from {source} ({file}, licence: {licence})").format(
            asset=p["asset"], currency=p["currency"], source=escape(str(p["source"])), file=escape(str(p["file"])),
            licence=escape(str(p["licence"]))), highlight=False)
    if r["missing_prices"]:
        console.print(_("[yellow]no price on {days}: those flows have no fiat value (never filled in)[/yellow]").format(
            days=", ".join(r["missing_prices"])))


def units(v: str, decimals: int | None, unit: str) -> str:
    """Exact base units as a decimal amount of the asset (base units where the decimals are unknown)."""
    n = int(v)
    if decimals is None:
        return f"{n:,} base units"
    whole, frac = divmod(abs(n), 10 ** decimals)
    text = f"{whole:,}" + (f".{frac:0{decimals}d}".rstrip("0") if frac else "")
    return f"{'-' if n < 0 else ''}{text} {unit}"
