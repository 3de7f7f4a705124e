"""The seeded background economy of the Ethereum scenarios, played one block at a time on top of ``World``.

``Economy(world, sender, rng, behaviour, ...)``: ``fund()`` gives every user (a seed-derived, keyless address)
ETH from the dev accounts and freshly minted stablecoins, in a few blocks of its own; then each ``step()``
queues one block's background transactions and the orchestrator mines. Users pay each other in ETH and
stablecoins, swap on the Uniswap pairs, add and remove liquidity, deposit at their exchange (a forwarder
contract or an EOA deposit address, swept to the hot wallet every few blocks) and withdraw from its hot wallet,
trade with the OTC desk and the P2P desk, lock assets on the bridge (``relay.BridgeRelay`` carries them to chain
B, where holders move them and burn them back), and deposit into the Tornado pools, withdrawing later through
a relayer to a fresh address of their own. Every movement is a real transaction whose sender pays the fee.

Plans hold in any in-block order across senders: each address spends only what the ``Ledger`` says it surely
holds; credits arrive once the block is mined (anvil keeps one sender's nonce order, so an approval followed by
its use from the same sender is safe in one block). A Tornado withdrawal is approved by the verifier in one
block and sent by the relayer in the next. Knobs come from ``behaviour.EthBehaviour``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from chaintrail.chains.ethereum.hexutil import event_topic, keccak256
from chaintrail.chains.ethereum.rpc import EthRpc
from chaintrail.scenario.eth.behaviour import ACTIONS, REFERENCE, EthBehaviour
from chaintrail.scenario.eth.contracts import derived_address
from chaintrail.scenario.eth.exchange import FORWARDER_DEPOSIT_GAS, TOKEN_SWEEP_GAS
from chaintrail.scenario.eth.ledger import ETH, Ledger
from chaintrail.scenario.eth.sender import Sender
from chaintrail.scenario.eth.tornado import (APPROVE_GAS, DEPOSIT_GAS, WITHDRAW_GAS, Note, Pool, approve_data,
                                             withdraw_data)
from chaintrail.scenario.eth.uniswap import DEADLINE
from chaintrail.scenario.eth.world import ETH_PRICE_USD, World
from chaintrail.scenario.eth_calls import calldata

ETHER, USD, GWEI = 10**18, 10**6, 10**9
ERC20_GAS, APPROVE_TOKEN_GAS, SWAP_GAS, LIQUIDITY_GAS, OTC_GAS = 90_000, 60_000, 250_000, 300_000, 120_000
LOCK_ETH_GAS, LOCK_TOKEN_GAS, CREATE_FORWARDER_GAS, FLUSH_GAS = 100_000, 150_000, 400_000, 120_000
MAX_UINT = (1 << 256) - 1
# Smallest swaps: below these Uniswap's output rounds to nothing and the pair reverts (INSUFFICIENT_OUTPUT_AMOUNT).
MIN_SWAP = {ETH: 10**12, "usd": 10_000}
KEEP_GAS = 8_000_000          # block gas left for the crime cases and the bridge relayer
MEDIAN = {ETH: ETHER // 2, "usd": 500 * USD}
SWAP, MINT, BURN, TRANSFER = (event_topic(s) for s in (
    "Swap(address,uint256,uint256,uint256,uint256,address)", "Mint(address,uint256,uint256)",
    "Burn(address,uint256,uint256,address)", "Transfer(address,address,uint256)"))


@dataclass
class User:
    """One address of a background entity and the way it prices gas (legacy gas price, or max fee and tip)."""

    address: str
    entity: int
    gas_price: int | None
    max_fee: int
    tip: int
    weight: float


class Economy:
    """Background users on chain A (and, given ``relay``, chain B): funded once, then one block per ``step``."""

    def __init__(self, world: World, sender: Sender, rng: np.random.Generator, behaviour: EthBehaviour = REFERENCE,
                 *, seed: int, users: int, rpc: EthRpc | None = None):
        self.world, self.sender, self.rng, self.b = world, sender, rng, behaviour
        self.rpc = rpc or sender.rpc
        self.seed = seed.to_bytes(8, "big")
        self.ledger = Ledger(sender)
        self.usdx, self.usdy = world.stablecoins["USDX"], world.stablecoins["USDY"]
        self.users: list[User] = []
        self.by_address: dict[str, User] = {}
        self.entities: dict[int, list[str]] = {}
        self._p: np.ndarray | None = None
        self._fresh = 0
        for i in range(users):
            self._new_user(derived_address(self.seed, "user", i), i, float(rng.lognormal(0, behaviour.activity_sigma)))
        self.approved: dict[tuple[str, str, str], bool] = {}
        self.deposit_addr: dict[tuple[str, str], tuple[str, str]] = {}   # (user, exchange) -> (address, kind)
        self.forwarders: dict[str, str] = {}                             # forwarder -> exchange (created)
        self.eoa_deposits: dict[str, str] = {}                           # deposit EOA -> exchange
        self.custody: dict[tuple[str, str, str], int] = {}               # (user, exchange, asset) -> amount
        self.notes: list[tuple[int, Pool, Note, dict]] = []              # (ready block, pool, note, link)
        self.approved_withdrawals: list[tuple[Pool, Note, dict]] = []
        self.tornado_links: list[dict] = []
        self.linked_payments: list[tuple[int, str, str]] = []            # (block, from, to): post-mix slips
        self.adopted: list[str] = []                                     # crime cases' deposit addresses
        self.note_count = 0
        self.relay = None  # set by relay.BridgeRelay
        self.airdrop = None  # set by generate: airdrop.Airdrop, played each step
        self.case_ledger = None  # set by crimes.build_cases: pools' every deposit/withdrawal for the answer key
        self._action = {name: getattr(self, f"_{name}") for name in ACTIONS}
        ex = list(world.exchanges.values())
        self.services = [e.hot_wallet for e in ex] + [world.otc.address, world.p2p_desk, world.tornado_verifier,
                                                      *world.relayers]

    # -- users ---------------------------------------------------------------------------------------

    def _new_user(self, address: str, entity: int, weight: float, like: User | None = None) -> User:
        """A new address; ``like``: a user whose gas settings it keeps (the same wallet software)."""
        rng, b = self.rng, self.b
        if like is not None:
            style = (like.gas_price, like.max_fee, like.tip)
        elif rng.random() < b.legacy_share:
            style = (int(rng.uniform(1.0, b.legacy_gwei) * GWEI), 0, 0)
        else:
            style = (None, b.max_fee_gwei * GWEI, int(rng.uniform(0.01, b.tip_gwei) * GWEI))
        user = User(address, entity, style[0], style[1] or b.max_fee_gwei * GWEI, style[2], weight)
        self.users.append(user)
        self.by_address[address] = user
        self.entities.setdefault(entity, []).append(address)
        self._p = None
        return user

    def fresh_of(self, user: User, habit: bool = False) -> User:
        """A new address of the same entity (it acts like its owner from then on); ``habit``: it keeps the
        owner's gas settings."""
        self._fresh += 1
        return self._new_user(derived_address(self.seed, "fresh", self._fresh), user.entity, user.weight,
                              like=user if habit else None)

    def _receiver(self, user: User) -> User:
        return self.fresh_of(user) if self.rng.random() < self.b.fresh_address_p else user

    def _tx(self, user: User, to: str | None, value: int = 0, data: str = "0x", gas: int = 21_000, **kw) -> bool:
        """Queue one of ``user``'s transactions if the ledger allows it; False (nothing queued) otherwise."""
        if not self.ledger.can_pay(user.address, value, gas, user.gas_price, user.max_fee):
            return False
        self.ledger.send(user.address, to, value, data, gas=gas, gas_price=user.gas_price, max_fee=user.max_fee,
                         priority_fee=user.tip, **kw)
        return True

    def _approve(self, user: User, token: str, spender: str) -> bool:
        """``user`` approves ``spender`` once (a tx before its first use, same sender: nonce order keeps it first)."""
        key = (user.address, token, spender)
        if key in self.approved:
            return True
        if not self._tx(user, token, 0, calldata("approve(address,uint256)", spender, MAX_UINT), APPROVE_TOKEN_GAS,
                        label="approve"):
            return False
        self.approved[key] = True
        return True

    def _amount(self, asset: str, cap: int) -> int:
        """A log-normal amount around the asset's median, at most ``cap`` (0 when ``cap`` is too small)."""
        median = MEDIAN[ETH] if asset == ETH else MEDIAN["usd"]
        x = median * math.exp(self.b.amount_sigma * float(self.rng.standard_normal()))
        if self.rng.random() < self.b.round_amount_p:
            digits = max(0, int(math.log10(x)) - 1)
            x = round(x / 10**digits) * 10**digits
        amount = min(int(x), cap)
        return amount if amount > 0 else 0

    def _spendable(self, user: User, asset: str, gas: int) -> int:
        """Half of what ``user`` surely holds of ``asset`` (ETH: after a fee reserve for ``gas``)."""
        if asset == ETH:
            cap = self.ledger.fee_cap(gas, user.gas_price, user.max_fee)
            return max(0, (self.ledger.get(user.address) - 4 * cap) // 2)
        return self.ledger.get(user.address, asset) // 2

    # -- funding ---------------------------------------------------------------------------------------

    def fund(self, funders: list[str], *, eth_budget: int = 20_000 * ETHER) -> int:
        """Fund every user from ``funders`` (dev accounts) and mint stablecoins; mines its own blocks, returns them."""
        rng, issuer = self.rng, self.world.accounts["issuer"]
        eth = np.minimum(np.exp(rng.normal(math.log(3.0), 1.0, len(self.users))), 50.0)
        eth *= min(1.0, eth_budget / ETHER / float(eth.sum()))
        usd = np.minimum(np.exp(rng.normal(math.log(3_000.0), 1.2, (len(self.users), 2))), 200_000.0)
        self._refresh(funders)
        blocks = 0
        for i, user in enumerate(self.users):
            if self.sender.room() < 400_000:
                self.sender.mine()
                blocks += 1
            amount = int(eth[i] * 1000) * ETHER // 1000
            self.ledger.send(funders[i % len(funders)], user.address, amount, label="fund eth",
                             credits=[(user.address, ETH, amount)])
            for k, token in enumerate((self.usdx, self.usdy)):
                amount = int(usd[i, k]) * USD
                self.ledger.send(issuer, token, 0, calldata("mint(address,uint256)", user.address, amount),
                                 gas=100_000, label="fund usd", credits=[(user.address, token, amount)])
        for hot in (e.hot_wallet for e in self.world.exchanges.values()):  # the exchanges' stablecoin float
            for token in (self.usdx, self.usdy):
                self.ledger.send(issuer, token, 0, calldata("mint(address,uint256)", hot, 2_000_000 * USD),
                                 gas=100_000, label="exchange float")
        self.sender.mine()
        self.ledger.settle()
        return blocks + 1

    def _refresh(self, addresses: list[str]) -> None:
        """Set the ledger of shared accounts (also used by the crime cases) to what the chain holds now."""
        eth = self.rpc.balances(addresses, "latest")
        calls = [(t, calldata("balanceOf(address)", a)) for a in addresses for t in (self.usdx, self.usdy)]
        toks = self.rpc.eth_calls(calls, "latest")
        for i, a in enumerate(addresses):
            self.ledger.set(a, ETH, eth[i])
            for k, t in enumerate((self.usdx, self.usdy)):
                answer = toks[2 * i + k]
                self.ledger.set(a, t, int(answer, 16) if isinstance(answer, str) else 0)

    # -- one block -------------------------------------------------------------------------------------

    def step(self) -> int:
        """Settle the last block, then queue this block's background transactions; returns how many."""
        before = self.sender.queued
        self.ledger.settle()
        self._refresh(self.services)
        number = self.sender.number + 1
        self._tornado_withdrawals(number)
        self._linked_payments(number)
        if number % self.b.sweep_every == 0:
            self._sweeps()
        if self.airdrop is not None:
            self.airdrop.step(number)
        n = int(self.b.txs_per_block * self.rng.uniform(0.7, 1.3))
        if self._p is None:
            w = np.fromiter((u.weight for u in self.users), dtype=float, count=len(self.users))
            self._p = w / w.sum()
        who = self.rng.choice(len(self.users), size=n, p=self._p)
        what = self.rng.choice(len(ACTIONS), size=n, p=self.b.action_p())
        users = self.users  # fresh users appended meanwhile act from the next block on
        for k in range(n):
            if self.sender.room() < KEEP_GAS:
                break
            self._action[ACTIONS[int(what[k])]](users[int(who[k])])
        if self.relay is not None:
            self.relay.step_b()
        return self.sender.queued - before

    # -- actions ---------------------------------------------------------------------------------------

    def _other(self, user: User) -> User:
        other = self.users[int(self.rng.integers(0, len(self.users)))]
        return self._receiver(user) if other.address == user.address else other

    def _pay_eth(self, user: User) -> None:
        to = self._receiver(user) if self.rng.random() < 0.2 else self._other(user)
        amount = self._amount(ETH, self._spendable(user, ETH, 21_000))
        if amount:
            self._tx(user, to.address, amount, label="pay eth", credits=[(to.address, ETH, amount)])

    def _pay_token(self, user: User) -> None:
        token = self.usdx if self.rng.random() < 0.6 else self.usdy
        amount = self._amount("usd", self._spendable(user, token, 0))
        if amount:
            to = self._other(user).address
            if self._tx(user, token, 0, calldata("transfer(address,uint256)", to, amount), ERC20_GAS,
                        label="pay token", credits=[(to, token, amount)]):
                self.ledger.debit(user.address, token, amount)

    def _swap(self, user: User) -> None:
        uni, weth = self.world.uniswap, self.world.weth
        r = self.rng.random()
        token = self.usdx if self.rng.random() < 0.6 else self.usdy
        if r < 0.4:  # ETH -> stablecoin
            amount = self._amount(ETH, self._spendable(user, ETH, SWAP_GAS)) // 4
            data = calldata("swapExactETHForTokens(uint256,address[],address,uint256)", 0, [weth, token],
                            user.address, DEADLINE)
            if amount >= MIN_SWAP[ETH]:
                self._tx(user, uni.router, amount, data, SWAP_GAS, label="swap eth",
                         then=self._swap_out(user.address, token))
            return
        amount = self._amount("usd", self._spendable(user, token, 0))
        if amount < MIN_SWAP["usd"] or not self._approve(user, token, uni.router):
            return
        if r < 0.8:
            data = calldata("swapExactTokensForETH(uint256,uint256,address[],address,uint256)", amount, 0,
                            [token, weth], user.address, DEADLINE)
            out = ETH
        else:
            out = self.usdy if token == self.usdx else self.usdx
            data = calldata("swapExactTokensForTokens(uint256,uint256,address[],address,uint256)", amount, 0,
                            [token, out], user.address, DEADLINE)
        if self._tx(user, uni.router, 0, data, SWAP_GAS, label="swap token", then=self._swap_out(user.address, out)):
            self.ledger.debit(user.address, token, amount)

    def _swap_out(self, address: str, asset: str):
        def then(receipt: dict) -> None:
            swaps = [log for log in receipt["logs"] if log["topics"][0] == SWAP]
            raw = bytes.fromhex(swaps[-1]["data"][2:])
            self.ledger.credit(address, asset, max(int.from_bytes(raw[64:96], "big"),
                                                   int.from_bytes(raw[96:128], "big")))
        return then

    def _add_liquidity(self, user: User) -> None:
        token = self.usdx if self.rng.random() < 0.5 else self.usdy
        amount = self._amount("usd", self._spendable(user, token, 0))
        eth = amount * 10**12 // ETH_PRICE_USD * 11 // 10  # a little more ETH than needed: the router refunds it
        if not amount or eth > self._spendable(user, ETH, LIQUIDITY_GAS) or not self._approve(user, token,
                                                                                           self.world.uniswap.router):
            return
        data = calldata("addLiquidityETH(address,uint256,uint256,uint256,address,uint256)", token, amount, 0, 0,
                        user.address, DEADLINE)
        pair = self.world.uniswap.pair(token, self.world.weth)
        if self._tx(user, self.world.uniswap.router, eth, data, LIQUIDITY_GAS, label="add liquidity",
                    then=self._lp_minted(user.address, pair, token, amount, eth)):
            self.ledger.debit(user.address, token, amount)

    def _lp_minted(self, address: str, pair: str, token: str, amount: int, eth: int):
        def then(receipt: dict) -> None:
            for log in receipt["logs"]:
                if log["address"] != pair:
                    continue
                if log["topics"][0] == MINT:  # what the pair took; the router returns the rest
                    raw = bytes.fromhex(log["data"][2:])
                    used = (int.from_bytes(raw[0:32], "big"), int.from_bytes(raw[32:64], "big"))
                    used_token, used_eth = used if int(token, 16) < int(self.world.weth, 16) else used[::-1]
                    self.ledger.credit(address, token, amount - used_token)
                    self.ledger.credit(address, ETH, eth - used_eth)
                elif log["topics"][0] == TRANSFER and log["topics"][2][-40:] == address[2:]:
                    self.ledger.credit(address, pair, int(log["data"], 16))
        return then

    def _remove_liquidity(self, user: User) -> None:
        for token in (self.usdx, self.usdy):
            pair = self.world.uniswap.pair(token, self.world.weth)
            liquidity = self.ledger.get(user.address, pair) // 2
            if liquidity and self._approve(user, pair, self.world.uniswap.router):
                data = calldata("removeLiquidityETH(address,uint256,uint256,uint256,address,uint256)", token,
                                liquidity, 0, 0, user.address, DEADLINE)
                if self._tx(user, self.world.uniswap.router, 0, data, LIQUIDITY_GAS, label="remove liquidity",
                            then=self._lp_burnt(user.address, pair, token)):
                    self.ledger.debit(user.address, pair, liquidity)
                return

    def _lp_burnt(self, address: str, pair: str, token: str):
        def then(receipt: dict) -> None:
            (log,) = [g for g in receipt["logs"] if g["address"] == pair and g["topics"][0] == BURN]
            raw = bytes.fromhex(log["data"][2:])
            got = (int.from_bytes(raw[0:32], "big"), int.from_bytes(raw[32:64], "big"))
            got_token, got_eth = got if int(token, 16) < int(self.world.weth, 16) else got[::-1]
            self.ledger.credit(address, token, got_token)
            self.ledger.credit(address, ETH, got_eth)
        return then

    # -- exchanges, desks --------------------------------------------------------------------------------

    def _home(self, user: User):
        names = sorted(self.world.exchanges)
        return self.world.exchanges[names[user.entity % len(names)]]

    def _deposit_address(self, user: User, ex) -> tuple[str, str]:
        key = (user.address, ex.name)
        if key not in self.deposit_addr:
            if self.rng.random() < self.b.forwarder_share:
                salt = keccak256(b"customer" + bytes.fromhex(user.address[2:]))
                address = ex.forwarder_address(salt)
                data = calldata("createForwarder(address,bytes32)", ex.hot_wallet, salt)
                self.ledger.send(ex.hot_wallet, ex.factory, 0, data, gas=CREATE_FORWARDER_GAS, label="forwarder",
                                 then=lambda r, a=address, n=ex.name: self.forwarders.__setitem__(a, n))
                ex.forwarders[user.address] = address
                self.deposit_addr[key] = (address, "forwarder")
            else:
                address = ex.open_eoa_deposit(user.address, self.seed)
                self.eoa_deposits[address] = ex.name
                self.deposit_addr[key] = (address, "eoa")
        return self.deposit_addr[key]

    def _exchange_deposit(self, user: User) -> None:
        ex = self._home(user)
        r = self.rng.random()
        asset = ETH if r < 0.4 else self.usdx if r < 0.8 else self.usdy
        gas = FORWARDER_DEPOSIT_GAS if asset == ETH else ERC20_GAS
        amount = self._amount(asset, self._spendable(user, asset, gas))
        if not amount or not self.ledger.can_pay(user.address, amount if asset == ETH else 0, gas, user.gas_price,
                                                  user.max_fee):
            return
        address, kind = self._deposit_address(user, ex)
        if asset == ETH:
            lands = ex.hot_wallet if kind == "forwarder" else address
            self._tx(user, address, amount, "0x", gas, label="exchange deposit", credits=[(lands, ETH, amount)])
        else:
            self._tx(user, asset, 0, calldata("transfer(address,uint256)", address, amount), gas,
                     label="exchange deposit", credits=[(address, asset, amount)])
            self.ledger.debit(user.address, asset, amount)
        key = (user.address, ex.name, asset)
        self.custody[key] = self.custody.get(key, 0) + amount

    def _exchange_withdraw(self, user: User) -> None:
        ex = self._home(user)
        asset = (ETH, self.usdx, self.usdy)[int(self.rng.integers(0, 3))]
        held = self.custody.get((user.address, ex.name, asset), 0)
        amount = min(held, self.ledger.get(ex.hot_wallet, asset) // 8)
        if asset == ETH:
            amount = min(amount, (self.ledger.get(ex.hot_wallet) - 10**17) // 8)
        if amount <= 0:
            return
        to = self._receiver(user).address
        if asset == ETH:
            self.ledger.send(ex.hot_wallet, to, amount, label="exchange withdrawal", credits=[(to, ETH, amount)])
        else:
            self.ledger.send(ex.hot_wallet, asset, 0, calldata("transfer(address,uint256)", to, amount),
                             gas=ERC20_GAS, label="exchange withdrawal", credits=[(to, asset, amount)])
            self.ledger.debit(ex.hot_wallet, asset, amount)
        self.custody[(user.address, ex.name, asset)] = held - amount

    def _otc(self, user: User) -> None:
        desk = self.world.otc
        price = ETH_PRICE_USD * USD
        if self.rng.random() < 0.5:  # sell stablecoin for ETH
            amount = self._amount("usd", self._spendable(user, self.usdx, 0))
            eth = amount * ETHER // price
            if eth == 0 or eth > self.ledger.get(desk.address) // 8 or not self._approve(user, self.usdx, desk.address):
                return
            if self._tx(user, desk.address, 0, calldata("sellStable(uint256,uint256)", amount, 0), OTC_GAS,
                        label="otc sell", credits=[(user.address, ETH, eth), (desk.address, self.usdx, amount)]):
                self.ledger.debit(user.address, self.usdx, amount)
                self.ledger.debit(desk.address, ETH, eth)
        else:
            eth = self._amount(ETH, self._spendable(user, ETH, OTC_GAS))
            stable = eth * price // ETHER
            if stable == 0 or stable > self.ledger.get(desk.address, self.usdx) // 8:
                return
            if self._tx(user, desk.address, eth, calldata("buyStable(uint256)", 0), OTC_GAS, label="otc buy",
                        credits=[(user.address, self.usdx, stable), (desk.address, ETH, eth)]):
                self.ledger.debit(desk.address, self.usdx, stable)

    def _p2p(self, user: User) -> None:
        desk = self.world.p2p_desk
        amount = self._amount("usd", self._spendable(user, self.usdx, 0))
        eth = amount * ETHER // (ETH_PRICE_USD * USD) * 99 // 100  # the desk's spread
        if eth == 0 or not self.ledger.can_pay(desk, eth * 8, 21_000):
            return
        if self._tx(user, self.usdx, 0, calldata("transfer(address,uint256)", desk, amount), ERC20_GAS,
                    label="p2p pay", credits=[(desk, self.usdx, amount)]):
            self.ledger.debit(user.address, self.usdx, amount)
            self.ledger.send(desk, user.address, eth, label="p2p desk pays", credits=[(user.address, ETH, eth)])

    # -- bridge, Tornado -----------------------------------------------------------------------------------

    def _bridge(self, user: User) -> None:
        bridge = self.world.bridge
        if bridge is None:
            return
        to = self._receiver(user).address
        if self.rng.random() < 0.5:
            amount = self._amount(ETH, self._spendable(user, ETH, LOCK_ETH_GAS))
            if amount:
                self._tx(user, bridge.source, amount, calldata("lockETH(address,uint256)", to, bridge.dst_chain_id),
                         LOCK_ETH_GAS, label="bridge lock")
            return
        token = self.usdx if self.rng.random() < 0.6 else self.usdy
        amount = self._amount("usd", self._spendable(user, token, 0))
        if amount and self._approve(user, token, bridge.source):
            data = calldata("lockToken(address,uint256,address,uint256)", token, amount, to, bridge.dst_chain_id)
            if self._tx(user, bridge.source, 0, data, LOCK_TOKEN_GAS, label="bridge lock"):
                self.ledger.debit(user.address, token, amount)

    def _tornado_deposit(self, user: User) -> None:
        pools = self.world.pools
        eth = self.rng.random() < 0.7
        if eth:
            cap = self._spendable(user, ETH, DEPOSIT_GAS)
            choices = [p for (asset, d), p in pools.items() if asset is None and d <= cap and d < 100 * ETHER]
        else:
            cap = self._spendable(user, self.usdx, 0)
            choices = [p for (asset, d), p in pools.items() if asset == self.usdx and d <= cap and d < 10_000 * USD]
        if not choices:
            return
        pool = choices[-1] if self.rng.random() < 0.5 else choices[int(self.rng.integers(0, len(choices)))]
        picked = [pool]
        if len(choices) > 1 and self.rng.random() < self.b.tornado_batch_p:
            # a portfolio: 2-3 denominations at once, withdrawn together later (one recipient)
            others = [p for p in choices if p is not pool]
            k = min(len(others), int(self.rng.integers(1, 3)))
            picked += [others[int(i)] for i in self.rng.choice(len(others), size=k, replace=False)]
        if sum(p.denomination for p in picked) > cap:
            picked = [pool]
        wait = int(self.rng.integers(self.b.tornado_wait_min, self.b.tornado_wait_max + 1))
        group = self.note_count if len(picked) > 1 else None
        for pool in picked:
            if pool.asset is not None and not self._approve(user, pool.asset, pool.address):
                return
            note = Note.derive(self.seed, pool.address, self.note_count)
            value = pool.denomination if pool.asset is None else 0
            link = {"pool": pool.address, "asset": pool.asset or "ETH", "denomination": pool.denomination,
                    "commitment": note.commitment, "nullifier_hash": note.nullifier_hash, "depositor": user.address,
                    "entity": user.entity, "group": group}
            if not self._tx(user, pool.address, value, pool.deposit_data(note), DEPOSIT_GAS, label="tornado deposit",
                            then=lambda r, k=link, p=pool, n=note: self._deposited(r, k, p, n)):
                return
            if pool.asset is not None:
                self.ledger.debit(user.address, pool.asset, pool.denomination)
            self.note_count += 1
            self.notes.append((self.sender.number + 1 + wait, pool, note, link))

    def _recipient(self, depositor: User, group: int | None, chosen: dict[int, str]) -> str:
        """Where a note is withdrawn to: mostly a fresh address; sometimes the depositor's slips (its own
        address, an address its entity already used); a portfolio's notes all go to one address."""
        if group is not None and group in chosen:
            return chosen[group]
        r = self.rng.random()
        known = [a for a in self.entities.get(depositor.entity, ()) if a != depositor.address]
        if r < self.b.tornado_reuse_p:
            out = depositor.address
        elif r < self.b.tornado_reuse_p + self.b.tornado_known_p and known:
            out = known[int(self.rng.integers(0, len(known)))]
        else:
            out = self.fresh_of(depositor, habit=self.rng.random() < self.b.gas_habit_p).address
        if group is not None:
            chosen[group] = out
        return out

    def _linked_payments(self, number: int) -> None:
        """Recipients that later pay their depositor directly (the 'linked addresses' slip)."""
        due = [p for p in self.linked_payments if p[0] <= number]
        self.linked_payments = [p for p in self.linked_payments if p[0] > number]
        for _, frm, to in due:
            user = self.by_address.get(frm)
            if user is not None:
                amount = self._amount(ETH, self._spendable(user, ETH, 21_000) // 4)
                if amount:
                    self._tx(user, to, amount, label="payment")

    def _tornado_withdrawals(self, number: int) -> None:
        """Relayers send the withdrawals the verifier approved last block; the verifier approves the notes due."""
        roots: dict[str, str] = {}
        for pool, note, link in self.approved_withdrawals:
            if pool.address not in roots:
                roots[pool.address] = pool.last_root(self.rpc)
            refund = 0 if pool.asset is None else ETHER // 200
            data = withdraw_data(note.nullifier_hash, roots[pool.address], link["recipient"], link["relayer"],
                                 link["fee"], refund)
            asset = pool.asset or ETH
            credits = [(link["recipient"], asset, pool.denomination - link["fee"]), (link["relayer"], asset, link["fee"])]
            if refund:
                credits.append((link["recipient"], ETH, refund))
            own = self.by_address.get(link["relayer"])      # a self-relayed withdrawal: the user's own gas habits
            prices = {} if own is None else {"gas_price": own.gas_price, "max_fee": own.max_fee,
                                             "priority_fee": own.tip}
            self.ledger.send(link["relayer"], pool.address, refund, data, gas=WITHDRAW_GAS, label="tornado withdraw",
                             credits=credits, then=lambda r, k=link, p=pool, n=note, f=refund:
                             self._withdrawn(r, k, p, n, f), **prices)
        self.approved_withdrawals = []
        due = [n for n in self.notes if n[0] <= number]
        self.notes = [n for n in self.notes if n[0] > number]
        chosen: dict[int, str] = {}
        for _, pool, note, link in due:
            depositor = self.by_address[link["depositor"]]
            recipient = self._recipient(depositor, link.get("group"), chosen)
            relayers = self.world.relayers
            relayer = relayers[0] if self.rng.random() < self.b.relayer_1_p else relayers[-1]
            fee = pool.denomination * int(self.rng.integers(10, self.b.relayer_fee_bps + 1)) // 10_000
            if self.rng.random() < self.b.tornado_self_relay_p and self.ledger.can_pay(
                    depositor.address, ETHER // 200, WITHDRAW_GAS, depositor.gas_price, depositor.max_fee):
                relayer, fee = depositor.address, 0       # sends its own withdrawal: pays the gas, no fee
            if recipient != depositor.address and self.rng.random() < self.b.tornado_linked_p:
                for k in range(3):
                    self.linked_payments.append((number + 2 + 3 * k, recipient, depositor.address))
            link.update(recipient=recipient, relayer=relayer, fee=fee)
            self.ledger.send(self.world.tornado_verifier, pool.address, 0,
                             approve_data(note, recipient, relayer, fee), gas=APPROVE_GAS, label="tornado approve")
            self.approved_withdrawals.append((pool, note, link))

    def _deposited(self, receipt: dict, link: dict, pool, note) -> None:
        link["deposit_tx"] = receipt["transactionHash"]
        if self.case_ledger is not None:
            self.case_ledger.tornado_deposit(pool, note, receipt, link["depositor"])

    def _withdrawn(self, receipt: dict, link: dict, pool, note, refund: int) -> None:
        self.tornado_links.append({**link, "withdrawal_tx": receipt["transactionHash"]})
        if self.case_ledger is not None:
            self.case_ledger.tornado_withdrawal(pool, note, receipt, link["recipient"], link["relayer"], link["fee"],
                                                refund)

    def adopt_deposit(self, address: str, exchange: str, kind: str) -> None:
        """A deposit address a crime case opened: the exchange sweeps it like any other (it cannot tell), reading
        what it holds from the chain, since the economy's ledger never saw the case's payments."""
        (self.forwarders if kind == "forwarder" else self.eoa_deposits)[address] = exchange
        self.adopted.append(address)

    def _sweeps(self) -> None:
        """Each exchange sweeps its EOA deposit addresses and flushes its forwarders' tokens to the hot wallet."""
        if self.adopted:
            self._refresh(self.adopted)
        max_fee = self.sender.max_fee
        for address, name in self.eoa_deposits.items():
            hot = self.world.exchanges[name].hot_wallet
            for token in (self.usdx, self.usdy):
                amount = self.ledger.get(address, token)
                if not amount:
                    continue
                if self.ledger.can_pay(address, 0, TOKEN_SWEEP_GAS):
                    self.ledger.send(address, token, 0, calldata("transfer(address,uint256)", hot, amount),
                                     gas=TOKEN_SWEEP_GAS, label="sweep token", credits=[(hot, token, amount)])
                    self.ledger.debit(address, token, amount)
                else:
                    need = TOKEN_SWEEP_GAS * max_fee - self.ledger.get(address)
                    self.ledger.send(hot, address, need, label="gas top-up", credits=[(address, ETH, need)])
                    break
            value = self.ledger.get(address) - 21_000 * max_fee
            if value > 21_000 * max_fee:
                self.ledger.send(address, hot, value, label="sweep eth", credits=[(hot, ETH, value)])
        for forwarder, name in self.forwarders.items():
            hot = self.world.exchanges[name].hot_wallet
            for token in (self.usdx, self.usdy):
                amount = self.ledger.get(forwarder, token)
                if amount:
                    self.ledger.send(hot, forwarder, 0, calldata("flushTokens(address)", token), gas=FLUSH_GAS,
                                     label="flush tokens", credits=[(hot, token, amount)])
                    self.ledger.debit(forwarder, token, amount)

    def addresses(self) -> dict[int, list[str]]:
        """Every background entity's addresses (deposit addresses are the exchanges', not the users')."""
        return self.entities


__all__ = ["Economy", "User"]
