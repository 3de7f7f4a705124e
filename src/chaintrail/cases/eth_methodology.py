"""What an Ethereum finding rests on: the method for swaps, wraps, bridges and Tornado leads, and measured error rates.

Rates come in the entry format of ``analysis/error_rates.json`` (figures per source, with n and a 95% interval),
so Section 4.2 of the report lists them beside Bitcoin's:

* ``analysis/eth_entity_rates.json`` (bench/eth_entity_eval.py): exchange deposit addresses by forwarding pattern
  and each account clustering heuristic (link precision, pair recall);
* ``analysis/eth_tornado_rates.json`` (bench/eth_tornado_eval.py): each Tornado linking heuristic's precision (of
  the owner: the withdrawal went to the depositor's entity), recall, and its chance-match rate (placebo: the share of
  random non-linked deposit/withdrawal pairs it also links).
"""

from __future__ import annotations

import json
from importlib import resources

from chaintrail.cases.methodology import NOT_MEASURED, SOURCES
from chaintrail.i18n import N_, _, fmt_number, fmt_percent

TORNADO_PREFIX = "eth:tornado:"
SOURCE_WORDS = {"generated_out_of_sample": N_("generated, out of sample"),
                "generated_in_sample": N_("generated, in sample")}

TRACE_MODELS = {
    "haircut": N_("Haircut on accounts: an account holding traced funds T of a balance B (its balance just before the "
                  "movement, counted from every movement since the store's first block) passes floor(x * T / B) of "
                  "each amount x it sends, exactly in the asset's base units. Each asset (ETH, each token, each NFT "
                  "item) is traced on its own."),
    "poison": N_("Poison on accounts: once an account has held traced funds, everything it sends later is treated as "
                 "traced. It shows reach and overstates amounts; quote haircut amounts for quantum."),
}

METHODS = {
    "swap": N_("Swaps (conversions at the executed rate). A swap on a decentralised exchange is read from the exchange's "
               "own events (Uniswap V2 Swap and Sync, V3 Swap) and netted against the transaction's token and ETH "
               "movements, so a multi-hop route or an aggregator counts as one conversion per transaction: the trader "
               "gave amount_in of one asset and received amount_out of another. The traced part of what the trader "
               "gave becomes traced output at the rate the swap actually executed: floor(amount_out x traced_in / "
               "amount_in). The pool and the router receive no traced funds of their own. Each conversion step names its "
               "transaction, venue (pool), the amounts and the rate."),
    "wrap": N_("Wrapping and unwrapping. WETH is ETH held by a contract one-for-one; a deposit into WETH or a withdrawal "
               "from it is a conversion at the rate 1 and is recorded as such."),
    "bridge": N_("Bridges. A bridge moves funds between chains by locking them on one and releasing them on the other. "
                 "The two legs are matched by the bridge's own message id or nonce, which both legs carry in their "
                 "events; where both chains' data is in the case, the trace continues on the other chain from the "
                 "matched release. Where it is not, the trace stops at the bridge and reports the amount as bridged "
                 "(not followed), with the lock transaction as evidence."),
    "tornado": N_("Tornado Cash leads. A Tornado pool breaks the on-chain link between deposits and withdrawals by "
                  "design: any withdrawal may spend any earlier deposit of the same pool. The published linking "
                  "heuristics (address match, unique gas price, linked addresses, multi-denomination portfolio, relayer "
                  "pattern, first-in-first-out timing; Tutela, Wu et al. 2022, Wang et al. 2022) each propose a "
                  "withdrawal for a deposit: a lead, not proof that the withdrawal is the depositor's. Each lead is "
                  "reported with the heuristic's measured precision and its chance-match rate, the share of random "
                  "unrelated deposit/withdrawal pairs the same test also links, and the number of such chance matches "
                  "expected among the deposit's candidate withdrawals. Amounts followed through a pool on a lead carry "
                  "that reservation."),
    "bridge_events": N_("Bridge crossings. Each crossing is reported with both of its events: the sending event "
                        "(Locked or Burned) on the chain the funds left and, where the other chain's data was examined, "
                        "the receiving event (Minted or Released) there, each with its chain id, transaction, block and "
                        "log index. The two are paired only by fields the bridge writes into both events: the nonce, "
                        "the asset (the wrapped token's origin), the recipient, the amount and the destination chain "
                        "id; a leg with no such partner, or more than one, is not followed. The traced part of a "
                        "crossing's amount arrives whole on the other chain."),
    "demix": N_("Tornado deposits the trace entered. For each deposit that carried traced funds the report names the "
                "pool, the amount traced in and the withdrawal a linking heuristic pairs with it, if any (each deposit "
                "with at most one withdrawal and each withdrawal with at most one deposit: links the investigator "
                "confirmed first, then leads by measured precision). Beside each such lead stand the heuristic, its "
                "measured precision, its chance-match rate and a true-flow estimate: the deposit's traced share of what "
                "that withdrawal paid its recipient, floor((denomination - relayer fee) x traced / denomination). It is "
                "a lead, not proof: the chance-match rate says how often the same test links a deposit and a "
                "withdrawal that are unrelated, and the recipient's ownership should be confirmed by other evidence, "
                "such as the records of the service the funds reached."),
    "deposit": N_("Exchange deposit addresses. An exchange gives each customer a deposit address and sweeps it into "
                  "its hot wallet. Such an address is recognised by that forwarding pattern even when no tag names it "
                  "(a forwarder contract made by the exchange's factory, or an account whose every transaction sweeps "
                  "its whole balance to one hot wallet); the trace stops there and attributes it to the hot wallet's "
                  "service. The exchange's records for that deposit address identify the customer."),
}


