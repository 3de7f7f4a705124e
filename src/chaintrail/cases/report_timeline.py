"""The report's timeline: what happened in the case, in time order, with the monitoring alerts among it.

Each row is one dated event a reader (and a court) may want to place: the case opened, a finding saved, exchange
records attached, a watched wallet seen moving funds (the alert, with its transaction, amount and block), and an
alert withdrawn because a reorganisation dropped its block. A retracted alert stays in the timeline where it was
raised, struck through and marked retracted, so what was once reported remains visible.
"""

from __future__ import annotations

from html import escape

from chaintrail.i18n import _, fmt_btc, fmt_number, fmt_units

_DECIMALS = {"BTC": 8, "ETH": 18}


def _e(s) -> str:
    return escape("" if s is None else str(s))


def alert_amount(a: dict) -> str:
    """The amount in its chain's unit (exact), or in base units of a token."""
    if a["asset"] == "BTC":
        return fmt_btc(int(a["amount"]))
    if a["asset"] in _DECIMALS:
        return fmt_units(int(a["amount"]), _DECIMALS[a["asset"]], a["asset"])
    return _("{amount} base units of token {token}").format(amount=fmt_number(int(a["amount"])), token=a["asset"])


def _alert_text(a: dict) -> str:
    said = (_("Alert {id}: {address} paid {amount}") if a["direction"] == "out"
            else _("Alert {id}: {address} received {amount}"))
    head = said.format(id=a["id"], address=a["address"] or "?", amount=alert_amount(a))
    watch = _("watch {id} ({kind} {target}): {reason}").format(
        id=a["watch_id"], kind=a.get("watch_kind") or "", target=a.get("watch_target") or "", reason=a["reason"])
    where = _("transaction {tx} in block {number}, hash {hash}").format(
        tx=f"<span class=hash>{_e(a['tx_hash'])}</span>", number=fmt_number(int(a["block_number"])),
        hash=f"<span class=hash>{_e(a['block_hash'])}</span>")
    body = f"{_e(head)}; {_e(watch)}; {where}"
    if a["status"] == "retracted":
        mark = _("RETRACTED")
        return f"<s>{body}</s> <b class=bad>{_e(mark)}</b>"
    return body


def events(view) -> list[tuple[str, int, str]]:
    """(UTC time, order within the same moment, HTML) for every event of the case this reader may see."""
    c = view.case
    out = [(c["created_at"], 0, _e(_("Case {ref} opened by {user}").format(ref=c["ref"], user=c.get("created_by"))))]
    for f in view.findings:
        out.append((f["created_at"], 1, _e(_("Finding {id} saved by {user}: {title}").format(
            id=f["id"], user=f["created_by"], title=f.get("title") or f["kind"]))))
    for a in view.attachments:
        out.append((a["created_at"], 2, _e(_("{file} attached by {user}").format(file=a.get("filename"),
                                                                               user=a["created_by"]))))
    for a in view.alerts:
        out.append((a["created_at"], 3, _alert_text(a)))
        if a["status"] == "retracted":
            out.append((a.get("retracted_at") or a["created_at"], 4, _e(_("Alert {id} retracted: {reason}").format(
                id=a["id"], reason=a.get("retract_reason") or ""))))
    return sorted(out, key=lambda x: (x[0], x[1]))


def timeline_html(view) -> str:
    """The timeline section's body: a table of events, and how alerts came to be there."""
    rows = "".join(f"<tr><td>{_e(when[:19].replace('T', ' '))}</td><td>{what}</td></tr>"
                   for when, _k, what in events(view))
    head = "".join(f"<th>{_e(x)}</th>" for x in (_("Time (UTC)"), _("Event")))
    intro = ""
    if view.alerts:
        intro = "<p>" + _e(_(
            "Alerts were raised by the chaintrail monitor as it followed the node, block by block, on the watches of "
            "this case. An alert whose block a reorganisation removed from the chain is retracted: it stays listed, "
            "struck through, with the time and reason of its retraction.")) + "</p>"
    return f"{intro}<table class=data><tr>{head}</tr>{rows}</table>"
