"""`chaintrail screen`: exposure of an address, a transaction or a file of them, with a risk level."""

from __future__ import annotations

import csv
import time
from pathlib import Path

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from chaintrail.cli._common import JsonOption, StoreOption, console, emit_json, err_console, one_line_errors, \
    store_path
from chaintrail.errors import UsageError
from chaintrail.i18n import N_, _, fmt_decimal, fmt_number, fmt_percent

_RANK = {"low": 0, "medium": 1, "high": 2, "severe": 3}
_STYLE = {"severe": "bold white on red", "high": "bold red", "medium": "yellow", "low": "green"}
# Words that reach the screen from data (risk levels, categories, directions), marked for the catalogs; --json keeps
# them as they are.
DATA_WORDS = (N_("severe"), N_("high"), N_("medium"), N_("low"), N_("terrorism"), N_("child_abuse"))
_SUBJECT = {"address": N_("address {subject}"), "transaction": N_("transaction {subject}")}
_TOTALS = {"received_sat": N_("received (sat)"), "outputs": N_("outputs"), "output_sat": N_("output (sat)"),
           "incoming_traced_sat": N_("incoming traced (sat)"), "outgoing_traced_sat": N_("outgoing traced (sat)")}


def _level(lv: str, upper: bool = False) -> str:
    """A risk level in the reader's language, styled (rich markup)."""
    word = _(lv)
    return f"[{_STYLE[lv]}]{escape(word.upper() if upper else word)}[/]"


@one_line_errors
def screen(
    subject: str = typer.Argument(..., help="ADDRESS, TXID, or a FILE with one address or txid per line "
                                            "(or a CSV with an 'address' column)"),
    hops: int = typer.Option(3, "--hops", help="How far indirect exposure is followed (transactions)"),
    model: str = typer.Option("haircut", "--model", help="haircut | poison | fifo | lifo | tiho"),
    min_amount: int = typer.Option(0, "--min-amount", help="Stop a branch when its share falls below this (sats)"),
    mixer_policy: str = typer.Option("haircut", "--mixer-policy", help="haircut | stop at CoinJoins/mixers"),
    chain: str = typer.Option("btc", "--chain", help="btc | eth (exposure per asset, dated sanctions, freezes)"),
    as_of: str = typer.Option(None, "--as-of", help="eth: date the sanctions are judged at (YYYY-MM-DD) "
                                                    "[default: today]"),
    currency: str = typer.Option("USD", "--currency", help="Reporting currency beside USD for exposure values (a "
                                 "USD series in the store: EUR from the ECB fixing)"),
    store: Path = StoreOption,
    json_out: bool = JsonOption,
) -> None:
    """Direct and indirect exposure to sanctioned, mixer, ransomware, darknet market, scam, hack, exchange
    and gambling, in sats and shares, with a risk level explained (tag, path, source).

    With a FILE, --json prints one JSON object per line, in file order.
    """
    from chaintrail.analysis.screening import Screener, ScreenParams

    if chain not in ("btc", "eth"):
        raise UsageError(f"chain must be btc or eth, not {chain!r}")
    if chain == "eth":
        _screen_eth(subject, hops, as_of, store, json_out, currency)
        return
    params = ScreenParams(hops=hops, model=model, min_amount_sat=min_amount, mixer_policy=mixer_policy)
    path = Path(subject)
    batch = path.is_file()
    subjects = read_subjects(path) if batch else [subject]
    t0 = time.perf_counter()
    sc = Screener.open(store_path(store), params)
    try:
        sc.currency = sc.book.check_currency(currency)
        if not batch:
            res = sc.screen(subject)
            emit_json(res.to_dict()) if json_out else _print_one(res, sc.currency)
            return
        levels: dict[str, int] = {}
        with Progress(TextColumn("screening"), BarColumn(), MofNCompleteColumn(), console=err_console,
                      transient=True, disable=json_out) as bar:
            task = bar.add_task("screen", total=len(subjects))
            rows = []
            for res in sc.screen_many(subjects, progress=lambda n: bar.update(task, completed=n)):
                levels[res.risk.level] = levels.get(res.risk.level, 0) + 1
                if json_out:
                    emit_json(res.to_dict())
                else:
                    rows.append(res)
        if not json_out:
            _print_batch(rows, levels, time.perf_counter() - t0)
    finally:
        if sc.store is not None:
            sc.store.close()


def _screen_eth(subject: str, hops: int, as_of: str | None, store: Path, json_out: bool,
                currency: str = "USD") -> None:
    """One Ethereum account (or a file of them): exposure per asset, dated sanctions, issuer freezes."""
    import datetime as dt

    from chaintrail.analysis.eth.screen import EthScreener

    try:
        day = dt.date.fromisoformat(as_of) if as_of else None
    except ValueError:
        raise UsageError(f"--as-of must be a date YYYY-MM-DD, not {as_of!r}") from None
    path = Path(subject)
    subjects = read_subjects(path) if path.is_file() else [subject]
    sc = EthScreener(store_path(store), hops=hops, as_of=day, currency=currency)
    try:
        for s in subjects:
            res = sc.screen(s)
            if json_out:
                emit_json(res.to_dict())
                continue
            lv = res.risk["level"]
            where = _("entity {id}").format(id=res.cluster) if res.cluster is not None else \
                _("not in the chain store")
            line = _("{subject} {where} (sanctions as of {day})").format(subject=res.subject, where=where,
                                                                         day=res.as_of)
            console.print(_level(lv, upper=True) + " " + escape(line), highlight=False)
            for r in res.risk["reasons"]:
                console.print("  " + _level(r["level"]) + ": " + escape(r["text"]), highlight=False, soft_wrap=True)
            _print_eth_fiat(res, sc.currency)
            for lst in res.sanction_lists:
                console.print("  " + escape(_("list used: {list} dated {date} ({file})").format(
                    list=lst["list"], date=lst["date"], file=lst["file"])), highlight=False, soft_wrap=True)
    finally:
        sc.close()


