"""The court report's words and tables for Ethereum findings: traces per asset, records requests, Tornado leads,
and the methodology for swaps, bridges and Tornado leads with the measured error rates."""

from __future__ import annotations

from decimal import Decimal
from html import escape

from chaintrail.cases.eth_methodology import METHODS, MIXER_POLICIES, TORNADO_PREFIX, TRACE_MODELS, chance_words
from chaintrail.cases.exchange_records import eth_records_requests
from chaintrail.cases.methodology import describe_figure, headline
from chaintrail.cases.report_prose import day, finding_title, pct
from chaintrail.i18n import N_, _, fmt_number, fmt_percent, ngettext
from chaintrail.i18n.formats import localise_number

_END_WORDS = {"tagged": N_("attributed service"), "deposit_address": N_("exchange deposit address (forwarding pattern)"),
              "unspent": N_("still held"), "bridged": N_("entered a bridge (not followed)"), "burnt": N_("burnt"),
              "stopped_max_hops": N_("hop limit reached"), "stopped_mixer": N_("entered a mixer"),
              "below_threshold": N_("below the threshold")}

# Texts translated inside f-strings, where Babel does not see the _() call (docs/translating.md)
IN_FSTRINGS = (N_("4.5 Ethereum: accounts, swaps, bridges and Tornado Cash"), N_("Account"), N_("Amount"),
               N_("Amount (base units)"), N_("Asset"), N_("Attribution"), N_("Bridge crossings"), N_("Chain"),
               N_("Chance-match rate"), N_("Deposit address"),
               N_("Endpoints on chain {chain} (across the bridge)"), N_("Found on chain"), N_("Hops"),
               N_("In the records"), N_("Legs"), N_("Measured precision and recall (most credible source)"),
               N_("Nonce"), N_("Paid in"), N_("Receiving event"), N_("Recognised as"),
               N_("Records requests per service"), N_("Result of the lookup"), N_("Sending event"), N_("Status"),
               N_("Tornado Cash deposits the trace entered"), N_("Tornado heuristic"), N_("Traced / amount"),
               N_("… and {n} more (in the finding data)"))


def _n(singular: str, plural_: str, n: int) -> str:
    """A count in words, in the report's language: ``_n("{n} deposit", "{n} deposits", 3)``."""
    return ngettext(singular, plural_, n).format(n=fmt_number(n))


def _e(s) -> str:
    return escape("" if s is None else str(s))


def units(amount: int | str, info: dict | None) -> str:
    """'1,234.5 USDX' from base units and the asset's decimals (base units where decimals are unknown)."""
    info = info or {}
    sym, dec = info.get("symbol"), info.get("decimals")
    n = int(amount)
    if dec is None:
        return (_("{n} base units of {symbol}").format(n=fmt_number(n), symbol=sym) if sym else
                _("{n} base units").format(n=fmt_number(n)))
    v = Decimal(n).scaleb(-int(dec))
    text = f"{v:,.{min(int(dec), 8)}f}".rstrip("0").rstrip(".") if dec else f"{n:,}"
    return f"{localise_number(text)} {sym or ''}".rstrip()


def _asset_label(asset: str, info: dict) -> str:
    sym = (info.get(asset) or {}).get("symbol")
    return asset if asset == "ETH" else f"{sym or _('token')} ({asset})"


