"""The court report's words and tables for Ethereum findings: traces per asset, records requests, Tornado leads,
and the methodology for swaps, bridges and Tornado leads with the measured error rates."""

from __future__ import annotations

from decimal import Decimal
from html import escape

from chaintrail.cases.eth_methodology import METHODS, TORNADO_PREFIX, TRACE_MODELS, chance_words
from chaintrail.cases.exchange_records import eth_records_requests
from chaintrail.cases.methodology import describe_figure, headline
from chaintrail.cases.report_prose import day, pct, plural

_END_WORDS = {"tagged": "attributed service", "deposit_address": "exchange deposit address (forwarding pattern)",
              "unspent": "still held", "bridged": "entered a bridge (not followed)", "burnt": "burnt",
              "stopped_max_hops": "hop limit reached", "stopped_mixer": "entered a mixer",
              "below_threshold": "below the threshold"}


def _e(s) -> str:
    return escape("" if s is None else str(s))


def units(amount: int | str, info: dict | None) -> str:
    """'1,234.5 USDX' from base units and the asset's decimals (base units where decimals are unknown)."""
    info = info or {}
    sym, dec = info.get("symbol"), info.get("decimals")
    n = int(amount)
    if dec is None:
        return f"{n:,} base units" + (f" of {sym}" if sym else "")
    v = Decimal(n).scaleb(-int(dec))
    text = f"{v:,.{min(int(dec), 8)}f}".rstrip("0").rstrip(".") if dec else f"{n:,}"
    return f"{text} {sym or ''}".rstrip()


def _asset_label(asset: str, info: dict) -> str:
    sym = (info.get(asset) or {}).get("symbol")
    return asset if asset == "ETH" else f"{sym or 'token'} ({asset})"


def trace_summary(f: dict) -> list[str]:
    """Paragraphs (HTML) stating what one Ethereum trace finding shows, per asset."""
    r, p = f["result"], f["params"]
    info = r.get("asset_info") or {}
    ctx = r.get("chain_context") or {}
    first, last = ctx.get("first_block") or {}, ctx.get("last_block") or {}
    src = r["source"]
    where = {"address": f"account <span class=mono>{_e(src.get('address'))}</span>",
             "transaction": f"transaction <span class=mono>{_e(src.get('tx_hash'))}</span>",
             "entity": f"the accounts of entity {_e(src.get('cluster'))}"}.get(src.get("kind"), "the selected sources")
    out = [f"Funds from {where} were traced forward on the Ethereum blockchain through "
           f"{plural(len(r.get('steps', [])), 'transaction')} between {day(first.get('time'))} and "
           f"{day(last.get('time'))} (blocks {first.get('height', '?')} to {last.get('height', '?')}), with the "
           f"{_e(p['model'])} method described in Section 4.5, up to {p['max_hops']} hops, each asset on its own."]
    for asset, t in r["totals"].items():
        traced = int(t["traced"])
        if not traced:
            continue
        bits = [f"<b>{units(t['to_endpoints'], info.get(asset))} ({pct(int(t['to_endpoints']), traced)})</b> "
                "reached attributed services or exchange deposit addresses"]
        if int(t["unspent"]):
            bits.append(f"{units(t['unspent'], info.get(asset))} ({pct(int(t['unspent']), traced)}) is still held")
        if int(t["converted"]):
            bits.append(f"{units(t['converted'], info.get(asset))} ({pct(int(t['converted']), traced)}) was "
                        "converted into other assets by swaps or wrapping")
        if int(t["stopped"]) + int(t["below_threshold"]):
            bits.append(f"{units(int(t['stopped']) + int(t['below_threshold']), info.get(asset))} was not followed "
                        "further (limits, mixers or bridges)")
        if int(t["fees"]):
            bits.append(f"{units(t['fees'], info.get(asset))} paid network fees (gas)")
        came = f" ({units(t['converted_in'], info.get(asset))} of it by conversion)" if int(t["converted_in"]) else ""
        out.append(f"Of {units(traced, info.get(asset))} of {_e(_asset_label(asset, info))} traced{came}: "
                   + "; ".join(bits) + ".")
    convs = sum(len(s.get("conversions", [])) for s in r.get("steps", []))
    if convs:
        out.append(f"The funds changed asset in {plural(convs, 'conversion')} (swaps and WETH wrapping), each "
                   "followed at the rate the swap executed (Section 4.5).")
    if any(e["kind"] == "bridged" for e in r["endpoints"]):
        out.append("Part of the funds entered a bridge to another chain; the trace stops there and names the "
                   "lock transaction, which the bridge's records or the other chain's data can take further.")
    reqs = eth_records_requests([f])
    if reqs:
        out.append("Legal process can reach " + "; ".join(
            f"<b>{_e(q['service'])}</b> ({', '.join(units(a['amount'], a) for a in q['assets'])} into "
            f"{plural(len(q['deposit_addresses']), 'deposit')})" for q in reqs) + ": Section 3 lists the assets, "
            "token contracts and deposit addresses to name in each request.")
    return out


