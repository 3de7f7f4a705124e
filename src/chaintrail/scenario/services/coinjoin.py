"""CoinJoin coordinators: Wasabi 1.0/1.1 (ZeroLink), Wasabi 2.0 (WabiSabi) and JoinMarket.

Structures follow the published designs:

* Wasabi 1.x (ZeroLink, Chaumian blind signatures; zkSNACKs coordinator 2018-2022):
  P2WPKH only; equal outputs at a base denomination of about 0.1 BTC; from 1.1
  (2019) extra mixing levels at 2, 4, 8, 16 times the base; one coordinator fee
  output to a reused address (0.003 % x anonymity set per mixed output); a
  non-round change output per participant; version 1, locktime 0.
* Wasabi 2.0 (WabiSabi, 2022-): many inputs (P2WPKH and P2TR); outputs of
  standard denominations only (powers of 2 and 3, 2x3^k, 1-2-5 x 10^k, at least
  5000 sats), a few per participant, leftovers paid to miners; coordinator fee
  0.3 % of inputs above 0.01 BTC; inputs and outputs ordered by value, largest first.
* JoinMarket (maker/taker): a taker pays makers a small fee for joining; every
  participant receives one equal output of an arbitrary (non-round) amount, makers
  and usually the taker get change; all inputs of one script type; nLockTime =
  height, sequence 0xfffffffe, random order.
"""

from __future__ import annotations

import math

from chaintrail.scenario.chain import Chain
from chaintrail.scenario.ledger import (
    A_TYPE,
    AT_P2SH_P2WPKH,
    AT_P2TR,
    AT_P2WPKH,
    E_ATYPE,
    O_ADDR,
    OF_CHANGE,
)
from chaintrail.scenario.services.base import (
    Participant,
    Service,
    Ticket,
    coins_of,
    emit_multiparty,
    pick_coins,
)
from chaintrail.scenario.wallet_ops import (
    IN_WEIGHT,
    OUT_WEIGHT,
    SW_COORD,
    SW_JOINMARKET,
    TX_OVERHEAD_WEIGHT,
    fee_for,
)

MIN_CHANGE = 5000


