"""Shared pieces of the mixing services: tickets, participants, multi-party transactions."""

from __future__ import annotations

from dataclasses import dataclass, field

from chaintrail.scenario.chain import Chain
from chaintrail.scenario.ledger import (
    A_TYPE,
    E_POOL,
    O_ADDR,
    O_FLAGS,
    O_VALUE,
    OF_CHANGE,
)


@dataclass
class Ticket:
    """A request to a service by one entity; filled in when the service acts on it."""

    entity: int
    coins: list[int]
    opts: dict = field(default_factory=dict)
    done: bool = False
    tx: int = -1
    outputs: list[int] = field(default_factory=list)   # the entity's outputs, change excluded
    change: list[int] = field(default_factory=list)


@dataclass
class Participant:
    """One entity's share of a multi-party transaction."""

    entity: int
    inputs: list[int]
    outputs: list[tuple[int, int, int]] = field(default_factory=list)   # (addr, value, flags)
    ticket: Ticket | None = None


class Service:
    """A background actor stepped once per block."""

    name = "service"
    queue: list

    def cancel(self, ticket: Ticket) -> None:
        """Withdraw a ticket that has not been served."""
        if not ticket.done and hasattr(self, "queue"):
            self.queue = [t for t in self.queue if t is not ticket]

    def step(self, ch: Chain, pop) -> None:  # pragma: no cover - interface
        raise NotImplementedError


def coins_of(ch: Chain, ent: int, types: tuple[int, ...] | None = None, pool: int | None = None) -> list[int]:
    """Spendable coins of ``ent`` (main pool unless given), optionally of some address types."""
    L = ch.L
    p = int(L.ent[ent, E_POOL]) if pool is None else pool
    out = ch.coins(p)
    if types is not None:
        out = [o for o in out if int(L.addr[L.out[o, O_ADDR], A_TYPE]) in types]
    return out


def pick_coins(ch: Chain, coins: list[int], target: int, max_n: int) -> list[int] | None:
    """Largest-first coins covering ``target`` (at most ``max_n``), or None."""
    L = ch.L
    coins = sorted(coins, key=lambda o: -int(L.out[o, O_VALUE]))
    got, total = [], 0
    for o in coins[:max_n]:
        got.append(o)
        total += int(L.out[o, O_VALUE])
        if total >= target:
            return got
    return None


def emit_multiparty(ch: Chain, kind: str, protocol: str, initiator: int, parts: list[Participant],
                    coord_outs: list[tuple[int, int]], sw: int, order: str = "keep",
                    extra_outs: list[tuple[int, int, int]] = ()) -> int:
    """Write a tx joining ``parts`` (plus coordinator fee outputs) and record its ownership.

    ``order``: "keep" (as built), "shuffle", or "desc" (outputs and inputs by value,
    largest first); a BIP69 client profile in ``sw`` sorts on its own.
    """
    L, rng = ch.L, ch.rng
    ins = [(o, i) for i, p in enumerate(parts) for o in p.inputs]
    outs = [(a, v, f, i) for i, p in enumerate(parts) for a, v, f in p.outputs]
    outs += [(a, v, 0, -1) for a, v in coord_outs]
    outs += [(a, v, f, -2) for a, v, f in extra_outs]
    if order == "shuffle":
        ins = [ins[k] for k in rng.permutation(len(ins))]
        outs = [outs[k] for k in rng.permutation(len(outs))]
    elif order == "desc":
        ins.sort(key=lambda x: -int(L.out[x[0], O_VALUE]))
        outs.sort(key=lambda x: -x[1])
    owner_by_addr = {a: i for a, _, _, i in outs if a >= 0}
    if len(owner_by_addr) != sum(1 for a, _, _, _ in outs if a >= 0):
        raise ValueError("multi-party outputs must pay distinct addresses")
    t = ch.emit(kind, initiator, [o for o, _ in ins], [(a, v, f) for a, v, f, _ in outs], sw=sw)
    rec_parts = [{"entity": p.entity, "inputs": list(p.inputs), "outputs": [], "change": []} for p in parts]
    coord = []
    for o in ch.outputs(t):
        a = int(L.out[o, O_ADDR])
        i = owner_by_addr.get(a, -2) if a >= 0 else -2
        if i >= 0:
            key = "change" if int(L.out[o, O_FLAGS]) & OF_CHANGE else "outputs"
            rec_parts[i][key].append(o)
        elif i == -1:
            coord.append(o)
    for p, rec in zip(parts, rec_parts):
        if p.ticket is not None:
            p.ticket.tx, p.ticket.outputs, p.ticket.change, p.ticket.done = t, rec["outputs"], rec["change"], True
    ch.coinjoins[t] = {"protocol": protocol, "participants": rec_parts, "coordinator_outputs": coord}
    return t
