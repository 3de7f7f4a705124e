"""The words of a report: what each finding shows, said plainly, with every figure and every reservation.

Written for a prosecutor who is not a blockchain specialist: amounts in BTC
(to the satoshi), shares of the traced total, dates in UTC, who holds records
that legal process can reach, and what the conclusion depends on.
"""

from __future__ import annotations

from html import escape

from chaintrail.cases.methodology import SOURCE_NAMES, headline, is_measured, lacks_real
from chaintrail.cases.report_figure import btc
from chaintrail.i18n import N_, _, fmt_date, fmt_number, fmt_percent, ngettext

_MODEL_NAME = {"haircut": N_("haircut (proportional)"), "poison": N_("poison"), "fifo": N_("first-in-first-out"),
               "lifo": N_("last-in-first-out"), "tiho": N_("taint-in-highest-out")}
_STOP_WORDS = {"stopped_max_hops": N_("the hop limit was reached"), "stopped_time": N_("the time window ended"),
               "stopped_mixer": N_("the funds entered a mixer"),
               "below_threshold": N_("the amount fell below the threshold")}
_DIRECTION = {"forward": N_("Forward"), "backward": N_("Backward")}


def day(ts: int | None) -> str:
    if ts is None:
        return _("an unknown date")
    return fmt_date(int(ts))


def pct(part: int, whole: int) -> str:
    """A share to one decimal that never rounds a remainder away: 99.99% is not 100.0%, a dust amount not 0.0%."""
    if not whole:
        return fmt_percent("0.0%")
    v = 100.0 * part / whole
    s = f"{v:.1f}"
    if s == "100.0" and part != whole:
        return fmt_percent(f"{min(v, 99.99):.2f}%")
    if s == "0.0" and part:
        return fmt_percent("<0.1%")
    return fmt_percent(s + "%")


def plural(n: int, word: str, many: str | None = None) -> str:
    """English only: '1 block', '3 blocks' (translated text uses ngettext at the call site)."""
    return f"{n:,} {word if n == 1 else (many or word + 's')}"


def _count(text: str, n: int) -> str:
    return text.format(n=fmt_number(n))


def model_name(model: str) -> str:
    return _(_MODEL_NAME[model]) if model in _MODEL_NAME else model


def finding_title(f: dict) -> str:
    """A finding's title in the report's language where it is the one chaintrail wrote; a user's own title as given."""
    p, title = f.get("params") or {}, f.get("title") or ""
    if f.get("kind") == "trace" and p.get("direction") in _DIRECTION and p.get("model"):
        source = (f.get("spec") or {}).get("source")
        english = f"{p['direction'].capitalize()} {p['model']} trace from "
        if title.startswith(english) and (source is None or title == english + str(source)):
            return _("{direction} {model} trace from {source}").format(
                direction=_(_DIRECTION[p["direction"]]), model=p["model"], source=title[len(english):])
    return _eth_title(f, p, title)


def _eth_title(f: dict, p: dict, title: str) -> str:
    """The titles chaintrail writes for Ethereum findings (``cases.eth_findings``), in the report's language."""
    spec, r = f.get("spec") or {}, f.get("result") or {}
    kind = f.get("kind")
    if kind == "eth_trace" and spec.get("source") is not None and p.get("model") and p.get("asset"):
        if title == f"Forward {p['model']} trace of {p['asset']} from {spec['source']} (Ethereum)":
            text = (_("Forward {model} trace of all assets from {source} (Ethereum)") if p["asset"] == "all" else
                    _("Forward {model} trace of {asset} from {source} (Ethereum)"))
            return text.format(model=p["model"], asset=p["asset"], source=spec["source"])
    if kind == "eth_account" and r.get("subject") and r.get("period"):
        s, period = r["subject"], r["period"]
        if title == (f"Sources and uses of funds of {s['kind']} {s['id']} (Ethereum), {period['from'] or 'first'} "
                     f"to {period['to'] or 'last'} movement ({r.get('currency')})"):
            text = (_("Sources and uses of funds of entity {id} (Ethereum), {start} to {end} ({currency})")
                    if s["kind"] == "entity" else
                    _("Sources and uses of funds of account {id} (Ethereum), {start} to {end} ({currency})"))
            return text.format(id=s["id"], start=period["from"] or _("first movement"),
                               end=period["to"] or _("last movement"), currency=r.get("currency"))
    if kind == "eth_leads" and title == f"Tornado Cash leads for {spec.get('deposit') or spec.get('address')}":
        return _("Tornado Cash leads for {subject}").format(subject=spec.get("deposit") or spec.get("address"))
    return title


