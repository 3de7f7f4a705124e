"""What a watch asks for, checked before it is stored: a malformed watch is refused with the reason.

Four kinds of target:

- ``address``: one address; fires when it pays (``out``), receives (``in``) or either (``any``).
- ``entity``: the entity an address belongs to (or ``cluster:N``), followed as clustering grows it.
- ``category``: any payment from an entity tagged with a category (``ransomware``), optionally only into an
  entity tagged with another (``to_category: exchange``).
- ``exposure``: an address receives at least ``min_amount`` from a sender with indirect exposure (within
  ``max_hops`` payments) to an entity of ``category`` (default ``sanctioned``).

Amounts are exact integers in base units (satoshi, wei, token units).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from chaintrail.errors import UsageError
from chaintrail.i18n import _
from chaintrail.monitor.url_guard import Allow, WebhookRefused, checked_addresses
from chaintrail.tags import taxonomy as tx

CHAINS = ("btc", "eth")
KINDS = ("address", "entity", "category", "exposure")
DIRECTIONS = ("any", "out", "in")
_PARAMS = {"address": {"direction", "min_amount"}, "entity": {"direction", "min_amount"},
           "category": {"to_category", "min_amount"}, "exposure": {"category", "min_amount", "max_hops"}}
_ETH = re.compile(r"^0x[0-9a-fA-F]{40}$")
_CLUSTER = re.compile(r"^cluster:(\d{1,12})$")
_EMAIL = re.compile(r"^[^@\s,;<>]{1,64}@[A-Za-z0-9.-]{1,253}$")
MAX_AMOUNT = (1 << 256) - 1
MAX_HOPS = 10


@dataclass(frozen=True)
class WatchSpec:
    chain: str
    kind: str
    target: str
    params: dict = field(default_factory=dict)
    notify: dict = field(default_factory=dict)
    label: str | None = None


def _refuse(msg: str) -> UsageError:
    return UsageError(_("watch refused: {reason}").format(reason=msg))


def check_address(chain: str, value: str, network: str | None = None) -> str:
    """The address in its stored spelling, or a refusal naming what is wrong with it."""
    v = value.strip()
    if chain == "eth":
        if not _ETH.match(v):
            raise _refuse(_("{value} is not an Ethereum address (0x and 40 hex digits)").format(value=repr(v[:60])))
        return v.lower()
    from chaintrail.chains.bitcoin.address import address_to_script
    from chaintrail.chains.bitcoin.network import network_by_name
    from chaintrail.errors import AddressError
    try:
        address_to_script(v, network_by_name(network or "mainnet"))
    except AddressError as exc:
        raise _refuse(str(exc)) from None
    return v


def _amount(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise _refuse(_("{what} must be a whole number of base units, not {value}").format(what=what,
                                                                                            value=repr(value)))
    s = str(value).strip()
    if not s.isdigit() or not s.isascii():
        raise _refuse(_("{what} must be a whole number of base units (no sign, point or exponent), not {value}")
                      .format(what=what, value=repr(s[:40])))
    n = int(s)
    if n > MAX_AMOUNT:
        raise _refuse(_("{what} {value}... is larger than any amount a chain can carry").format(what=what,
                                                                                                 value=s[:20]))
    return n


def _category(value: object, what: str) -> str:
    name = str(value).strip().lower()
    if name not in tx.CATEGORIES:
        raise _refuse(_("{what} {value} is not a screening category; one of {allowed}").format(
            what=what, value=repr(str(value)[:40]), allowed=", ".join(tx.CATEGORIES)))
    return name


def check_notify(notify: dict | None, allow: Allow | None = None) -> dict:
    """Delivery targets: {"webhook": "https://...", "email": ["a@b.org", ...]}.

    A webhook whose host resolves to a loopback, link-local, private or metadata address is refused unless
    ``allow`` (default: ``$CHAINTRAIL_WEBHOOK_ALLOW``) lets it through (see ``url_guard``)."""
    notify = dict(notify or {})
    extra = set(notify) - {"webhook", "email"}
    if extra:
        raise _refuse(_("unknown delivery {name}; give webhook and/or email").format(name=repr(sorted(extra)[0])))
    out: dict = {}
    hook = notify.get("webhook")
    if hook:
        try:
            checked_addresses(str(hook), Allow.from_env() if allow is None else allow)
        except WebhookRefused as exc:
            raise _refuse(str(exc)) from None
        out["webhook"] = str(hook)
    mails = notify.get("email")
    if mails:
        mails = [mails] if isinstance(mails, str) else list(mails)
        for m in mails:
            if not isinstance(m, str) or not _EMAIL.match(m.strip()):
                raise _refuse(_("e-mail recipient {value} is not an address").format(value=repr(str(m)[:80])))
        out["email"] = [m.strip() for m in mails]
    return out


def check_spec(chain: str, kind: str, target: str, params: dict | None = None, notify: dict | None = None,
               label: str | None = None, network: str | None = None, allow: Allow | None = None) -> WatchSpec:
    """Normalise a watch, or refuse it with one line saying why."""
    if chain not in CHAINS:
        raise _refuse(_("chain must be one of {allowed}, not {value}").format(allowed=", ".join(CHAINS),
                                                                               value=repr(chain)))
    if kind not in KINDS:
        raise _refuse(_("kind must be one of {allowed}, not {value}").format(allowed=", ".join(KINDS),
                                                                              value=repr(kind)))
    params = dict(params or {})
    extra = set(params) - _PARAMS[kind]
    if extra:
        raise _refuse(_("a {kind} watch takes {allowed}, not {value}").format(
            kind=kind, allowed=", ".join(sorted(_PARAMS[kind])), value=repr(sorted(extra)[0])))
    target = (target or "").strip()
    if not target:
        raise _refuse(_("a {kind} watch needs a target").format(kind=kind))
    out: dict = {"min_amount": str(_amount(params.get("min_amount", 0), "min_amount"))}
    if kind in ("address", "entity"):
        d = params.get("direction", "any")
        if d not in DIRECTIONS:
            raise _refuse(_("direction must be one of {allowed}, not {value}").format(allowed=", ".join(DIRECTIONS),
                                                                                      value=repr(d)))
        out["direction"] = d
        if kind == "entity" and _CLUSTER.match(target):
            pass
        else:
            target = check_address(chain, target, network)
    elif kind == "category":
        target = _category(target, "category")
        if params.get("to_category"):
            out["to_category"] = _category(params["to_category"], "to_category")
    else:
        target = check_address(chain, target, network)
        out["category"] = _category(params.get("category", "sanctioned"), "category")
        hops = params.get("max_hops", 3)
        if isinstance(hops, bool) or not isinstance(hops, int) and not str(hops).isdigit():
            raise _refuse(_("max_hops must be a whole number, not {value}").format(value=repr(hops)))
        hops = int(hops)
        if not 1 <= hops <= MAX_HOPS:
            raise _refuse(_("max_hops must be between 1 and {most}, not {value}").format(most=MAX_HOPS, value=hops))
        out["max_hops"] = hops
    if label is not None and len(label) > 200:
        raise _refuse(_("the label is longer than 200 characters"))
    return WatchSpec(chain, kind, target, out, check_notify(notify, allow), label)
