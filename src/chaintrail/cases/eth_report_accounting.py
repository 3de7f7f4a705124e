"""The court report's forensic accounting of an Ethereum account or entity (an ``eth_account`` finding), per asset.

Reads only the finding (``analysis.eth.accounting`` schedules): per asset the sources and uses of funds by
counterparty, the balance reconciliation in the asset's units and in the reporting currency at cost, a balance
chart, receipts and disbursements by month and the FIFO gain on each disposal. Every fiat figure is the value at
the UTC close of its day in the asset's own price series (a stablecoin at its own, never assumed 1.00); an
asset without a series says why and carries no fiat.
"""

from __future__ import annotations

from decimal import Decimal
from html import escape

from chaintrail.cases.eth_report import units
from chaintrail.cases.report_accounting import _table, step_svg
from chaintrail.i18n import N_, _


# Texts translated inside f-strings, where Babel does not see the _() call (docs/translating.md)
IN_FSTRINGS = (N_("Balance reconciliation"), N_("Receipts and disbursements by month"),
               N_("Gain and loss on uses (FIFO)"))


def _e(s) -> str:
    return escape("" if s is None else str(s))


def money(cents: int | None, currency: str) -> str:
    return _("n/a (no price)") if cents is None else f"{cents / 100:,.2f} {currency}"


def _info(a: dict) -> dict:
    return {"symbol": a["symbol"] or a["asset"], "decimals": a["decimals"]}


def _who(s: dict) -> str:
    if s["kind"] == "entity":
        return _("the Ethereum entity {id} ({n} accounts)").format(id=_e(s["id"]), n=s["addresses"])
    return _("the Ethereum account {id}").format(id=f"<span class=mono>{_e(s['id'])}</span>")


def account_summary(f: dict) -> list[str]:
    """Sentences for the prosecutor: per asset, what came in and went out, worth what on the days, and what is
    still held."""
    r = f["result"]
    cur, p = r["currency"], r["period"]
    out = [_("Forensic accounting of {who}, {start} to {end} (UTC days; values at each day's close in {cur}):").format(
        who=_who(r["subject"]), start=_e(p["from"] or "-"), end=_e(p["to"] or "-"), cur=_e(cur))]
    for a in r["assets"]:
        t, info = a["totals"], _info(a)
        if a["price_series"] is None:
            out.append(_("{asset}: received {sources}, paid out {uses}, held {closing} at the end; not valued: "
                         "{why}.").format(asset=_e(info["symbol"]), sources=units(t["sources"], info),
                                          uses=units(t["uses"], info), closing=units(t["closing"], info),
                                          why=_e(a["price_note"])))
            continue
        held = money(t["closing_market_cents"], cur) if t["closing_market_cents"] is not None else _("n/a")
        out.append(_("{asset}: received {sources} worth <b>{sources_fiat}</b> on the days received, paid out {uses} "
                     "worth <b>{uses_fiat}</b> on the days paid, and held {closing} at the end, worth "
                     "{held} at the close of {day}.").format(
            asset=_e(info["symbol"]), sources=units(t["sources"], info), sources_fiat=money(t["sources_cents"], cur),
            uses=units(t["uses"], info), uses_fiat=money(t["uses_cents"], cur), closing=units(t["closing"], info),
            held=held, day=_e(t["closing_day"])))
    if r.get("missing_prices"):
        out.append(_("No price exists for {days}: movements on those days carry no fiat value and are left out of "
                     "the fiat totals (never estimated).").format(days=_e(", ".join(r["missing_prices"]))))
    return out


def balance_svg(points: list[dict], decimals: int | None, unit: str, width: int = 640, height: int = 160) -> str:
    """A step chart of the balance (in the asset's units) after each transaction, as inline SVG."""
    if not points:
        return ""
    scale = Decimal(10) ** -(decimals or 0)
    vals = [float(Decimal(int(p["balance"])) * scale) for p in points]
    top, low = max(max(vals), 1e-18), min(min(vals), 0.0)
    return step_svg(points, vals, low, top, f"{top:,.4g} {_e(unit)}", width, height)


