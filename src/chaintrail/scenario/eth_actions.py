"""What the test-chain driver does in a block: one planned transaction per kind of activity, and the ledger
of token holdings it expects once the block is mined.

Plans hold whatever order the node mines a block's transactions in: see ``Ledger``.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass

import numpy as np

from chaintrail.scenario.eth_calls import calldata

ETHER = 10**18
USD = 10**6  # the stablecoins' 6 decimals

# Relative weights of the random mix (the first blocks also run a tour that does every kind once).
WEIGHTS = {
    "eth_transfer": 20, "erc20_transfer": 12, "erc20_approve": 4, "weth_deposit": 5, "weth_withdraw": 3,
    "weth_transfer": 2, "nft_mint": 5, "nft_transfer": 4, "erc1155_single": 4, "erc1155_batch": 3,
    "router_fanout": 5, "factory_create": 3, "piggy_fund": 1, "proxy_transfer": 8, "odd_transfer": 4,
    "reverted": 2,
}
TOUR = ["eth_transfer", "erc20_transfer", "erc20_approve", "weth_deposit", "nft_mint", "erc1155_single",
        "erc1155_batch", "router_fanout", "factory_create", "piggy_fund", "proxy_transfer", "odd_transfer",
        "blacklist", "reverted", "weth_withdraw", "weth_transfer", "nft_transfer"]
ITEM_IDS = (1, 2, 3, 4)
MAX_TX_GAS = 400_000  # the largest gas limit any planned kind asks for (a factory call, a 4-leg fan-out)


@dataclass
class Planned:
    """One transaction to send: its kind, sender, call and gas limit, and the receipt status expected."""

    kind: str
    sender: str
    to: str | None
    data: str = "0x"
    value: int = 0
    gas: int = 100_000
    ok: bool = True


class Ledger:
    """Token holdings, NFT owners, allowances and the other state the plans depend on.

    Plans must hold whatever order the node mines a block in (its pool reorders senders once it holds many
    transactions each), so within a block a debit counts at once and a credit only from the next block
    (``settle``): an account never spends what it receives in the same block, and nothing that one block
    plans depends on the order of its transactions beyond each sender's own nonce order.
    """

    def __init__(self, accounts: list[str], contracts: dict[str, str]):
        self.accounts = accounts
        self.issuer = accounts[0]
        self.c = contracts
        self.tokens: dict[str, dict[str, int]] = {name: defaultdict(int) for name in ("USDX", "PUSD", "WETH", "ODD")}
        self.items: dict[tuple[int, str], int] = defaultdict(int)    # ERC-1155 (id, holder) -> amount
        self.nft_owner: dict[int, str] = {}
        self.nft_next = 1
        self.allowance: dict[tuple[str, str, str], int] = {}       # (token, owner, spender) -> amount
        self.follow_ups: list[tuple[str, str, str]] = []           # (token, owner, spender) to transferFrom
        self.blacklisted: set[str] = set()      # frozen by the issuer, in this block or before
        self.frozen_before: set[str] = set()    # frozen in an earlier block: a transfer by one surely fails
        self.children: list[str] = []
        self.piggy = 0
        self.smashed = False
        self.salts = 0
        # this block only
        self._credits: list[tuple[str, object, str, int]] = []
        self.busy_pairs: set[tuple[str, str, str]] = set()          # approvals in flight
        self.busy_nfts: set[int] = set()
        self.usdx_touched: set[str] = set()

    def move(self, token: str, src: str | None, dst: str | None, amount: int) -> None:
        """Debit ``src`` now and credit ``dst`` when the block settles (None: minted or burnt)."""
        book = self.tokens[token]
        if src is not None:
            if book[src] < amount:
                raise AssertionError(f"ledger: {src} holds {book[src]} {token}, cannot send {amount}")
            book[src] -= amount
        if dst is not None:
            self._credits.append(("token", token, dst, amount))
        if token == "USDX":
            self.usdx_touched.update(a for a in (src, dst) if a is not None)

    def move_item(self, item: int, src: str, dst: str, amount: int) -> None:
        if self.items[(item, src)] < amount:
            raise AssertionError(f"ledger: {src} holds {self.items[(item, src)]} of item {item}, cannot send {amount}")
        self.items[(item, src)] -= amount
        self._credits.append(("item", item, dst, amount))

    def give_nft(self, token_id: int, owner: str) -> None:
        self.busy_nfts.add(token_id)
        self._credits.append(("nft", token_id, owner, 1))

    def settle(self) -> None:
        """The block is mined: credits arrive, freezes take hold, approvals and NFTs are free again."""
        for what, key, dst, amount in self._credits:
            if what == "token":
                self.tokens[key][dst] += amount  # type: ignore[index]
            elif what == "item":
                self.items[(key, dst)] += amount  # type: ignore[index]
            else:
                self.nft_owner[key] = dst  # type: ignore[index]
        self._credits = []
        self.frozen_before = set(self.blacklisted)
        self.busy_pairs = {(t, o, s) for t, o, s in self.follow_ups}
        self.busy_nfts = set()
        self.usdx_touched = set()


class Planner:
    """Draws each block's transactions from a numpy Generator and keeps the Ledger in step with them."""

    def __init__(self, rng: np.random.Generator, ledger: Ledger):
        self.rng = rng
        self.led = ledger
        self.counts: Counter[str] = Counter()
        self.tour = list(TOUR)
        self.kinds = list(WEIGHTS)
        weights = np.array([WEIGHTS[k] for k in self.kinds], dtype=float)
        self.p = weights / weights.sum()

    # -- choosing -----------------------------------------------------------------------------------

    def plan_block(self, n: int, *, smash: bool = False, gas_budget: int = 24_000_000) -> list[Planned]:
        """Up to ``n`` transactions (the selfdestruct comes on top): follow-ups, the tour, then the random mix.

        Fewer when their gas limits would pass ``gas_budget`` (the block's gas limit, less room for one more).
        """
        out: list[Planned] = []
        if smash and not self.led.smashed:
            out.append(self.selfdestruct())  # before any piggy_fund of this block is planned: none will be
        gas = 0

        def room() -> bool:
            return len(out) < n + (1 if out and out[0].kind == "selfdestruct" else 0) \
                and gas + MAX_TX_GAS <= gas_budget

        follow, self.led.follow_ups = self.led.follow_ups, []
        for token, owner, spender in follow:
            if {owner, spender} & self.led.blacklisted:
                continue  # frozen since the approval: the spender no longer tries
            if not room():
                self.led.follow_ups.append((token, owner, spender))
                continue
            out.append(self._transfer_from(token, owner, spender))
            gas += out[-1].gas
        while self.tour and room():
            tx = self._make(self.tour[0])
            if tx is None:
                break  # not possible yet (e.g. nothing to withdraw): the tour resumes next block
            self.tour.pop(0)
            out.append(tx)
            gas += tx.gas
        while room():
            kind = self.kinds[int(self.rng.choice(len(self.kinds), p=self.p))]
            out.append(self._make(kind) or self.eth_transfer())
            gas += out[-1].gas
        for tx in out:
            self.counts[tx.kind] += 1
        self.led.settle()
        return out

    def _make(self, kind: str) -> Planned | None:
        return getattr(self, kind)()

    def _account(self, exclude: tuple[str, ...] | set[str] = ()) -> str:
        choices = [a for a in self.led.accounts if a not in exclude]
        return choices[int(self.rng.integers(len(choices)))]

    def _recipient(self, sender: str, *, exclude: set[str] | None = None) -> str:
        if self.led.children and self.rng.random() < 0.1:
            return self.led.children[int(self.rng.integers(len(self.led.children)))]
        return self._account(exclude={sender, *(exclude or ())})

    def _amount(self, balance: int) -> int:
        """Between 1 and a third of ``balance``, exactly (balances exceed int64, so no rng.integers(balance))."""
        return max(1, (balance // 3) * int(self.rng.integers(1, 1 << 20)) >> 20)

    def _holder(self, token: str) -> str | None:
        book = self.led.tokens[token]
        held = [a for a in self.led.accounts if book[a] > 0 and a not in self.led.blacklisted]
        return held[int(self.rng.integers(len(held)))] if held else None

    # -- the kinds ----------------------------------------------------------------------------------

    def eth_transfer(self) -> Planned:
        sender = self._account()
        to = self._recipient(sender)
        value = int(self.rng.integers(10**15, 5 * ETHER))
        return Planned("eth_transfer", sender, to, value=value, gas=21_000 if to in self.led.accounts else 40_000)

    def _token_transfer(self, kind: str, token: str) -> Planned | None:
        sender = self._holder(token)
        if sender is None:
            return None
        to = self._recipient(sender, exclude=self.led.blacklisted)
        amount = self._amount(self.led.tokens[token][sender])
        self.led.move(token, sender, to, amount)
        return Planned(kind, sender, self.led.c[token], calldata("transfer(address,uint256)", to, amount),
                       gas=120_000)

    def erc20_transfer(self) -> Planned | None:
        return self._token_transfer("erc20_transfer", "USDX")

    def proxy_transfer(self) -> Planned | None:
        return self._token_transfer("proxy_transfer", "PUSD")

    def odd_transfer(self) -> Planned | None:
        return self._token_transfer("odd_transfer", "ODD")

    def weth_transfer(self) -> Planned | None:
        return self._token_transfer("weth_transfer", "WETH")

    def erc20_approve(self) -> Planned | None:
        owner = self._holder("USDX")
        if owner is None:
            return None
        busy = {s for t, o, s in self.led.busy_pairs if o == owner}
        spender = self._account(exclude={owner, *busy, *self.led.blacklisted})
        amount = self._amount(self.led.tokens["USDX"][owner])
        self.led.allowance[("USDX", owner, spender)] = amount
        self.led.busy_pairs.add(("USDX", owner, spender))
        self.led.follow_ups.append(("USDX", owner, spender))
        self.led.usdx_touched.update((owner, spender))
        data = calldata("approve(address,uint256)", spender, amount)
        return Planned("erc20_approve", owner, self.led.c["USDX"], data, gas=80_000)

    def _transfer_from(self, token: str, owner: str, spender: str) -> Planned:
        """The spender moves what it was approved for, as far as the owner's balance goes, to a third account."""
        amount = min(self.led.allowance[(token, owner, spender)], self.led.tokens[token][owner])
        to = self._account(exclude={owner, *self.led.blacklisted})
        self.led.allowance[(token, owner, spender)] -= amount
        self.led.busy_pairs.add((token, owner, spender))
        self.led.move(token, owner, to, amount)
        self.led.usdx_touched.add(spender)
        return Planned("erc20_transfer_from", spender, self.led.c[token],
                       calldata("transferFrom(address,address,uint256)", owner, to, amount), gas=120_000)

    def weth_deposit(self) -> Planned:
        sender = self._account()
        value = int(self.rng.integers(10**16, 3 * ETHER))
        self.led.move("WETH", None, sender, value)
        data = calldata("deposit()") if self.rng.random() < 0.5 else "0x"  # plain ETH reaches deposit() too
        return Planned("weth_deposit", sender, self.led.c["WETH"], data, value=value, gas=80_000)

    def weth_withdraw(self) -> Planned | None:
        sender = self._holder("WETH")
        if sender is None:
            return None
        amount = self._amount(self.led.tokens["WETH"][sender])
        self.led.move("WETH", sender, None, amount)
        return Planned("weth_withdraw", sender, self.led.c["WETH"], calldata("withdraw(uint256)", amount), gas=80_000)

    def nft_mint(self) -> Planned:
        sender = self._account()
        token_id, self.led.nft_next = self.led.nft_next, self.led.nft_next + 1
        self.led.give_nft(token_id, sender)
        return Planned("nft_mint", sender, self.led.c["NFT"], calldata("mint(uint256)", token_id), gas=120_000)

    def nft_transfer(self) -> Planned | None:
        free = sorted(t for t in self.led.nft_owner if t not in self.led.busy_nfts)
        if not free:
            return None
        token_id = free[int(self.rng.integers(len(free)))]
        owner = self.led.nft_owner[token_id]
        to = self._account(exclude=(owner,))
        self.led.give_nft(token_id, to)
        how = "safeTransferFrom(address,address,uint256)" if self.rng.random() < 0.5 else \
            "transferFrom(address,address,uint256)"
        return Planned("nft_transfer", owner, self.led.c["NFT"], calldata(how, owner, to, token_id), gas=120_000)

    def _item_holder(self) -> tuple[str, list[int]] | None:
        sender = self._account()
        ids = [i for i in ITEM_IDS if self.led.items[(i, sender)] > 0]
        return (sender, ids) if ids else None

    def erc1155_single(self) -> Planned | None:
        held = self._item_holder()
        if held is None:
            return None
        sender, ids = held
        item = ids[int(self.rng.integers(len(ids)))]
        to = self._account(exclude=(sender,))
        amount = self._amount(self.led.items[(item, sender)])
        self.led.move_item(item, sender, to, amount)
        sig = "safeTransferFrom(address,address,uint256,uint256,bytes)"
        return Planned("erc1155_single", sender, self.led.c["ITEMS"], calldata(sig, sender, to, item, amount, b""),
                       gas=120_000)

    def erc1155_batch(self) -> Planned | None:
        held = self._item_holder()
        if held is None:
            return None
        sender, ids = held
        to = self._account(exclude=(sender,))
        amounts = []
        for item in ids:
            amounts.append(self._amount(self.led.items[(item, sender)]))
            self.led.move_item(item, sender, to, amounts[-1])
        sig = "safeBatchTransferFrom(address,address,uint256[],uint256[],bytes)"
        return Planned("erc1155_batch", sender, self.led.c["ITEMS"], calldata(sig, sender, to, ids, amounts, b""),
                       gas=80_000 + 40_000 * len(ids))

    def router_fanout(self) -> Planned:
        sender = self._account()
        legs = int(self.rng.integers(2, 5))
        to = [self._recipient(sender) for _ in range(legs)]
        if self.counts["router_fanout"] == 0 or self.rng.random() < 0.5:
            to[int(self.rng.integers(legs))] = self.led.c["SINK"]  # this leg fails; the tx still succeeds
        amounts = [int(self.rng.integers(10**15, ETHER)) for _ in range(legs)]
        return Planned("router_fanout", sender, self.led.c["ROUTER"],
                       calldata("fanOut(address[],uint256[])", to, amounts), value=sum(amounts),
                       gas=80_000 + 80_000 * legs)

    def factory_create(self) -> Planned:
        sender = self._account()
        owner = self._account()
        value = int(self.rng.integers(0, ETHER)) if self.rng.random() < 0.7 else 0
        if self.rng.random() < 0.5:
            data = calldata("create(address)", owner)
        else:
            self.led.salts += 1
            data = calldata("create2(address,bytes32)", owner, self.led.salts.to_bytes(32, "big"))
        return Planned("factory_create", sender, self.led.c["FACTORY"], data, value=value, gas=400_000)

    def piggy_fund(self) -> Planned | None:
        if self.led.smashed:
            return None
        sender = self._account()
        value = int(self.rng.integers(10**15, ETHER))
        self.led.piggy += value
        return Planned("piggy_fund", sender, self.led.c["PIGGY"], value=value, gas=40_000)

    def selfdestruct(self) -> Planned:
        self.led.smashed = True
        beneficiary = self._account(exclude=(self.led.issuer,))
        return Planned("selfdestruct", self.led.issuer, self.led.c["PIGGY"],
                       calldata("smash(address)", beneficiary), gas=80_000)

    def blacklist(self) -> Planned | None:
        user = self.led.accounts[-1]  # frozen by the issuer: its USDX can no longer move
        if user in self.led.usdx_touched:
            return None  # its USDX moves in this block already, in an order the freeze must not depend on
        self.led.blacklisted.add(user)
        return Planned("blacklist", self.led.issuer, self.led.c["USDX"], calldata("addBlackList(address)", user),
                       gas=80_000)

    def reverted(self) -> Planned:
        """A transaction that fails (receipt status 0) and changes nothing but the sender's gas."""
        frozen = sorted(self.led.frozen_before)
        choice = int(self.rng.integers(3))
        if choice == 0 and frozen:
            sender = frozen[0]
            to = self._account(exclude=(sender,))
            data = calldata("transfer(address,uint256)", to, 1)
            return Planned("reverted", sender, self.led.c["USDX"], data, gas=120_000, ok=False)
        sender = self._account()
        if choice == 1:  # more WETH than there is
            return Planned("reverted", sender, self.led.c["WETH"], calldata("withdraw(uint256)", 10**30),
                           gas=80_000, ok=False)
        return Planned("reverted", sender, self.led.c["SINK"], value=10**15, gas=60_000, ok=False)
