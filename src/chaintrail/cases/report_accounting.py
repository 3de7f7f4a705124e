"""The court report's forensic accounting: schedules per subject, a balance chart, fiat in the summary.

Reads only what findings hold: an ``account`` finding's schedules (analysis.accounting) and the ``fiat`` a
trace finding carries for its endpoints (store.prices). Every fiat figure names the day it was valued on; the
methodology names each price series (source, licence, file and its SHA-256), the day convention and the lot
method.
"""

from __future__ import annotations

from html import escape

from chaintrail.cases.report_figure import btc
from chaintrail.i18n import N_, _, fmt_number
from chaintrail.i18n.formats import localise_number

# Texts translated inside f-strings, where Babel does not see the _() call (docs/translating.md)
IN_FSTRINGS = (N_("{title}: endpoints valued on the day"), N_("Sources of funds"), N_("Uses of funds"),
               N_("Balance reconciliation"), N_("Receipts and disbursements by month"), N_("Movements"),
               N_("Gain and loss on uses ({method})"), N_("4.6 Fiat values and lots"))


SUBJECT_KINDS = {"entity": N_("entity"), "address": N_("address")}


def _e(s) -> str:
    return escape("" if s is None else str(s))


def money(cents: int | None, currency: str) -> str:
    return _("n/a (no price)") if cents is None else f"{localise_number(f'{cents / 100:,.2f}')} {currency}"


def usd(value: float | None) -> str:
    return _("n/a (no price)") if value is None else f"{localise_number(f'{value:,.2f}')} USD"


def account_summary(f: dict) -> list[str]:
    """Sentences for the prosecutor."""
    r = f["result"]
    t, cur, s = r["totals"], r["currency"], r["subject"]
    who = (_("the entity {id} ({n} addresses)").format(id=s["id"], n=fmt_number(s["addresses"]))
           if s["kind"] == "entity" else _("the address {id}").format(id=s["id"]))
    fields = dict(start=r["period"]["from"], end=r["period"]["to"], who=_e(who), sources=btc(t["sources_sat"]),
                  sources_fiat=f"<b>{money(t['sources_cents'], cur)}</b>", uses=btc(t["uses_sat"]),
                  uses_fiat=f"<b>{money(t['uses_cents'], cur)}</b>", closing=btc(t["closing_sat"]),
                  held=money(t.get("closing_market_cents"), cur), day=t.get("closing_day"))
    out = [(_("From {start} to {end}, {who} received {sources} BTC worth {sources_fiat} on the days received, and "
              "paid out {uses} BTC (fees included) worth {uses_fiat} on the days paid. It held {closing} BTC at the "
              "end of the period, worth {held} at the close of {day}.")
            if t.get("closing_market_cents") is not None else
            _("From {start} to {end}, {who} received {sources} BTC worth {sources_fiat} on the days received, and "
              "paid out {uses} BTC (fees included) worth {uses_fiat} on the days paid. It held {closing} BTC at the "
              "end of the period.")).format(**fields)]
    ins = [x for x in r["flows"] if x["dir"] == "in"]
    if ins:
        each = "; ".join(_("{amount} BTC on {day} = {value}").format(amount=btc(x["sat"]), day=x["day"],
                                                                     value=money(x["fiat_cents"], cur))
                         for x in ins[:12])
        more = _("; and {n} more (Section 3A).").format(n=fmt_number(len(ins) - 12)) if len(ins) > 12 else "."
        out.append(_("Receipts, each valued at the UTC close of its day: {list}").format(list=each) + more)
    if r.get("missing_prices"):
        out.append(_("No price exists for {days}: movements on those days carry no fiat value and are left out of "
                     "the fiat totals (never estimated).").format(days=", ".join(r["missing_prices"])))
    return out


def trace_fiat_summary(f: dict) -> list[str]:
    """For a trace finding with fiat values: what the funds reaching services were worth on the days they
    arrived (no sentence otherwise)."""
    fiat = f["result"].get("fiat") if f["kind"] == "trace" else None
    if not fiat:
        return []
    served = [e for e in fiat["endpoints"] if e.get("tagged")]
    if not served:
        return []
    if any(e.get("usd") is None for e in served):
        return [_("Some deposits at attributed services fall on days without a price; their fiat value is not "
                  "stated (Section 3A).")]
    total = sum(e["usd"] for e in served)
    return [_("Valued at the UTC close of the day each deposit arrived, the funds reaching attributed services were "
              "worth {value} (Section 3A lists each cash-out with its day and price).").format(
        value=f"<b>{usd(total)}</b>")]


