"""A token airdrop in the background economy, with the Sybil farms that hunt it.

A project deploys a token (DROP, on the world's 6-decimal token code) and, from a distributor EOA, sends it to
many addresses in one go: ordinary users, and the addresses of a few farms. A farm is a background entity that
opened several addresses of its own (2 to ``airdrop_farm_max``), funded each with a little ETH and made each look
active (one small swap on Uniswap: airdrops reward activity). After the airdrop each farm address sweeps its whole
DROP to the farm's owner (the entity's main address), as airdrop hunters consolidate their claims. Ordinary
recipients keep the token, pass it to another user, or sell it to the P2P desk. The knobs (``behaviour``): the
share of users receiving it, the share running a farm, farm size, each farm address's chance to sweep, each
ordinary recipient's chance to pay or sell, and the wait before acting.

Played through ``Economy.step``: its first block funds the farms and the distributor and mints the DROP; the next
the farm addresses' swaps; the next the airdrop; then each recipient acts when its wait is over. Farm addresses
join their owner's entity in ``economy.entities`` (the key's ``economy_addresses``); ``rows``
(``airdrop.parquet``) gives every recipient's amount, entity, role and what it did. The airdrop draws from its
own random stream, so the economy's draws are not shifted by it.
"""

from __future__ import annotations

import numpy as np

from chaintrail.scenario.eth import tokens
from chaintrail.scenario.eth.contracts import derived_address
from chaintrail.scenario.eth.economy import ERC20_GAS, ETHER, KEEP_GAS, MIN_SWAP, SWAP_GAS, USD, User
from chaintrail.scenario.eth.ledger import ETH
from chaintrail.scenario.eth.uniswap import DEADLINE
from chaintrail.scenario.eth_calls import calldata

TIERS = (100, 250, 500, 1_000)           # DROP per recipient (whole tokens, 6 decimals)
DROP_PRICE_WEI = 2 * 10**14              # what the P2P desk pays per whole DROP
FARM_SWAP = ETHER // 100                 # a farm address's activity swap


