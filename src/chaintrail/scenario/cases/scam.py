"""Investment scam: victims pay a reused address, get Ponzi "returns", money mules cash out.

After public cases of fake investment platforms ("pig butchering"; FBI IC3
Elder Fraud and Cryptocurrency Fraud reports 2022-2023): the platform shows
every victim the same deposit address, pays small "profits" to early victims
to build trust, consolidates, and disperses to money mules who deposit at
exchanges in chunks below reporting thresholds, bet some at a dice site, and
leave some unspent.
"""

from __future__ import annotations

from collections.abc import Iterator

from chaintrail.scenario.cases.base import COIN, Case
from chaintrail.scenario.chain import Chain
from chaintrail.scenario.ledger import (
    AT_P2PKH,
    AT_P2SH_P2WPKH,
    AT_P2WPKH,
    E_POOL,
    O_VALUE,
)
from chaintrail.scenario.population import Pop
from chaintrail.scenario.wallet_ops import SW_EXCH2, SW_MOBILE


class InvestmentScam(Case):
    kind = "scam"
    description = ("Victims of a fake investment platform pay one reused address; early victims receive "
                   "Ponzi payouts; the rest is consolidated and dispersed to money mules who deposit at "
                   "exchanges below thresholds, gamble some and hold the remainder.")

    def setup(self, ch: Chain, pop: Pop, services: dict) -> None:
        rng = ch.rng
        self.scammer = self.perp(ch, f"Investment platform ({self.id})", AT_P2SH_P2WPKH, SW_EXCH2)
        self.scam_addr = ch.address(self.scammer)
        self.collector = self.perp(ch, f"Scam collection wallet ({self.id})", AT_P2WPKH, SW_MOBILE)
        self.mules = [self.perp(ch, f"Money mule {k + 1} ({self.id})", AT_P2PKH if k == 0 else AT_P2WPKH,
                                SW_MOBILE) for k in range(3)]
        n = int(rng.integers(8, 20))
        for u in rng.choice(pop.users, size=n, replace=False):
            self.victim(ch, int(u))
        self.exchanges = [int(x) for x in rng.choice(pop.ex, size=self.n_exchanges(ch, 2, len(pop.ex)), replace=False)]
        self.gambling = int(pop.gamb[0])
        self.gamb_addr = int(pop.gamb_addr[0, 0])

    def script(self, ch: Chain, pop: Pop, services: dict) -> Iterator[None]:
        rng = ch.rng
        b = ch.behaviour
        early = []
        for wave in range(3):
            wave_victims = self.victims[wave::3]
            amts = {v: int(round(rng.lognormal(0, 0.7) * 0.15 * self.size * COIN, -4)) for v in wave_victims}
            yield from self.fund(ch, pop, wave_victims, [amts[v] + 50_000 for v in wave_victims])
            for v in wave_victims:
                t = ch.send(v, [(self.scam_addr, amts[v])], kind="payment")
                self.role(ch, t, "victim_payment")
                self.victim_payments.append(ch.output_to(t, self.scam_addr))
                if wave == 0:
                    early.append(v)
            yield
            if wave >= 1 and early:
                # Ponzi "returns" to early victims, paid from later victims' money
                coins = ch.coins(int(ch.L.ent[self.scammer, E_POOL]))
                pays = [(ch.address(v), int(rng.uniform(0.05, 0.12) * 0.15 * self.size * COIN)) for v in early[:3]]
                if coins and sum(ch.value(o) for o in coins) > 2 * sum(p for _, p in pays):
                    t = ch.send(self.scammer, pays, change_addr=self.scam_addr, kind="crime", feerate=self.fr(ch))
                    self.role(ch, t, "scam_payout")
                yield
        coins = ch.coins(int(ch.L.ent[self.scammer, E_POOL]))
        t = ch.sweep(self.scammer, coins, ch.address(self.collector), kind="crime", feerate=self.fr(ch))
        self.role(ch, t, "consolidation")
        o = ch.outputs(t)[0]
        yield from self.wait_ready(ch, [o])
        total = int(ch.L.out[o, O_VALUE]) - 30_000
        parts = [total * 2 // 5, total * 2 // 5]
        parts.append(total - sum(parts))         # the third mule gets a fifth
        outs = [(ch.address(m), p) for m, p in zip(self.mules, parts)]
        t = ch.send(self.collector, outs, coins=[o], kind="crime", feerate=self.fr(ch))
        self.role(ch, t, "mule_transfer")
        mule_coins = [ch.output_to(t, a) for a, _ in outs]
        yield from self.wait_ready(ch, mule_coins)
        if b.has("long_wait"):
            yield from self.wait(int(rng.integers(b.long_wait_blocks // 2, b.long_wait_blocks + 1)))
        self.adopt_cashout_type(ch)
        fr = self.fr(ch)
        for k, (m, c) in enumerate(zip(self.mules, mule_coins)):
            v = int(ch.L.out[c, O_VALUE])
            if k == 2:
                # gamble a part at the dice site, hold the rest
                t = ch.send(m, [(self.gamb_addr, v // 4)], coins=[c], kind="crime", feerate=fr)
                self.role(ch, t, "gambling_deposit")
                continue
            # structured deposits below a round threshold, one per block
            cur = c
            ex = self.exchanges[k % len(self.exchanges)]
            dest = self.deposit_address(ch, ex, m)
            while int(ch.L.out[cur, O_VALUE]) > 0.12 * COIN:
                chunk = int(min(int(ch.L.out[cur, O_VALUE]) - 20_000, rng.uniform(0.06, 0.095) * COIN))
                nxt = self.change_address(ch, m, [cur])
                t = ch.send(m, [(dest, chunk)], coins=[cur], kind="crime", change_addr=nxt, feerate=fr)
                self.role(ch, t, "cash_out")
                cur = ch.output_to(t, nxt)
                yield
                yield from self.wait_ready(ch, [cur])
            t = ch.sweep(m, [cur], dest, kind="crime", feerate=fr)
            self.role(ch, t, "cash_out")
            yield
