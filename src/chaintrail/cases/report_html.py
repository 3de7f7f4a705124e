"""The case report as HTML: summary, fund flow, endpoints, methodology, records, provenance, custody.

``render_html`` takes a case as one reader may see it (already redacted to
that reader's TLP level), its chain-of-custody entries and a fresh verify
report, and returns a self-contained HTML document (the figure is inline SVG)
that ``report_pdf`` turns into a PDF.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from html import escape

from chaintrail import __version__
from chaintrail.cases import eth_report, eth_report_accounting, report_accounting, tlp
from chaintrail.cases.audit import AuditEntry
from chaintrail.cases.methodology import MIXER_POLICY, TAINT_MODELS
from chaintrail.cases.report_figure import KIND_WORDS, btc, fund_flow_svg, short
from chaintrail.cases.report_prose import (
    day,
    explain_summary,
    finding_title,
    pct,
    reliance,
    reservations,
    screen_summary,
    services,
    trace_summary,
)
from chaintrail.cases.report_rates import rates_section
from chaintrail.cases.report_style import stylesheet
from chaintrail.cases.report_timeline import timeline_html
from chaintrail.cases.repository import CaseView
from chaintrail.cases.verify import VerifyReport
from chaintrail.i18n import N_, _, current_language, fmt_number, fmt_percent, ngettext

# Words that reach the report from data (case status, trace direction, service kinds), marked for the catalogs.
DATA_WORDS = (N_("open"), N_("closed"), N_("forward"), N_("backward"), N_("exchange"), N_("mixer"), N_("entity"),
              N_("gambling"), N_("darknet_market"), N_("scam"), N_("sanctioned"), N_("ransomware"), N_("hack"),
              N_("payment_processor"), N_("incoming"), N_("outgoing"))

# Texts translated inside f-strings, which Babel's extractor cannot see into (Python < 3.12): marked here.
IN_FSTRINGS = (N_('forensic report'), N_('on {subject}'), N_('Redaction'), N_('Received from'),
               N_('Forensic report · tracing of cryptocurrency funds'), N_('Case reference'), N_('Agency'),
               N_('Prepared by'), N_('Handling'), N_('Traced'), N_('Services to serve legal process on'),
               N_('Service'), N_('Kind'), N_('Deposit addresses'), N_('Address'), N_('Attribution'), N_('Status'),
               N_('Hops'), N_('Total traced'), N_('No exposure found.'), N_('Category'), N_('Direction'),
               N_('Amount (BTC)'), N_('Share'), N_('Min hops'), N_('Counterparty'), N_('Spent together with'),
               N_('In transaction'), N_('Block'), N_('; received from {agency}'), N_('intact'),
               N_('FAILED ({n} problem(s))'), N_('Result of the lookup'), N_('Legs'), N_('Finding hash'),
               N_('Chain store content hash'), N_('Tag sources'), N_('File'), N_('Tags'))

MAX_ENDPOINT_ROWS = 40
MAX_BLOCKS_LISTED = 400


@dataclass
class ReportContext:
    """Who the report is for and by, and what was checked when it was made."""

    prepared_by: str
    agency: str
    generated_at: str
    verify: VerifyReport
    log: list[AuditEntry] = field(default_factory=list)
    recipient_level: str = "red"


def _e(s) -> str:
    return escape("" if s is None else str(s))


def _section(n: int | str, title: str, body: str) -> str:     # 3A, 7A: lettered sections
    return f"<h2>{n}&nbsp;&nbsp;{_e(title)}</h2>\n{body}"


def render_html(view: CaseView, ctx: ReportContext) -> str:
    view = replace(view, findings=[{**f, "title": finding_title(f)} for f in view.findings])
    c = view.case
    level = tlp.strictest(c["tlp"], *[f["tlp"] for f in view.findings]) if view.findings else c["tlp"]
    traces = [f for f in view.findings if f["kind"] == "trace"]
    lead = traces[0] if traces else (view.findings[0] if view.findings else None)
    note = (_("Finding {hash}…").format(hash=lead["finding_hash"][:32]) if lead
            else _("Case {ref}").format(ref=c["ref"]))
    parts = [f"<!DOCTYPE html><html lang={current_language()}><head><meta charset=utf-8><title>{_e(c['ref'])} — "
             f"{_e(_('forensic report'))}</title>"
             f"<style>{stylesheet(level, c['ref'], note)}</style></head><body>", _title_block(view, ctx, level)]
    none_saved = "<p>" + _e(_("No trace finding has been saved in this case.")) + "</p>"
    parts.append(_section(1, _("Summary for the prosecutor"), _summary(view)))
    parts.append(_section(2, _("Fund flow"), "".join(_flow(f) for f in traces)
                          + "".join(f"<h3>{_e(f['title'])}</h3>" + eth_report.figures_table(f)
                                    for f in view.findings if f["kind"] == "eth_trace")
                          or none_saved))
    eth_traces = [f for f in view.findings if f["kind"] == "eth_trace"]
    parts.append(_section(3, _("Endpoints and amounts"), "".join(_endpoints(f) for f in traces)
                          + "".join(eth_report.endpoints(f) for f in eth_traces)
                          or none_saved) + _other_findings(view))
    accounting = report_accounting.sections(view.findings)
    if accounting:
        parts.append(_section("3A", _("Forensic accounting"), accounting))
    parts.append(_section(4, _("Methodology"), _methodology(view)))
    recs = [a for a in view.attachments if a["kind"] == "exchange_records"]
    parts.append(_section(5, _("Exchange records received under legal process"),
                          "".join(eth_report.records_html(a, eth_traces) if eth_report.is_eth_records(a)
                                  else _records(a, traces) for a in recs)
                          or "<p>" + _e(_("No exchange records have been attached to this case.")) + "</p>"))
    parts.append(_section(6, _("Data provenance"), _provenance(view)))
    parts.append(_section(7, _("Chain of custody"), _custody(view, ctx)))
    parts.append(_section("7A", _("Timeline"), timeline_html(view)))
    if view.notes:
        parts.append(_section(8, _("Investigator's notes"), "".join(
            f"<p><b>{_e(x['created_by'])}</b>, {_e(x['created_at'][:16].replace('T', ' '))} UTC "
            f"[{tlp.label(x['tlp'])}]{(' ' + _e(_('on {subject}').format(subject=x['about']))) if x.get('about') else ''}"
            f": {_e(x['body'])}</p>"
            for x in view.notes)))
    parts.append(_appendix(view))
    parts.append("</body></html>")
    return "\n".join(parts)


def _title_block(view: CaseView, ctx: ReportContext, level: str) -> str:
    c = view.case
    withheld = sum(view.withheld.values())
    held = (f"<tr><td class=k>{_e(_('Redaction'))}</td><td>"
            + _e(_("Prepared for a reader cleared to {level}; {n} item(s) marked above that level are withheld.")
                 .format(level=tlp.label(ctx.recipient_level), n=withheld)) + "</td></tr>") if withheld else ""
    origin = c.get("origin") or {}
    recv = (f"<tr><td class=k>{_e(_('Received from'))}</td><td>"
            + _e(_("{agency} (case {ref}, key {key})").format(agency=origin.get("agency"), ref=origin.get("case_ref"),
                                                               key=origin.get("fingerprint"))) + "</td></tr>") if origin else ""
    run = f"<span class=tlprun>{tlp.label(level)}</span>"
    return f"""<div class=tlptop>{run}</div><div class=tlpbottom>{run}</div>