def figures_table(f: dict) -> str:
    r = f["result"]
    info = r.get("asset_info") or {}
    rows = []
    for asset, t in r["totals"].items():
        rows.append(f"<tr><td>{_e(_asset_label(asset, info))}</td>" + "".join(
            f"<td class=n>{units(t[k], info.get(asset))}</td>" for k in ("traced", "to_endpoints", "unspent",
                                                                          "converted", "fees")) + "</tr>")
    return ("<table class=data><tr><th>Asset</th><th class=n>Traced</th><th class=n>To services</th>"
            "<th class=n>Still held</th><th class=n>Converted</th><th class=n>Gas</th></tr>" + "".join(rows)
            + "</table>")


def endpoints(f: dict, max_rows: int = 40) -> str:
    r = f["result"]
    info = r.get("asset_info") or {}
    rows = "".join(f"<tr><td class=n>{i}</td><td class=mono>{_e(e['address'] or '—')}</td>"
                   f"<td>{_e(e.get('service') or ', '.join(x.split(':', 1)[-1] for x in e['tags']) or '—')}</td>"
                   f"<td>{_e(_END_WORDS.get(e['kind'], e['kind']))}</td><td>{_e(_asset_label(e['asset'], info))}</td>"
                   f"<td class=n>{units(e['amount'], info.get(e['asset']))}</td><td class=n>{_e(e['hops'])}</td></tr>"
                   for i, e in enumerate(r["endpoints"][:max_rows], 1))
    more = len(r["endpoints"]) - max_rows
    tail = f"<tr><td colspan=7 class=small>… and {more} more (in the finding data)</td></tr>" if more > 0 else ""
    return (f"<h3>{_e(f['title'])}</h3><table class=data><tr><th class=n>#</th><th>Account</th><th>Attribution</th>"
            f"<th>Status</th><th>Asset</th><th class=n>Amount</th><th class=n>Hops</th></tr>{rows}{tail}</table>"
            + records_requests_html([f]))


def records_requests_html(findings: list[dict]) -> str:
    """Per service: the assets and token contracts, and the deposit addresses, to name in the records request."""
    reqs = eth_records_requests(findings)
    if not reqs:
        return ""
    parts = ["<h3>Records requests per service</h3>"]
    for q in reqs:
        assets = ", ".join(units(a["amount"], a) + ("" if a["asset"] == "ETH" else f" (token {a['asset']})")
                           for a in q["assets"])
        toks = "; ".join(f"{c['symbol'] or 'token'} at <span class=mono>{_e(c['address'])}</span>"
                         for c in q["token_contracts"]) or "none (ETH only)"
        deps = "".join(f"<tr><td class=mono>{_e(d['address'])}</td><td>{_e(d['asset'])}</td>"
                       f"<td class=n>{_e(d['amount'])}</td><td>{_e(_END_WORDS.get(d['kind'], d['kind']))}</td>"
                       f"<td class=mono>{_e(', '.join(d['txs'][:3]))}</td></tr>" for d in q["deposit_addresses"])
        parts.append(f"<p><b>{_e(q['service'])}</b>: assets {_e(assets)}; token contracts {toks}.</p>"
                     "<table class=data><tr><th>Deposit address</th><th>Asset</th><th class=n>Amount (base units)"
                     f"</th><th>Recognised as</th><th>Paid in</th></tr>{deps}</table>")
    return "".join(parts)