def trace_summary(f: dict) -> list[str]:
    """Paragraphs (HTML) stating what one Ethereum trace finding shows, per asset."""
    r, p = f["result"], f["params"]
    info = r.get("asset_info") or {}
    ctx = r.get("chain_context") or {}
    first, last = ctx.get("first_block") or {}, ctx.get("last_block") or {}
    src = r["source"]
    kind = src.get("kind")
    where = (_("account {address}").format(address=f"<span class=mono>{_e(src.get('address'))}</span>")
             if kind == "address" else
             _("transaction {tx}").format(tx=f"<span class=mono>{_e(src.get('tx_hash'))}</span>")
             if kind == "transaction" else
             _("the accounts of entity {id}").format(id=_e(src.get("cluster"))) if kind == "entity" else
             _("the selected sources"))
    n_steps = len(r.get("steps", []))
    out = [_("Funds from {where} were traced forward on the Ethereum blockchain through {txs} between {start} and "
             "{end} (blocks {first} to {last}), with the {model} method described in Section 4.5, up to {hops} hops, "
             "each asset on its own.").format(
        where=where, txs=_n("{n} transaction", "{n} transactions", n_steps), start=day(first.get("time")),
        end=day(last.get("time")), first=first.get("height", "?"), last=last.get("height", "?"), model=_e(p["model"]),
        hops=p["max_hops"])]
    for asset, t in r["totals"].items():
        traced = int(t["traced"])
        if not traced:
            continue
        u = info.get(asset)
        bits = [_("{amount} reached attributed services or exchange deposit addresses").format(
            amount=f"<b>{units(t['to_endpoints'], u)} ({pct(int(t['to_endpoints']), traced)})</b>")]
        if int(t["unspent"]):
            bits.append(_("{amount} ({share}) is still held").format(amount=units(t["unspent"], u),
                                                                     share=pct(int(t["unspent"]), traced)))
        if int(t["converted"]):
            bits.append(_("{amount} ({share}) was converted into other assets by swaps or wrapping").format(
                amount=units(t["converted"], u), share=pct(int(t["converted"]), traced)))
        if int(t["stopped"]) + int(t["below_threshold"]):
            bits.append(_("{amount} was not followed further (limits, mixers or bridges)").format(
                amount=units(int(t["stopped"]) + int(t["below_threshold"]), u)))
        if int(t["fees"]):
            bits.append(_("{amount} paid network fees (gas)").format(amount=units(t["fees"], u)))
        head = (_("Of {amount} of {asset} traced ({converted} of it by conversion):") if int(t["converted_in"]) else
                _("Of {amount} of {asset} traced:")).format(
            amount=units(traced, u), asset=_e(_asset_label(asset, info)), converted=units(t["converted_in"], u))
        out.append(head + " " + "; ".join(bits) + ".")
    convs = sum(len(s.get("conversions", [])) for s in r.get("steps", []))
    if convs:
        out.append(_("The funds changed asset in {conversions} (swaps and WETH wrapping), each followed at the rate "
                     "the swap executed (Section 4.5).").format(
            conversions=_n("{n} conversion", "{n} conversions", convs)))
    out += _demix_words(f) + _bridge_words(r) + _far_words(f)
    if any(e["kind"] == "bridged" for e in r["endpoints"]) and not r.get("bridges"):
        out.append(_("Part of the funds entered a bridge to another chain; the trace stops there and names the "
                     "lock transaction, which the bridge's records or the other chain's data can take further."))
    reqs = eth_records_requests([f])
    if reqs:
        out.append(_("Legal process can reach {services}: Section 3 lists the assets, token contracts and deposit "
                     "addresses to name in each request.").format(services="; ".join(
            _("{service} ({amounts} into {deposits})").format(
                service=f"<b>{_e(q['service'])}</b>", amounts=", ".join(units(a["amount"], a) for a in q["assets"]),
                deposits=_n("{n} deposit", "{n} deposits", len(q["deposit_addresses"]))) for q in reqs)))
    return out


def _rate(entry: dict) -> str:
    top = headline(entry)
    return describe_figure(top[1]) if top else _("precision not measured")


def _demix_words(f: dict) -> list[str]:
    """What the trace did at Tornado pools: per tainted deposit, the withdrawal a lead pairs with it (a lead, not
    proof), with the heuristic's measured precision and chance-match rate."""
    demix = f["result"].get("demix") or []
    if not demix:
        return []
    info = f["result"].get("asset_info") or {}
    paired = [d for d in demix if d.get("lead")]
    traced_in = ", ".join(units(sum(int(d["tainted_in"]) for d in demix if d["asset"] == a), info.get(a))
                          for a in dict.fromkeys(d["asset"] for d in demix))
    words = [_("Traced funds entered Tornado Cash in {deposits} ({amounts} traced in). A Tornado pool breaks the "
               "on-chain link between a deposit and its withdrawal; ").format(
        deposits=_n("{n} deposit", "{n} deposits", len(demix)), amounts=traced_in)
             + (_("for {deposits} a linking heuristic proposes the withdrawal (a lead, not proof that it is the "
                  "depositor's), listed with the heuristic's measured precision and chance-match rate in Section 3 "
                  "and Section 4.5.").format(deposits=_n("{n} deposit", "{n} deposits", len(paired))) if paired else
                _("no linking heuristic pairs any of them with a withdrawal, so the trail does not continue past the "
                  "pools on a lead."))]
    for h in dict.fromkeys(d["lead"]["heuristic"] for d in paired):
        entry = (f.get("error_rates") or {}).get(TORNADO_PREFIX + h) or {}
        n = sum(1 for d in paired if d["lead"]["heuristic"] == h)
        words.append(_("{heuristic}: {deposits} paired; measured {rate}; {chance}.").format(
            heuristic=_e(h), deposits=_n("{n} deposit", "{n} deposits", n), rate=_rate(entry),
            chance=chance_words(entry) or _("chance-match rate not measured")))
    return words