<div class=tlpbar>{tlp.label(level)}</div>
<div class=titleblock>
<div class=kicker>{_e(_("Forensic report · tracing of cryptocurrency funds"))}</div>
<h1>{_e(c['title'])}</h1>
<table class=meta>
<tr><td class=k>{_e(_("Case reference"))}</td><td><b>{_e(c['ref'])}</b> ({_e(_(c['status']))})</td></tr>
<tr><td class=k>{_e(_("Agency"))}</td><td>{_e(c.get('agency'))}</td></tr>
<tr><td class=k>{_e(_("Prepared by"))}</td><td>{_e(ctx.prepared_by)} ({_e(ctx.agency)}), {_e(ctx.generated_at[:19].replace('T', ' '))} UTC</td></tr>
{recv}<tr><td class=k>{_e(_("Handling"))}</td><td>{tlp.label(level)}: {_e(_(tlp.MEANING[level]))}</td></tr>
{held}</table>
</div>
{('<p>' + _e(c['summary']) + '</p>') if c.get('summary') else ''}"""


def _figures_table(f: dict) -> str:
    t = f["result"]["totals"]
    traced = int(t["traced_sat"])
    rows = [(_("Reached attributed services"), int(t["to_endpoints_sat"])),
            (_("Unspent at last block"), int(t["unspent_sat"])),
            (_("Newly mined (coinbase)"), int(t.get("coinbase_sat", 0))),
            (_("Not followed further (limits)"), int(t["stopped_sat"]) + int(t["below_threshold_sat"])),
            (_("From outside the data (unknown source)"), int(t.get("unknown_source_sat", 0))),
            (_("Network fees"), int(t["fees_sat"]))]
    body = "".join(f"<tr><td>{_e(k)}</td><td class=n>{btc(v)} BTC</td><td class=n>{pct(v, traced)}</td></tr>"
                   for k, v in rows if v)
    return (f"<table class=figures><tr><td><b>{_e(_('Traced'))}</b></td><td class=n><b>{btc(traced)} BTC</b></td>"
            f"<td class=n>{fmt_percent('100.0%')}</td></tr>{body}</table>")


def _summary(view: CaseView) -> str:
    out = []
    case_tags = view.tags
    for f in view.findings:
        words = {"trace": trace_summary, "screen": screen_summary, "explain": explain_summary,
                 "eth_trace": eth_report.trace_summary, "eth_leads": eth_report.leads_summary,
                 "account": report_accounting.account_summary,
                 "eth_account": eth_report_accounting.account_summary}[f["kind"]](f)
        words = [*words, *report_accounting.trace_fiat_summary(f)]
        out.append(f"<h3>{_e(f['title'])}</h3>" + "".join(f"<p>{w}</p>" for w in words))
        if f["kind"] == "trace":
            out.append(_figures_table(f))
        elif f["kind"] == "eth_trace":
            out.append(eth_report.figures_table(f))
        out.append(f"<p class=small>{reliance(f, len(f.get('tags', [])))}</p>")
    if not view.findings:
        out.append("<p>" + _e(_("No finding has been saved in this case yet.")) + "</p>")
    traces = [f for f in view.findings if f["kind"] == "trace"]
    for a in view.attachments:
        if a["kind"] == "exchange_records" and eth_report.is_eth_records(a):   # in its assets, per asset
            out += ["<p><b>" + _e(_("Corroboration.")) + "</b> " + p + "</p>" for p in eth_report.records_corroboration(
                a, [f for f in view.findings if f["kind"] == "eth_trace"])]
            continue
        common, rec, traced = reconcile(a, traces) if a["kind"] == "exchange_records" else ([], 0, 0)
        if common:
            agree = agreement(rec, traced)
            out.append("<p><b>" + _e(_("Corroboration.")) + "</b> " + _(
                "The records in {file} (Section 5) show {records} BTC received at {n} deposit address(es) the trace "
                "identified; the trace attributes {traced} BTC of the traced funds to them: they {agree}").format(
                file=f"<i>{_e(a['filename'])}</i>", records=btc(rec), n=len(common), traced=btc(traced),
                agree=agree) + "</p>")
    res = reservations(view.findings, case_tags)
    if res:
        out.append("<div class=warn><b>" + _e(_("Reservations.")) + "</b><ul>" + "".join(f"<li>{r}</li>" for r in res) + "</ul></div>")
    return "\n".join(out)


def _flow(f: dict) -> str:
    r = f["result"]
    caption = _("Figure: funds traced {direction} with the {model} model. Edge widths are proportional to the amount "
                "carried; each circle is a transaction (first eight characters of its id); boxes on the right are "
                "where the traced funds ended, with their amount and share of the {traced} BTC traced. Full "
                "transaction paths are listed in Section 3 and the finding data.").format(
        direction=_(r["params"]["direction"]), model=r["model"], traced=btc(int(r["totals"]["traced_sat"])))
    return (f"<h3>{_e(f['title'])}</h3><div class=figure>{fund_flow_svg(r)}</div><p class=caption>{_e(caption)}</p>")


def _endpoints(f: dict) -> str:
    r = f["result"]
    traced = int(r["totals"]["traced_sat"])
    rows = []
    for i, e in enumerate(r["endpoints"][:MAX_ENDPOINT_ROWS], 1):
        who = ", ".join(x.split(":", 1)[-1] for x in e["tags"]) or "—"
        rows.append(f"<tr><td class=n>{i}</td><td class=mono>{_e(e['address'] or (e['outputs'] or ['?'])[0])}</td>"
                    f"<td>{_e(who)}</td><td>{_e(_(KIND_WORDS[e['kind']]) if e['kind'] in KIND_WORDS else e['kind'])}</td>"
                    f"<td class=n>{btc(int(e['amount_sat']))}</td><td class=n>{pct(int(e['amount_sat']), traced)}</td>"
                    f"<td class=n>{e['hops']}</td></tr>")
    more = len(r["endpoints"]) - MAX_ENDPOINT_ROWS
    tail = ("<tr><td colspan=7 class=small>"
            + _e(_("… and {n} smaller endpoints (in the finding data)").format(n=fmt_number(more))) + "</td></tr>"
            if more > 0 else "")
    svc = services(r)
    svc_rows = "".join(f"<tr><td>{_e(s['name'])}</td><td>{_e(_(s['kind']))}</td><td class=n>{len(s['addresses'])}</td>"
                       f"<td class=n>{btc(s['amount_sat'])}</td><td class=n>{pct(s['amount_sat'], traced)}</td></tr>"
                       for s in svc)
    amount, share = _e(_("Amount (BTC)")), _e(_("Share"))
    svc_table = (f"<h3>{_e(_('Services to serve legal process on'))}</h3><table class=data><tr>"
                 f"<th>{_e(_('Service'))}</th><th>{_e(_('Kind'))}</th><th class=n>{_e(_('Deposit addresses'))}</th>"
                 f"<th class=n>{amount}</th><th class=n>{share}</th></tr>{svc_rows}</table>") if svc else ""
    return (f"<h3>{_e(f['title'])}</h3><table class=data><tr><th class=n>#</th><th>{_e(_('Address'))}</th>"
            f"<th>{_e(_('Attribution'))}</th><th>{_e(_('Status'))}</th><th class=n>{amount}</th><th class=n>{share}</th>"
            f"<th class=n>{_e(_('Hops'))}</th></tr>"
            f"{''.join(rows)}{tail}<tr><td></td><td><b>{_e(_('Total traced'))}</b></td><td></td><td></td>"
            f"<td class=n><b>{btc(traced)}</b></td><td class=n>{fmt_percent('100.0%')}</td><td></td></tr></table>"
            f"{svc_table}")


def _other_findings(view: CaseView) -> str:
    out = []
    for f in view.findings:
        if f["kind"] == "screen":
            ex = f["result"].get("exposures", [])
            rows = "".join(f"<tr><td>{_e(_(x['category']))}</td><td>{_e(_(x['direction']))}</td>"
                           f"<td class=n>{btc(int(x['amount_sat']))}</td>"
                           f"<td class=n>{fmt_percent(100 * float(x['share']))}</td>"
                           f"<td class=n>{x['min_hops']}</td><td class=mono>{_e(x.get('counterparty'))}</td></tr>"
                           for x in ex)
            none = f"<tr><td colspan=6>{_e(_('No exposure found.'))}</td></tr>"
            out.append(f"<h3>{_e(f['title'])}</h3><table class=data><tr><th>{_e(_('Category'))}</th>"
                       f"<th>{_e(_('Direction'))}</th><th class=n>{_e(_('Amount (BTC)'))}</th>"
                       f"<th class=n>{_e(_('Share'))}</th><th class=n>{_e(_('Min hops'))}</th>"
                       f"<th>{_e(_('Counterparty'))}</th></tr>{rows or none}</table>")
        elif f["kind"] == "eth_leads":
            out.append(eth_report.leads_table(f))
        elif f["kind"] == "explain":
            rows = "".join(f"<tr><td class=n>{i}</td><td class=mono>{_e(x['from_address'])}</td>"
                           f"<td class=mono>{_e(x['to_address'])}</td><td class=mono>{_e(x['txid'])}</td>"
                           f"<td class=mono>{_e(x['block_hash'])}</td></tr>"
                           for i, x in enumerate(f["result"]["links"], 1))
            out.append(f"<h3>{_e(f['title'])}</h3><table class=data><tr><th class=n>#</th><th>{_e(_('Address'))}</th>"
                       f"<th>{_e(_('Spent together with'))}</th><th>{_e(_('In transaction'))}</th>"
                       f"<th>{_e(_('Block'))}</th></tr>{rows}</table>")
    return "".join(out)


def _methodology(view: CaseView) -> str:
    chains = {"Ethereum" if f["kind"].startswith("eth_") else "Bitcoin" for f in view.findings} or {"Bitcoin"}
    ledger = (_("the Bitcoin and Ethereum blockchains, public ledgers that every full node of each holds an identical "
                "copy of") if len(chains) == 2 else _("the {chain} blockchain, a public ledger that every full node "
                                                      "holds an identical copy of").format(chain=chains.pop()))
    out = ["<h3>" + _e(_("4.1 Data")) + "</h3><p>" + _e(_(
        "All amounts and transactions in this report were read from {ledger}. The chain data were ingested into a "
        "chaintrail store from the agency's own node; each block read is identified by its hash (Section 6), so any "
        "party with a node can check every figure independently.").format(ledger=ledger)) + "</p>"]
    rates: dict[str, dict] = {}
    for f in view.findings:
        rates.update(f.get("error_rates") or {})
    out.append(rates_section(rates))
    models = []
    for f in view.findings:
        if f["kind"] != "trace":
            continue
        p = f["params"]
        model = _(TAINT_MODELS[p["model"]]) if p["model"] in TAINT_MODELS else p["model"]
        policy = _(MIXER_POLICY[p["mixer_policy"]]) if MIXER_POLICY.get(p["mixer_policy"]) else ""
        params = _("Parameters: direction {direction}; at most {hops} hops; branches below {min} sats stop; tracing "
                   "stops at addresses tagged {stop}").format(
            direction=_(p["direction"]), hops=p["max_hops"], min=fmt_number(p["min_amount_sat"]),
            stop=", ".join(_(c) for c in p["stop_categories"]) or _("(none)"))
        if p.get("time_from"):
            params += _("; time window {start} to {end}").format(start=day(p["time_from"]), end=day(p["time_to"]))
        params += _(". Every satoshi is accounted for: traced = endpoints + unspent + fees + not followed.")
        models.append(f"<p><b>{_e(f['title'])}.</b> {_e(model)} {_e(policy)} {_e(params)}</p>")
    out.append("<h3>" + _e(_("4.3 Taint model")) + "</h3>"
               + ("".join(models) or "<p>" + _e(_("No Bitcoin trace in this case.")) + "</p>"))
    out.append("<h3>" + _e(_("4.4 Attribution tags")) + "</h3><p>" + _e(_(
        "An address is attributed to a service or actor only by a tag, and every tag names its source and its "
        "confidence (GraphSense scale, 0–100).")) + "</p>" + _tags_table(view))
    out.append(eth_report.methodology(view.findings))
    out.append(report_accounting.methodology(view.findings))
    return "\n".join(out)


def _tags_table(view: CaseView) -> str:
    rows = []
    seen = set()
    for f in view.findings:
        for t in f.get("tags", []):
            key = (t["address"], t.get("label"), t.get("source"))
            if key in seen:
                continue
            seen.add(key)
            via = ("" if t.get("via") == "address"
                   else " " + _("(via entity member {address})").format(address=short(t.get("tag_address"), 8)))
            by = ((f.get("origin") or {}).get("agency"))
            rows.append(f"<tr><td class=mono>{_e(t['address'])}</td><td>{_e(t.get('label'))}{_e(via)}</td>"
                        f"<td>{_e(t.get('kind'))}</td><td>{_e(t.get('source'))}</td>"
                        f"<td>{_e(t.get('confidence'))} ({_e(t.get('confidence_level'))})</td>"
                        f"<td>{_e(t.get('provenance'))}{_e(_('; received from {agency}').format(agency=by)) if by else ''}"
                        "</td></tr>")
    for t in view.tags:
        o = t.get("origin") or {}
        prov = (_("case tag by {user}").format(user=t["created_by"])
                + (_("; received from {agency}").format(agency=o.get("agency")) if o else ""))
        rows.append(f"<tr><td class=mono>{_e(t['address'])}</td><td>{_e(t['label'])}</td><td>{_e(t.get('category'))}</td>"
                    f"<td>{_e(t.get('source'))}</td><td>{_e(t.get('confidence'))}</td><td>{_e(prov)}</td></tr>")
    if not rows:
        return "<p>" + _e(_("No attribution tag applies to the addresses in these findings.")) + "</p>"
    head = "".join(f"<th>{_e(x)}</th>" for x in (_("Address"), _("Label"), _("Category"), _("Source"), _("Confidence"),
                                                 _("Provenance")))
    return "<table class=data><tr>" + head + "</tr>" + "".join(rows) + "</table>"


def agreement(records_sat: int, traced_sat: int) -> str:
    """How an exchange's records compare with the trace, in words (ends with a full stop)."""
    if records_sat == traced_sat:
        return _("agree exactly.")
    if records_sat > traced_sat:
        return _("differ by {amount} BTC, which the records show deposited beyond what the trace attributes: funds the "
                 "chain analysis could not follow (for example through a mixer) or from other sources.").format(
            amount=btc(records_sat - traced_sat))
    return _("differ by {amount} BTC: the trace attributes more than the records show; the records may be "
             "incomplete.").format(amount=btc(traced_sat - records_sat))


