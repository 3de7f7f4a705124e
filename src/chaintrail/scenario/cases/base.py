"""What every planted crime case shares: a block-by-block script and helpers for common moves.

A case is a Python generator: each ``yield`` ends the case's work for the
current block, so a script reads as the story it plants ("victims pay, wait a
block, consolidate, peel ...").  Transactions are written through ``Chain`` and
tagged with their laundering role; the answer key reads the tags, the victim
payments and the perpetrators from here.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from chaintrail.scenario.chain import Chain
from chaintrail.scenario.ledger import (
    A_ENT,
    A_POOL,
    AT_NAMES,
    AT_P2TR,
    E_ATYPE,
    E_FLAGS,
    E_POOL,
    E_POOL2,
    O_ADDR,
    O_FLAGS,
    OF_RELEASED,
    P_SUM,
)
from chaintrail.scenario.population import Pop

COIN = 100_000_000


class Case:
    """A planted case: its script, perpetrators, victims and victim payments."""

    kind = "case"
    description = ""

    def __init__(self, ch: Chain, pop: Pop, services: dict, index: int, size: float):
        self.id = f"{self.kind}-{index}"
        self.size = size                  # 1.0 on small chains, larger on big ones
        self.perpetrators: list[int] = []
        self.victims: list[int] = []
        self.victim_payments: list[int] = []
        self.deposit_accounts: list[dict] = []   # exchange accounts the perpetrators used
        self.notes: list[str] = []
        self.done = False
        self.adopted_type = False         # fresh_address_type applied
        self.delay = int(ch.rng.integers(0, ch.behaviour.start_delay_max + 1))
        self._it: Iterator | None = None
        self.setup(ch, pop, services)

    # --- to override ---
    def setup(self, ch: Chain, pop: Pop, services: dict) -> None:
        pass

    def script(self, ch: Chain, pop: Pop, services: dict) -> Iterator[None]:
        yield

    # --- driver ---
    def step(self, ch: Chain, pop: Pop, services: dict) -> None:
        if self.delay > 0:
            self.delay -= 1
            return
        if self._it is None:
            self._it = self.script(ch, pop, services)
        try:
            next(self._it)
        except StopIteration:
            self.done = True

    # --- helpers ---
    def perp(self, ch: Chain, name: str, atype: int, sw: int, kind: str = "criminal") -> int:
        e = ch.entity(kind, name, atype, sw, reuse=0.0, role="perpetrator", case=self.id)
        self.perpetrators.append(e)
        return e

    def fr(self, ch: Chain) -> float | None:
        """The perpetrators' fee rate now (None: the market rate, as in the reference profile)."""
        return ch.behaviour.feerate(ch.feerate)

    def n_exchanges(self, ch: Chain, default: int, available: int) -> int:
        """How many exchanges the case cashes out at (``many_exchanges`` raises it)."""
        return min(available, max(default, ch.behaviour.n_exchanges))

    def change_address(self, ch: Chain, ent: int, coins: list[int]) -> int:
        """A change address of ``ent``: fresh, or (``address_reuse``) the address of one of the coins spent."""
        p = ch.behaviour.addr_reuse_p
        if p > 0 and ch.rng.random() < p:
            a = int(ch.L.out[coins[0], O_ADDR])
            # only an address of the main pool: a service (e.g. Whirlpool's post-mix) may spend other pools
            if a >= 0 and int(ch.L.addr[a, A_ENT]) == ent and int(ch.L.addr[a, A_POOL]) == int(ch.L.ent[ent, E_POOL]):
                return a
        return ch.address(ent)

    def adopt_cashout_type(self, ch: Chain) -> None:
        """``fresh_address_type``: from now on the perpetrators' new addresses are of the drawn type."""
        b = ch.behaviour
        if b.has("fresh_address_type") and not self.adopted_type:
            self.adopted_type = True
            at = AT_NAMES.index(b.cashout_atype)
            for e in self.perpetrators:
                ch.L.ent[e, E_ATYPE] = at if int(ch.L.ent[e, E_ATYPE]) != at else AT_P2TR

    def victim(self, ch: Chain, e: int) -> int:
        info = ch.info(e)
        if info.role == "background":
            info.role = "victim"
        info.cases.append(self.id)
        self.victims.append(e)
        return e

    def role(self, ch: Chain, t: int, role: str) -> int:
        ch.role(t, self.id, role)
        return t

    def deposit_address(self, ch: Chain, exchange: int, customer: int) -> int:
        """A deposit address at ``exchange`` for the perpetrator account ``customer`` (reused)."""
        for acc in self.deposit_accounts:
            if acc["exchange"] == exchange and acc["customer"] == customer:
                return acc["address"]
        a = ch.address(exchange, int(ch.L.ent[exchange, E_FLAGS]) & 7, pool=int(ch.L.ent[exchange, E_POOL2]))
        self.deposit_accounts.append({"exchange": exchange, "customer": customer, "address": a})
        return a

    def buy_from_exchange(self, ch: Chain, pop: Pop, user: int, amount: int) -> int | None:
        """The user buys ``amount`` sats at an exchange and withdraws to a fresh address."""
        rng = ch.rng
        for i in rng.permutation(len(pop.ex)):
            ex = int(pop.ex[i])
            hot = int(ch.L.ent[ex, E_POOL])
            if int(ch.L.pool[hot, P_SUM]) > 2 * amount:
                chg = int(pop.ex_hot_addr[i]) if int(pop.ex_hot_addr[i]) >= 0 else ch.address(ex)
                t = ch.send(ex, [(ch.address(user), amount)], pool=hot, kind="exchange_withdrawal",
                            change_addr=chg)
                return t
        return None

    def fund(self, ch: Chain, pop: Pop, users: list[int], amounts: list[int]) -> Iterator[None]:
        """Each user buys its amount at an exchange; returns once every purchase is spendable."""
        outs = []
        todo = list(zip(users, amounts))
        while todo:
            left = []
            for u, amt in todo:
                t = self.buy_from_exchange(ch, pop, u, amt)
                if t is None:
                    left.append((u, amt))
                else:
                    outs.append(_paid_to(ch, t, u))
            todo = left
            if todo:
                yield
        yield from self.wait_ready(ch, outs)

    def ready(self, ch: Chain, outs: list[int]) -> bool:
        """True once every output in ``outs`` is spendable (its block closed)."""
        return all(int(ch.L.out[o, O_FLAGS]) & OF_RELEASED for o in outs)

    def wait_ready(self, ch: Chain, outs: list[int]) -> Iterator[None]:
        while not self.ready(ch, outs):
            yield

    @staticmethod
    def wait(n: int) -> Iterator[None]:
        for _ in range(n):
            yield

    def split_amounts(self, rng: np.random.Generator, total: int, n: int, min_part: int) -> list[int]:
        """Split ``total`` into ``n`` uneven positive parts of at least ``min_part``."""
        w = rng.dirichlet(np.full(n, 2.0))
        parts = [max(min_part, int(total * x)) for x in w]
        parts[-1] = total - sum(parts[:-1])
        if parts[-1] < min_part:
            raise ValueError("split too fine for the amount")
        return parts


def _paid_to(ch: Chain, t: int, ent: int) -> int:
    for o in ch.outputs(t):
        a = int(ch.L.out[o, O_ADDR])
        if a >= 0 and int(ch.L.addr[a, A_ENT]) == ent:
            return o
    raise ValueError(f"tx {t} pays nothing to entity {ent}")
