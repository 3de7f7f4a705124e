"""Approval phishing: victims sign unlimited approvals to a drainer, whose transferFrom empties their stablecoins.

1. Victims: fresh addresses that got stablecoins from the issuer and gas money from an exchange withdrawal (or
   ``victims`` given: addresses holding stablecoins nobody else moves while the case runs).
2. Each victim, at its own time, approves the drainer EOA (a fake "claim" site's approve); a few blocks later
   the drainer's ``transferFrom`` takes the victim's whole balance of that token.
3. The drainer swaps what it took for ETH on Uniswap, to a fresh address.
4. A peel chain: each hop sends most of its ETH to the next fresh address and peels a little into an exchange
   deposit address or the OTC desk (buying stablecoins there); the last hop pays the rest into an exchange.
"""

from __future__ import annotations

from chaintrail.chains.ethereum.hexutil import event_topic
from chaintrail.scenario.eth import tokens
from chaintrail.scenario.eth.case_ledger import ETH
from chaintrail.scenario.eth.crimes.base import ETHER, USD, Crime, Thread, transfers
from chaintrail.scenario.eth_calls import calldata

OTC_GAS = 120_000
TRADE_TOPIC = event_topic("Trade(address,address,uint256,address,uint256)")


class ApprovalPhishing(Crime):
    kind = "approval_phishing"
    description = ("Victims approve a drainer address on a phishing site; transferFrom takes their stablecoins, "
                   "which are swapped to ETH, peeled through fresh addresses and paid into exchanges and the OTC "
                   "desk.")

    def __init__(self, *args, victims: list[str] | None = None, **kw):
        self.given_victims = [v.lower() for v in victims or []]
        super().__init__(*args, **kw)

    def script(self) -> Thread:
        drainer = self.fresh("drainer")
        exchange = sorted(self.world.exchanges)[int(self.rng.integers(len(self.world.exchanges)))]
        self.exchange_withdrawal(exchange, drainer, ETHER // 4)
        self._victim_token: dict[str, str] = {}
        victims = self._given() if self.given_victims else self._new_victims(int(self.rng.integers(3, 7)))
        yield 1
        taken = []
        pending = list(victims)
        while pending:
            n = int(self.rng.integers(1, 3))
            batch, pending = pending[:n], pending[n:]
            for victim in batch:
                self.ledger.victim(self.id, victim)
                tokens.approve(self.q, self._victim_token[victim], victim, drainer)
            yield self.wait(0.005, 0.03)
            for victim in batch:
                token = self._victim_token[victim]
                amount = tokens.balance_of(self.rpc, token, victim)
                taken.append((token, self.call(drainer, token, calldata("transferFrom(address,address,uint256)",
                                                                        victim, drainer, amount),
                                               tokens.ERC20_GAS, what="transferFrom")))
            yield self.wait(0.02, 0.08)
        loot: dict[str, int] = {}
        for token, tx in taken:
            for frm, to, value in transfers(tx, token, to=drainer):
                self.ledger.move(self.id, tx, token, frm, to, value, "phishing_drain", source=True)
                loot[token] = loot.get(token, 0) + value
        # swap everything to ETH, to the first peel hop
        hop = self.fresh("peel_hop")
        swaps = []
        for token, value in sorted(loot.items()):
            tokens.approve(self.q, token, drainer, self.world.uniswap.router)
            self._gas(self.q.last, drainer)
            swaps.append((token, self.swap_to_eth(drainer, token, value, hop)))
        yield self.wait(0.005, 0.02)
        for token, tx in swaps:
            self.record_swap(tx, drainer, hop, token, ETH)
        # the peel chain: most onward, a little peeled off to an exchange or the OTC desk
        hops = int(self.rng.integers(4, 9))
        customer = f"{self.id}/perpetrator"
        otc_hop = int(self.rng.integers(0, hops - 1))
        for k in range(hops - 1):
            nxt = self.fresh("peel_hop")
            free = self.spendable(hop, OTC_GAS, 2)
            peel = free * int(self.rng.integers(2, 8)) // 100
            trade = self._otc_buy(hop, peel) if k == otc_hop else None
            if trade is None:
                account = self.pick_account(customer)
                self.send_eth(hop, account, peel, "exchange_deposit", gas=self.deposit_gas(account))
            self.send_eth(hop, nxt, free - peel, "peel")
            yield self.wait(0.01, 0.06)
            if trade is not None:
                self._record_otc(trade, hop)
            hop = nxt
        account = self.pick_account(customer)
        gas = self.deposit_gas(account)
        self.send_eth(hop, account, self.spendable(hop, gas), "exchange_deposit", gas=gas)
        yield 1

    def _given(self) -> list[str]:
        for victim in self.given_victims:
            held = {t: tokens.balance_of(self.rpc, t, victim) for t in sorted(self.world.stablecoins.values())}
            self._victim_token[victim] = max(held, key=lambda t: held[t])
        return list(self.given_victims)

    def _new_victims(self, n: int) -> list[str]:
        victims = []
        stables = sorted(self.world.stablecoins.values())
        exchange = sorted(self.world.exchanges)[0]
        for i in range(n):
            victim = self.fresh(f"victim{i}", record=False)
            token = stables[int(self.rng.integers(len(stables)))]
            amount = int(self.rng.integers(500, 20_000)) * USD + int(self.rng.integers(0, USD))
            tokens.mint(self.q, token, self.world.accounts["issuer"], victim, amount)
            self.sender.send(self.world.exchanges[exchange].hot_wallet, victim, ETHER // 20,
                             label=f"{exchange} withdrawal")
            self._victim_token[victim] = token
            victims.append(victim)
        return victims

    def _otc_buy(self, hop: str, eth: int):
        """The hop buys stablecoins from the OTC desk with ``eth`` (the desk is the peel's endpoint), if it can."""
        otc = self.world.otc
        price = int(self.rpc.eth_calls([(otc.address, calldata("price()"))], "latest")[0], 16)
        if not 0 < eth * price // ETHER <= tokens.balance_of(self.rpc, otc.stable, otc.address) // 2:
            return None
        self.ledger.deposit_address(self.id, "otc_desk", otc.address, "otc_desk", f"{self.id}/perpetrator")
        tx = self.call(hop, otc.address, calldata("buyStable(uint256)", 0), OTC_GAS, eth, "OTC buyStable")
        self.ledger.move(self.id, tx, ETH, hop, otc.address, eth, "otc_trade")
        return tx

    def _record_otc(self, tx, hop: str) -> None:
        """The desk's payout, from its Trade event (customer, tokenIn, amountIn, tokenOut, amountOut)."""
        (log,) = [lg for lg in tx.receipt["logs"] if lg["topics"][0] == TRADE_TOPIC]
        out = int(log["data"][2 + 64 * 3:2 + 64 * 4], 16)
        self.ledger.move(self.id, tx, self.world.otc.stable, self.world.otc.address, hop, out, "otc_payout")


__all__ = ["ApprovalPhishing"]