def _bridge_words(r: dict) -> list[str]:
    bridges = r.get("bridges") or []
    if not bridges:
        return []
    info = r.get("asset_info") or {}
    followed = [b for b in bridges if b.get("followed")]
    legs = "; ".join(_("{amount} in a {event} event, nonce {nonce}, to chain {chain}").format(
        amount=units(b["tainted"], info.get(b["asset"])), event=_e(b["event"]), nonce=_e(b["nonce"]),
        chain=_e(b["dst_chain_id"])) for b in bridges[:6])
    more = _("; and {n} more").format(n=fmt_number(len(bridges) - 6)) if len(bridges) > 6 else ""
    return [_("Traced funds crossed a bridge in {txs} ({legs}).").format(
        txs=_n("{n} transaction", "{n} transactions", len(bridges)), legs=legs + more) + " "
            + (_("{crossings} matched to the receiving event on the other chain by the bridge's nonce and followed "
                 "there; ").format(crossings=_n("{n} crossing", "{n} crossings", len(followed))) if followed else "")
            + (_("the others stop at the bridge, with the sending event as evidence; ")
               if len(followed) < len(bridges) else "") + _("both events of each crossing are listed in Section 3.")]


def _far_words(f: dict) -> list[str]:
    """What the trace found on the bridge's far chain, per asset, and which store of it was examined."""
    far = f["result"].get("other_chain")
    if not far:
        return []
    info = far.get("asset_info") or {}
    ctx = far.get("chain_context") or {}
    first, last = ctx.get("first_block") or {}, ctx.get("last_block") or {}
    who = (f.get("params") or {}).get("other_store") or {}
    out = [_("On chain {chain}, the bridge's far chain, the trace continued from each matched receiving event through "
             "{txs} (blocks {first} to {last}), on the agency's copy of that chain (tip block {tip}, "
             "<span class=mono>{tip_hash}</span>; content hash <span class=mono>{store_hash}</span>).").format(
        chain=_e(far.get("chain_id")), txs=_n("{n} transaction", "{n} transactions", len(far.get("steps", []))),
        first=first.get("height", "?"), last=last.get("height", "?"), tip=_e(who.get("tip_block")),
        tip_hash=_e(who.get("tip_hash")), store_hash=_e(who.get("store_hash")))]
    for asset, t in far.get("totals", {}).items():
        traced = int(t["traced"])
        if not traced:
            continue
        out.append(_("On chain {chain}, {traced} of {asset} arrived by the bridge: {ends} ({share}) reached attributed "
                     "services or exchange deposit addresses; {held} is still held.").format(
            chain=_e(far.get("chain_id")), traced=units(traced, info.get(asset)), asset=_e(_asset_label(asset, info)),
            ends=units(t["to_endpoints"], info.get(asset)), share=pct(int(t["to_endpoints"]), traced),
            held=units(t["unspent"], info.get(asset))))
    return out


def far_endpoints(f: dict, max_rows: int = 40) -> str:
    """The endpoints of a trace's continuation on the bridge's far chain, each with its chain."""
    far = f["result"].get("other_chain")
    if not far:
        return ""
    info = far.get("asset_info") or {}
    eps = far["endpoints"]
    rows = "".join(f"<tr><td class=n>{i}</td><td class=n>{_e(far.get('chain_id'))}</td>"
                   f"<td class=mono>{_e(e['address'] or '—')}</td>"
                   f"<td>{_e(e.get('service') or ', '.join(x.split(':', 1)[-1] for x in e['tags']) or '—')}</td>"
                   f"<td>{_e(_end_words(e))}</td><td>{_e(_asset_label(e['asset'], info))}</td>"
                   f"<td class=n>{units(e['amount'], info.get(e['asset']))}</td><td class=n>{_e(e['hops'])}</td></tr>"
                   for i, e in enumerate(eps[:max_rows], 1))
    return (f"<h3>{_e(_('Endpoints on chain {chain} (across the bridge)').format(chain=far.get('chain_id')))}</h3>"
            f"<table class=data><tr><th class=n>#</th><th class=n>{_e(_('Chain'))}</th>{_endpoint_heads()}</tr>"
            f"{rows}</table>")