def reconcile(a: dict, traces: list[dict]) -> tuple[list[str], int, int]:
    """Deposit addresses both in an exchange's records and among the traced endpoints: (addresses, records, trace)."""
    legs = [x for x in (a.get("meta") or {}).get("per_leg", []) if x["status"] == "matched_output"]
    ends = {e["address"]: e for f in traces for e in f["result"]["endpoints"] if e["kind"] == "tagged"}
    common = sorted({x["address"] for x in legs} & set(ends))
    rec = sum(x["amount_sat"] for x in legs if x["address"] in common)
    return common, rec, sum(int(ends[x]["amount_sat"]) for x in common)


LEG_WORDS = {"matched_output": N_("found as a payment (output) on chain"),
             "matched_input": N_("found as a spend (input) on chain"),
             "amount_differs": N_("address on chain, amount differs"),
             "address_not_in_tx": N_("address not in that transaction"),
             "tx_not_in_store": N_("transaction not in the examined chain data")}


def _records(a: dict, traces: list[dict]) -> str:
    m = a.get("meta") or {}
    st = m.get("by_status", {})
    rows = "".join(f"<tr><td>{_e(_(LEG_WORDS[k]) if k in LEG_WORDS else k)}</td><td class=n>{fmt_number(v)}</td></tr>"
                   for k, v in st.items())
    ents = ", ".join(m.get("entities", [])[:5])
    n_acc = len(m.get("accounts", []))
    legs, n_txs = int(m.get("legs", 0)), int(m.get("transactions", 0))
    text = "<p>" + _(
        "The records list {legs} over {txs} ({first} to {last}), totalling {total} BTC, for {holder} ({accounts}). "
        "Each leg was looked up in the chain data: {in_store} of the transactions are in the examined blocks, and "
        "legs totalling {matched} BTC match an output or input exactly (address and amount).").format(
        legs=fmt_number(legs) + " " + ngettext("transaction leg", "transaction legs", legs),
        txs=fmt_number(n_txs) + " " + ngettext("transaction", "transactions", n_txs),
        first=_e(m.get("first_date")), last=_e(m.get("last_date")), total=btc(int(m.get("total_sat", 0))),
        holder=_e(ents) or _e(_("an unnamed account holder")),
        accounts=fmt_number(n_acc) + " " + ngettext("account address", "account addresses", n_acc),
        in_store=fmt_number(int(m.get("transactions_in_store", 0))), matched=btc(int(m.get("matched_sat", 0)))) + "</p>"
    common, rec, traced = reconcile(a, traces)
    if common:
        agree = agreement(rec, traced)
        text += "<p>" + ngettext(
            "For the deposit address {addresses}, the records show {records} BTC received and the trace attributes "
            "{traced} BTC of the traced funds to it: the exchange's records and the blockchain analysis {agree}",
            "For the deposit addresses {addresses}, the records show {records} BTC received and the trace attributes "
            "{traced} BTC of the traced funds to it: the exchange's records and the blockchain analysis {agree}",
            len(common)).format(addresses=", ".join("<span class=mono>" + _e(x) + "</span>" for x in common),
                                records=btc(rec), traced=btc(traced), agree=agree) + "</p>"
    added = _("File SHA-256 {hash}, added by {user} on {day}.").format(
        hash=f"<span class=hash>{_e(a['sha256'])}</span>", user=_e(a["created_by"]), day=_e(a["created_at"][:10]))
    return (f"<h3>{_e(a['filename'])}</h3>{text}"
            f"<table class=data><tr><th>{_e(_('Result of the lookup'))}</th><th class=n>{_e(_('Legs'))}</th></tr>"
            f"{rows}</table><p class=small>{added}</p>")


