"""Cashing out coins (chips, post-mix outputs) the way a drawn behaviour profile says.

The reference profile sweeps groups of coins whole into deposit addresses; the
cases keep that loop verbatim so reference chains stay byte-identical.  Drawn
profiles go through ``cash_out`` instead, which adds the behaviour families:

* ``long_wait``: the coins lie dormant for about ``long_wait_blocks`` first;
* ``fresh_address_type``: new addresses from here on are of a new type;
* ``intermediate_hops``: each group is moved through 1 to ``extra_hops_max``
  self-transfers (fresh addresses, one block apart) before the deposit;
* ``grouped_spend_with_change``: groups of 2-3 coins pay a share
  (``change_pay_fraction``, possibly rounded) to the deposit and keep the
  change, which is cashed out later at the next destination;
* ``address_reuse``: that change may go back to an input address.

Groups advance in parallel, one step per block, so hops do not stretch the
chain by a block per group.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from chaintrail.scenario.chain import Chain
from chaintrail.scenario.ledger import O_ADDR
from chaintrail.scenario.wallet_ops import DUST


@dataclass
class _Lane:
    coins: list[int]
    hops: int              # self-transfers still to make
    dest: int              # deposit address at the end
    first: bool            # still the original coins (chips / post-mix outputs)
    keep_change: bool      # pay a share and keep change (grouped_spend_with_change)


def cash_out(case, ch: Chain, owner: int, coins: list[int], dest_of: Callable[[int], int], group_max: int,
             pause_p: float, kind: str, first_roles: Callable[[int], tuple[str, ...]]) -> Iterator[None]:
    """Cash ``coins`` of ``owner`` out to ``dest_of(k)`` (k = 0, 1, ... per group); yields per block.

    ``first_roles(n)`` names the laundering roles of a transaction spending ``n`` original coins.
    """
    b = ch.behaviour
    rng = ch.rng
    if b.has("long_wait"):
        yield from case.wait(int(rng.integers(b.long_wait_blocks // 2, b.long_wait_blocks + 1)))
    case.adopt_cashout_type(ch)
    coins = [coins[i] for i in rng.permutation(len(coins))]
    lanes: list[_Lane] = []
    k = 0
    grouped = b.has("grouped_spend_with_change")
    while coins:
        n = int(rng.integers(1, max(1, group_max) + 1))
        if grouped and n == 1 and len(coins) > 1:
            n = int(rng.integers(2, 4))
        batch, coins = coins[:n], coins[n:]
        hops = int(rng.integers(1, b.extra_hops_max + 1)) if b.has("intermediate_hops") else 0
        lanes.append(_Lane(batch, hops, dest_of(k), True, grouped and len(batch) > 1))
        k += 1
    while lanes:
        left: list[_Lane] = []
        paused = False
        for ln in lanes:
            if paused or not case.ready(ch, ln.coins):
                left.append(ln)
                continue
            roles = first_roles(len(ln.coins)) if ln.first else ()
            tx_kind = kind if ln.first else "crime"      # only a tx spending the original coins has their kind
            fr = b.feerate(ch.feerate)
            worth = sum(ch.value(o) for o in ln.coins) - ch.fee(ln.coins, [ln.dest, ln.dest], fr)
            if worth < 4 * DUST:          # too small to hop or split at this fee: sweep it, or keep it
                ln.hops, ln.keep_change = 0, False
                if worth < DUST:
                    case.notes.append(f"{len(ln.coins)} coin(s) too small to cash out at {fr or ch.feerate:.1f} sat/vB")
                    continue
            if ln.hops > 0:
                t = ch.sweep(owner, ln.coins, ch.address(owner), kind=tx_kind, feerate=fr)
                _roles(case, ch, t, roles + ("layering_hop",))
                ln.coins, ln.hops, ln.first = [ch.outputs(t)[0]], ln.hops - 1, False
                left.append(ln)
            elif ln.keep_change:
                t, change = _pay_with_change(case, ch, owner, ln, fr, tx_kind)
                _roles(case, ch, t, roles + ("cash_out",))
                if change is not None:
                    left.append(_Lane([change], 0, dest_of(k), False, False))
                    k += 1
            else:
                t = ch.sweep(owner, ln.coins, ln.dest, kind=tx_kind, feerate=fr)
                _roles(case, ch, t, roles + ("cash_out",))
            paused = rng.random() < pause_p
        lanes = left
        yield


def _pay_with_change(case, ch: Chain, owner: int, ln: _Lane, fr: float | None,
                     kind: str) -> tuple[int, int | None]:
    """Pay a share of the lane's coins to its deposit, change to the owner; returns (tx, change output)."""
    b = ch.behaviour
    total = sum(ch.value(o) for o in ln.coins)
    chg = case.change_address(ch, owner, ln.coins)
    room = total - ch.fee(ln.coins, [ln.dest, chg], fr) - DUST
    pay = int(total * b.change_pay_fraction)
    if ch.rng.random() < b.round_amount_p and 0 < round(pay, -5) < room:
        pay = int(round(pay, -5))
    pay = max(DUST, min(pay, room))
    t = ch.send(owner, [(ln.dest, pay)], coins=ln.coins, kind=kind, change_addr=chg, feerate=fr)
    change = [o for o in ch.outputs(t) if int(ch.L.out[o, O_ADDR]) == chg]
    return t, (change[0] if change else None)


def _roles(case, ch: Chain, t: int, roles: tuple[str, ...]) -> None:
    for r in roles:
        case.role(ch, t, r)