def _endpoint_heads() -> str:
    return (f"<th>{_e(_('Account'))}</th><th>{_e(_('Attribution'))}</th><th>{_e(_('Status'))}</th>"
            f"<th>{_e(_('Asset'))}</th><th class=n>{_e(_('Amount'))}</th><th class=n>{_e(_('Hops'))}</th>")


def _end_words(e: dict) -> str:
    if e["kind"] == "bridged" and "(followed on chain" in (e.get("evidence") or ""):
        return _("crossed the bridge (followed on chain {chain})").format(
            chain=e["evidence"].rsplit("followed on chain ", 1)[1].rstrip(")"))
    return _(_END_WORDS[e["kind"]]) if e["kind"] in _END_WORDS else e["kind"]


def _lead_of(d: dict) -> dict:
    return d.get("lead") or {}


def demix_table(f: dict) -> str:
    """Per tainted Tornado deposit: the pool, the withdrawal a lead pairs with it, the heuristic, its measured
    precision and chance-match rate, and the true-flow estimate."""
    demix = f["result"].get("demix") or []
    if not demix:
        return ""
    info = f["result"].get("asset_info") or {}
    rows = "".join(
        f"<tr><td class=mono>{_e(d['deposit_tx'])}</td><td class=mono>{_e(d['pool'])}</td>"
        f"<td class=n>{units(d['tainted_in'], info.get(d['asset']))}</td>"
        f"<td class=mono>{_e(d['withdrawal_tx'] or '—')}</td><td>{_e(_lead_of(d).get('heuristic') or _('no lead'))}</td>"
        f"<td class=n>{_share(_lead_of(d).get('precision'))}</td>"
        f"<td class=n>{_share(_lead_of(d).get('chance_match_rate'))}</td>"
        f"<td class=n>{units(d['true_flow_estimate'], info.get(d['asset'])) if d.get('lead') else '—'}</td></tr>"
        for d in demix[:60])
    heads = "".join(f"<th{' class=n' if i in (2, 5, 6, 7) else ''}>{_e(_(h))}</th>" for i, h in enumerate(
        (N_("Deposit"), N_("Pool"), N_("Traced in"), N_("Withdrawal (lead)"), N_("Heuristic"), N_("Precision"),
         N_("Chance-match rate"), N_("True-flow estimate"))))
    warn = _("Each withdrawal named here is a lead, not proof that it is the depositor's.")
    return (f"<h3>{_e(_('Tornado Cash deposits the trace entered'))}</h3><p class=warn>{_e(warn)}</p>"
            f"<table class=data><tr>{heads}</tr>{rows}</table>")


def _event(e: dict) -> str:
    return (_("{event} on chain {chain}").format(event=_e(e["event"]), chain=_e(e["chain_id"]))
            + f"<br><span class=mono>{_e(e['tx_hash'])}</span><br>"
            + _("block {number} {hash}, log {index}").format(
                number=_e(e["block_number"]), hash=f"<span class=mono>{_e(e['block_hash'])}</span>",
                index=_e(e["log_index"])))


def bridges_table(f: dict) -> str:
    """Per bridge crossing: both events (chain, transaction, block, log index) and the nonce that pairs them."""
    bridges = f["result"].get("bridges") or []
    if not bridges:
        return ""
    info = f["result"].get("asset_info") or {}
    rows = "".join(
        f"<tr><td>{_event(b)}</td><td class=n>{_e(b['nonce'])}</td><td class=n>"
        + _("{traced} of {amount}").format(traced=units(b["tainted"], info.get(b["asset"])),
                                          amount=units(b["amount"], info.get(b["asset"]))) + "</td><td>"
        + (_event(b["to"]) if b.get("to") else _("not followed: no matching event for chain {chain} in the examined "
                                                 "data").format(chain=_e(b["dst_chain_id"]))) + "</td></tr>"
        for b in bridges)
    return (f"<h3>{_e(_('Bridge crossings'))}</h3><table class=data><tr><th>{_e(_('Sending event'))}</th>"
            f"<th class=n>{_e(_('Nonce'))}</th><th class=n>{_e(_('Traced / amount'))}</th>"
            f"<th>{_e(_('Receiving event'))}</th></tr>{rows}</table>")