MIXER_POLICIES = {
    "leads": N_("At Tornado Cash pools (policy 'leads'): a pool is an account under the model; a withdrawal's traced "
                "share goes on past its recipient only where a lead pairs the withdrawal with a deposit that carried "
                "traced funds, and otherwise ends at the recipient; a relayer's fee ends at the relayer."),
    "demix": N_("At Tornado Cash pools (policy 'demix'): a deposit's traced funds stay in its note and go on only to the "
                "withdrawal a lead pairs with it; taint in a note no lead pairs stays there."),
    "haircut": N_("At Tornado Cash pools (policy 'haircut'): a pool is an account under the model and every withdrawal "
                  "is followed (no leads used)."),
    "stop": N_("At Tornado Cash pools (policy 'stop'): the trail ends at the pool."),
}


def _load(name: str) -> dict:
    try:
        return json.loads(resources.files("chaintrail.analysis").joinpath(name).read_text())
    except (OSError, ValueError):
        return {}


def tornado_entry(heuristic: str, table: dict | None = None) -> dict:
    """One Tornado heuristic's figures in the error-rate entry format, with its chance-match rate per source."""
    h = (table if table is not None else _load("eth_tornado_rates.json")).get("heuristics", {}).get(heuristic, {})
    figs: dict[str, dict] = {"real": {"status": "not measured", "reason": "no real labelled Tornado links"}}
    for src in ("generated_out_of_sample", "generated_in_sample"):
        s = h.get(src)
        if not s:
            figs[src] = {"status": "not measured", "reason": "not in eth_tornado_rates.json"}
            continue
        owner, pairs, plc = s.get("owner", {}), s.get("pairs", {}), s.get("placebo", {})
        tp, fn = int(pairs.get("tp", 0)), int(pairs.get("fn", 0))
        figs[src] = {"status": "measured", "precision": owner.get("precision"), "precision_ci95": owner.get("wilson95"),
                     "precision_n": owner.get("leads"), "recall": pairs.get("recall"),
                     "recall_ci95": pairs.get("recall_wilson95"), "recall_n": tp + fn,
                     "chance_match_rate": plc.get("rate"), "chance_match_ci95": plc.get("wilson95"),
                     "chance_match_n": plc.get("pairs"), "measured_on": s.get("measured_on")}
    measured = any(f["status"] == "measured" for f in figs.values())
    return {"version": f"{heuristic}/1", "what": f"Tornado linking heuristic {heuristic}: a withdrawal proposed for "
            "a deposit (a lead, not proof)", "unit": "leads (precision: to the depositor's entity), true pairs "
            "(recall)", "status": "measured" if measured else NOT_MEASURED, "figures": figs}


def eth_rates(names: list[str]) -> dict[str, dict]:
    """The entry of each Ethereum heuristic name (``eth:...``); names not measured are said to be so."""
    table = _load("eth_entity_rates.json")
    tornado = _load("eth_tornado_rates.json")
    out = {}
    for n in dict.fromkeys(names):
        if n.startswith(TORNADO_PREFIX):
            e = tornado_entry(n[len(TORNADO_PREFIX):], tornado)
        else:
            e = dict(table.get("heuristics", {}).get(n) or {
                "what": n, "version": None, "status": NOT_MEASURED,
                "figures": {src: {"status": "not measured", "reason": "not in the error-rate table"} for src in SOURCES}})
        e["measured_at"] = table.get("measured_at")
        out[n] = e
    return out


def chance_words(entry: dict) -> str:
    """'chance-match rate 3.5% (95% CI 2.8-4.5%, n=1,764 random pairs; generated, out of sample)', or ''."""
    for src in ("generated_out_of_sample", "generated_in_sample"):
        f = entry.get("figures", {}).get(src, {})
        if f.get("chance_match_rate") is not None:
            ci = f.get("chance_match_ci95") or [None, None]
            where = _(SOURCE_WORDS[src])
            n = fmt_number(int(f["chance_match_n"]))
            rate = fmt_percent(f"{100 * f['chance_match_rate']:.1f}%")
            if ci[0] is None:
                return _("chance-match rate {rate} (n={n} random pairs; {where})").format(rate=rate, n=n, where=where)
            return _("chance-match rate {rate} (95% CI {low}-{high}, n={n} random pairs; {where})").format(
                rate=rate, low=fmt_percent(f"{100 * ci[0]:.1f}%").rstrip("%"), high=fmt_percent(f"{100 * ci[1]:.1f}%"),
                n=n, where=where)
    return ""