def _provenance(view: CaseView) -> str:
    rows = []
    for f in view.findings:
        o = f.get("origin") or {}
        # The hashes get a full-width row each: side by side in narrow cells they wrap into each
        # other's lines, and a hash must be readable (and copyable) in one piece.
        by = _("; from {agency}").format(agency=o.get("agency")) if o else ""
        rows.append(f"<tr><td>{f['id']}</td><td>{_e(f['kind'])}</td><td>{fmt_number(len(f['block_hashes']))}</td>"
                    f"<td>{_e(f['created_by'])}, {_e(f['created_at'][:10])}{_e(by)}</td></tr>"
                    f"<tr><td></td><td colspan=3>{_e(_('Finding hash'))} <span class=hash>{_e(f['finding_hash'])}</span><br>"
                    f"{_e(_('Chain store content hash'))} <span class=hash>{_e(f.get('store_hash'))}</span></td></tr>")
    versions = sorted({f"{k} {v}" for f in view.findings for k, v in f["versions"].items()
                       if isinstance(v, str) and k != "kind"})
    sources = {(s["file"], s["sha256"], s["tags"]) for f in view.findings for s in f["versions"].get("tags", [])}
    src_rows = "".join(f"<tr><td>{_e(a)}</td><td class=hash>{_e(b)}</td><td class=n>{c:,}</td></tr>"
                       for a, b, c in sorted(sources))
    intro = _("Each finding is identified by a SHA-256 hash over what was asked, the parameters, the engine and "
              "heuristic versions, the blocks read, the tags relied on and the result. Running the same analysis on "
              "the same chain data (identified by the store's content hash) reproduces the hash exactly; {command} "
              "does so and says whether it matches.").format(command="<code>chaintrail case finding rerun</code>")
    head = "".join(f"<th>{_e(x)}</th>" for x in (_("Finding"), _("Kind"), _("Blocks"), _("Made by")))
    software = _("Software: chaintrail {version}; {versions}.").format(version=__version__, versions=", ".join(versions))
    return (f"<p>{intro}</p><table class=data><tr>{head}</tr>{''.join(rows)}</table>"
            f"<p class=small>{_e(software)}</p>"
            + (f"<h3>{_e(_('Tag sources'))}</h3><table class=data><tr><th>{_e(_('File'))}</th><th>SHA-256</th>"
               f"<th class=n>{_e(_('Tags'))}</th></tr>{src_rows}</table>" if src_rows else ""))