def figures_table(f: dict) -> str:
    r = f["result"]
    info = r.get("asset_info") or {}
    rows = []
    for asset, t in r["totals"].items():
        rows.append(f"<tr><td>{_e(_asset_label(asset, info))}</td>" + "".join(
            f"<td class=n>{units(t[k], info.get(asset))}</td>" for k in ("traced", "to_endpoints", "unspent",
                                                                          "converted", "fees")) + "</tr>")
    heads = "".join(f"<th{' class=n' if i else ''}>{_e(_(h))}</th>" for i, h in enumerate(
        (N_("Asset"), N_("Traced"), N_("To services"), N_("Still held"), N_("Converted"), N_("Gas"))))
    return f"<table class=data><tr>{heads}</tr>" + "".join(rows) + "</table>"


def endpoints(f: dict, max_rows: int = 40) -> str:
    r = f["result"]
    info = r.get("asset_info") or {}
    rows = "".join(f"<tr><td class=n>{i}</td><td class=mono>{_e(e['address'] or '—')}</td>"
                   f"<td>{_e(e.get('service') or ', '.join(x.split(':', 1)[-1] for x in e['tags']) or '—')}</td>"
                   f"<td>{_e(_end_words(e))}</td><td>{_e(_asset_label(e['asset'], info))}</td>"
                   f"<td class=n>{units(e['amount'], info.get(e['asset']))}</td><td class=n>{_e(e['hops'])}</td></tr>"
                   for i, e in enumerate(r["endpoints"][:max_rows], 1))
    more = len(r["endpoints"]) - max_rows
    tail = (f"<tr><td colspan=7 class=small>{_e(_('… and {n} more (in the finding data)').format(n=fmt_number(more)))}"
            "</td></tr>" if more > 0 else "")
    return (f"<h3>{_e(finding_title(f))}</h3><table class=data><tr><th class=n>#</th>{_endpoint_heads()}</tr>"
            f"{rows}{tail}</table>"
            + demix_table(f) + bridges_table(f) + far_endpoints(f) + records_requests_html([f]))


def records_requests_html(findings: list[dict]) -> str:
    """Per service: the assets and token contracts, and the deposit addresses, to name in the records request."""
    reqs = eth_records_requests(findings)
    if not reqs:
        return ""
    parts = [f"<h3>{_e(_('Records requests per service'))}</h3>"]
    chains = {q.get("chain_id") for q in reqs}
    for q in reqs:
        assets = ", ".join(units(a["amount"], a) if a["asset"] == "ETH" else
                           _("{amount} (token {contract})").format(amount=units(a["amount"], a), contract=a["asset"])
                           for a in q["assets"])
        toks = "; ".join(_("{symbol} at {address}").format(symbol=_e(c["symbol"] or _("token")),
                                                           address=f"<span class=mono>{_e(c['address'])}</span>")
                         for c in q["token_contracts"]) or _e(_("none (ETH only)"))
        deps = "".join(f"<tr><td class=mono>{_e(d['address'])}</td><td>{_e(d['asset'])}</td>"
                       f"<td class=n>{_e(d['amount'])}</td><td>{_e(_end_words(d))}</td>"
                       f"<td class=mono>{_e(', '.join(d['txs'][:3]))}</td></tr>" for d in q["deposit_addresses"])
        where = _(" on chain {chain}").format(chain=q["chain_id"]) if len(chains) > 1 and q.get("chain_id") else ""
        parts.append("<p>" + _("{service}{where}: assets {assets}; token contracts {contracts}.").format(
            service=f"<b>{_e(q['service'])}</b>", where=_e(where), assets=_e(assets), contracts=toks) + "</p>"
                     f"<table class=data><tr><th>{_e(_('Deposit address'))}</th><th>{_e(_('Asset'))}</th>"
                     f"<th class=n>{_e(_('Amount (base units)'))}</th><th>{_e(_('Recognised as'))}</th>"
                     f"<th>{_e(_('Paid in'))}</th></tr>{deps}</table>")
    return "".join(parts)


