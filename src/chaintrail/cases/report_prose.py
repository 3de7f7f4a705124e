"""The words of a report: what each finding shows, said plainly, with every figure and every reservation.

Written for a prosecutor who is not a blockchain specialist: amounts in BTC
(to the satoshi), shares of the traced total, dates in UTC, who holds records
that legal process can reach, and what the conclusion depends on.
"""

from __future__ import annotations

from html import escape

from chaintrail.cases.methodology import SOURCE_NAMES, headline, is_measured, lacks_real
from chaintrail.cases.report_figure import btc
from chaintrail.i18n import _, fmt_date, fmt_percent

_MODEL_NAME = {"haircut": "haircut (proportional)", "poison": "poison", "fifo": "first-in-first-out",
               "lifo": "last-in-first-out", "tiho": "taint-in-highest-out"}
_STOP_WORDS = {"stopped_max_hops": "the hop limit was reached", "stopped_time": "the time window ended",
               "stopped_mixer": "the funds entered a mixer", "below_threshold": "the amount fell below the threshold"}


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
    return f"{n:,} {word if n == 1 else (many or word + 's')}"


def describe_source(src: dict) -> str:
    k = src.get("kind")
    if k == "address":
        return f"address <span class=mono>{escape(src['address'])}</span>"
    if k == "output":
        return f"output {src['vout']} of transaction <span class=mono>{escape(src['txid'])}</span>"
    if k == "transaction":
        return f"the outputs of transaction <span class=mono>{escape(src['txid'])}</span>"
    if k == "entity":
        return f"the addresses of entity (cluster) {src['cluster']}"
    return "the selected outputs"


def services(trace: dict) -> list[dict]:
    """Attributed endpoints grouped by service: name, kind, amount, deposit addresses (largest first)."""
    by: dict[str, dict] = {}
    for e in trace["endpoints"]:
        if e["kind"] != "tagged":
            continue
        first = e["tags"][0] if e["tags"] else f"entity:entity {e['cluster']}"
        kind, _, name = first.partition(":")
        s = by.setdefault(name, {"name": name, "kind": kind, "amount_sat": 0, "addresses": []})
        s["amount_sat"] += int(e["amount_sat"])
        s["addresses"].append(e["address"])
    return sorted(by.values(), key=lambda s: -s["amount_sat"])