def trace_values(f: dict) -> str:
    """Each endpoint of a trace with its USD value on the day its outputs were paid."""
    r = f["result"]
    fiat = r.get("fiat")
    if not fiat:
        return ""
    rows = []
    for e, x in zip(r["endpoints"], fiat["endpoints"]):
        who = ", ".join(t.split(":", 1)[-1] for t in e["tags"] if not t.startswith("inferred:")) or "—"
        rows.append([f"<span class=mono>{_e(e['address'] or (e['outputs'] or ['?'])[0])}</span>", _e(who),
                     btc(int(e["amount_sat"])), _e(", ".join(x.get("days") or [])),
                     _e(", ".join(localise_number(f"{p:,.2f}") for p in x.get("prices_usd") or [])),
                     usd(x.get("usd"))])
    return (f"<h3>{_e(_('{title}: endpoints valued on the day').format(title=f['title']))}</h3>"
            + _table([_("Address"), _("Attribution"), "BTC", _("Day (UTC)"), _("BTC close (USD)"), _("Value (USD)")],
                     rows[:60], {2, 4, 5}))


def sections(findings: list[dict]) -> str:
    """Section 3A: every trace's endpoints valued on the day, then each account finding's schedules."""
    from chaintrail.cases.eth_report_accounting import section as eth_section

    return "".join(trace_values(f) for f in findings if f["kind"] == "trace") + \
        "".join(section(f) for f in findings if f["kind"] == "account") + \
        "".join(eth_section(f) for f in findings if f["kind"] == "eth_account")


def _table(head: list[str], rows: list[list[str]], num: set[int]) -> str:
    th = "".join(f"<th{' class=n' if i in num else ''}>{_e(h)}</th>" for i, h in enumerate(head))
    body = "".join("<tr>" + "".join(f"<td{' class=n' if i in num else ''}>{c}</td>" for i, c in enumerate(r))
                   + "</tr>" for r in rows)
    return f"<table class=data><tr>{th}</tr>{body}</table>"


def balance_svg(points: list[dict], width: int = 640, height: int = 180) -> str:
    """A step chart of the balance after each transaction (BTC), as inline SVG."""
    if not points:
        return ""
    top = max(max(p["balance_sat"] for p in points), 1)
    return step_svg(points, [p["balance_sat"] for p in points], 0, top, btc(top), width, height)


def step_svg(points: list[dict], vals: list, low: float, top: float, top_label: str, width: int, height: int) -> str:
    """``vals`` (one per point, drawn at its ``time``) as a step line from ``low`` to ``top``, as inline SVG;
    ``top_label`` (HTML) names the top, the first and last points' ``day`` the time axis."""
    pad, t0, t1 = 40, points[0]["time"], points[-1]["time"]
    span = max(t1 - t0, 1)

    def x(t):
        return pad + (width - 2 * pad) * (t - t0) / span

    def y(v):
        return height - pad / 2 - (height - pad) * (v - low) / (top - low)

    path = [f"M{x(p['time']):.1f},{y(v):.1f}" if i == 0 else f"H{x(p['time']):.1f}V{y(v):.1f}"
            for i, (p, v) in enumerate(zip(points, vals))]
    return (f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' class=balance>"
            f"<line x1='{pad}' y1='{y(0):.1f}' x2='{width - pad}' y2='{y(0):.1f}' stroke='#999'/>"
            f"<path d='{' '.join(path)}' fill='none' stroke='#1f4e79' stroke-width='2'/>"
            f"<text x='2' y='{y(top) + 4:.1f}' font-size='10'>{top_label}</text>"
            f"<text x='2' y='{y(0):.1f}' font-size='10'>0</text>"
            f"<text x='{pad}' y='{height - 2}' font-size='10'>{_e(points[0]['day'])}</text>"
            f"<text x='{width - pad - 60}' y='{height - 2}' font-size='10'>{_e(points[-1]['day'])}</text></svg>")