class Wasabi1(Service):
    """The Wasabi 1.x coordinator."""

    def __init__(self, ch: Chain, privacy: list[int], version: str, rate: float):
        self.version = version
        self.kind = "wasabi1.0" if version == "1.0" else "wasabi1.1"
        self.name = self.kind
        self.coord = ch.entity("coinjoin_coordinator", f"Wasabi {version} coordinator", AT_P2WPKH, SW_COORD)
        self.fee_addr = ch.address(self.coord)
        self.users = [u for u in privacy if int(ch.L.ent[u, E_ATYPE]) == AT_P2WPKH]
        self.rate = rate
        self.queue: list[Ticket] = []
        self.rounds: list[int] = []

    def enqueue(self, entity: int, coins: list[int]) -> Ticket:
        t = Ticket(entity, coins)
        self.queue.append(t)
        return t

    def step(self, ch: Chain, pop) -> None:
        if self.queue or ch.rng.random() < self.rate:
            self.round(ch)

    def round(self, ch: Chain) -> int | None:
        rng = ch.rng
        d = 10_000_000 + int(rng.integers(-40, 40)) * 1000
        anon = max(5, min(100, len(self.users) // 2))
        fr = max(1.0, ch.feerate)
        levels = [0] if self.version == "1.0" else [4, 3, 2, 1, 0]
        parts: list[Participant] = []
        for tk in self.queue:
            p = self._participant(ch, tk.entity, tk.coins, d, anon, fr, levels)
            if p is not None:
                p.ticket = tk
                parts.append(p)
        for u in (self.users[i] for i in rng.permutation(len(self.users))):
            if len(parts) >= anon:
                break
            if any(p.entity == u for p in parts):
                continue
            coins = pick_coins(ch, coins_of(ch, u, (AT_P2WPKH,)), d + d // 50, 3)
            if coins:
                p = self._participant(ch, u, coins, d, anon, fr, levels)
                if p is not None:
                    parts.append(p)
        if len(parts) < 3:
            return None
        coord_fee = sum(p.coord_fee for p in parts)
        t = emit_multiparty(ch, self.kind, self.kind, self.coord, parts, [(self.fee_addr, coord_fee)],
                            SW_COORD, order="shuffle")
        self.queue = [tk for tk in self.queue if not tk.done]
        self.rounds.append(t)
        return t

    def _participant(self, ch, u, coins, d, anon, fr, levels):
        L = ch.L
        value = sum(int(L.out[o, 0]) for o in coins)
        in_w = sum(int(IN_WEIGHT[L.addr[L.out[o, O_ADDR], A_TYPE]]) for o in coins)
        outs, fee_c = [], 0
        left = value - fee_for(in_w + OUT_WEIGHT[AT_P2WPKH], fr)   # own inputs and change output
        for lv in levels:
            den = d << lv
            c = math.ceil(den * 0.00003 * anon)
            of = int(fee_for(OUT_WEIGHT[AT_P2WPKH], fr))
            if left >= den + c + of and (lv == 0 or ch.rng.random() < 0.7):
                outs.append(den)
                fee_c += c
                left -= den + c + of
        if not outs:
            return None
        p = Participant(u, list(coins))
        for den in outs:
            p.outputs.append((ch.address(u, AT_P2WPKH), den, 0))
        if left >= MIN_CHANGE:
            p.outputs.append((ch.address(u, AT_P2WPKH), int(left), OF_CHANGE))
        p.coord_fee = fee_c
        return p


def wabisabi_denominations() -> list[int]:
    """WabiSabi's standard denominations, largest first."""
    ds: set[int] = set()
    hi = 1_374_389_534_720
    k = 0
    while 2 ** k <= hi:
        ds.add(2 ** k)
        k += 1
    k = 0
    while 3 ** k <= hi:
        ds.update({3 ** k, 2 * 3 ** k})
        k += 1
    k = 0
    while 10 ** k <= hi:
        ds.update({10 ** k, 2 * 10 ** k, 5 * 10 ** k})
        k += 1
    return sorted((x for x in ds if 5000 <= x <= hi), reverse=True)


WW2_DENOMS = wabisabi_denominations()


class Wasabi2(Service):
    """A WabiSabi coordinator."""

    name = "wasabi2"

    def __init__(self, ch: Chain, privacy: list[int], rate: float, fee_rate: float = 0.003):
        self.coord = ch.entity("coinjoin_coordinator", "Wasabi 2 coordinator", AT_P2WPKH, SW_COORD)
        self.fee_addr = ch.address(self.coord)
        self.users = [u for u in privacy if int(ch.L.ent[u, E_ATYPE]) in (AT_P2WPKH, AT_P2TR)]
        self.rate = rate
        self.coord_rate = fee_rate
        self.queue: list[Ticket] = []
        self.rounds: list[int] = []

    def enqueue(self, entity: int, coins: list[int]) -> Ticket:
        t = Ticket(entity, coins)
        self.queue.append(t)
        return t

    def step(self, ch: Chain, pop) -> None:
        if self.queue or ch.rng.random() < self.rate:
            self.round(ch)

    def round(self, ch: Chain) -> int | None:
        rng = ch.rng
        fr = max(1.0, ch.feerate * 0.8)
        target = max(5, min(150, len(self.users) // 2))
        parts: list[Participant] = []
        for tk in self.queue:
            p = self._participant(ch, tk.entity, tk.coins, fr)
            if p is not None:
                p.ticket = tk
                parts.append(p)
        for u in (self.users[i] for i in rng.permutation(len(self.users))):
            if len(parts) >= target:
                break
            if any(p.entity == u for p in parts):
                continue
            coins = coins_of(ch, u, (AT_P2WPKH, AT_P2TR))
            if not coins:
                continue
            coins = [coins[i] for i in rng.permutation(len(coins))[:int(rng.integers(1, 6))]]
            p = self._participant(ch, u, coins, fr)
            if p is not None:
                parts.append(p)
        if len(parts) < 3:
            return None
        coord_fee = sum(p.coord_fee for p in parts)
        coord = [(self.fee_addr, coord_fee)] if coord_fee >= 5000 else []
        t = emit_multiparty(ch, "wasabi2", "wasabi2", self.coord, parts, coord, SW_COORD, order="desc")
        self.queue = [tk for tk in self.queue if not tk.done]
        self.rounds.append(t)
        return t

    def _participant(self, ch, u, coins, fr):
        L = ch.L
        value = sum(int(L.out[o, 0]) for o in coins)
        in_w = sum(int(IN_WEIGHT[L.addr[L.out[o, O_ADDR], A_TYPE]]) for o in coins)
        c_fee = sum(int(L.out[o, 0]) * 3 // 1000 for o in coins if int(L.out[o, 0]) > 1_000_000) \
            if self.coord_rate > 0 else 0
        atype = int(L.ent[u, E_ATYPE]) if int(L.ent[u, E_ATYPE]) in (AT_P2WPKH, AT_P2TR) else AT_P2WPKH
        of = int(fee_for(OUT_WEIGHT[atype], fr))
        left = value - c_fee - int(fee_for(in_w, fr))
        outs = []
        for den in WW2_DENOMS:
            while left >= den + of and len(outs) < 8:
                if ch.rng.random() < 0.2 and den > 5000:
                    break          # clients skip some denominations to vary the decomposition
                outs.append(den)
                left -= den + of
            if len(outs) >= 8:
                break
        if not outs:
            return None
        p = Participant(u, list(coins))
        for den in outs:
            p.outputs.append((ch.address(u, atype), den, 0))
        if left >= 20_000 + of:   # a rare non-standard remainder; smaller leftovers go to miners
            p.outputs.append((ch.address(u, atype), int(left - of), OF_CHANGE))
        p.coord_fee = c_fee
        return p


class JoinMarket(Service):
    """JoinMarket's order book: yield-generating makers joined by takers."""

    name = "joinmarket"

    def __init__(self, ch: Chain, privacy: list[int], n_makers: int, rate: float, alloc: list):
        self.makers = []
        for i in range(n_makers):
            at = AT_P2SH_P2WPKH if i % 2 else AT_P2WPKH
            m = ch.entity("wallet", f"JoinMarket maker {i + 1}", at, SW_JOINMARKET)
            self.makers.append(m)
            for _ in range(3):
                alloc.append((ch.address(m), 1.0 + ch.rng.random(), "service"))
        self.users = [u for u in privacy if int(ch.L.ent[u, E_ATYPE]) in (AT_P2WPKH, AT_P2SH_P2WPKH)]
        self.rate = rate
        self.queue: list[Ticket] = []
        self.rounds: list[int] = []

    def enqueue(self, entity: int, coins: list[int], amount: int, dest: int | None = None) -> Ticket:
        t = Ticket(entity, coins, {"amount": amount, "dest": dest})
        self.queue.append(t)
        return t

    def step(self, ch: Chain, pop) -> None:
        for tk in list(self.queue):
            self.join(ch, tk.entity, tk.coins, tk.opts["amount"], tk.opts["dest"], tk)
        self.queue = [tk for tk in self.queue if not tk.done]
        if ch.rng.random() < self.rate and self.users:
            u = self.users[int(ch.rng.integers(0, len(self.users)))]
            coins = coins_of(ch, u, (int(ch.L.ent[u, E_ATYPE]),))
            total = sum(ch.value(o) for o in coins)
            if total > 300_000:
                amt = int(total * ch.rng.uniform(0.2, 0.8))
                self.join(ch, u, pick_coins(ch, coins, amt + 50_000, 4) or coins[:4], amt, None, None)

    def join(self, ch: Chain, taker: int, coins: list[int], amount: int, dest: int | None,
             ticket: Ticket | None) -> int | None:
        L, rng = ch.L, ch.rng
        atype = int(L.addr[L.out[coins[0], O_ADDR], A_TYPE])
        fr = max(1.0, ch.feerate)
        pool = [m for m in self.makers if int(L.ent[m, E_ATYPE]) == atype]
        n = min(len(pool), int(rng.integers(4, 10)))
        parts, cj_fees = [], 0
        for m in (pool[i] for i in rng.permutation(len(pool))):
            if len(parts) >= n:
                break
            mc = pick_coins(ch, coins_of(ch, m), amount + 20_000, 3)
            if mc is None:
                continue
            fee = int(rng.integers(250, 1500)) if rng.random() < 0.5 else max(1, int(amount * rng.uniform(2e-5, 2e-4)))
            value = sum(ch.value(o) for o in mc)
            p = Participant(m, mc, [(ch.address(m), amount, 0), (ch.address(m), value - amount + fee, OF_CHANGE)])
            parts.append(p)
            cj_fees += fee
        if len(parts) < 2:
            return None
        total_w = TX_OVERHEAD_WEIGHT + sum(int(IN_WEIGHT[atype]) * (len(p.inputs) + 0) for p in parts)
        total_w += int(IN_WEIGHT[atype]) * len(coins) + int(OUT_WEIGHT[atype]) * (2 * len(parts) + 2)
        mining = int(fee_for(total_w, fr))
        value = sum(ch.value(o) for o in coins)
        change = value - amount - cj_fees - mining
        if change < 0:
            return None
        dest_addr = dest if dest is not None else ch.address(taker, atype)
        tp = Participant(taker, list(coins), [(dest_addr, amount, 0)], ticket)
        if change >= MIN_CHANGE:
            tp.outputs.append((ch.address(taker, atype), change, OF_CHANGE))
        parts.insert(int(rng.integers(0, len(parts) + 1)), tp)
        t = emit_multiparty(ch, "joinmarket", "joinmarket", taker, parts, [], SW_JOINMARKET, order="shuffle")
        self.rounds.append(t)
        return t