def _custody(view: CaseView, ctx: ReportContext) -> str:
    v = ctx.verify
    state = (f"<span class=ok>{_e(_('intact'))}</span>" if v.ok else
             f"<span class=bad>{_e(_('FAILED ({n} problem(s))').format(n=len(v.problems)))}</span>")
    probs = "".join(f"<li>{_e(p.message)}</li>" for p in v.problems[:10])
    rows = "".join(f"<tr><td class=n>{e.seq}</td><td>{_e(e.ts[:19].replace('T', ' '))}</td>"
                   f"<td>{_e(e.actor)} ({_e(e.agency)})</td><td>{_e(e.action)}</td><td>{_e(e.target)}</td>"
                   f"<td>{_e(e.outcome)}</td></tr>" for e in ctx.log[-80:])
    box = _("Every action on this case is recorded in an append-only audit log in which each entry carries the "
            "SHA-256 of the one before it. When this report was generated the log was verified: {entries} entries and "
            "{rows} records checked, chain {state}; head entry #{seq}, hash {hash}.").format(
        entries=fmt_number(v.entries), rows=fmt_number(v.rows), state=state, seq=v.head_seq,
        hash=f"<span class=hash>{_e(v.head_hash)}</span>")
    head = "".join(f"<th>{_e(x)}</th>" for x in (_("Time (UTC)"), _("By"), _("Action"), _("Record"), _("Outcome")))
    return (f"<div class=box>{box}{('<ul>' + probs + '</ul>') if probs else ''}</div>"
            f"<table class=data><tr><th class=n>#</th>{head}</tr>{rows}</table>"
            + ("<p class=small>" + _e(_("Showing the last 80 of {n} entries for this case.").format(n=len(ctx.log)))
               + "</p>" if len(ctx.log) > 80 else ""))


def _appendix(view: CaseView) -> str:
    hashes = list(dict.fromkeys(h for f in view.findings for h in f["block_hashes"]))
    if not hashes:
        return ""
    shown = hashes[:MAX_BLOCKS_LISTED]
    more = ("<p class=small>" + _e(_("… and {n} more, listed in the finding data.").format(
        n=fmt_number(len(hashes) - len(shown)))) + "</p>" if len(hashes) > len(shown) else "")
    return ("<h2>" + _e(_("Appendix: blocks read")) + "</h2><p class=small>"
            + _e(_("The block hashes every finding in this report read, in chain order.")) + "</p><div class=blocks>"
            + "<br>".join(shown) + f"</div>{more}")
