"""Darknet market: custodial buyer deposits, batched vendor withdrawals, vendors cashing out.

After the structure of markets described in public indictments and studies
(e.g. Hydra, AlphaBay; Christin, "Traveling the Silk Road", WWW 2013): each buyer
has a reused deposit address at the market, the market sweeps deposits into its
hot wallet, pays vendors in batched withdrawals net of its commission, and the
operator withdraws the commission; vendors consolidate and cash out at
exchanges and P2P traders, one along a short peel chain.
"""

from __future__ import annotations

from collections.abc import Iterator

from chaintrail.scenario.cases.base import COIN, Case
from chaintrail.scenario.cases.cashout import cash_out
from chaintrail.scenario.chain import Chain
from chaintrail.scenario.ledger import (
    AT_P2PKH,
    AT_P2WPKH,
    E_ADDR,
    E_POOL,
    O_VALUE,
    P_SUM,
)
from chaintrail.scenario.population import Pop
from chaintrail.scenario.wallet_ops import SW_CORE, SW_ELECTRUM, SW_EXCH1, SW_MOBILE


class DarknetMarket(Case):
    kind = "darknet"
    description = ("Buyers pay per-buyer deposit addresses of a custodial market; the market sweeps them, "
                   "pays vendors in batches and the operator its commission; vendors cash out at "
                   "exchanges, P2P traders and along a short peel chain.")

    def setup(self, ch: Chain, pop: Pop, services: dict) -> None:
        rng = ch.rng
        self.market = self.perp(ch, f"Darknet market ({self.id})", AT_P2WPKH, SW_EXCH1, kind="darknet_market")
        self.operator = self.perp(ch, f"Market operator ({self.id})", AT_P2WPKH, SW_CORE)
        self.vendors = [self.perp(ch, f"Vendor {k + 1} ({self.id})", AT_P2WPKH if k % 2 else AT_P2PKH,
                                  SW_ELECTRUM if k % 2 else SW_MOBILE)
                        for k in range(int(rng.integers(3, 6)))]
        n = int(rng.integers(8, 16))
        for u in rng.choice(pop.users, size=n, replace=False):
            self.victim(ch, int(u))
        self.dep_pool = ch.new_pool(self.market)
        self.buyer_addr: dict[int, int] = {}
        self.sales: dict[int, int] = {v: 0 for v in self.vendors}
        self.exchanges = [int(x) for x in rng.choice(pop.ex, size=self.n_exchanges(ch, 3, len(pop.ex)), replace=False)]
        self.hot_addr = -1
        self.traders = [int(x) for x in rng.choice(pop.traders, size=min(2, len(pop.traders)), replace=False)]

    def _buyer_deposit(self, ch: Chain, b: int) -> int:
        if b not in self.buyer_addr:
            self.buyer_addr[b] = ch.address(self.market, pool=self.dep_pool)
        return self.buyer_addr[b]

    def _hot_address(self, ch: Chain) -> int:
        """Where deposits are swept: a fresh address each time, or one reused (``address_reuse``)."""
        if not ch.behaviour.has("address_reuse"):
            return ch.address(self.market)
        if self.hot_addr < 0:
            self.hot_addr = ch.address(self.market)
        return self.hot_addr

    def _exchange(self, ch: Chain, j: int, k: int) -> int:
        """The j-th cash-out exchange for the k-th vendor (drawn behaviour spreads vendors over all)."""
        if ch.behaviour.mode == "reference":
            return self.exchanges[j]
        return self.exchanges[(j + k) % len(self.exchanges)]

    def script(self, ch: Chain, pop: Pop, services: dict) -> Iterator[None]:
        rng = ch.rng
        bh = ch.behaviour
        rounds = int(rng.integers(3, 5))
        for _ in range(rounds):
            buyers = [self.victims[k] for k in rng.permutation(len(self.victims))[:max(3, len(self.victims) // 2)]]
            amts = [max(200_000, int(rng.lognormal(0, 0.8) * 0.02 * self.size * COIN)) for _ in buyers]
            yield from self.fund(ch, pop, buyers, [a + 40_000 for a in amts])
            for b, amt in zip(buyers, amts):
                addr = self._buyer_deposit(ch, b)
                t = ch.send(b, [(addr, amt)], kind="payment")
                self.role(ch, t, "market_deposit")
                o = ch.output_to(t, addr)
                self.victim_payments.append(o)
                v = self.vendors[int(rng.integers(0, len(self.vendors)))]
                self.sales[v] += ch.value(o)
            yield
            # sweep deposits into the hot wallet
            deps = ch.coins(self.dep_pool)
            if deps:
                t = ch.sweep(self.market, deps, self._hot_address(ch), kind="crime", feerate=self.fr(ch))
                self.role(ch, t, "market_sweep")
            yield
        yield from self.wait(1)
        # vendor withdrawals in one batch (commission 8%), operator withdrawal
        hot = int(ch.L.ent[self.market, E_POOL])
        while ch.coins(hot) == []:
            yield
        pays = [(ch.address(v), self.sales[v] * 92 // 100) for v in self.vendors if self.sales[v] > 50_000]
        bal = int(ch.L.pool[hot, P_SUM])
        scale = min(1.0, (bal * 0.97) / max(1, sum(p for _, p in pays)))
        pays = [(a, int(p * scale)) for a, p in pays]
        t = ch.send(self.market, pays, pool=hot, kind="market_withdrawal", feerate=self.fr(ch))
        self.role(ch, t, "vendor_withdrawal")
        yield
        yield
        rest = ch.coins(hot)
        if rest:
            t = ch.sweep(self.market, rest, ch.address(self.operator), kind="crime", feerate=self.fr(ch))
            self.role(ch, t, "operator_withdrawal")
        yield
        yield
        if bh.has("long_wait"):
            yield from self.wait(int(rng.integers(bh.long_wait_blocks // 2, bh.long_wait_blocks + 1)))
        self.adopt_cashout_type(ch)
        # vendors and the operator cash out
        fr = self.fr(ch)
        for k, v in enumerate(self.vendors + [self.operator]):
            coins = ch.coins(int(ch.L.ent[v, E_POOL]))
            if not coins:
                continue
            style = k % 4 if bh.mode == "reference" else int(rng.integers(0, 4))
            total = sum(ch.value(o) for o in coins)
            if style == 0 and bh.mode != "reference":
                dest = self.deposit_address(ch, self._exchange(ch, 0, k), v)
                yield from cash_out(self, ch, v, coins, lambda _k, d=dest: d, len(coins), 0.0, "crime",
                                    lambda n: ())
            elif style == 0:
                t = ch.sweep(v, coins, self.deposit_address(ch, self.exchanges[0], v), kind="crime")
                self.role(ch, t, "cash_out")
            elif style == 1:
                half = total // 2
                t = ch.send(v, [(self.deposit_address(ch, self._exchange(ch, 1, k), v), half)], coins=coins,
                            kind="crime", change_addr=self.change_address(ch, v, coins) if bh.mode != "reference" else None,
                            feerate=fr)
                self.role(ch, t, "cash_out")
            elif style == 2 and self.traders:
                tr = self.traders[0]
                dest = int(ch.L.ent[tr, E_ADDR]) if int(ch.L.ent[tr, E_ADDR]) >= 0 else ch.address(tr)
                t = ch.sweep(v, coins, dest, kind="crime", feerate=fr)
                self.role(ch, t, "cash_out")
            else:
                # short peel chain to an exchange
                cur = ch.sweep(v, coins, ch.address(v), kind="crime", feerate=fr)
                self.role(ch, cur, "consolidation")
                o = ch.outputs(cur)[0]
                for hop in range(3):
                    yield from self.wait_ready(ch, [o])
                    left = int(ch.L.out[o, O_VALUE])
                    dest = self.deposit_address(ch, self._exchange(ch, 2, k), v)
                    nxt = self.change_address(ch, v, [o])
                    t = ch.send(v, [(dest, int(left * rng.uniform(0.2, 0.4)))], coins=[o], kind="crime",
                                change_addr=nxt, feerate=self.fr(ch))
                    self.role(ch, t, "peel_step")
                    self.role(ch, t, "cash_out")
                    o = ch.output_to(t, nxt)
            yield
