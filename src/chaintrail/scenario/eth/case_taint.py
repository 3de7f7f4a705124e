"""The answer key's haircut figures: a per-case replay of the ledger's movements under stated rules.

The rules (also written into the key as ``taint_rules``):

* Tracked accounts: the case's own addresses (on both chains) and every Tornado pool. Each holds, per asset, a
  balance B and a tainted part T, from every movement the ledger recorded into and out of it (a pool's
  movements are all its deposits and withdrawals, the economy's included).
* Sources: a movement marked ``source`` (a victim's payment, the vault drain, the sanctioned funds) enters the
  case's hands fully tainted.
* Haircut: a movement of ``x`` out of a tracked account carries ``floor(x * T / B)`` of taint, T and B taken
  just before it; gas (gasUsed * effectiveGasPrice from the receipt) is one more ETH movement out of the
  payer, after the transaction's other movements. A movement into a tracked account adds x to B and its taint
  to T; from an untracked account it is clean (the relayer's ETH refund, the OTC desk's payout, gas money).
* Order: chain A in (block, index in block, recording order), then chain B likewise.
* Tornado: a pool is an account like any other, so a withdrawal's taint is the tainted share of the pool's
  deposits not yet withdrawn at that moment; the withdrawal is two movements, recipient (denomination - fee)
  then relayer fee.
* Swaps: the input leaves the swapper with its haircut taint t_in; the output carries
  ``floor(amount_out * t_in / amount_in)`` (the input's tainted fraction at the executed rate).
* Bridge: a mint on chain B carries exactly the taint its lock carried on chain A (legs pair 1:1 by nonce).
* Endpoints: a movement to an untracked account stops there (exchange deposit addresses - ETH a forwarder
  passes on to the hot wallet is counted at the deposit address -, OTC/P2P desks, relayer fees, gas, the bridge
  contract, economy users' Tornado withdrawals). Per case and asset, sources + swap outputs = endpoints +
  swap inputs + what stays tracked, exactly (checked by ``run_case``).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from chaintrail.scenario.eth.case_ledger import (CHAIN_A, CHAIN_B, ETH, CaseLedger, Move, Swap, gas_fee, position,
                                                 tx_hash)

RULES = __doc__.split("The rules (also written into the key as ``taint_rules``):", 1)[1].strip()


@dataclass
class Endpoint:
    chain: str
    address: str
    asset: str
    kind: str
    amount: int = 0
    tainted: int = 0
    txs: list[str] = field(default_factory=list)


@dataclass
class CaseTaint:
    endpoints: dict[tuple[str, str, str, str], Endpoint]
    held: dict[tuple[str, str, str], tuple[int, int]]          # tracked (chain, address, asset) -> (B, T)
    swaps: dict[int, tuple[int, int]]                          # swap seq -> (tainted in, tainted out)
    bridge: dict[int, int]                                     # nonce -> tainted amount


def replay_events(ledger: CaseLedger) -> list[tuple]:
    """Every movement, swap and gas payment in replay order: (chain order, block, index, seq, kind, item)."""
    out = []
    for m in ledger.moves:
        out.append((0 if m.chain == CHAIN_A else 1, *position(m.tx), m.seq, "move", m))
    for s in ledger.swaps:
        out.append((0, *position(s.tx), s.seq, "swap", s))
    for k, (case, tx, chain, payer) in enumerate(ledger.fee_txs):
        # after the transaction's own movements: recording order puts them first, so a large seq
        out.append((0 if chain == CHAIN_A else 1, *position(tx), (1 << 60) + k, "fee", (case, tx, chain, payer)))
    out.sort(key=lambda e: e[:4])
    return out


def run_case(ledger: CaseLedger, case: str, events: list[tuple] | None = None) -> CaseTaint:
    """Replay the ledger for one case's taint (see the module's rules)."""
    events = replay_events(ledger) if events is None else events
    mine = {k for k, a in ledger.actors.items() if a.case == case}
    tracked = set(mine)
    tracked |= {(CHAIN_A, d.pool) for d in ledger.tornado_deposits.values()}
    bal: dict[tuple[str, str, str], list[int]] = defaultdict(lambda: [0, 0])
    ends: dict[tuple[str, str, str, str], Endpoint] = {}
    swaps: dict[int, tuple[int, int]] = {}
    bridge: dict[int, int] = {}
    sources: dict[tuple[str, str], int] = defaultdict(int)

    def take(chain: str, addr: str, asset: str, x: int, what: str) -> int:
        b = bal[(chain, addr, asset)]
        if x > b[0]:
            raise ValueError(f"case ledger incomplete: {what} moves {x} {asset} out of {addr} on chain {chain}, "
                             f"which holds {b[0]} by the ledger")
        t = x * b[1] // b[0] if b[0] else 0
        b[0] -= x
        b[1] -= t
        return t

    def give(chain: str, addr: str, asset: str, x: int, t: int, kind: str, tx: object, ours: bool) -> None:
        if (chain, addr) in tracked:
            b = bal[(chain, addr, asset)]
            b[0] += x
            b[1] += t
            return
        if not (t or ours):
            return      # someone else's clean movement between untracked accounts
        e = ends.setdefault((chain, addr, asset, kind), Endpoint(chain, addr, asset, kind))
        e.amount += x
        e.tainted += t
        e.txs.append(tx_hash(tx))

    for *_, kind, item in events:
        if kind == "move":
            m: Move = item
            if m.kind == "bridge_mint":
                t = bridge.get(m.ref["nonce"], 0)
            elif (m.chain, m.frm) in tracked:
                t = take(m.chain, m.frm, m.asset, m.amount, f"{m.kind} in {tx_hash(m.tx)}")
            else:
                t = m.amount if (m.source and m.case == case) else 0
                if t:
                    sources[(m.chain, m.asset)] += t
            if m.kind == "bridge_lock":
                bridge[m.ref["nonce"]] = t
            give(m.chain, m.to, m.asset, m.amount, t, m.kind, m.tx, (m.chain, m.frm) in mine)
        elif kind == "swap":
            s: Swap = item
            if (CHAIN_A, s.frm) not in tracked:
                continue
            t_in = take(CHAIN_A, s.frm, s.asset_in, s.amount_in, f"swap in {tx_hash(s.tx)}")
            t_out = s.amount_out * t_in // s.amount_in
            swaps[s.seq] = (t_in, t_out)
            give(CHAIN_A, s.to, s.asset_out, s.amount_out, t_out, "swap_output", s.tx, True)
        else:
            owner, tx, chain, payer = item
            if (chain, payer) in tracked:
                fee = gas_fee(tx)
                t = take(chain, payer, ETH, fee, f"gas of {tx_hash(tx)}")
                give(chain, "gas", ETH, fee, t, "gas", tx, True)
    held = {k: (v[0], v[1]) for k, v in bal.items() if v[0] or v[1]}
    _check_conservation(case, sources, swaps, ledger, ends, held, bridge)
    return CaseTaint(ends, held, swaps, bridge)


def _check_conservation(case, sources, swaps, ledger, ends, held, bridge) -> None:
    """Per chain and asset: sources + swap outputs + bridge mints = endpoints + swap inputs + held, exactly."""
    bal: dict[tuple[str, str], int] = defaultdict(int)
    for k, t in sources.items():
        bal[k] += t
    for s in ledger.swaps:
        if s.seq in swaps:
            bal[(CHAIN_A, s.asset_out)] += swaps[s.seq][1]
            bal[(CHAIN_A, s.asset_in)] -= swaps[s.seq][0]
    for leg in ledger.legs:
        bal[(CHAIN_B, leg.wrapped)] += bridge.get(leg.nonce, 0)
    for e in ends.values():
        bal[(e.chain, e.asset)] -= e.tainted
    for (chain, _addr, asset), (_b, t) in held.items():
        bal[(chain, asset)] -= t
    bad = {k: v for k, v in bal.items() if v}
    if bad:
        raise AssertionError(f"case {case}: haircut taint not conserved {bad}")


__all__ = ["RULES", "CaseTaint", "Endpoint", "replay_events", "run_case"]
