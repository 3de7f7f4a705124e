"""Grading feedback in words, in the reader's language: each item's code with its parameters."""

from __future__ import annotations

from chaintrail.i18n import N_, _, fmt_btc, fmt_units
from chaintrail.training.kinds import TECHNIQUES

QUESTIONS = {
    "exchanges": N_("Exchanges to serve, and amounts"),
    "perpetrator": N_("The perpetrators' addresses"),
    "mixers": N_("Services that mixed the funds"),
    "bridges": N_("The bridge that carried the funds"),
    "unspent": N_("Amount still unspent"),
    "reasoning": N_("Reasoning"),
}

MESSAGES = {
    "exchange_ok": N_("{exchange}: right, and the amount is within tolerance."),
    "exchange_missed": N_("Missed {exchange}: {amount} reached it in {deposits} deposit(s)."),
    "exchange_amount_off": N_("{exchange}: you said {answered}, the proceeds there are {amount} (near, but outside "
                              "the {tolerance} tolerance)."),
    "exchange_amount_wrong": N_("{exchange}: you said {answered}, the proceeds there are {amount}."),
    "exchange_not_reached": N_("No proceeds reached {exchange}: a request there would be wasted."),
    "false_accusation": N_("{address} is not this case's perpetrators': it belongs to {owner}. A false "
                           "accusation costs twice an omission."),
    "unknown_address": N_("{address} is not an address on this chain."),
    "deposit_not_perpetrator": N_("{address} is a deposit address of the perpetrators' exchange account: the "
                                  "exchange controls it (serve the exchange; no credit, no cost)."),
    "addresses_missed": N_("Missed {n} of the perpetrators' {total} addresses, e.g. {examples}."),
    "chips_missed": N_("Missed {n} chip address(es) the mixer handed to the perpetrators, e.g. {examples}."),
    "perpetrator_ok": N_("All {n} addresses are the perpetrators' ({names})."),
    "mixer_missed": N_("Missed: {mixer} mixed the funds."),
    "mixer_not_used": N_("{mixer} did not mix this case's funds."),
    "no_mixer_ok": N_("Right: no mixing service was used."),
    "mixers_ok": N_("Right: {mixers}."),
    "unspent_missing": N_("No answer: {amount} is still unspent in {outputs} output(s) the perpetrators hold."),
    "unspent_ok": N_("Right, within tolerance."),
    "unspent_off": N_("You said {answered}; {amount} is still unspent in {outputs} output(s) (near, but outside "
                      "the {tolerance} tolerance)."),
    "unspent_wrong": N_("You said {answered}; {amount} is still unspent in {outputs} output(s)."),
    "reasoning_missing": N_("Your reasoning does not name: {names}."),
    "reasoning_ok": N_("Your reasoning names every technique the case needs."),
    "reasoning_note": N_("(An automatic keyword check: your instructor reads the text.)"),
    # Ethereum exercises: amounts per exchange and asset
    "eth_exchange_missed": N_("Missed {exchange}: {amounts} reached it in {deposits} deposit(s)."),
    "eth_asset_ok": N_("{exchange}, {symbol}: right, and the amount is within tolerance."),
    "eth_asset_missed": N_("{exchange}: you gave no {symbol}; {amount} of it reached the exchange."),
    "eth_asset_true_flow": N_("{exchange}: you said {answered}, everything the perpetrators paid in; the tainted "
                              "share under the haircut model is {amount}."),
    "eth_asset_amount_off": N_("{exchange}: you said {answered}, the proceeds there are {amount} (near, but outside "
                               "the {tolerance} tolerance)."),
    "eth_asset_amount_wrong": N_("{exchange}: you said {answered}, the proceeds there are {amount}."),
    "eth_asset_not_reached": N_("No {symbol} of this case reached {exchange}."),
    "exchange_dust": N_("{exchange}: only a trace of taint reached it (spread through a pool onto others' "
                        "withdrawals); no request is needed there, and it costs nothing."),
    "pool_missed": N_("Missed {pool}: the perpetrators deposited {deposits} note(s) there and withdrew {withdrawn}. "
                      "{leads}"),
    "pools_ok": N_("Right: all {n} Tornado pools the perpetrators used."),
    "bridge_missed": N_("Missed: {bridge} carried the funds to the other chain in {legs} leg(s) (nonces {nonces})."),
    "bridge_ok": N_("Right: {bridge}, {legs} leg(s) (nonces {nonces})."),
    "bridge_not_used": N_("{bridge} did not carry this case's funds."),
    "no_bridge_ok": N_("Right: no bridge was used."),
    "eth_unspent_missing": N_("No answer: the perpetrators still hold {amounts} of tainted funds."),
    "eth_unspent_ok": N_("{symbol}: right, within tolerance."),
    "eth_unspent_asset_missed": N_("You gave no {symbol}: the perpetrators still hold {amount} of it, tainted."),
    "eth_unspent_off": N_("You said {answered}; the perpetrators still hold {amount} tainted (near, but outside the "
                          "{tolerance} tolerance)."),
    "eth_unspent_wrong": N_("You said {answered}; the perpetrators still hold {amount} tainted."),
    "eth_unspent_not_held": N_("The perpetrators hold no tainted {symbol}."),
}
LEADS = N_("The lead that links the notes to their withdrawals in your store: {heuristics}.")
NO_LEAD = N_("No lead in your store links these notes to their own withdrawals: follow the pool's leads, weigh "
             "each by its measured precision, and confirm one before you rely on it.")