def leads_summary(f: dict) -> list[str]:
    r = f["result"]
    rows = r["leads"]
    subj = r["subject"].get("deposit") or r["subject"].get("address")
    if not rows:
        return [f"No linking heuristic proposed a withdrawal for <span class=mono>{_e(subj)}</span>."]
    out = [f"{plural(len(rows), 'lead')} link <span class=mono>{_e(subj)}</span> to Tornado Cash withdrawals. "
           f"{_e(r['note'])}; each is listed with its heuristic's measured precision and chance-match rate in "
           "Section 4.5."]
    for h in dict.fromkeys(x["heuristic"] for x in rows):
        n = sum(1 for x in rows if x["heuristic"] == h)
        entry = (f.get("error_rates") or {}).get(TORNADO_PREFIX + h) or {}
        top = headline(entry)
        rate = describe_figure(top[1]) if top else "not measured"
        out.append(f"{_e(h)}: {plural(n, 'lead')}; measured {rate}; {chance_words(entry) or 'chance-match rate not measured'}.")
    return out


def _share(v: float | None) -> str:
    return "not measured" if v is None else f"{100 * v:.1f}%"


def leads_table(f: dict) -> str:
    rows = "".join(f"<tr><td class=mono>{_e(x['deposit_tx'])}</td><td class=mono>{_e(x['withdrawal_tx'])}</td>"
                   f"<td>{_e(x['heuristic'])}</td><td class=n>{x['score'] if x['score'] is not None else '—'}</td>"
                   f"<td class=n>{_share(x['precision'])}</td><td class=n>{_share(x['chance_match_rate'])}</td>"
                   f"<td>{_e(x['evidence'])}</td></tr>" for x in f["result"]["leads"][:60])
    return (f"<h3>{_e(f['title'])}</h3><p class=warn>{_e(f['result']['note'])}.</p><table class=data><tr>"
            "<th>Deposit</th><th>Withdrawal</th><th>Heuristic</th><th class=n>Score</th><th class=n>Precision</th>"
            f"<th class=n>Chance-match rate</th><th>Evidence</th></tr>{rows}</table>")


def methodology(findings: list[dict]) -> str:
    """Section 4.5: Ethereum tracing, swaps, wraps, bridges, deposit addresses and Tornado leads, with rates."""
    eth = [f for f in findings if f["kind"] in ("eth_trace", "eth_leads")]
    if not eth:
        return ""
    out = ["<h3>4.5 Ethereum: accounts, swaps, bridges and Tornado Cash</h3>",
           "<p>Ethereum amounts were read from the agency's node: every movement of value (ETH in transactions and "
           "internal calls, token transfers, NFT items, WETH wrapping, gas) is one row with its block, transaction "
           "and exact integer amount in the asset's base units; each block read is identified by its hash "
           "(Section 6).</p>"]
    for f in eth:
        if f["kind"] == "eth_trace":
            p = f["params"]
            out.append(f"<p><b>{_e(f['title'])}.</b> {_e(TRACE_MODELS.get(p['model'], p['model']))} Parameters: "
                       f"asset {_e(p['asset'])}; at most {p['max_hops']} hops; amounts below {int(p['min_amount']):,} "
                       f"base units stop; tracing stops at accounts tagged {_e(', '.join(p['stop_categories']) or '(none)')} "
                       f"and at recognised exchange deposit addresses; mixers: {_e(p['mixer_policy'])}. Every base "
                       "unit is accounted for per asset: traced = to services + still held + gas + not followed + "
                       "converted.</p>")
    for key in ("swap", "wrap", "bridge", "deposit", "tornado"):
        out.append(f"<p>{_e(METHODS[key])}</p>")
    rates = {k: v for f in eth for k, v in (f.get("error_rates") or {}).items() if k.startswith(TORNADO_PREFIX)}
    if rates:
        rows = "".join(f"<tr><td>{_e(k[len(TORNADO_PREFIX):])}</td><td>{_e(describe_figure(headline(v)[1]) if headline(v) else 'not measured')}</td>"
                       f"<td>{_e(chance_words(v) or 'not measured')}</td></tr>" for k, v in sorted(rates.items()))
        out.append("<table class=data><tr><th>Tornado heuristic</th><th>Measured precision and recall (most credible "
                   f"source)</th><th>Chance-match rate</th></tr>{rows}</table><p class=small>Measured on generated "
                   "chains only (bench/eth_tornado_eval.py, docs/eth-heuristics.md): upper bounds, not measures of "
                   "real behaviour.</p>")
    return "".join(out)
