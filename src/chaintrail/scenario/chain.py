"""The Python-side handle on a chain being generated: entities, addresses and hand-built txs.

Services with structure (CoinJoin rounds, the chip mixer) and the crime cases
build their transactions here, one at a time, through the same numba primitives
the background kernel uses.  ``Chain`` also collects what only the generator
knows and the answer key reports: entity metadata, laundering roles, CoinJoin
participants and custodial hand-overs.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from chaintrail.errors import UsageError
from chaintrail.scenario.behaviour import REFERENCE, Behaviour
from chaintrail.scenario.keys import C_KEY
from chaintrail.scenario.ledger import (
    A_ENT,
    A_POOL,
    A_TYPE,
    C_HEIGHT,
    E_ATYPE,
    E_POOL,
    E_SW,
    EK,
    O_ADDR,
    O_FLAGS,
    O_NEXT,
    O_POOL,
    O_VALUE,
    OF_CHANGE,
    OF_RELEASED,
    P_HEAD,
    T_NOUT,
    T_OUT0,
    TXK,
    Ledger,
    ensure_capacity,
    new_ledger,
)
from chaintrail.scenario.wallet_ops import (
    DUST,
    IN_WEIGHT,
    OUT_WEIGHT,
    TX_OVERHEAD_WEIGHT,
    emit_tx,
    fee_for,
    new_address_in,
    new_entity,
    new_pool,
    new_wallets,
    pool_push,
    pool_remove,
    select_coins,
)


@dataclass
class EntityInfo:
    """What the answer key says about one entity."""

    id: int
    kind: str
    name: str
    role: str = "background"          # background | perpetrator | victim
    cases: list[str] = field(default_factory=list)


class Chain:
    """Generation context: the ledger, the random generator, the current height and fee level."""

    def __init__(self, rng: np.random.Generator, key: int, expect_tx: int):
        t = max(expect_tx, 2000)
        self.L: Ledger = new_ledger(tx=t, inp=3 * t, out=3 * t, addr=2 * t, ent=t // 4 + 1000,
                                    pool=t // 4 + 2000)
        self.L.ctr[C_KEY] = np.int64(np.uint64(key).astype(np.int64))
        self.rng = rng
        self.feerate = 5.0
        self.entities: dict[int, EntityInfo] = {}   # explicit metadata; bulk wallets are implicit
        self.tx_roles: dict[int, list[tuple[str, str]]] = {}   # tx -> [(case, role)]
        self.coinjoins: dict[int, dict] = {}                      # tx -> protocol details
        self.handovers: list[dict] = []                           # custodial mixer hand-overs
        self.handover_chips: set[int] = set()
        self.frozen = False   # while True the ledger may not be reallocated (see reserve)
        self.behaviour: Behaviour = REFERENCE   # how the planted cases' perpetrators act

    # --- basic state ---
    @property
    def height(self) -> int:
        return int(self.L.ctr[C_HEIGHT])

    def grow(self, tx: int = 0, inp: int = 0, out: int = 0, addr: int = 0, ent: int = 0,
             pool: int = 0) -> None:
        """Make room for new rows; while frozen, only check (callers may hold ``L``)."""
        L = self.L
        c = L.ctr
        if (c[0] + tx <= len(L.tx) and c[1] + inp <= len(L.inp) and c[2] + out <= len(L.out)
                and c[3] + addr <= len(L.addr) and c[4] + ent <= len(L.ent) and c[5] + pool <= len(L.pool)):
            return
        grown = ensure_capacity(self.L, tx, inp, out, addr, ent, pool)
        if grown is not self.L:
            if self.frozen:
                raise UsageError("ledger headroom exhausted inside a block; raise the per-block reserve")
            self.L = grown

    def reserve(self, tx: int, inp: int, out: int, addr: int, ent: int = 200, pool: int = 200) -> None:
        """Grow ahead, so that Python-level actors can hold ``L`` for the rest of the block."""
        self.frozen = False
        self.grow(tx, inp, out, addr, ent, pool)

    def entity(self, kind: str, name: str, atype: int, sw: int, reuse: float = 0.0,
               role: str = "background", case: str | None = None) -> int:
        """Create an entity with one pool; returns its id."""
        self.grow(ent=1, pool=1)
        e = int(new_entity(self.L, EK[kind], atype, sw, reuse))
        self.entities[e] = EntityInfo(e, kind, name, role, [case] if case else [])
        return e

    def wallets(self, atypes: np.ndarray, sws: np.ndarray, reuse: np.ndarray, homes: np.ndarray) -> np.ndarray:
        """Create ordinary wallets in bulk (metadata implicit: kind wallet, name "Wallet <id>")."""
        n = len(atypes)
        self.grow(ent=n, pool=n)
        first = int(new_wallets(self.L, np.asarray(atypes, np.int64), np.asarray(sws, np.int64),
                                np.asarray(reuse, np.float64), np.asarray(homes, np.int64)))
        return np.arange(first, first + n, dtype=np.int64)

    def info(self, e: int) -> EntityInfo:
        """Metadata of entity ``e`` (made explicit on first use, so it can be changed)."""
        got = self.entities.get(e)
        if got is None:
            got = self.entities[e] = EntityInfo(e, "wallet", f"Wallet {e}")
        return got

    def n_entities(self) -> int:
        return int(self.L.ctr[4])

    def new_pool(self, ent: int) -> int:
        self.grow(pool=1)
        return int(new_pool(self.L, ent))

    def address(self, ent: int, atype: int | None = None, pool: int | None = None) -> int:
        """A fresh address of ``ent`` (its default type and main pool unless given)."""
        self.grow(addr=1)
        L = self.L
        at = int(L.ent[ent, E_ATYPE]) if atype is None else atype
        p = int(L.ent[ent, E_POOL]) if pool is None else pool
        return int(new_address_in(L, ent, at, p))

    def coins(self, pool: int) -> list[int]:
        """Spendable outputs of ``pool``, oldest first."""
        out, o = [], int(self.L.pool[pool, P_HEAD])
        while o >= 0:
            out.append(o)
            o = int(self.L.out[o, O_NEXT])
        return out

    def value(self, o: int) -> int:
        return int(self.L.out[o, O_VALUE])

    def in_weight(self, o: int) -> int:
        return int(IN_WEIGHT[self.L.addr[self.L.out[o, O_ADDR], A_TYPE]])

    def out_weight(self, addr: int) -> int:
        return int(OUT_WEIGHT[self.L.addr[addr, A_TYPE]]) if addr >= 0 else 4 * (8 + 1 + 2 + (-1 - addr))

    def fee(self, ins: list[int], out_addrs: list[int], feerate: float | None = None) -> int:
        w = TX_OVERHEAD_WEIGHT + sum(self.in_weight(o) for o in ins) + sum(self.out_weight(a) for a in out_addrs)
        return int(fee_for(w, self.feerate if feerate is None else feerate))

    # --- emitting ---
    def emit(self, kind: str, ent: int, ins: list[int], outs: list[tuple[int, int, int]],
             sw: int | None = None) -> int:
        """Write a tx spending ``ins`` to ``outs`` = [(addr, value, flags)]; returns its id."""
        L = self.L
        for o in ins:
            if not int(L.out[o, O_FLAGS]) & OF_RELEASED:
                raise UsageError(f"output {o} is not spendable at height {self.height}")
        if sum(int(L.out[o, O_VALUE]) for o in ins) < sum(v for _, v, _ in outs):
            raise UsageError("outputs exceed inputs")
        for a, v, _ in outs:
            if a >= 0 and v < 1:
                raise UsageError("non-positive output value")
        self.grow(tx=1, inp=len(ins), out=len(outs))
        L = self.L
        t = emit_tx(L, TXK[kind], ent, int(L.ent[ent, E_SW]) if sw is None else sw, self.height,
                    self.rng, np.asarray(ins, np.int64), len(ins),
                    np.asarray([a for a, _, _ in outs], np.int64),
                    np.asarray([v for _, v, _ in outs], np.int64),
                    np.asarray([f for _, _, f in outs], np.uint8), len(outs))
        return int(t)

    def outputs(self, t: int) -> list[int]:
        o0 = int(self.L.tx[t, T_OUT0])
        return list(range(o0, o0 + int(self.L.tx[t, T_NOUT])))

    def output_to(self, t: int, addr: int) -> int:
        """The first output of tx ``t`` paying ``addr``."""
        for o in self.outputs(t):
            if int(self.L.out[o, O_ADDR]) == addr:
                return o
        raise UsageError(f"tx {t} does not pay address {addr}")

    def send(self, ent: int, payments: list[tuple[int, int]], coins: list[int] | None = None,
             pool: int | None = None, kind: str = "payment", change_addr: int | None = None,
             feerate: float | None = None, sw: int | None = None) -> int:
        """Pay ``payments`` [(addr, value)] from ``ent``, adding change when above dust.

        Coins are chosen client-style from ``pool`` (default: the main pool) unless given.
        """
        L = self.L
        fr = self.feerate if feerate is None else feerate
        amount = sum(v for _, v in payments)
        if change_addr is None:
            change_addr = self.address(ent)
        base_w = TX_OVERHEAD_WEIGHT + sum(self.out_weight(a) for a, _ in payments) + self.out_weight(change_addr)
        if coins is None:
            p = int(L.ent[ent, E_POOL]) if pool is None else pool
            sel = np.empty(4096, np.int64)
            n, _, _ = select_coins(L, p, amount, base_w, fr, 1, 4096, self.rng, sel)
            if n == 0:
                raise UsageError(f"entity {ent} cannot pay {amount} sats")
            coins = [int(x) for x in sel[:n]]
        total = sum(self.value(o) for o in coins)
        fee_with = int(fee_for(base_w + sum(self.in_weight(o) for o in coins), fr))
        change = total - amount - fee_with
        outs = [(a, v, 0) for a, v in payments]
        if change >= DUST:
            outs.append((change_addr, change, OF_CHANGE))
        elif total - amount < int(fee_for(base_w - self.out_weight(change_addr), 1.0)):
            raise UsageError(f"entity {ent} cannot pay {amount} sats plus fee")
        return self.emit(kind, ent, coins, outs, sw)

    def sweep(self, ent: int, coins: list[int], dest: int, kind: str = "self_transfer",
              feerate: float | None = None, sw: int | None = None) -> int:
        """Move ``coins`` entirely to ``dest`` minus the fee."""
        total = sum(self.value(o) for o in coins)
        fee = self.fee(coins, [dest], feerate)
        return self.emit(kind, ent, coins, [(dest, total - fee, 0)], sw)

    def hand_over(self, o: int, new_owner: int) -> None:
        """Give the key of unspent output ``o``'s address to ``new_owner`` (chip hand-over)."""
        L = self.L
        a = int(L.out[o, O_ADDR])
        released = bool(int(L.out[o, O_FLAGS]) & OF_RELEASED)
        if released:
            pool_remove(L, o)
        L.addr[a, A_ENT] = new_owner
        L.addr[a, A_POOL] = int(L.ent[new_owner, E_POOL])
        L.out[o, O_POOL] = int(L.ent[new_owner, E_POOL])
        if released:        # an unconfirmed one joins the new pool when its block closes
            pool_push(L, int(L.ent[new_owner, E_POOL]), o)
        self.handover_chips.add(o)

    def role(self, t: int, case: str, role: str) -> None:
        self.tx_roles.setdefault(t, []).append((case, role))