def _print_eth_fiat(res, currency: str) -> None:
    """Each flowing exposure's value on the days its parts moved (USD and the reporting currency)."""
    flows = [e for e in res.exposures if e.direction in ("incoming", "outgoing") and e.fiat]
    if not flows:
        return
    cur = list(dict.fromkeys(("usd", currency.lower())))
    view = Table(_("direction"), _("category"), _("asset"), _("amount (base units)"),
                 *[_("value {currency}").format(currency=c.upper()) for c in cur])
    for e in flows:
        vals = [_money(e.fiat.get(c), e.fiat) if e.fiat.get("usd") is not None else e.fiat.get("missing", "")
                for c in cur]
        view.add_row(_(e.direction), _(e.category), e.symbol, fmt_number(e.amount), *[escape(v) for v in vals])
    console.print(view)
    for p in (res.fiat or {}).get("prices", []):
        console.print("  " + _("prices: {asset}/{currency} from {source} ({file})").format(
            asset=p["asset"], currency=p["currency"], source=p.get("source") or "?", file=p.get("file") or "?"),
            highlight=False, soft_wrap=True)


def read_subjects(path: Path) -> list[str]:
    """Addresses or txids from a file: one per line ('#' comments), or a CSV with an address/txid column."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: cannot read ({exc})") from None
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    if not lines:
        raise UsageError(f"{path}: no addresses in it")
    first = lines[0]
    if any(d in first for d in ",;\t"):
        delim = max(",;\t", key=first.count)
        rows = list(csv.reader(lines, delimiter=delim))
        head = [h.strip().lower() for h in rows[0]]
        col = next((head.index(k) for k in ("address", "txid", "subject") if k in head), None)
        if col is None:
            raise UsageError(f"{path}: a CSV needs an 'address' or 'txid' column")
        return [r[col].strip() for r in rows[1:] if len(r) > col and r[col].strip()]
    return [ln.strip() for ln in lines]


def _print_one(res, currency: str = "USD") -> None:
    lv = res.risk.level
    where = _("cluster {id}").format(id=res.cluster) if res.cluster is not None else \
        (_("not in the chain store") if not res.in_store else "")
    subject = _(_SUBJECT[res.kind]).format(subject=res.subject) if res.kind in _SUBJECT else \
        f"{res.kind} {res.subject}"
    console.print(_level(lv, upper=True) + " " + escape(f"{subject} {where}".rstrip()), highlight=False)
    for r in res.risk.reasons:
        console.print("  " + _level(r.level) + ": " + escape(r.display()), highlight=False, soft_wrap=True)
    flows = [e for e in res.exposures if e.direction != "self"]
    if flows:
        cur = [c for c in dict.fromkeys(("usd", currency.lower())) if any(e.fiat for e in flows)]
        view = Table(_("direction"), _("category"), _("amount (sat)"),
                     *[_("value {currency}").format(currency=c.upper()) for c in cur],
                     _("share"), _("direct (sat)"), _("indirect (sat)"), _("hops"), _("counterparty"))
        for e in flows:
            vals = [_money((e.fiat or {}).get(c), e.fiat or {}) for c in cur]
            view.add_row(_(e.direction), _(e.category), fmt_number(e.amount_sat), *[escape(v) for v in vals],
                         fmt_percent(f"{e.share:.2%}"), fmt_number(e.direct_sat), fmt_number(e.indirect_sat),
                         f"{e.min_hops}-{e.max_hops}", escape(e.counterparty or ""))
        console.print(view)
    if res.totals:
        words = {k: _(_TOTALS[k]) if k in _TOTALS else k for k in res.totals}
        console.print("  " + ", ".join(f"{words[k]} {fmt_number(v)}" for k, v in res.totals.items()),
                      highlight=False)


def _print_batch(rows, levels: dict[str, int], elapsed: float, limit: int = 200) -> None:
    """The flagged subjects (most serious first, up to ``limit``), then the count per level."""
    flagged = sorted((r for r in rows if r.risk.level != "low"), key=lambda r: -_RANK[r.risk.level])
    if flagged:
        view = Table(_("subject"), _("risk"), _("why"))
        for res in flagged[:limit]:
            lv = res.risk.level
            view.add_row(escape(res.subject), _level(lv), escape(res.risk.reasons[0].display()[:160]))
        console.print(view)
        if len(flagged) > limit:
            console.print(_("... {n} more flagged (use --json for all)").format(n=fmt_number(len(flagged) - limit)),
                          highlight=False)
    words = {lv: _(lv) for lv in ("severe", "high", "medium", "low")}
    counts = ", ".join(f"{w} {fmt_number(levels.get(lv, 0))}" for lv, w in words.items())
    console.print(_("screened {n} in {seconds} s: {counts}").format(
        n=fmt_number(len(rows)), seconds=fmt_decimal(elapsed, 1), counts=counts), highlight=False)


def _money(x, fiat: dict) -> str:
    """A value with the days it rests on; 'no price' where a day has none (never filled in)."""
    if x is None:
        return _("no price")
    days = fiat.get("days") or []
    span = days[0] if len(days) == 2 and days[0] == days[1] else \
        (_("{start} to {end}").format(start=days[0], end=days[-1]) if len(days) == 2 else ", ".join(days))
    return f"{fmt_decimal(x, 2)} ({span})" if span else fmt_decimal(x, 2)