def describe_source(src: dict) -> str:
    k = src.get("kind")
    if k == "address":
        return _("address {address}").format(address=f"<span class=mono>{escape(src['address'])}</span>")
    if k == "output":
        return _("output {vout} of transaction {txid}").format(
            vout=src["vout"], txid=f"<span class=mono>{escape(src['txid'])}</span>")
    if k == "transaction":
        return _("the outputs of transaction {txid}").format(txid=f"<span class=mono>{escape(src['txid'])}</span>")
    if k == "entity":
        return _("the addresses of entity (cluster) {cluster}").format(cluster=src["cluster"])
    return _("the selected outputs")


def services(trace: dict) -> list[dict]:
    """Attributed endpoints grouped by service: name, kind, amount, deposit addresses (largest first)."""
    by: dict[str, dict] = {}
    for e in trace["endpoints"]:
        if e["kind"] != "tagged":
            continue
        first = e["tags"][0] if e["tags"] else f"entity:entity {e['cluster']}"
        kind, _sep, name = first.partition(":")
        s = by.setdefault(name, {"name": name, "kind": kind, "amount_sat": 0, "addresses": []})
        s["amount_sat"] += int(e["amount_sat"])
        s["addresses"].append(e["address"])
    return sorted(by.values(), key=lambda s: -s["amount_sat"])


def _listing(group: list[dict]) -> str:
    return "; ".join(_("{name} ({amount} BTC into {deposits})").format(
        name=f"<b>{escape(s['name'])}</b>", amount=btc(s["amount_sat"]),
        deposits=_count(ngettext("{n} deposit address", "{n} deposit addresses", len(s["addresses"])),
                        len(s["addresses"]))) for s in group)


