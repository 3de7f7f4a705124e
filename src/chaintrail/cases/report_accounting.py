"""The court report's forensic accounting: schedules per subject, a balance chart, fiat in the summary.

Reads only what findings hold: an ``account`` finding's schedules (analysis.accounting) and the ``fiat`` a
trace finding carries for its endpoints (store.prices). Every fiat figure names the day it was valued on; the
methodology names each price series (source, licence, file and its SHA-256), the day convention and the lot
method.
"""

from __future__ import annotations

from html import escape

from chaintrail.cases.report_figure import btc


def _e(s) -> str:
    return escape("" if s is None else str(s))


def money(cents: int | None, currency: str) -> str:
    return "n/a (no price)" if cents is None else f"{cents / 100:,.2f} {currency}"


def usd(value: float | None) -> str:
    return "n/a (no price)" if value is None else f"{value:,.2f} USD"


def account_summary(f: dict) -> list[str]:
    """Sentences for the prosecutor."""
    r = f["result"]
    t, cur, s = r["totals"], r["currency"], r["subject"]
    who = f"the entity {s['id']} ({s['addresses']} addresses)" if s["kind"] == "entity" else f"the address {s['id']}"
    out = [f"From {r['period']['from']} to {r['period']['to']}, {_e(who)} received {btc(t['sources_sat'])} BTC worth "
           f"<b>{money(t['sources_cents'], cur)}</b> on the days received, and paid out {btc(t['uses_sat'])} BTC "
           f"(fees included) worth <b>{money(t['uses_cents'], cur)}</b> on the days paid. It held "
           f"{btc(t['closing_sat'])} BTC at the end of the period"
           + (f", worth {money(t['closing_market_cents'], cur)} at the close of {t['closing_day']}." if
              t.get("closing_market_cents") is not None else ".")]
    ins = [x for x in r["flows"] if x["dir"] == "in"]
    if ins:
        out.append("Receipts, each valued at the UTC close of its day: " + "; ".join(
            f"{btc(x['sat'])} BTC on {x['day']} = {money(x['fiat_cents'], cur)}" for x in ins[:12])
            + (f"; and {len(ins) - 12} more (Section 3A)." if len(ins) > 12 else "."))
    if r.get("missing_prices"):
        out.append(f"No price exists for {', '.join(r['missing_prices'])}: movements on those days carry no fiat "
                   "value and are left out of the fiat totals (never estimated).")
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
        return ["Some deposits at attributed services fall on days without a price; their fiat value is not stated "
                "(Section 3A)."]
    total = sum(e["usd"] for e in served)
    return [f"Valued at the UTC close of the day each deposit arrived, the funds reaching attributed services were "
            f"worth <b>{usd(total)}</b> (Section 3A lists each cash-out with its day and price)."]


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
                     _e(", ".join(f"{p:,.2f}" for p in x.get("prices_usd") or [])), usd(x.get("usd"))])
    return (f"<h3>{_e(f['title'])}: endpoints valued on the day</h3>"
            + _table(["Address", "Attribution", "BTC", "Day (UTC)", "BTC close (USD)", "Value (USD)"], rows[:60],
                     {2, 4, 5}))


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
    pad = 40
    vals = [p["balance_sat"] for p in points]
    t0, t1 = points[0]["time"], points[-1]["time"]
    top = max(max(vals), 1)
    span = max(t1 - t0, 1)

    def x(t):
        return pad + (width - 2 * pad) * (t - t0) / span

    def y(v):
        return height - pad / 2 - (height - pad) * v / top

    path, prev = [], None
    for p in points:
        px, py = x(p["time"]), y(p["balance_sat"])
        path.append(f"M{px:.1f},{py:.1f}" if prev is None else f"H{px:.1f}V{py:.1f}")
        prev = p
    return (f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' class=balance>"
            f"<line x1='{pad}' y1='{y(0):.1f}' x2='{width - pad}' y2='{y(0):.1f}' stroke='#999'/>"
            f"<path d='{' '.join(path)}' fill='none' stroke='#1f4e79' stroke-width='2'/>"
            f"<text x='2' y='{y(top) + 4:.1f}' font-size='10'>{btc(top)}</text>"
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
    head = ["Counterparty category", "Counterparty", "Txs", "BTC", cur]
    bal = [["Opening balance (at cost)", btc(t["opening_sat"]), money(t["opening_cost_cents"], cur)],
           ["+ Sources of funds", btc(t["sources_sat"]), money(t["sources_cents"], cur)],
           ["− Uses of funds (incl. fees)", btc(t["uses_sat"]), money(t["uses_cents"], cur)],
           ["+ Realised gain (loss) on uses", "", money(t["realised_gain_cents"], cur)],
           ["= Closing balance (at cost)", btc(t["closing_sat"]), money(t["closing_cost_cents"], cur)],
           [f"Closing balance at the close of {t['closing_day']}", btc(t["closing_sat"]),
            money(t["closing_market_cents"], cur)]]
    months = [[m["month"], btc(m["receipts_sat"]), money(m["receipts_cents"], cur), btc(m["disbursements_sat"]),
               money(m["disbursements_cents"], cur), str(m["txs"])] for m in r["monthly"]]
    moves = [[_e(x["day"]), f"<span class=mono>{_e(x['txid'][:16])}…</span>", "received" if x["dir"] == "in" else "paid",
              _e(x["name"]), btc(x["sat"]), usd((x.get("price") or {}).get("price_usd")).replace(" USD", ""),
              money(x["fiat_cents"], cur)] for x in r["flows"][:60]]
    gains = [[_e(d["day"]), f"<span class=mono>{_e(d['txid'][:16])}…</span>", btc(d["sat"]),
              money(d["fiat_cents"], cur), money(d["cost_cents"], cur), money(d["gain_cents"], cur),
              _e(", ".join(d.get("lots_from") or []))] for d in r["disposals"][:60]]
    s = r["subject"]
    return (f"<h3>{_e(f['title'])}</h3><p>Subject: {_e(s['kind'])} <span class=mono>{_e(s['id'])}</span> "
            f"({s['addresses']} addresses); period {r['period']['from']} to {r['period']['to']} (UTC days); "
            f"values in {cur} at the UTC daily close; lots {r['lot_method'].upper() if r['lot_method'] == 'fifo' else 'by specific identification'}."
            f"</p><h4>Sources of funds</h4>{_table(head, grp, {2, 3, 4})}"
            f"<h4>Uses of funds</h4>{_table(head, uses, {2, 3, 4})}"
            f"<h4>Balance reconciliation</h4>{_table(['', 'BTC', cur], bal, {1, 2})}"
            f"<div class=figure>{balance_svg(r['balance'])}</div><p class=caption>Figure: balance (BTC) after each "
            f"transaction of the period.</p>"
            f"<h4>Receipts and disbursements by month</h4>"
            f"{_table(['Month', 'Receipts BTC', 'Receipts ' + cur, 'Disbursements BTC', 'Disbursements ' + cur, 'Txs'], months, {1, 2, 3, 4, 5})}"
            f"<h4>Movements</h4>{_table(['Day', 'Transaction', '', 'Counterparty', 'BTC', 'BTC close (USD)', cur], moves, {4, 5, 6})}"
            f"<h4>Gain and loss on uses ({_e(r['lot_method'])})</h4>"
            f"{_table(['Day', 'Transaction', 'BTC', 'Proceeds', 'Cost', 'Gain (loss)', 'Lots acquired'], gains, {2, 3, 4, 5})}")


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
    items = "".join(f"<li>{_e(p['asset'])}/{_e(p['currency'])}: {_e(p.get('source'))}; licence: {_e(p.get('licence'))}; "
                    f"file {_e(p.get('file'))} (SHA-256 <span class=mono>{_e(p.get('sha256'))}</span>), "
                    f"{_e(p.get('first_day'))} to {_e(p.get('last_day'))}, {_e(p.get('missing_days'))} days missing"
                    f"</li>" for p in series.values())
    lot_words = {"fifo": "first in, first out (FIFO): each use takes the oldest coins still held",
                 "specific": "specific identification: each use takes the very outputs its transaction spends"}
    return ("<h3>4.6 Fiat values and lots</h3><p>Each amount is valued at the close of the UTC day of its block's "
            "timestamp (day convention: UTC close), coins × close, rounded to the cent per transaction. A day "
            "without a price is reported as missing, never interpolated; a currency rate published on working days "
            "only (ECB) is taken from the last fixing on or before the day, and the figure says so. Price series "
            f"used:</p><ul>{items}</ul>"
            + (f"<p>Gains and losses use {'; '.join(lot_words[m] for m in sorted(lots))}. Sources − uses + realised "
               "gain = closing balance at cost, exactly, in coins and in cents.</p>" if lots else ""))