def trace_summary(f: dict) -> list[str]:
    """Paragraphs (HTML) stating what one trace finding shows."""
    r = f["result"]
    t = r["totals"]
    p = f["params"]
    traced = int(t["traced_sat"])
    ctx = r.get("chain_context") or {}
    first, last = (ctx.get("first_block") or {}), (ctx.get("last_block") or {})
    forward = p["direction"] == "forward"
    model = _MODEL_NAME.get(p["model"], p["model"])
    span = (f"on {day(first.get('time'))}" if day(first.get("time")) == day(last.get("time"))
            else f"between {day(first.get('time'))} and {day(last.get('time'))}")
    out = []
    if forward:
        out.append(f"{btc(traced)} BTC held at {describe_source(r['source'])} was traced forward through "
                   f"{plural(int(t['txs_touched']), 'transaction')} recorded on the Bitcoin blockchain {span} "
                   f"(blocks {first.get('height', '?')} to {last.get('height', '?')}), using the {model} method "
                   f"described in Section 4.3, up to {p['max_hops']} hops.")
    else:
        out.append(f"The {btc(traced)} BTC at {describe_source(r['source'])} was traced backward to its origins "
                   f"through {plural(int(t['txs_touched']), 'transaction')} recorded {span}, using the {model} "
                   f"method described in Section 4.3, up to {p['max_hops']} hops.")
    svcs = services(r)
    if svcs:
        def listing(group: list[dict]) -> str:
            return "; ".join(f"<b>{escape(s['name'])}</b> ({btc(s['amount_sat'])} BTC into "
                             f"{plural(len(s['addresses']), 'deposit address', 'deposit addresses')})" for s in group)
        cash = [s for s in svcs if s["kind"] not in ("mixer", "entity")]
        mixed = [s for s in svcs if s["kind"] == "mixer"]
        other = [s for s in svcs if s["kind"] == "entity"]
        verb = "was paid into" if forward else "came from"
        total = int(t["to_endpoints_sat"])
        legal = ("These services keep customer records: legal process served on them for the deposit addresses "
                 "listed in Section 3 can identify the account holders." if forward else "")
        if cash and not mixed and not other:
            out.append(f"Of this, <b>{btc(total)} BTC ({pct(total, traced)})</b> {verb} addresses attributed to "
                       f"{plural(len(cash), 'service')}: {listing(cash)}. {legal}")
            cash = []
        else:
            out.append(f"Of this, <b>{btc(total)} BTC ({pct(total, traced)})</b> {verb} addresses attributed to "
                       f"{plural(len(svcs), 'service')}.")
        if cash:
            amt = sum(s["amount_sat"] for s in cash)
            out.append(f"{btc(amt)} BTC ({pct(amt, traced)}) {verb} {listing(cash)}. {legal}")
        if mixed:
            amt = sum(s["amount_sat"] for s in mixed)
            out.append(f"{btc(amt)} BTC ({pct(amt, traced)}) entered {listing(mixed)}. A mixer breaks the on-chain "
                       f"link between what goes in and what comes out; the trace stops there, and following the "
                       f"funds further needs the mixer's own records, where they can be obtained.")
        if other:
            out.append(f"The rest reached {listing(other)}.")
    elif forward:
        out.append("None of the traced funds reached an address attributed to an exchange or other service "
                   "within the limits of this analysis.")
    if int(t["unspent_sat"]):
        n = sum(1 for e in r["endpoints"] if e["kind"] == "unspent")
        out.append(f"{btc(int(t['unspent_sat']))} BTC ({pct(int(t['unspent_sat']), traced)}) remained unspent at "
                   f"{plural(n, 'address', 'addresses')} at the last block examined; these funds had not moved and "
                   f"may still be available for seizure.")
    if int(t.get("coinbase_sat", 0)):
        out.append(f"{btc(int(t['coinbase_sat']))} BTC ({pct(int(t['coinbase_sat']), traced)}) originates in newly "
                   f"mined coins (coinbase transactions).")
    other = int(t["stopped_sat"]) + int(t["below_threshold_sat"])
    if other:
        why = sorted({_STOP_WORDS.get(e["kind"], e["kind"]) for e in r["endpoints"]
                      if e["kind"] in _STOP_WORDS})
        out.append(f"{btc(other)} BTC ({pct(other, traced)}) was not followed further because "
                   f"{' or '.join(why)}.")
    if int(t["fees_sat"]):
        out.append(f"{btc(int(t['fees_sat']))} BTC was spent on network (mining) fees.")
    # How the split was made where it was not the trace's own model (each step names its rule).
    said = [h for s in r.get("steps", []) for h in s.get("heuristics", [])[:1]]
    demixed = sum(1 for h in said if h.startswith("demix:"))
    passed = sum(1 for h in said if h.startswith("mixer-pass-through"))
    if demixed:
        out.append(f"At {plural(demixed, 'CoinJoin transaction')} the coins were followed to the outputs that "
                   f"on-chain evidence ties to the same owner (spent together, paid to the same address, change "
                   f"amounts); what that evidence could not tie is reported as stopped inside the mix.")
    leads = [x for d in r.get("demix", []) for x in d.get("leads", [])]
    if leads:
        amt = sum(a for d in r.get("demix", []) for a, ev in zip(d["exit_amounts"], d["evidence"])
                  if ev.startswith("pattern"))
        was = "was" if len(leads) == 1 else "were"
        out.append(f"{plural(len(leads), 'output')} leaving the mixes ({btc(amt)} BTC) {was} "
                   f"attributed as leads, not on evidence: each was paid whole into an exchange in the same blocks "
                   f"and in the same way as the coins the evidence ties to the owner. The exchange's records for those "
                   f"deposits confirm or refute them.")
    if passed or (int(t.get("mixer_txs", 0)) and not demixed and p.get("mixer_policy") == "haircut"):
        n = passed or int(t["mixer_txs"])
        out.append(f"The funds passed through {plural(n, 'CoinJoin or mixer transaction')}; "
                   f"amounts after that point are proportional estimates, not identified coins.")
    unknown = sum(1 for h in said if h == "unknown-input-value")
    if unknown:
        out.append(f"At {plural(unknown, 'transaction')} the value of some inputs is not in the store, so the "
                   f"{p['model'].upper()} order is undefined there and the amount was split in proportion instead.")
    return out


