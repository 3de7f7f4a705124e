"""A custodial ChipMixer-style mixer: deposits in, pre-funded chips handed over, no withdrawal tx.

ChipMixer (2017-2023) pre-created "chips", outputs of 0.001 x 2^k BTC
(0.001 ... 8.192 BTC), each on its own address.  A customer deposited to a
fresh address, the balance was credited after confirmation, and a withdrawal
handed over the *private keys* of chips worth the balance (what did not divide
into chips stayed as a donation).  No transaction links deposit and chips: the
chip's address simply changes controller, and its later spend - often several
chips merged - is the customer's.  The mixer consolidates deposits into its hot
wallet and funds new chips from there.
"""

from __future__ import annotations

from chaintrail.errors import UsageError
from chaintrail.scenario.chain import Chain
from chaintrail.scenario.ledger import (
    A_POOL,
    AT_P2PKH,
    AT_P2WPKH,
    E_POOL,
    E_POOL2,
    O_ADDR,
    O_FLAGS,
    O_TX,
    OF_HANDOVER,
    OF_RELEASED,
    P_N,
    P_SUM,
    T_BLOCK,
)
from chaintrail.scenario.services.base import Service, Ticket, pick_coins
from chaintrail.scenario.wallet_ops import SW_LEGACY

CHIPS = tuple(100_000 << k for k in range(14))     # 0.001 .. 8.192 BTC


