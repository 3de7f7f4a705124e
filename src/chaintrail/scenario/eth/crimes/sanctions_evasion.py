"""Sanctions evasion: a Lazarus-style actor launders hacked ETH through chains of gas-funded fresh addresses.

1. The funds: ETH taken from an exchange's hot wallet (the hack: the case's source) lands at a stash address.
2. One funder (gas money from another exchange's withdrawal) tops up every fresh address with a little ETH
   for gas one block before it acts: the gas-funding pattern. The stash splits the funds over a few branches;
   each branch passes them down a chain of fresh addresses, each sending on exactly what it received.
3. Each branch's last hop deposits into the ETH Tornado pools; hours to days later the notes are withdrawn
   through relayers to fresh addresses, which bridge to chain B or pay exchange deposit addresses.
"""

from __future__ import annotations

from chaintrail.scenario.eth.case_ledger import CHAIN_B
from chaintrail.scenario.eth.crimes.base import ETHER, Crime, Thread
from chaintrail.scenario.eth.tornado import DEPOSIT_GAS

GAS_MONEY = ETHER // 50
BRIDGE_SHARE = 0.4


class SanctionsEvasion(Crime):
    kind = "sanctions_evasion"
    description = ("A sanctioned actor moves hacked ETH through chains of fresh addresses gas-funded by one "
                   "funder, mixes it in Tornado, bridges part to chain B and cashes out at exchanges.")

    def script(self) -> Thread:
        names = sorted(self.world.exchanges)
        hacked, clean = names[-1], names[0]
        stash, funder = self.fresh("stash"), self.fresh("gas_funder")
        loot = int(self.rng.integers(30, 120)) * ETHER + int(self.rng.integers(0, 10**9)) * 10**9
        hot = self.world.exchanges[hacked].hot_wallet
        tx = self.sender.send(hot, stash, loot, label=f"{self.id} hack")
        self.ledger.move(self.id, tx, "ETH", hot, stash, loot, "hack", source=True)
        self.exchange_withdrawal(clean, funder, 3 * ETHER)
        yield self.wait(0.005, 0.02)
        branches = int(self.rng.integers(2, 4))
        shares = self.rng.dirichlet([2.0] * branches)
        free = self.spendable(stash, 21_000, branches)
        amounts = [int(free * s) for s in shares[:-1]]
        amounts.append(free - sum(amounts))
        for amount in amounts:
            first = self.fresh("hop")
            self.send_eth(stash, first, amount, "layering")
            self.spawn(self._branch(funder, first, amount), self.block + self.wait(0.002, 0.02))
        yield 1

    def _branch(self, funder: str, hop: str, amount: int) -> Thread:
        for _ in range(int(self.rng.integers(3, 7))):
            self.send_eth(funder, hop, GAS_MONEY, "gas_funding")
            yield 1
            nxt = self.fresh("hop")
            self.send_eth(hop, nxt, amount, "layering")     # exactly what it got; gas from the funder's money
            hop = nxt
            yield self.wait(0.002, 0.03)
        self.send_eth(funder, hop, GAS_MONEY * 2, "gas_funding")
        yield 1
        notes = self.plan_denominations(amount)
        if sum(p.denomination for p in notes) + len(notes) * DEPOSIT_GAS * self.sender.max_fee > self.eth_of(hop):
            notes = notes[:-1]
        deposited = []
        for k, pool in enumerate(notes):
            note = self.note(pool)
            self.tornado_deposit(pool, note, hop)
            deposited.append((pool, note))
        yield 1
        for pool, note in deposited:
            self.spawn(self._withdraw(pool, note), self.block + self.wait(0.2, 0.9))

    def _withdraw(self, pool, note) -> Thread:
        recipient = self.fresh("withdrawal")
        yield from self.tornado_withdraw(pool, note, recipient)
        yield self.wait(0.001, 0.05)
        if self.sender_b is not None and self.world.bridge is not None and self.rng.random() < BRIDGE_SHARE:
            yield from self.bridge_eth(recipient, self.spendable(recipient, 100_000), self.fresh("chain_b_holder",
                                                                                                 chain=CHAIN_B))
            return
        account = self.pick_account(f"{self.id}/perpetrator")
        gas = self.deposit_gas(account)
        self.send_eth(recipient, account, self.spendable(recipient, gas), "exchange_deposit", gas=gas)
        yield 1


__all__ = ["SanctionsEvasion"]