def leads_summary(f: dict) -> list[str]:
    r = f["result"]
    rows = r["leads"]
    subj = r["subject"].get("deposit") or r["subject"].get("address")
    if not rows:
        return [_("No linking heuristic proposed a withdrawal for {subject}.").format(
            subject=f"<span class=mono>{_e(subj)}</span>")]
    out = [ngettext("{n} lead links {subject} to Tornado Cash withdrawals.",
                    "{n} leads link {subject} to Tornado Cash withdrawals.", len(rows)).format(
        n=fmt_number(len(rows)), subject=f"<span class=mono>{_e(subj)}</span>") + " "
        + _("{note}; each is listed with its heuristic's measured precision and chance-match rate in Section "
            "4.5.").format(note=_e(_(r["note"])))]
    for h in dict.fromkeys(x["heuristic"] for x in rows):
        n = sum(1 for x in rows if x["heuristic"] == h)
        entry = (f.get("error_rates") or {}).get(TORNADO_PREFIX + h) or {}
        top = headline(entry)
        rate = describe_figure(top[1]) if top else _("not measured")
        out.append(_("{heuristic}: {leads}; measured {rate}; {chance}.").format(
            heuristic=_e(h), leads=_n("{n} lead", "{n} leads", n), rate=rate,
            chance=chance_words(entry) or _("chance-match rate not measured")))
    return out


def _share(v: float | None) -> str:
    return _("not measured") if v is None else fmt_percent(f"{100 * v:.1f}%")


def leads_table(f: dict) -> str:
    rows = "".join(f"<tr><td class=mono>{_e(x['deposit_tx'])}</td><td class=mono>{_e(x['withdrawal_tx'])}</td>"
                   f"<td>{_e(x['heuristic'])}</td><td class=n>{x['score'] if x['score'] is not None else '—'}</td>"
                   f"<td class=n>{_share(x['precision'])}</td><td class=n>{_share(x['chance_match_rate'])}</td>"
                   f"<td>{_e(x['evidence'])}</td></tr>" for x in f["result"]["leads"][:60])
    heads = "".join(f"<th{' class=n' if i in (3, 4, 5) else ''}>{_e(_(h))}</th>" for i, h in enumerate(
        (N_("Deposit"), N_("Withdrawal"), N_("Heuristic"), N_("Score"), N_("Precision"), N_("Chance-match rate"),
         N_("Evidence"))))
    return (f"<h3>{_e(f['title'])}</h3><p class=warn>{_e(_(f['result']['note']))}.</p><table class=data><tr>"
            f"{heads}</tr>{rows}</table>")


def methodology(findings: list[dict]) -> str:
    """Section 4.5: Ethereum tracing, swaps, wraps, bridges, deposit addresses and Tornado leads, with rates."""
    eth = [f for f in findings if f["kind"] in ("eth_trace", "eth_leads")]
    if not eth:
        return ""
    out = [f"<h3>{_e(_('4.5 Ethereum: accounts, swaps, bridges and Tornado Cash'))}</h3>",
           "<p>" + _e(_("Ethereum amounts were read from the agency's node: every movement of value (ETH in "
                        "transactions and internal calls, token transfers, NFT items, WETH wrapping, gas) is one row "
                        "with its block, transaction and exact integer amount in the asset's base units; each block "
                        "read is identified by its hash (Section 6).")) + "</p>"]
    for f in eth:
        if f["kind"] == "eth_trace":
            p = f["params"]
            model = _(TRACE_MODELS[p["model"]]) if p["model"] in TRACE_MODELS else p["model"]
            policy = _(MIXER_POLICIES[p["mixer_policy"]]) if p["mixer_policy"] in MIXER_POLICIES else ""
            out.append(f"<p><b>{_e(finding_title(f))}.</b> " + _e(model) + " " + _e(_(
                "Parameters: asset {asset}; at most {hops} hops; amounts below {min} base units stop; tracing stops "
                "at accounts tagged {stop} and at recognised exchange deposit addresses; mixers: {mixers}. Every base "
                "unit is accounted for per asset: traced = to services + still held + gas + not followed + "
                "converted.").format(asset=p["asset"], hops=p["max_hops"], min=fmt_number(int(p["min_amount"])),
                                     stop=", ".join(p["stop_categories"]) or _("(none)"), mixers=p["mixer_policy"]))
                       + " " + _e(policy) + "</p>")
    for key in ("swap", "wrap", "bridge", "deposit", "tornado"):
        out.append(f"<p>{_e(_(METHODS[key]))}</p>")
    if any(f["kind"] == "eth_trace" and f["result"].get("bridges") for f in eth):
        out.append(f"<p>{_e(_(METHODS['bridge_events']))}</p>")
    for f in eth:
        who = (f.get("params") or {}).get("other_store")
        if f["kind"] == "eth_trace" and who:
            out.append("<p>" + _e(_("{title}: the bridge's far chain {chain} was read from the agency's copy of that "
                                    "chain up to block {tip} ({tip_hash}), whose data has content hash {store_hash}; "
                                    "a rerun needs that store again and reproduces the finding hash on it.").format(
                title=finding_title(f), chain=who.get("chain_id"), tip=who.get("tip_block"), tip_hash=who.get("tip_hash"),
                store_hash=who.get("store_hash"))) + "</p>")
    if any(f["kind"] == "eth_trace" and f["result"].get("demix") for f in eth):
        out.append(f"<p>{_e(_(METHODS['demix']))}</p>")
    rates = {k: v for f in eth for k, v in (f.get("error_rates") or {}).items() if k.startswith(TORNADO_PREFIX)}
    if rates:
        rows = "".join(f"<tr><td>{_e(k[len(TORNADO_PREFIX):])}</td><td>{_e(_rate(v))}</td>"
                       f"<td>{_e(chance_words(v) or _('not measured'))}</td></tr>" for k, v in sorted(rates.items()))
        out.append(f"<table class=data><tr><th>{_e(_('Tornado heuristic'))}</th>"
                   f"<th>{_e(_('Measured precision and recall (most credible source)'))}</th>"
                   f"<th>{_e(_('Chance-match rate'))}</th></tr>{rows}</table><p class=small>"
                   + _e(_("Measured on generated chains only (bench/eth_tornado_eval.py, docs/eth-heuristics.md): "
                          "upper bounds, not measures of real behaviour.")) + "</p>")
    return "".join(out)


