"""`chaintrail prices`: import daily price series and list what the store holds."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table

from chaintrail.cli._common import JsonOption, StoreOption, console, emit_json, one_line_errors, store_path

app = typer.Typer(help="Daily price series (UTC closes) for fiat values, with their source and licence.",
                  no_args_is_help=True)


@app.command("import")
@one_line_errors
def import_(
    file: Path = typer.Argument(..., help="CSV with a header date,close (or date,close_<currency>), one UTC day a row"),
    asset: str = typer.Option(None, "--asset", help="Asset the closes price (BTC, ETH, USDT, EUR...) [default: "
                                                    "from a file name like btc_usd_daily.csv]"),
    source: str = typer.Option(None, "--source", help="Who published the series [default: from "
                                                      "<stem>.PROVENANCE.txt beside the file]"),
    licence: str = typer.Option(None, "--licence", "--license", help="The data's licence [default: from "
                                                                     "<stem>.PROVENANCE.txt beside the file]"),
    store: Path = StoreOption,
    json_out: bool = JsonOption,
) -> None:
    """Import one series; a bad row stops the import with file:line and nothing is written (exit 2)."""
    from chaintrail.ingest.prices import import_prices

    r = import_prices(store_path(store), file, asset=asset, source=source, licence=licence)
    if json_out:
        emit_json(r.to_dict())
        return
    gap = f", {r.missing_days} missing days kept missing" if r.missing_days else ", no gaps"
    console.print(f"{'replaced' if r.replaced else 'imported'} {r.asset}/{r.currency}: {r.rows} days "
                  f"{r.first_day} to {r.last_day}{gap}; source: {escape(r.source)}; licence: {escape(r.licence)}",
                  highlight=False)


@app.command("list")
@one_line_errors
def list_(store: Path = StoreOption, json_out: bool = JsonOption) -> None:
    """The series in the store, with their provenance."""
    from chaintrail.store.prices import PriceBook

    book = PriceBook.open(store_path(store))
    rows = [{"asset": s.asset, "currency": s.currency, "days": int(len(s.days)), **s.source}
            for s in book.series.values()]
    if json_out:
        emit_json({"series": rows, "currencies": book.currencies()})
        return
    t = Table("asset", "quote", "days", "range", "missing", "source", "licence")
    for r in rows:
        t.add_row(r["asset"], r["currency"], str(r["days"]), f"{r.get('first_day')} to {r.get('last_day')}",
                  str(r.get("missing_days")), escape(str(r.get("source"))), escape(str(r.get("licence"))))
    console.print(t)
