"""Ransomware: victims pay unique ransom addresses; a peel chain feeds the chip mixer and exchanges.

The pattern follows public ransomware tracing write-ups (e.g. Chainalysis Crypto
Crime Reports; Paquet-Clouston, Haslhofer & Dupont, "Ransomware payments in the
Bitcoin ecosystem", J. Cybersecurity 2019): one fresh ransom address per
victim, a consolidation, a peel chain whose small peels go to a mixer and to
exchange deposit addresses, and the mixed chips merged into exchange deposits.
"""

from __future__ import annotations

from collections.abc import Iterator

from chaintrail.scenario.cases.base import COIN, Case
from chaintrail.scenario.cases.cashout import cash_out
from chaintrail.scenario.chain import Chain
from chaintrail.scenario.ledger import AT_P2WPKH, O_VALUE
from chaintrail.scenario.population import Pop
from chaintrail.scenario.wallet_ops import SW_ELECTRUM


class Ransomware(Case):
    kind = "ransomware"
    description = ("Ransom payments consolidated, peeled off in a chain to a custodial chip mixer and "
                   "exchange deposits; chips merged into deposits at several exchanges.")

    def setup(self, ch: Chain, pop: Pop, services: dict) -> None:
        rng = ch.rng
        self.op = self.perp(ch, f"Ransomware operator ({self.id})", AT_P2WPKH, SW_ELECTRUM)
        n = int(rng.integers(3, 6))
        users = [int(u) for u in rng.choice(pop.users, size=n, replace=False)]
        for u in users:
            self.victim(ch, u)
        self.ransoms = [int(round(rng.uniform(0.3, 2.5) * self.size * COIN, -4)) for _ in users]
        n_ex = self.n_exchanges(ch, 3, len(pop.ex))
        self.cash_exchanges = [int(x) for x in rng.choice(pop.ex, size=n_ex, replace=False)]

    def script(self, ch: Chain, pop: Pop, services: dict) -> Iterator[None]:
        rng = ch.rng
        b = ch.behaviour
        mixer = services["chipmixer"]
        # each victim buys bitcoin and pays its own ransom address as soon as it arrives
        pay_outs = []
        for v, amt in zip(self.victims, self.ransoms):
            yield from self.fund(ch, pop, [v], [amt + 60_000])
            addr = ch.address(self.op)
            t = self.role(ch, ch.send(v, [(addr, amt)], kind="payment"), "victim_payment")
            o = ch.output_to(t, addr)
            pay_outs.append(o)
            self.victim_payments.append(o)
        yield from self.wait_ready(ch, pay_outs)
        yield from self.wait(int(rng.integers(0, 3)))
        if b.consolidate:
            t = self.role(ch, ch.sweep(self.op, pay_outs, ch.address(self.op), kind="crime", feerate=self.fr(ch)),
                          "consolidation")
            cur = ch.outputs(t)[0]
        else:
            # no consolidation: the largest ransom is peeled, each other one goes to the mixer whole
            pay_outs = sorted(pay_outs, key=lambda o: -ch.value(o))
            cur = pay_outs[0]
            for o in pay_outs[1:]:
                t = ch.sweep(self.op, [o], mixer.deposit_address(ch), kind="crime", feerate=self.fr(ch))
                self.role(ch, t, "mixer_deposit")
                mixer.credit(ch, ch.outputs(t)[0], self.op)
        # peel chain
        hops = int(rng.integers(b.peel_hops_min, b.peel_hops_max + 1))
        for hop in range(hops):
            yield from self.wait_ready(ch, [cur])
            yield from self.wait(int(rng.integers(0, b.peel_wait_max + 1)))
            left = int(ch.L.out[cur, O_VALUE])
            if left < 0.05 * COIN:
                break
            peel = int(left * rng.uniform(b.peel_fraction_min, b.peel_fraction_max))
            if rng.random() < b.round_amount_p:
                peel = int(round(peel, -5))
            if hop < hops - 1 and rng.random() < b.peel_to_exchange_p:
                ex = self.cash_exchanges[hop % len(self.cash_exchanges)]
                dest = self.deposit_address(ch, ex, self.op)
                roles = ("peel_step", "cash_out")
            else:
                dest = mixer.deposit_address(ch)
                roles = ("peel_step", "mixer_deposit")
            nxt = self.change_address(ch, self.op, [cur])
            t = ch.send(self.op, [(dest, peel)], coins=[cur], kind="crime", change_addr=nxt, feerate=self.fr(ch))
            for r in roles:
                self.role(ch, t, r)
            if roles[1] == "mixer_deposit":
                mixer.credit(ch, ch.output_to(t, dest), self.op)
            cur = ch.output_to(t, nxt)
        yield from self.wait_ready(ch, [cur])
        dest = mixer.deposit_address(ch)
        t = ch.sweep(self.op, [cur], dest, kind="crime", feerate=self.fr(ch))
        self.role(ch, t, "mixer_deposit")
        mixer.credit(ch, ch.outputs(t)[0], self.op)
        yield
        yield
        ticket = mixer.withdraw(self.op)
        while not ticket.done:
            yield
        chips = list(ticket.outputs)
        yield from self.wait_ready(ch, chips)
        yield from self.wait(int(rng.integers(1, 3)))
        if b.mode != "reference":
            yield from self._cash_out_chips(ch, chips)
            return
        # merge chips into deposits at the exchanges; keep one small chip unspent
        order = sorted(chips, key=lambda o: int(ch.L.out[o, O_VALUE]))
        keep = order[:1] if len(order) > 3 else []
        spend = [o for o in chips if o not in keep]
        k = 0
        while spend:
            n = int(rng.integers(1, 5))
            batch, spend = spend[:n], spend[n:]
            ex = self.cash_exchanges[k % len(self.cash_exchanges)]
            t = ch.sweep(self.op, batch, self.deposit_address(ch, ex, self.op), kind="chip_spend")
            self.role(ch, t, "chip_merge" if len(batch) > 1 else "chip_spend")
            self.role(ch, t, "cash_out")
            k += 1
            if rng.random() < 0.5:
                yield
        self.notes.append(f"{len(keep)} chip(s) left unspent")

    def _cash_out_chips(self, ch: Chain, chips: list[int]) -> Iterator[None]:
        """Drawn behaviour: chips cashed out in groups, families applied (see ``cases.cashout``)."""
        b = ch.behaviour
        order = sorted(chips, key=lambda o: int(ch.L.out[o, O_VALUE]))
        keep = order[:1] if b.keep_one_chip and len(order) > 3 else []
        spend = [o for o in chips if o not in keep]
        exchanges = self.cash_exchanges
        yield from cash_out(self, ch, self.op, spend,
                            lambda k: self.deposit_address(ch, exchanges[k % len(exchanges)], self.op),
                            b.chip_group_max, b.chip_pause_p, "chip_spend",
                            lambda n: ("chip_merge",) if n > 1 else ("chip_spend",))
        self.notes.append(f"{len(keep)} chip(s) left unspent")