def screen_summary(f: dict) -> list[str]:
    r = f["result"]
    risk = r.get("risk") or {}
    level = str(risk.get("level", "unknown")).upper()
    reasons = [x.get("text", "") for x in risk.get("reasons", [])][:4]
    out = [f"Screening of <span class=mono>{escape(r['subject'])}</span> against the attribution data gives a risk "
           f"level of <b>{escape(level)}</b>."]
    if reasons:
        out.append("Reasons: " + "; ".join(escape(x) for x in reasons) + ".")
    return out


def explain_summary(f: dict) -> list[str]:
    r = f["result"]
    links = r["links"]
    if not links:
        return [f"<span class=mono>{escape(r['from'])}</span> is the same address as the other subject."]
    txs = ", ".join(f"<span class=mono>{escape(link['txid'][:16])}…</span>" for link in links[:5])
    return [f"Addresses <span class=mono>{escape(r['from'])}</span> and <span class=mono>{escape(r['to'])}</span> "
            f"are attributed to one controller because they were spent together, directly or through "
            f"{plural(len(links) - 1, 'intermediate address', 'intermediate addresses')}, in "
            f"{plural(len(links), 'transaction')} ({txs}). A spender must hold the keys of every input it signs; "
            f"this is the multi-input heuristic (Section 4.2)."]


def reliance(f: dict, n_tags: int) -> str:
    rates = f.get("error_rates") or {}
    measured = [k for k, v in rates.items() if is_measured(v)]
    unmeasured = [k for k in rates if k not in measured]
    bits = [f"the public blockchain ({plural(len(f['block_hashes']), 'block')}, each identified by its hash in "
            f"Section 6)"]
    if rates:
        bits.append(f"the heuristics listed in Section 4.2 ({len(measured)} with a measured error rate, "
                    f"{len(unmeasured)} not yet measured)")
    bits.append(f"{plural(n_tags, 'attribution tag')} (Section 4.4)")
    return (f"This finding rests on {', '.join(bits[:-1])} and {bits[-1]}. Re-running the analysis recorded here on "
            f"the same data reproduces finding hash <span class=hash>{f['finding_hash']}</span>.")


def reservations(findings: list[dict], case_tags: list[dict]) -> list[str]:
    """The caveats an honest expert would state, from what the findings rest on."""
    out = []
    used = {k: v for f in findings for k, v in (f.get("error_rates") or {}).items()}
    unmeasured = sorted(k for k, v in used.items() if not is_measured(v))
    if unmeasured:
        out.append(f"The error rates of {', '.join(unmeasured)} have not yet been measured against ground truth. "
                   f"Conclusions that depend on them, in particular which addresses belong to one entity, should be "
                   f"corroborated (for example by an exchange's own records) before they are relied upon in court.")
    loose = []
    for k, v in sorted(used.items()):
        top = headline(v)
        fp = None if top is None else top[1].get("false_positive_rate")
        if fp is not None and fp >= 0.05:
            loose.append(f"{escape(k)} ({100 * float(fp):.1f}% on {SOURCE_NAMES[top[0]]})")
    if loose:
        out.append("Measured false-positive rates of 5% or more apply to: " + "; ".join(loose)
                   + ". Links that rest on these heuristics alone should be corroborated.")
    generated = sorted(k for k, v in used.items() if lacks_real(v))
    if generated:
        out.append(f"No real-data error rate exists for {escape(', '.join(generated))}: "
                   f"{'its rates were' if len(generated) == 1 else 'their rates were'} measured only on chains made "
                   f"by chaintrail's own generator (Section 4.2 gives each figure with its source, sample size and "
                   f"95% interval). Such figures are upper bounds; real-world error rates may be higher.")
    weak = sorted({(t.get("label") or "?", t.get("confidence") or "unknown") for f in findings for t in f.get("tags", [])
                   if (t.get("confidence_level") or 0) < 50})
    if weak:
        out.append("Some attributions rest on low-confidence tags: " + "; ".join(
            f"{escape(lb)} ({escape(c)})" for lb, c in weak[:6]) + ".")
    if any(f["kind"] == "trace" and f["params"].get("model") == "poison" for f in findings):
        out.append("The poison model treats every output of a tainted transaction as wholly tainted; its amounts "
                   "show reach and overstate sums. Quote haircut amounts for quantum.")
    if any(t.get("origin") for t in case_tags) or any(f.get("origin") for f in findings):
        out.append("Some findings or attributions were received from a partner agency; they are marked with the "
                   "sending agency in Sections 4.4 and 6 and have not been independently re-derived unless stated.")
    return out