class Airdrop:
    """One airdrop on chain A, played by ``economy`` (``economy.airdrop = Airdrop(...)`` before ``fund``)."""

    def __init__(self, economy, issuer: str, seed: int):
        self.e, self.issuer = economy, issuer
        self.token = tokens.deploy_stablecoin(economy.sender, issuer, "Airdrop Token", "DROP")
        self.distributor = derived_address(economy.seed, "airdrop distributor", 0)
        self.rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([int(seed), 0xA12D])))
        self.start: int | None = None
        self.farms: dict[str, list[User]] = {}      # owner address -> its farm addresses
        self.recipients: list[tuple[User, str]] = []  # (recipient, owner or ""), not yet sent their DROP
        self.due: list[tuple[int, User, str]] = []  # (block, recipient, owner)
        self.rows: list[dict] = []
        self._row: dict[str, dict] = {}

    def step(self, number: int) -> None:
        if self.start is None:
            self.start = number
            self._plan()
        k = number - self.start
        if k == 1:
            self._activity()
        if k >= 2:
            self._drop(number)
        if k > 2:
            for item in [d for d in self.due if d[0] <= number]:
                self._act(*item[1:])
            self.due = [d for d in self.due if d[0] > number]

    # -- the plan and its first blocks --------------------------------------------------------------

    def _plan(self) -> None:
        e, b, rng = self.e, self.e.b, self.rng
        users = list(e.users)
        order = rng.permutation(len(users))
        n_farms = max(1, round(b.airdrop_farm_p * len(users)))
        owners = [users[int(i)] for i in order[:n_farms]]
        ordinary = [users[int(i)] for i in order[n_farms:n_farms + round(b.airdrop_share * len(users))]]
        fund = FARM_SWAP + 2 * (e.ledger.fee_cap(SWAP_GAS, None, b.max_fee_gwei * 10**9)
                                + e.ledger.fee_cap(ERC20_GAS, None, b.max_fee_gwei * 10**9))
        for owner in owners:
            farm = []
            for j in range(int(rng.integers(2, b.airdrop_farm_max + 1))):
                if not e.ledger.can_pay(owner.address, fund, 21_000, owner.gas_price, owner.max_fee):
                    break
                address = derived_address(e.seed, f"farm {owner.address}", j)
                user = User(address, owner.entity, owner.gas_price, owner.max_fee, owner.tip, 0.0)
                e._tx(owner, address, fund, label="fund farm", credits=[(address, ETH, fund)])
                e.entities[owner.entity].append(address)
                farm.append(user)
            if len(farm) >= 2:
                self.farms[owner.address] = farm
        self.recipients = [(u, o) for o, farm in self.farms.items() for u in farm] + [(u, "") for u in ordinary]
        self.recipients = [self.recipients[int(i)] for i in rng.permutation(len(self.recipients))]
        total = max(TIERS) * len(self.recipients) * USD
        gas = 2 * len(self.recipients) * e.ledger.fee_cap(ERC20_GAS, None, e.sender.max_fee) + ETHER // 10
        e.ledger.send(self.issuer, self.distributor, gas, label="fund distributor",
                      credits=[(self.distributor, ETH, gas)])
        e.ledger.send(self.issuer, self.token, 0, calldata("mint(address,uint256)", self.distributor, total),
                      gas=100_000, label="mint airdrop", credits=[(self.distributor, self.token, total)])

    def _activity(self) -> None:
        e = self.e
        uni, usdx = e.world.uniswap, e.usdx
        for farm in self.farms.values():
            for user in farm:
                data = calldata("swapExactETHForTokens(uint256,address[],address,uint256)", 0, [e.world.weth, usdx],
                                user.address, DEADLINE)
                if FARM_SWAP >= MIN_SWAP[ETH]:
                    e._tx(user, uni.router, FARM_SWAP, data, SWAP_GAS, label="farm activity",
                          then=e._swap_out(user.address, usdx))

    def _drop(self, number: int) -> None:
        """Send the DROP to the recipients not served yet, as far as the block has room (big airdrops span
        blocks)."""
        e, b, rng = self.e, self.e.b, self.rng
        while self.recipients and e.sender.room() >= KEEP_GAS + 5_000_000:
            user, owner = self.recipients.pop(0)
            amount = TIERS[int(rng.integers(0, len(TIERS)))] * USD
            e.ledger.send(self.distributor, self.token, 0, calldata("transfer(address,uint256)", user.address, amount),
                          gas=ERC20_GAS, label="airdrop", credits=[(user.address, self.token, amount)])
            e.ledger.debit(self.distributor, self.token, amount)
            row = {"token": self.token, "distributor": self.distributor, "recipient": user.address,
                   "entity": user.entity, "farm_owner": owner or None, "amount": amount, "action": "keep",
                   "forwarded_to": None}
            self.rows.append(row)
            self._row[user.address] = row
            self.due.append((number + 1 + int(rng.integers(1, b.airdrop_wait_max + 1)), user, owner))

    # -- what each recipient does -------------------------------------------------------------------

    def _act(self, user: User, owner: str) -> None:
        e, b, rng = self.e, self.e.b, self.rng
        held = e.ledger.get(user.address, self.token)
        if not held:
            return
        r = rng.random()
        if owner:
            action, to = ("sweep", owner) if r < b.airdrop_sweep_p else ("keep", None)
        elif r < b.airdrop_pay_p:
            other = e.users[int(rng.integers(0, len(e.users)))].address
            action, to = ("pay", other) if other != user.address else ("keep", None)
        elif r < b.airdrop_pay_p + b.airdrop_sell_p:
            action, to = "sell", e.world.p2p_desk
        else:
            action, to = "keep", None
        if to is None:
            return
        if not e._tx(user, self.token, 0, calldata("transfer(address,uint256)", to, held), ERC20_GAS,
                     label=f"airdrop {action}", credits=[(to, self.token, held)]):
            return
        e.ledger.debit(user.address, self.token, held)
        if action == "sell":
            eth = held // USD * DROP_PRICE_WEI
            if e.ledger.can_pay(to, eth * 8, 21_000):
                e.ledger.send(to, user.address, eth, label="p2p desk pays", credits=[(user.address, ETH, eth)])
        self._row[user.address].update(action=action, forwarded_to=to)

    def record(self) -> dict:
        """The answer key's summary (the rows go to ``airdrop.parquet``)."""
        return {"token": self.token, "symbol": "DROP", "distributor": self.distributor,
                "recipients": len(self.rows), "farms": {o: [u.address for u in f] for o, f in self.farms.items()}}


__all__ = ["Airdrop"]