# -- exchange records (Ethereum): the attachment's legs in their assets, reconciled per asset --------------------
RECORD_LEG_WORDS = {"matched_to": N_("received at the account in that transaction"),
                    "matched_from": N_("sent from the account in that transaction"),
                    "amount_differs": N_("account in that transaction, amount differs"),
                    "asset_differs": N_("account in that transaction, asset differs"),
                    "address_not_in_tx": N_("account not in that transaction"),
                    "tx_not_in_store": N_("transaction not in the examined chain data")}


def is_eth_records(a: dict) -> bool:
    """An exchange-records attachment read as an Ethereum reply (``cases.eth_exchange_records``)."""
    return (a.get("meta") or {}).get("chain") == "eth"


def _records_info(a: dict, traces: list[dict]) -> dict[str, dict]:
    """Symbol and decimals per asset: the attachment's own, else a trace's."""
    info = {x["asset"]: {"symbol": x.get("symbol"), "decimals": x.get("decimals")}
            for x in (a.get("meta") or {}).get("assets", [])}
    for f in traces:
        for k, v in (f["result"].get("asset_info") or {}).items():
            if not (info.get(k) or {}).get("symbol") or (info.get(k) or {}).get("decimals") is None:
                info[k] = v
    info.setdefault("ETH", {"symbol": "ETH", "decimals": 18})
    return info


def _asset_units(amount: int | str, asset: str, info: dict) -> str:
    text = units(amount, info.get(asset))
    return text if asset == "ETH" else _("{amount} (token {contract})").format(amount=text, contract=asset)


def eth_reconcile(a: dict, traces: list[dict]) -> list[dict]:
    """Per asset, the accounts the records show receiving it that an Ethereum trace reached (services and exchange
    deposit addresses): the accounts, what the records show received there, what the trace attributes to them."""
    legs = [x for x in (a.get("meta") or {}).get("per_leg", []) if x["status"] == "matched_to"]
    ends: dict[tuple[str, str], int] = {}
    for f in traces:
        for e in f["result"]["endpoints"]:
            if e["kind"] in ("tagged", "deposit_address") and e.get("address"):
                k = (e["address"].lower(), e["asset"].lower() if e["asset"] != "ETH" else "ETH")
                ends[k] = ends.get(k, 0) + int(e["amount"])
    out = []
    for asset in dict.fromkeys(x["asset"] for x in legs):
        common = sorted({x["address"] for x in legs if x["asset"] == asset} & {k[0] for k in ends if k[1] == asset})
        if common:
            out.append({"asset": asset, "addresses": common,
                        "records": sum(int(x["amount"]) for x in legs if x["asset"] == asset and x["address"] in common),
                        "traced": sum(ends[(c, asset)] for c in common)})
    return out