def trace_summary(f: dict) -> list[str]:
    """Paragraphs (HTML) stating what one trace finding shows."""
    r = f["result"]
    t = r["totals"]
    p = f["params"]
    traced = int(t["traced_sat"])
    ctx = r.get("chain_context") or {}
    first, last = (ctx.get("first_block") or {}), (ctx.get("last_block") or {})
    forward = p["direction"] == "forward"
    model = model_name(p["model"])
    span = (_("on {day}").format(day=day(first.get("time"))) if day(first.get("time")) == day(last.get("time"))
            else _("between {first} and {last}").format(first=day(first.get("time")), last=day(last.get("time"))))
    n_txs = int(t["txs_touched"])
    txs = _count(ngettext("{n} transaction", "{n} transactions", n_txs), n_txs)
    out = []
    if forward:
        out.append(_("{amount} BTC held at {source} was traced forward through {txs} recorded on the Bitcoin "
                     "blockchain {span} (blocks {first} to {last}), using the {model} method described in Section "
                     "4.3, up to {hops} hops.").format(
            amount=btc(traced), source=describe_source(r["source"]), txs=txs, span=span,
            first=first.get("height", "?"), last=last.get("height", "?"), model=model, hops=p["max_hops"]))
    else:
        out.append(_("The {amount} BTC at {source} was traced backward to its origins through {txs} recorded "
                     "{span}, using the {model} method described in Section 4.3, up to {hops} hops.").format(
            amount=btc(traced), source=describe_source(r["source"]), txs=txs, span=span, model=model,
            hops=p["max_hops"]))
    svcs = services(r)
    if svcs:
        cash = [s for s in svcs if s["kind"] not in ("mixer", "entity")]
        mixed = [s for s in svcs if s["kind"] == "mixer"]
        other = [s for s in svcs if s["kind"] == "entity"]
        total = int(t["to_endpoints_sat"])
        legal = (_("These services keep customer records: legal process served on them for the deposit addresses "
                   "listed in Section 3 can identify the account holders.") if forward else "")
        head = dict(amount=btc(total), share=pct(total, traced))
        if cash and not mixed and not other:
            n = len(cash)
            fmt = (ngettext("Of this, <b>{amount} BTC ({share})</b> was paid into addresses attributed to {n} "
                            "service: {listing}. {legal}",
                            "Of this, <b>{amount} BTC ({share})</b> was paid into addresses attributed to {n} "
                            "services: {listing}. {legal}", n) if forward else
                   ngettext("Of this, <b>{amount} BTC ({share})</b> came from addresses attributed to {n} "
                            "service: {listing}. {legal}",
                            "Of this, <b>{amount} BTC ({share})</b> came from addresses attributed to {n} "
                            "services: {listing}. {legal}", n))
            out.append(fmt.format(n=fmt_number(n), listing=_listing(cash), legal=legal, **head))
            cash = []
        else:
            n = len(svcs)
            fmt = (ngettext("Of this, <b>{amount} BTC ({share})</b> was paid into addresses attributed to {n} "
                            "service.",
                            "Of this, <b>{amount} BTC ({share})</b> was paid into addresses attributed to {n} "
                            "services.", n) if forward else
                   ngettext("Of this, <b>{amount} BTC ({share})</b> came from addresses attributed to {n} service.",
                            "Of this, <b>{amount} BTC ({share})</b> came from addresses attributed to {n} services.",
                            n))
            out.append(fmt.format(n=fmt_number(n), **head))
        if cash:
            amt = sum(s["amount_sat"] for s in cash)
            fmt = (_("{amount} BTC ({share}) was paid into {listing}. {legal}") if forward
                   else _("{amount} BTC ({share}) came from {listing}. {legal}"))
            out.append(fmt.format(amount=btc(amt), share=pct(amt, traced), listing=_listing(cash), legal=legal))
        if mixed:
            amt = sum(s["amount_sat"] for s in mixed)
            out.append(_("{amount} BTC ({share}) entered {listing}. A mixer breaks the on-chain link between what "
                         "goes in and what comes out; the trace stops there, and following the funds further needs "
                         "the mixer's own records, where they can be obtained.").format(
                amount=btc(amt), share=pct(amt, traced), listing=_listing(mixed)))
        if other:
            out.append(_("The rest reached {listing}.").format(listing=_listing(other)))
    elif forward:
        out.append(_("None of the traced funds reached an address attributed to an exchange or other service "
                     "within the limits of this analysis."))
    if int(t["unspent_sat"]):
        n = sum(1 for e in r["endpoints"] if e["kind"] == "unspent")
        out.append(ngettext("{amount} BTC ({share}) remained unspent at {n} address at the last block examined; "
                            "these funds had not moved and may still be available for seizure.",
                            "{amount} BTC ({share}) remained unspent at {n} addresses at the last block examined; "
                            "these funds had not moved and may still be available for seizure.", n).format(
            amount=btc(int(t["unspent_sat"])), share=pct(int(t["unspent_sat"]), traced), n=fmt_number(n)))
    if int(t.get("coinbase_sat", 0)):
        out.append(_("{amount} BTC ({share}) originates in newly mined coins (coinbase transactions).").format(
            amount=btc(int(t["coinbase_sat"])), share=pct(int(t["coinbase_sat"]), traced)))
    other_sat = int(t["stopped_sat"]) + int(t["below_threshold_sat"])
    if other_sat:
        why = sorted({_(_STOP_WORDS[e["kind"]]) for e in r["endpoints"] if e["kind"] in _STOP_WORDS})
        out.append(_("{amount} BTC ({share}) was not followed further because {why}.").format(
            amount=btc(other_sat), share=pct(other_sat, traced), why=_(" or ").join(why)))
    if int(t["fees_sat"]):
        out.append(_("{amount} BTC was spent on network (mining) fees.").format(amount=btc(int(t["fees_sat"]))))
    # How the split was made where it was not the trace's own model (each step names its rule).
    said = [h for s in r.get("steps", []) for h in s.get("heuristics", [])[:1]]
    demixed = sum(1 for h in said if h.startswith("demix:"))
    passed = sum(1 for h in said if h.startswith("mixer-pass-through"))
    if demixed:
        out.append(ngettext("At {n} CoinJoin transaction the coins were followed to the outputs that on-chain "
                            "evidence ties to the same owner (spent together, paid to the same address, change "
                            "amounts); what that evidence could not tie is reported as stopped inside the mix.",
                            "At {n} CoinJoin transactions the coins were followed to the outputs that on-chain "
                            "evidence ties to the same owner (spent together, paid to the same address, change "
                            "amounts); what that evidence could not tie is reported as stopped inside the mix.",
                            demixed).format(n=fmt_number(demixed)))
    leads = [x for d in r.get("demix", []) for x in d.get("leads", [])]
    if leads:
        amt = sum(a for d in r.get("demix", []) for a, ev in zip(d["exit_amounts"], d["evidence"])
                  if ev.startswith("pattern"))
        out.append(ngettext("{n} output leaving the mixes ({amount} BTC) was attributed as a lead, not on evidence: "
                            "it was paid whole into an exchange in the same blocks and in the same way as the coins "
                            "the evidence ties to the owner. The exchange's records for those deposits confirm or "
                            "refute it.",
                            "{n} outputs leaving the mixes ({amount} BTC) were attributed as leads, not on evidence: "
                            "each was paid whole into an exchange in the same blocks and in the same way as the coins "
                            "the evidence ties to the owner. The exchange's records for those deposits confirm or "
                            "refute them.", len(leads)).format(n=fmt_number(len(leads)), amount=btc(amt)))
    if passed or (int(t.get("mixer_txs", 0)) and not demixed and p.get("mixer_policy") == "haircut"):
        n = passed or int(t["mixer_txs"])
        out.append(ngettext("The funds passed through {n} CoinJoin or mixer transaction; amounts after that point "
                            "are proportional estimates, not identified coins.",
                            "The funds passed through {n} CoinJoin or mixer transactions; amounts after that point "
                            "are proportional estimates, not identified coins.", n).format(n=fmt_number(n)))
    unknown = sum(1 for h in said if h == "unknown-input-value")
    if unknown:
        out.append(ngettext("At {n} transaction the value of some inputs is not in the store, so the {model} order "
                            "is undefined there and the amount was split in proportion instead.",
                            "At {n} transactions the value of some inputs is not in the store, so the {model} order "
                            "is undefined there and the amount was split in proportion instead.", unknown).format(
            n=fmt_number(unknown), model=p["model"].upper()))
    return out