class ChipMixer(Service):
    """The custodial chip mixer and its background customers."""

    name = "chipmixer"

    def __init__(self, ch: Chain, users, alloc: list, rate: float, big: bool):
        self.ent = ch.entity("mixer", "ChipMixer-like mixer", AT_P2PKH, SW_LEGACY)
        self.dep_pool = ch.new_pool(self.ent)
        ch.L.ent[self.ent, E_POOL2] = self.dep_pool
        self.chip_pool = [ch.new_pool(self.ent) for _ in CHIPS]
        for _ in range(8):
            alloc.append((ch.address(self.ent), 1.0, "mixer"))
        self.users = users
        self.rate = rate
        self.target = [8, 8, 6, 6, 5, 4, 4, 3, 2, 2, 2, 1, 1, 1] if big else [4, 4, 3, 3, 3, 2, 2, 2, 1, 1, 1, 1, 0, 0]
        self.accounts: dict[int, dict] = {}
        self.pending: list[tuple[int, int]] = []     # (deposit output, customer)
        self.requests: list[Ticket] = []
        self.spend_plans: list[tuple[int, list[int], int]] = []   # background customer chip spends
        self.creations: list[int] = []
        self.sweeps: list[int] = []
        self.deposits: list[int] = []

    # --- customer side ---
    def deposit_address(self, ch: Chain) -> int:
        atype = AT_P2WPKH if ch.rng.random() < 0.4 else AT_P2PKH
        return ch.address(self.ent, atype, pool=self.dep_pool)

    def credit(self, ch: Chain, out: int, customer: int) -> None:
        """Register deposit output ``out`` of ``customer`` (credited once confirmed)."""
        self.pending.append((out, customer))
        self.deposits.append(int(ch.L.out[out, O_TX]))

    def withdraw(self, customer: int, ticket: Ticket | None = None) -> Ticket:
        """Ask for the customer's whole balance in chips (handed over at a later step)."""
        tk = ticket or Ticket(customer, [])
        self.requests.append(tk)
        return tk

    # --- the mixer's own work, once per block ---
    def step(self, ch: Chain, pop) -> None:
        h = ch.height
        L = ch.L
        still = []
        for out, cust in self.pending:
            if int(L.out[out, O_FLAGS]) & OF_RELEASED or int(L.tx[int(L.out[out, O_TX]), T_BLOCK]) < h:
                acc = self.accounts.setdefault(cust, {"value": 0, "deposits": []})
                acc["value"] += ch.value(out)
                acc["deposits"].append(out)
            else:
                still.append((out, cust))
        self.pending = still
        self._serve_requests(ch)
        self._create_chips(ch)
        self._sweep(ch)
        self._background(ch, pop)

    def _serve_requests(self, ch: Chain) -> None:
        waiting = []
        for tk in self.requests:
            acc = self.accounts.get(tk.entity)
            if acc is None or acc["value"] < CHIPS[0]:
                if not tk.opts.get("background") or acc is None or self._pending_for(tk.entity):
                    waiting.append(tk)
                continue
            # largest chips first from what is in stock; what stock cannot cover is ordered
            stock = [ch.coins(p) for p in self.chip_pool]
            take, left = [0] * len(CHIPS), acc["value"]
            for k in range(len(CHIPS) - 1, -1, -1):
                take[k] = min(len(stock[k]), left // CHIPS[k])
                left -= take[k] * CHIPS[k]
            if left >= CHIPS[0]:
                hot = int(ch.L.pool[int(ch.L.ent[self.ent, E_POOL]), P_SUM])
                for k in range(len(CHIPS) - 1, -1, -1):
                    if CHIPS[k] <= left and CHIPS[k] < hot // 2:
                        more = left // CHIPS[k]
                        self.target[k] = max(self.target[k], len(stock[k]) + int(more))
                        left -= more * CHIPS[k]
                waiting.append(tk)
                continue
            need = take
            plan = [o for k in range(len(CHIPS) - 1, -1, -1) for o in stock[k][:need[k]]]
            for o in plan:
                ch.hand_over(o, tk.entity)
                ch.L.out[o, O_FLAGS] |= OF_HANDOVER
            rec = {"mixer": self.ent, "customer": tk.entity, "height": ch.height,
                   "deposits": list(acc["deposits"]), "chips": plan, "fee_sat": left}
            ch.handovers.append(rec)
            acc["value"], acc["deposits"] = 0, []
            tk.outputs, tk.done = plan, True
            tk.opts["handover"] = rec
            if tk.opts.get("background"):
                self.spend_plans.append((tk.entity, list(plan), ch.height + int(ch.rng.integers(1, 6))))
        self.requests = waiting

    def _pending_for(self, customer: int) -> bool:
        return any(c == customer for _, c in self.pending)

    def _create_chips(self, ch: Chain) -> None:
        L = ch.L
        outs = []
        for k, p in enumerate(self.chip_pool):
            have = int(L.pool[p, P_N])
            for _ in range(max(0, self.target[k] - have)):
                if len(outs) >= 60:
                    break
                atype = AT_P2WPKH if ch.rng.random() < 0.35 else AT_P2PKH
                outs.append((ch.address(self.ent, atype, pool=p), CHIPS[k]))
        if not outs:
            return
        hot = int(L.ent[self.ent, E_POOL])
        need = sum(v for _, v in outs)
        coins = pick_coins(ch, ch.coins(hot), need + 200_000, 50)
        while coins is None and len(outs) > 1:
            outs.pop()
            need = sum(v for _, v in outs)
            coins = pick_coins(ch, ch.coins(hot), need + 200_000, 50)
        if coins is None:
            return
        t = ch.send(self.ent, outs, coins=coins, kind="chip_creation")
        self.creations.append(t)

    def _sweep(self, ch: Chain) -> None:
        coins = ch.coins(self.dep_pool)
        if len(coins) >= 6 or (coins and ch.rng.random() < 0.2):
            t = ch.sweep(self.ent, coins[:50], ch.address(self.ent), kind="mixer_sweep")
            self.sweeps.append(t)

    def _background(self, ch: Chain, pop) -> None:
        rng = ch.rng
        h = ch.height
        if self.users is not None and len(self.users) and rng.random() < self.rate:
            u = int(self.users[int(rng.integers(0, len(self.users)))])
            bal = int(ch.L.pool[int(ch.L.ent[u, E_POOL]), P_SUM])
            if bal > 500_000:
                amt = int(bal * rng.uniform(0.3, 0.8))
                try:
                    t = ch.send(u, [(self.deposit_address(ch), amt)], kind="mixer_deposit")
                except UsageError:   # the wallet's coins did not cover it after all
                    t = None
                if t is not None:
                    self.credit(ch, _deposit_out(ch, t, self.dep_pool), u)
                    self.withdraw(u, Ticket(u, [], {"background": True}))
        keep = []
        for cust, chips, at in self.spend_plans:
            if at > h:
                keep.append((cust, chips, at))
                continue
            ready = [o for o in chips if int(ch.L.out[o, O_FLAGS]) & OF_RELEASED]
            if not ready:
                keep.append((cust, chips, at + 1))
                continue
            batch = ready[:int(rng.integers(1, 5))]
            ch.sweep(cust, batch, ch.address(cust), kind="chip_spend")
            rest = [o for o in chips if o not in batch]
            if rest:
                keep.append((cust, rest, h + int(rng.integers(1, 4))))
        self.spend_plans = keep


def _deposit_out(ch: Chain, t: int, pool: int) -> int:
    for o in ch.outputs(t):
        if int(ch.L.addr[int(ch.L.out[o, O_ADDR]), A_POOL]) == pool:
            return o
    raise ValueError("deposit tx without a deposit output")