PRECISION = N_("{heuristic} (measured precision {precision})")
POOL = N_("Tornado-style pool {denomination} ({address})")


OWNERS = {
    "exchange": N_("an exchange"), "wallet": N_("an uninvolved user"), "mixer": N_("the mixer"),
    "coinjoin_coordinator": N_("a CoinJoin coordinator"), "p2p_trader": N_("a P2P trader"),
    "payment_processor": N_("a payment processor"), "merchant": N_("a merchant"), "gambling": N_("a casino"),
    "mining_pool": N_("a mining pool"), "criminal": N_("the perpetrator of another case"),
    "darknet_market": N_("the perpetrator of another case"),
}


def _amount(sat: int) -> str:
    return fmt_btc(sat)


def _units(amount, decimals: int, symbol: str) -> str:
    """An exact amount in its asset's units, trailing zeros of the fraction dropped (1.5 ETH, 250 USDX)."""
    text = fmt_units(int(amount), decimals)
    if decimals:
        text = text.rstrip("0").rstrip(".,")
    return f"{text} {symbol}"


def _eth_words(p: dict) -> dict:
    """The words of an Ethereum feedback item's parameters."""
    out: dict = {}
    if "decimals" in p:
        out["amount"] = _units(p["amount"], p["decimals"], p["symbol"])
        if "answered" in p:
            out["answered"] = _units(p["answered"], p["decimals"], p["symbol"])
    if "amounts" in p:
        out["amounts"] = ", ".join(_units(a["amount"], a["decimals"], a["symbol"]) for a in p["amounts"])
    if "pool" in p:
        d = p.get("denomination")
        out["pool"] = _(POOL).format(denomination=_units(d["amount"], d["decimals"], d["symbol"]) if d else "",
                                     address=p["pool"])
        hs = p.get("heuristics") or []
        out["leads"] = (_(LEADS).format(heuristics=", ".join(
            _(PRECISION).format(heuristic=h["heuristic"], precision="–" if h["precision"] is None
                                else f"{h['precision']:.2f}") for h in hs)) if hs else _(NO_LEAD))
    if "nonces" in p:
        out["nonces"] = ", ".join(map(str, p["nonces"]))
    for k in ("symbol", "bridge", "legs", "withdrawn"):
        if k in p:
            out[k] = p[k]
    return out


def _technique_names(keys: list[str]) -> str:
    return ", ".join(_(TECHNIQUES[k][0]) for k in keys if k in TECHNIQUES)


def render_item(item: dict) -> dict:
    """``{"code", "text", "technique"}``: the item in words, and the technique that reaches what was missed."""
    p = dict(item["params"])
    words = {
        "exchange": p.get("exchange"), "address": p.get("address"), "mixer": p.get("mixer"),
        "n": p.get("n"), "total": p.get("total"), "deposits": p.get("deposits"), "outputs": p.get("outputs"),
        "owner": _(OWNERS.get(p.get("owner", ""), N_("another entity"))),
        "amount": _amount(p["amount_sat"]) if "amount_sat" in p else "",
        "answered": _amount(p["answered_sat"]) if "answered_sat" in p else "",
        "tolerance": f"{p['tolerance'] * 100:g} %" if "tolerance" in p else "",
        "examples": ", ".join(p.get("examples", [])),
        "names": (_technique_names(p["techniques"]) if item["code"] == "reasoning_missing"
                  else ", ".join(p.get("names", []))),
        "mixers": ", ".join(p.get("mixers", [])),
    }
    if item["code"].startswith(("eth_", "pool", "bridge")):
        words |= _eth_words(p)
    text = _(MESSAGES[item["code"]]).format(**words)
    techniques = [] if item["code"] == "reasoning_missing" else p.get("techniques", [])
    how = [{"technique": _(TECHNIQUES[k][0]), "how": _(TECHNIQUES[k][1])} for k in techniques if k in TECHNIQUES]
    return {"code": item["code"], "text": text, "techniques": how}


def render(grade: dict) -> dict:
    """A stored grade with every feedback item in words and each question titled."""
    out = {k: v for k, v in grade.items() if k != "questions"}
    out["questions"] = [{**q, "title": _(QUESTIONS[q["id"]]), "feedback": [render_item(i) for i in q["feedback"]]}
                        for q in grade["questions"]]
    return out