def screen_summary(f: dict) -> list[str]:
    r = f["result"]
    risk = r.get("risk") or {}
    level = str(risk.get("level", "unknown"))
    reasons = [x.get("text", "") for x in risk.get("reasons", [])][:4]
    out = [_("Screening of {subject} against the attribution data gives a risk level of {level}.").format(
        subject=f"<span class=mono>{escape(r['subject'])}</span>", level=f"<b>{escape(_(level).upper())}</b>")]
    if reasons:
        out.append(_("Reasons: {reasons}.").format(reasons="; ".join(escape(x) for x in reasons)))
    return out


def explain_summary(f: dict) -> list[str]:
    r = f["result"]
    links = r["links"]
    if not links:
        return [_("{address} is the same address as the other subject.").format(
            address=f"<span class=mono>{escape(r['from'])}</span>")]
    txs = ", ".join(f"<span class=mono>{escape(link['txid'][:16])}…</span>" for link in links[:5])
    mid = len(links) - 1
    return [_("Addresses {a} and {b} are attributed to one controller because they were spent together, directly or "
              "through {intermediate}, in {txs} ({list}). A spender must hold the keys of every input it signs; this "
              "is the multi-input heuristic (Section 4.2).").format(
        a=f"<span class=mono>{escape(r['from'])}</span>", b=f"<span class=mono>{escape(r['to'])}</span>",
        intermediate=_count(ngettext("{n} intermediate address", "{n} intermediate addresses", mid), mid),
        txs=_count(ngettext("{n} transaction", "{n} transactions", len(links)), len(links)), list=txs)]


