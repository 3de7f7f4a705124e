"""Exchange hack: the hot wallet is drained, split, run through CoinJoins, and cashed out.

Modelled on public accounts of exchange hacks laundered through CoinJoins (e.g.
the 2019-2022 cases described in Chainalysis' Crypto Crime Reports and in the
US DOJ's Bitfinex complaint, 2022): one sweep of the hot wallet, a fan-out split
across fresh addresses, Wasabi, Whirlpool and JoinMarket rounds, then postmix
coins sold to peer-to-peer traders and deposited at two other exchanges,
with the usual mistakes (merging postmix coins, spending toxic change).
"""

from __future__ import annotations

from collections.abc import Iterator

from chaintrail.scenario.cases.base import COIN, Case
from chaintrail.scenario.cases.cashout import cash_out
from chaintrail.scenario.chain import Chain
from chaintrail.scenario.ledger import (
    A_ENT,
    A_POOL,
    AT_P2WPKH,
    E_ADDR,
    E_POOL,
    O_ADDR,
    O_VALUE,
    P_SUM,
)
from chaintrail.scenario.population import Pop
from chaintrail.scenario.services.whirlpool import POOLS
from chaintrail.scenario.wallet_ops import DUST, SW_CORE


class ExchangeHack(Case):
    kind = "exchange_hack"
    description = ("Hot wallet of an exchange drained in one transaction, split, mixed through Wasabi 1.1, "
                   "Wasabi 2, Whirlpool and JoinMarket, and cashed out through P2P traders and two other "
                   "exchanges.")

    def setup(self, ch: Chain, pop: Pop, services: dict) -> None:
        rng = ch.rng
        self.hacker = self.perp(ch, f"Hacker ({self.id})", AT_P2WPKH, SW_CORE)
        i = int(rng.integers(0, len(pop.ex)))
        self.target = int(pop.ex[i])
        self.victim(ch, self.target)
        others = [int(x) for x in pop.ex if int(x) != self.target]
        self.cash_exchanges = [others[k] for k in rng.permutation(len(others))[:self.n_exchanges(ch, 2, len(others))]]
        self.traders = [int(x) for x in rng.choice(pop.traders, size=min(3, len(pop.traders)), replace=False)]

    def script(self, ch: Chain, pop: Pop, services: dict) -> Iterator[None]:
        rng = ch.rng
        b = ch.behaviour
        hot = int(ch.L.ent[self.target, E_POOL])
        while int(ch.L.pool[hot, P_SUM]) < 5 * COIN:
            yield
        coins = sorted(ch.coins(hot), key=lambda o: -int(ch.L.out[o, O_VALUE]))
        goal = min(int(ch.L.pool[hot, P_SUM]) * 6 // 10, int(150 * self.size * COIN))
        take, total = [], 0
        for o in coins[:400]:
            take.append(o)
            total += int(ch.L.out[o, O_VALUE])
            if total >= goal:
                break
        a1, a2 = ch.address(self.hacker), ch.address(self.hacker)
        fee = ch.fee(take, [a1, a2], self.fr(ch))
        first = int((total - fee) * rng.uniform(0.6, 0.8))
        t = ch.emit("crime", self.hacker, take, [(a1, first, 0), (a2, total - fee - first, 0)])
        self.role(ch, t, "hack")
        self.victim_payments += ch.outputs(t)
        yield
        # fan-out split of each stolen output
        pieces = []
        for o in ch.outputs(t):
            v = int(ch.L.out[o, O_VALUE])
            n = int(rng.integers(b.hack_split_min, b.hack_split_max + 1))
            parts = self.split_amounts(rng, v - 20_000 * n, n, 2_000_000)
            outs = [(ch.address(self.hacker), p) for p in parts]
            st = ch.send(self.hacker, outs, coins=[o], kind="crime", feerate=self.fr(ch))
            self.role(ch, st, "split")
            pieces += [ch.output_to(st, a) for a, _ in outs]
        yield from self.wait_ready(ch, pieces)
        pieces = [pieces[k] for k in rng.permutation(len(pieces))]
        q = max(1, len(pieces) // 4)
        ww2, ww1, wp, jm = pieces[:q], pieces[q:2 * q], pieces[2 * q:3 * q], pieces[3 * q:]
        tickets = []
        for o in ww2:
            tickets.append(("wasabi2", services["wasabi2"].enqueue(self.hacker, [o])))
        for o in ww1:
            tickets.append(("wasabi1.1", services["wasabi1.1"].enqueue(self.hacker, [o])))
        # Whirlpool: one Tx0 into the largest pool the coins fill at least twice
        wp_total = sum(int(ch.L.out[o, O_VALUE]) for o in wp)
        pool_i = max(i for i, (d, _) in enumerate(POOLS) if d * 2 <= wp_total or i == 0)
        max_pre = 5 if self.size <= 1 else 40
        whirl = services["whirlpool"]
        t0 = whirl.tx0(ch, self.hacker, wp, pool_i, max_premix=max_pre, role=(self.id, "whirlpool_tx0"))
        wp_ticket = None
        jm_tickets = []
        yield
        if t0 is not None:
            premix = [o for o in ch.outputs(t0) if int(ch.L.addr[ch.L.out[o, O_ADDR], A_POOL]) == whirl.premix[self.hacker]]
            yield from self.wait_ready(ch, premix)
            wp_ticket = whirl.enqueue(self.hacker, premix,
                                      mixes=int(rng.integers(b.whirlpool_mixes_min, b.whirlpool_mixes_max + 1)))
        for o in jm:
            v = int(ch.L.out[o, O_VALUE])
            jm_tickets.append(services["joinmarket"].enqueue(self.hacker, [o], int(v * rng.uniform(0.75, 0.95))))
        waiting = [tk for _, tk in tickets] + jm_tickets + ([wp_ticket] if wp_ticket else [])
        patience = 0
        while not all(tk.done for tk in waiting) and patience < 60:
            patience += 1
            yield
        for _, tk in tickets:
            services["wasabi2"].cancel(tk)
            services["wasabi1.1"].cancel(tk)
        for tk in jm_tickets:
            services["joinmarket"].cancel(tk)
        for tk in waiting:
            if tk.done and tk.tx >= 0:
                self.role(ch, tk.tx, "coinjoin")
        if wp_ticket is not None:
            for tx in wp_ticket.opts["txs"]:
                self.role(ch, tx, "coinjoin")
        # cash-out
        mixed = [o for tk in waiting if tk.done for o in tk.outputs]
        change = [o for tk in waiting if tk.done for o in tk.change]
        if t0 is not None:
            change += [o for o in ch.outputs(t0) if int(ch.L.out[o, O_ADDR]) >= 0
                       and int(ch.L.addr[ch.L.out[o, O_ADDR], A_ENT]) == self.hacker
                       and int(ch.L.addr[ch.L.out[o, O_ADDR], A_POOL]) == int(ch.L.ent[self.hacker, E_POOL])]
        leftovers = [o for o in ch.coins(int(ch.L.ent[self.hacker, E_POOL])) if o not in mixed + change]
        yield from self.wait_ready(ch, mixed + change)
        if b.mode != "reference":
            yield from cash_out(self, ch, self.hacker, mixed, lambda k: self._cash_out_dest(ch, k),
                                b.postmix_group_max, b.postmix_pause_p, "crime", lambda n: ())
            mixed = []
        mixed = [mixed[k] for k in rng.permutation(len(mixed))]
        k = 0
        while mixed:
            n = int(rng.integers(1, 4))
            batch, mixed = mixed[:n], mixed[n:]
            if k % 3 == 2 and self.traders:
                tr = self.traders[(k // 3) % len(self.traders)]
                dest = int(ch.L.ent[tr, E_ADDR]) if int(ch.L.ent[tr, E_ADDR]) >= 0 else ch.address(tr)
            else:
                dest = self.deposit_address(ch, self.cash_exchanges[k % 2], self.hacker)
            self.role(ch, ch.sweep(self.hacker, batch, dest, kind="crime"), "cash_out")
            k += 1
            if rng.random() < 0.4:
                yield
        for o in change + leftovers:
            if not self.ready(ch, [o]):
                continue
            tr = self.traders[int(rng.integers(0, len(self.traders)))] if self.traders else None
            dest = ch.address(tr) if tr is not None else self.deposit_address(ch, self.cash_exchanges[0], self.hacker)
            if ch.value(o) - ch.fee([o], [dest], self.fr(ch)) < DUST:
                continue             # drawn fee styles can price a small coin out (never the reference)
            self.role(ch, ch.sweep(self.hacker, [o], dest, kind="crime", feerate=self.fr(ch)), "cash_out")
        yield

    def _cash_out_dest(self, ch: Chain, k: int) -> int:
        """Every third group to a P2P trader, the others to the exchanges in turn (drawn behaviour)."""
        if k % 3 == 2 and self.traders:
            tr = self.traders[(k // 3) % len(self.traders)]
            return int(ch.L.ent[tr, E_ADDR]) if int(ch.L.ent[tr, E_ADDR]) >= 0 else ch.address(tr)
        return self.deposit_address(ch, self.cash_exchanges[k % len(self.cash_exchanges)], self.hacker)