def section(f: dict) -> str:
    """Section 3A's schedules of one Ethereum account finding, per asset."""
    r = f["result"]
    cur, s, p = r["currency"], r["subject"], r["period"]
    out = [f"<h3>{_e(f['title'])}</h3><p>" + _(
        "Subject: {who}; period {start} to {end} (UTC days); values in {cur} at the UTC daily close of each asset's "
        "own price series; lots first in, first out (FIFO) per asset; gas paid is a use of ETH; transfers between "
        "the subject's own accounts are not counted.").format(
            who=_who(s), start=_e(p["from"] or "-"), end=_e(p["to"] or "-"), cur=_e(cur)) + "</p>"]
    for a in r["assets"]:
        info = _info(a)
        unit, t = info["symbol"], a["totals"]
        amt = lambda v: units(v, info)  # noqa: E731
        out.append(f"<h4>{_e(unit)} <span class=mono>{_e(a['asset'])}</span></h4><p class=small>"
                   + _("Price: {note}").format(note=_e(a["price_note"])) + "</p>")
        head = [_("Counterparty category"), _("Counterparty"), _("Flows"), unit, cur]
        for title, groups in ((_("Sources of funds"), a["sources"]), (_("Uses of funds"), a["uses"])):
            rows = [[_e(g["category"]), _e(g["name"]), str(g["flows"]), amt(g["amount"]),
                     money(None if g["unpriced"] else g["fiat_cents"], cur)] for g in groups[:40]]
            out.append(f"<h5>{_e(title)}</h5>" + _table(head, rows, {2, 3, 4}))
        bal = [[_e(_("Opening balance (at cost)")), amt(t["opening"]), money(t["opening_cost_cents"], cur)],
               [_e(_("+ Sources of funds")), amt(t["sources"]), money(t["sources_cents"], cur)],
               [_e(_("− Uses of funds")), amt(t["uses"]), money(t["uses_cents"], cur)],
               [_e(_("+ Realised gain (loss) on uses")), "", money(t["realised_gain_cents"], cur)],
               [_e(_("= Closing balance (at cost)")), amt(t["closing"]), money(t["closing_cost_cents"], cur)],
               [_e(_("Closing balance at the close of {day}").format(day=t["closing_day"])), amt(t["closing"]),
                money(t["closing_market_cents"], cur)]]
        out.append(f"<h5>{_e(_('Balance reconciliation'))}</h5>" + _table(["", unit, cur], bal, {1, 2}))
        if a.get("note"):
            out.append(f"<p class=small>{_e(a['note'])}</p>")
        out.append(f"<div class=figure>{balance_svg(a['balance'], a['decimals'], unit)}</div><p class=caption>"
                   + _e(_("Figure: balance ({unit}) after each transaction of the period.").format(unit=unit)) + "</p>")
        months = [[_e(m["month"]), amt(m["receipts"]), money(m["receipts_cents"], cur), amt(m["disbursements"]),
                   money(m["disbursements_cents"], cur)] for m in a["monthly"]]
        out.append(f"<h5>{_e(_('Receipts and disbursements by month'))}</h5>" + _table(
            [_("Month"), _("Receipts"), cur, _("Disbursements"), cur], months, {1, 2, 3, 4}))
        gains = [[_e(d["day"]), f"<span class=mono>{_e((d['tx_hash'] or '')[:18])}…</span>", amt(d["amount"]),
                  money(d["fiat_cents"], cur), money(d["cost_cents"], cur), money(d["gain_cents"], cur)]
                 for d in a["disposals"][:60]]
        if a["price_series"] is not None and gains:
            out.append(f"<h5>{_e(_('Gain and loss on uses (FIFO)'))}</h5>" + _table(
                [_("Day"), _("Transaction"), unit, _("Proceeds"), _("Cost"), _("Gain (loss)")], gains, {2, 3, 4, 5}))
    return "".join(out)