def reliance(f: dict, n_tags: int) -> str:
    rates = f.get("error_rates") or {}
    measured = [k for k, v in rates.items() if is_measured(v)]
    unmeasured = [k for k in rates if k not in measured]
    n_blocks = len(f["block_hashes"])
    bits = [_("the public blockchain ({blocks}, each identified by its hash in Section 6)").format(
        blocks=_count(ngettext("{n} block", "{n} blocks", n_blocks), n_blocks))]
    if rates:
        bits.append(_("the heuristics listed in Section 4.2 ({measured} with a measured error rate, {unmeasured} not "
                      "yet measured)").format(measured=len(measured), unmeasured=len(unmeasured)))
    bits.append(_("{tags} (Section 4.4)").format(
        tags=_count(ngettext("{n} attribution tag", "{n} attribution tags", n_tags), n_tags)))
    return _("This finding rests on {these} and {last}. Re-running the analysis recorded here on the same data "
             "reproduces finding hash {hash}.").format(
        these=", ".join(bits[:-1]), last=bits[-1], hash=f"<span class=hash>{f['finding_hash']}</span>")


def reservations(findings: list[dict], case_tags: list[dict]) -> list[str]:
    """The caveats an honest expert would state, from what the findings rest on."""
    out = []
    used = {k: v for f in findings for k, v in (f.get("error_rates") or {}).items()}
    unmeasured = sorted(k for k, v in used.items() if not is_measured(v))
    if unmeasured:
        out.append(_("The error rates of {names} have not yet been measured against ground truth. Conclusions that "
                     "depend on them, in particular which addresses belong to one entity, should be corroborated (for "
                     "example by an exchange's own records) before they are relied upon in court.").format(
            names=", ".join(unmeasured)))
    loose = []
    for k, v in sorted(used.items()):
        top = headline(v)
        fp = None if top is None else top[1].get("false_positive_rate")
        if fp is not None and fp >= 0.05:
            loose.append(_("{name} ({rate} on {source})").format(
                name=escape(k), rate=fmt_percent(f"{100 * float(fp):.1f}%"), source=_(SOURCE_NAMES[top[0]])))
    if loose:
        out.append(_("Measured false-positive rates of 5% or more apply to: {list}. Links that rest on these "
                     "heuristics alone should be corroborated.").format(list="; ".join(loose)))
    generated = sorted(k for k, v in used.items() if lacks_real(v))
    if generated:
        out.append(ngettext("No real-data error rate exists for {names}: its rates were measured only on chains made "
                            "by chaintrail's own generator (Section 4.2 gives each figure with its source, sample "
                            "size and 95% interval). Such figures are upper bounds; real-world error rates may be "
                            "higher.",
                            "No real-data error rate exists for {names}: their rates were measured only on chains "
                            "made by chaintrail's own generator (Section 4.2 gives each figure with its source, "
                            "sample size and 95% interval). Such figures are upper bounds; real-world error rates "
                            "may be higher.", len(generated)).format(names=escape(", ".join(generated))))
    weak = sorted({(t.get("label") or "?", t.get("confidence") or "unknown") for f in findings for t in f.get("tags", [])
                   if (t.get("confidence_level") or 0) < 50})
    if weak:
        out.append(_("Some attributions rest on low-confidence tags: {list}.").format(
            list="; ".join(f"{escape(lb)} ({escape(c)})" for lb, c in weak[:6])))
    if any(f["kind"] == "trace" and f["params"].get("model") == "poison" for f in findings):
        out.append(_("The poison model treats every output of a tainted transaction as wholly tainted; its amounts "
                     "show reach and overstate sums. Quote haircut amounts for quantum."))
    if any(t.get("origin") for t in case_tags) or any(f.get("origin") for f in findings):
        out.append(_("Some findings or attributions were received from a partner agency; they are marked with the "
                     "sending agency in Sections 4.4 and 6 and have not been independently re-derived unless "
                     "stated."))
    return out
