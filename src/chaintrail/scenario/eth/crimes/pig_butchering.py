"""Pig butchering: victims pay a fake investment platform's addresses over weeks, then the scammers cash out.

1. Victims (fresh addresses holding stablecoins from the issuer, gas from an exchange withdrawal) each pay one
   of the scam's deposit addresses a few times, spread over the horizon, each payment larger than the last
   ("your profits are growing, top up to withdraw").
2. After the last payment, a consolidation address (funded for gas by an exchange withdrawal) tops up each
   scam address's gas, and each sends its stablecoins to the consolidation address.
3. Cash-out: part is sold to the OTC desk for ETH (the desk pays its own ETH, which the scammers keep), the
   rest is paid in stablecoins into exchange deposit addresses.
"""

from __future__ import annotations

from chaintrail.scenario.eth import tokens
from chaintrail.scenario.eth.case_ledger import ETH
from chaintrail.scenario.eth.crimes.approval_phishing import OTC_GAS, TRADE_TOPIC
from chaintrail.scenario.eth.crimes.base import ETHER, USD, Crime, Thread
from chaintrail.scenario.eth_calls import calldata

GAS_TOPUP = ETHER // 100


class PigButchering(Crime):
    kind = "pig_butchering"
    description = ("Victims pay stablecoins to a fake investment platform's addresses over weeks, in growing "
                   "amounts; the scammers consolidate and cash out through the OTC desk and exchanges.")

    def script(self) -> Thread:
        stable = self.world.otc.stable             # the desk's stablecoin, so the OTC cash-out can take it
        scams = [self.fresh("scam_deposit") for _ in range(int(self.rng.integers(2, 4)))]
        victims = []
        exchange = sorted(self.world.exchanges)[-1]
        for i in range(int(self.rng.integers(2, 5))):
            victim = self.fresh(f"victim{i}", record=False)
            self.ledger.victim(self.id, victim)
            tokens.mint(self.q, stable, self.world.accounts["issuer"], victim,
                        int(self.rng.integers(20_000, 80_000)) * USD)
            self.sender.send(self.world.exchanges[exchange].hot_wallet, victim, ETHER // 10,
                             label=f"{exchange} withdrawal")
            victims.append(victim)
        yield 1
        payments = []
        for victim in victims:
            n = int(self.rng.integers(3, 7))
            first = int(self.rng.integers(100, 1_000)) * USD
            growth = [1.0] + list(self.rng.uniform(1.4, 2.6, n - 1))
            amounts, a = [], float(first)
            for g in growth:
                a *= g
                amounts.append(int(a) // USD * USD + int(self.rng.integers(0, 100)) * USD // 100)
            times = sorted(int(t) for t in self.rng.integers(1, int(self.horizon * 0.7), n))
            payments += [(t + k, victim, amt) for k, (t, amt) in enumerate(zip(times, amounts))]
        payments.sort()
        self.spawn(self._payments(payments, scams, stable), self.block + 1)
        yield max(t for t, _v, _a in payments) + 3
        yield from self._cash_out(scams, stable)

    def _payments(self, payments, scams, stable) -> Thread:
        """Each victim pays at its times, capped by what it holds (the planned sum may exceed it)."""
        left: dict[str, int] = {}
        start = self.block
        for at, victim, amount in payments:
            if at + start > self.block:
                yield at + start - self.block
            if victim not in left:
                left[victim] = tokens.balance_of(self.rpc, stable, victim)
            amount = min(amount, left[victim])
            if amount <= 0:
                continue
            left[victim] -= amount
            scam = scams[int(self.rng.integers(len(scams)))]
            tx = self.sender.send(victim, stable, 0, calldata("transfer(address,uint256)", scam, amount),
                                  gas=tokens.ERC20_GAS, label=f"{self.id} victim payment")
            self.ledger.move(self.id, tx, stable, victim, scam, amount, "victim_payment", source=True)
        yield 1

    def _cash_out(self, scams, stable) -> Thread:
        hub = self.fresh("consolidation")
        self.exchange_withdrawal(sorted(self.world.exchanges)[0], hub, ETHER // 2)
        yield 1
        for scam in scams:
            self.send_eth(hub, scam, GAS_TOPUP, "gas_funding")
        yield self.wait(0.001, 0.01)
        total = 0
        for scam in scams:
            held = tokens.balance_of(self.rpc, stable, scam)
            if held:
                self.send_token(scam, stable, hub, held, "consolidation")
                total += held
        yield self.wait(0.005, 0.03)
        # part to the OTC desk for ETH, the rest into exchange accounts in a few payments
        otc = self.world.otc
        desk_eth = self.eth_of(otc.address)
        price = int(self.rpc.eth_calls([(otc.address, calldata("price()"))], "latest")[0], 16)
        to_otc = min(total * int(self.rng.integers(20, 50)) // 100, desk_eth // 2 * price // ETHER)
        trade = None
        if to_otc > 0:
            customer = f"{self.id}/perpetrator"
            self.ledger.deposit_address(self.id, "otc_desk", otc.address, "otc_desk", customer)
            tokens.approve(self.q, stable, hub, otc.address, to_otc)
            self._gas(self.q.last, hub)
            trade = self.call(hub, otc.address, calldata("sellStable(uint256,uint256)", to_otc, 0), OTC_GAS,
                              what="OTC sellStable")
            self.ledger.move(self.id, trade, stable, hub, otc.address, to_otc, "otc_trade")
        rest = total - to_otc
        parts = int(self.rng.integers(2, 5))
        for k in range(parts):
            amount = rest // parts + (rest % parts if k == parts - 1 else 0)
            account = self.pick_account(f"{self.id}/perpetrator")
            self.send_token(hub, stable, account, amount, "exchange_deposit")
            if k < parts - 1:
                yield self.wait(0.002, 0.02)
        yield 1
        if trade is not None:
            (log,) = [lg for lg in trade.receipt["logs"] if lg["topics"][0] == TRADE_TOPIC]
            self.ledger.move(self.id, trade, ETH, otc.address, hub, int(log["data"][2 + 192:2 + 256], 16),
                             "otc_payout")


__all__ = ["PigButchering"]