def _agreement(rec: int, traced: int, asset: str, info: dict) -> str:
    if rec == traced:
        return _("agree exactly.")
    if rec > traced:
        return _("differ by {amount}, which the records show received beyond what the trace attributes: funds the "
                 "chain analysis could not follow or from other sources.").format(
            amount=_asset_units(rec - traced, asset, info))
    return _("differ by {amount}: the trace attributes more than the records show; the records may be "
             "incomplete.").format(amount=_asset_units(traced - rec, asset, info))


def records_corroboration(a: dict, traces: list[dict]) -> list[str]:
    """One paragraph (HTML) per asset where the records and an Ethereum trace name the same accounts."""
    info = _records_info(a, traces)
    return [_("For {n} account(s) the trace reached ({addresses}), the records show {records} received at the account "
              "and the trace attributes {traced} of the traced funds to them: the exchange's records and the "
              "blockchain analysis {agree}").format(
        n=len(r["addresses"]), addresses=", ".join(f"<span class=mono>{_e(x)}</span>" for x in r["addresses"]),
        records=_asset_units(r["records"], r["asset"], info), traced=_asset_units(r["traced"], r["asset"], info),
        agree=_agreement(r["records"], r["traced"], r["asset"], info)) for r in eth_reconcile(a, traces)]


def records_html(a: dict, traces: list[dict]) -> str:
    """Section 5 for an Ethereum reply: legs and totals per asset in the asset's units, the lookup of each leg in
    the value flows (received at / sent from the account), and the reconciliation per asset with the traces."""
    m = a.get("meta") or {}
    info = _records_info(a, traces)
    assets = m.get("assets", [])
    totals = "; ".join(_asset_units(x["total"], x["asset"], info) for x in assets) or "—"
    matched = "; ".join(_asset_units(x["matched"], x["asset"], info) for x in assets) or "—"
    text = "<p>" + _("The records list {legs} transaction leg(s) over {txs} transaction(s) ({first} to {last}) for "
                     "{holder} ({accounts} account address(es)), totalling {totals}. Each leg was looked up in the "
                     "Ethereum value flows: {in_store} of the transactions are in the examined blocks, and legs of "
                     "{matched} match a flow exactly (account, asset and amount), received at or sent from the "
                     "account.").format(
        legs=int(m.get("legs", 0)), txs=int(m.get("transactions", 0)), first=_e(m.get("first_date")),
        last=_e(m.get("last_date")), holder=_e(", ".join(m.get("entities", [])[:5]) or _("an unnamed account holder")),
        accounts=len(m.get("accounts", [])), totals=_e(totals), in_store=int(m.get("transactions_in_store", 0)),
        matched=_e(matched)) + "</p>"
    text += "".join(f"<p>{p}</p>" for p in records_corroboration(a, traces))
    rows = "".join(f"<tr><td>{_e(_(RECORD_LEG_WORDS.get(k, k)))}</td><td class=n>{v:,}</td></tr>"
                   for k, v in m.get("by_status", {}).items())
    per_asset = "".join(f"<tr><td>{_e(_asset_label(x['asset'], info))}</td><td class=n>{x['legs']:,}</td>"
                        f"<td class=n>{_e(units(x['total'], info.get(x['asset'])))}</td>"
                        f"<td class=n>{_e(units(x['matched'], info.get(x['asset'])))}</td></tr>" for x in assets)
    added = _("File SHA-256 {hash}, added by {user} on {day}.").format(
        hash=f"<span class=hash>{_e(a['sha256'])}</span>", user=_e(a["created_by"]), day=_e(a["created_at"][:10]))
    return (f"<h3>{_e(a['filename'])}</h3>{text}"
            f"<table class=data><tr><th>{_e(_('Asset'))}</th><th class=n>{_e(_('Legs'))}</th>"
            f"<th class=n>{_e(_('In the records'))}</th><th class=n>{_e(_('Found on chain'))}</th></tr>{per_asset}</table>"
            f"<table class=data><tr><th>{_e(_('Result of the lookup'))}</th><th class=n>{_e(_('Legs'))}</th></tr>"
            f"{rows}</table><p class=small>{added}</p>")