def section(f: dict) -> str:
    """The schedules of one account finding."""
    r = f["result"]
    t, cur = r["totals"], r["currency"]
    grp = [[_e(g["category"]), _e(g["name"]), str(g["txs"]), btc(g["sat"]), money(g["fiat_cents"], cur)]
           for g in r["sources"]]
    uses = [[_e(g["category"]), _e(g["name"]), str(g["txs"]), btc(g["sat"]), money(g["fiat_cents"], cur)]
            for g in r["uses"]]
    head = [_("Counterparty category"), _("Counterparty"), _("Txs"), "BTC", cur]
    bal = [[_("Opening balance (at cost)"), btc(t["opening_sat"]), money(t["opening_cost_cents"], cur)],
           [_("+ Sources of funds"), btc(t["sources_sat"]), money(t["sources_cents"], cur)],
           [_("− Uses of funds (incl. fees)"), btc(t["uses_sat"]), money(t["uses_cents"], cur)],
           [_("+ Realised gain (loss) on uses"), "", money(t["realised_gain_cents"], cur)],
           [_("= Closing balance (at cost)"), btc(t["closing_sat"]), money(t["closing_cost_cents"], cur)],
           [_("Closing balance at the close of {day}").format(day=t["closing_day"]), btc(t["closing_sat"]),
            money(t["closing_market_cents"], cur)]]
    months = [[m["month"], btc(m["receipts_sat"]), money(m["receipts_cents"], cur), btc(m["disbursements_sat"]),
               money(m["disbursements_cents"], cur), str(m["txs"])] for m in r["monthly"]]
    moves = [[_e(x["day"]), f"<span class=mono>{_e(x['txid'][:16])}…</span>", _("received") if x["dir"] == "in" else _("paid"),
              _e(x["name"]), btc(x["sat"]), usd((x.get("price") or {}).get("price_usd")).replace(" USD", ""),
              money(x["fiat_cents"], cur)] for x in r["flows"][:60]]
    gains = [[_e(d["day"]), f"<span class=mono>{_e(d['txid'][:16])}…</span>", btc(d["sat"]),
              money(d["fiat_cents"], cur), money(d["cost_cents"], cur), money(d["gain_cents"], cur),
              _e(", ".join(d.get("lots_from") or []))] for d in r["disposals"][:60]]
    s = r["subject"]
    subject = (_("Subject: {kind} {id} ({n} addresses); period {start} to {end} (UTC days); values in {cur} at the "
                 "UTC daily close; lots FIFO.") if r["lot_method"] == "fifo" else
               _("Subject: {kind} {id} ({n} addresses); period {start} to {end} (UTC days); values in {cur} at the "
                 "UTC daily close; lots by specific identification.")).format(
        kind=_e(_(SUBJECT_KINDS.get(s["kind"], s["kind"]))), id=f"<span class=mono>{_e(s['id'])}</span>",
        n=fmt_number(s["addresses"]), start=r["period"]["from"], end=r["period"]["to"], cur=cur)
    month_head = [_("Month"), _("Receipts {unit}").format(unit="BTC"), _("Receipts {unit}").format(unit=cur),
                  _("Disbursements {unit}").format(unit="BTC"), _("Disbursements {unit}").format(unit=cur), _("Txs")]
    return (f"<h3>{_e(f['title'])}</h3><p>{subject}</p>"
            f"<h4>{_e(_('Sources of funds'))}</h4>{_table(head, grp, {2, 3, 4})}"
            f"<h4>{_e(_('Uses of funds'))}</h4>{_table(head, uses, {2, 3, 4})}"
            f"<h4>{_e(_('Balance reconciliation'))}</h4>{_table(['', 'BTC', cur], bal, {1, 2})}"
            f"<div class=figure>{balance_svg(r['balance'])}</div><p class=caption>"
            + _e(_("Figure: balance ({unit}) after each transaction of the period.").format(unit="BTC")) + "</p>"
            f"<h4>{_e(_('Receipts and disbursements by month'))}</h4>{_table(month_head, months, {1, 2, 3, 4, 5})}"
            f"<h4>{_e(_('Movements'))}</h4>"
            + _table([_("Day"), _("Transaction"), "", _("Counterparty"), "BTC", _("BTC close (USD)"), cur], moves,
                     {4, 5, 6})
            + f"<h4>{_e(_('Gain and loss on uses ({method})').format(method=r['lot_method']))}</h4>"
            + _table([_("Day"), _("Transaction"), "BTC", _("Proceeds"), _("Cost"), _("Gain (loss)"), _("Lots acquired")],
                     gains, {2, 3, 4, 5}))


def methodology(findings: list[dict]) -> str:
    """Price sources, the day convention and the lot methods of every fiat figure in the report."""
    series: dict[str, dict] = {}
    lots = set()
    for f in findings:
        r = f["result"]
        for p in (r.get("prices") or []) + ((r.get("fiat") or {}).get("prices") or []):
            series[p.get("sha256") or p["asset"]] = p
        if f["kind"] in ("account", "eth_account"):
            lots.add(r["lot_method"])
    if not series:
        return ""
    items = "".join("<li>" + _("{pair}: {source}; licence: {licence}; file {file} (SHA-256 {sha}), {first} to {last}, "
                               "{missing} days missing").format(
        pair=f"{_e(p['asset'])}/{_e(p['currency'])}", source=_e(p.get("source")), licence=_e(p.get("licence")),
        file=_e(p.get("file")), sha=f"<span class=mono>{_e(p.get('sha256'))}</span>", first=_e(p.get("first_day")),
        last=_e(p.get("last_day")), missing=_e(p.get("missing_days"))) + "</li>" for p in series.values())
    lot_words = {"fifo": N_("first in, first out (FIFO): each use takes the oldest coins still held"),
                 "specific": N_("specific identification: each use takes the very outputs its transaction spends")}
    method = _("Each amount is valued at the close of the UTC day of its block's timestamp (day convention: UTC "
               "close), coins × close, rounded to the cent per transaction. A day without a price is reported as "
               "missing, never interpolated; a currency rate published on working days only (ECB) is taken from the "
               "last fixing on or before the day, and the figure says so. Price series used:")
    gains = _("Gains and losses use {methods}. Sources − uses + realised gain = closing balance at cost, exactly, in "
              "coins and in cents.").format(methods="; ".join(_(lot_words[m]) for m in sorted(lots) if m in lot_words))
    return (f"<h3>{_e(_('4.6 Fiat values and lots'))}</h3><p>{_e(method)}</p><ul>{items}</ul>"
            + (f"<p>{_e(gains)}</p>" if lots else ""))
