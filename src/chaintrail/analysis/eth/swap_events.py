"""Uniswap V2 and V3 ``Swap`` logs -> hops: which pool took how much of which token and gave how much of which.

A Swap log names amounts by the pool's token0/token1, never the tokens themselves, and the pool's ``token0()``
and ``token1()`` are not in the store (they are state, not events). They are read off the token transfers the
pool made in the same transaction instead: a V2 pair sends ``amountXOut`` to ``to`` and was sent ``amountXIn``
before emitting Swap; a V3 pool sends the negative side and is paid the positive side in its callback. A
transfer from (to) the pool whose value equals a side's amount names that side's token. Every swap of a pool
votes, and the pool's tokens are the majority over the whole store (a pool's tokens never change), so a swap
whose own transfers are ambiguous (a flash swap, fee-on-transfer tokens) still gets them. Where only one side is
ever seen, the other is the one other token the pool moved, ordered by Uniswap's invariant token0 < token1.

Malformed logs with a Swap topic (other contracts may emit the same signature with another layout) are skipped
and counted, not raised.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Hashable, Iterable
from dataclasses import dataclass

from chaintrail.chains.ethereum.hexutil import event_topic

SWAP_V2 = bytes.fromhex(event_topic("Swap(address,uint256,uint256,uint256,uint256,address)")[2:])
SWAP_V3 = bytes.fromhex(event_topic("Swap(address,address,int256,int256,uint160,uint128,int24)")[2:])
PROTOCOL = {SWAP_V2: "uniswap-v2", SWAP_V3: "uniswap-v3"}


@dataclass(frozen=True)
class SwapLog:
    """One Swap log as stored (topics as 32-byte words, data as bytes); ``tx`` is any key of its transaction."""
    tx: Hashable
    log_index: int
    address: bytes
    topic0: bytes
    topic1: bytes | None
    topic2: bytes | None
    n_topics: int
    data: bytes


@dataclass(frozen=True)
class Transfer:
    """One ERC-20 transfer of the same transactions (from eth_token_transfers, or Transfer logs)."""
    tx: Hashable
    log_index: int
    token: bytes
    frm: bytes
    to: bytes
    value: int


@dataclass(frozen=True)
class Hop:
    """One decoded swap: the pool's gain of token0 and token1 (positive: paid into the pool)."""
    tx: Hashable
    log_index: int
    venue: bytes
    protocol: str
    sender: bytes
    recipient: bytes
    delta0: int
    delta1: int
    token0: bytes | None = None
    token1: bytes | None = None

    @property
    def side_in(self) -> int:
        """0 or 1: the side paid into the pool (the larger gain when both rose, as in a donation)."""
        return 0 if self.delta0 > self.delta1 else 1

    @property
    def token_in(self) -> bytes | None:
        return self.token0 if self.side_in == 0 else self.token1

    @property
    def token_out(self) -> bytes | None:
        return self.token1 if self.side_in == 0 else self.token0

    @property
    def amount_in(self) -> int:
        return self.delta0 if self.side_in == 0 else self.delta1

    @property
    def amount_out(self) -> int:
        return -(self.delta1 if self.side_in == 0 else self.delta0)

    def describe(self) -> str:
        tin = "0x" + self.token_in.hex() if self.token_in else "token?"
        tout = "0x" + self.token_out.hex() if self.token_out else "token?"
        return (f"{self.protocol} Swap (log {self.log_index}) at 0x{self.venue.hex()}: "
                f"{self.amount_in} {tin} -> {self.amount_out} {tout}")


def _word(data: bytes, i: int, signed: bool = False) -> int:
    return int.from_bytes(data[32 * i:32 * i + 32], "big", signed=signed)


def decode_swap(log: SwapLog) -> Hop | None:
    """The hop of one Swap log, or None when its layout is not Uniswap's (topic count, data length, dirty
    address words)."""
    protocol = PROTOCOL.get(log.topic0)
    if protocol is None or log.n_topics != 3 or log.topic1 is None or log.topic2 is None:
        return None
    if log.topic1[:12] != bytes(12) or log.topic2[:12] != bytes(12):
        return None
    if protocol == "uniswap-v2":
        if len(log.data) != 128:
            return None
        a0_in, a1_in, a0_out, a1_out = (_word(log.data, i) for i in range(4))
        d0, d1 = a0_in - a0_out, a1_in - a1_out
    else:
        if len(log.data) != 160:
            return None
        d0, d1 = _word(log.data, 0, True), _word(log.data, 1, True)
    return Hop(log.tx, log.log_index, log.address, protocol, log.topic1[12:], log.topic2[12:], d0, d1)


def _votes(hops: list[Hop], transfers: Iterable[Transfer]) -> dict[bytes, list[Counter]]:
    """Per pool, per side: how often each token's transfer matched that side's amount and direction."""
    by_tx: dict[Hashable, list[Transfer]] = defaultdict(list)
    for t in transfers:
        by_tx[t.tx].append(t)
    votes: dict[bytes, list[Counter]] = defaultdict(lambda: [Counter(), Counter()])
    for h in hops:
        for side, delta in ((0, h.delta0), (1, h.delta1)):
            if delta == 0:
                continue
            found = {t.token for t in by_tx.get(h.tx, ())
                     if t.value == abs(delta) and (t.to == h.venue if delta > 0 else t.frm == h.venue)}
            if len(found) == 1:
                votes[h.venue][side][found.pop()] += 1
    return votes


def pool_tokens(hops: list[Hop], transfers: Iterable[Transfer]) -> dict[bytes, tuple[bytes | None, bytes | None]]:
    """token0, token1 of every pool in ``hops`` (None where the transfers never show it)."""
    transfers = list(transfers)
    votes = _votes(hops, transfers)
    moved: dict[bytes, set[bytes]] = defaultdict(set)   # every token a pool sent or received in its swap txs
    txs = {(h.tx, h.venue) for h in hops}
    for t in transfers:
        for pool in (t.frm, t.to):
            if (t.tx, pool) in txs:
                moved[pool].add(t.token)
    out: dict[bytes, tuple[bytes | None, bytes | None]] = {}
    for pool in {h.venue for h in hops}:
        sides = votes.get(pool, [Counter(), Counter()])
        t0 = sides[0].most_common(1)[0][0] if sides[0] else None
        t1 = sides[1].most_common(1)[0][0] if sides[1] else None
        known = t0 if t1 is None else t1 if t0 is None else None
        if known is not None:
            others = moved[pool] - {known}
            if len(others) == 1:
                other = others.pop()
                if t0 is None and other < known:
                    t0 = other
                elif t1 is None and other > known:
                    t1 = other
        out[pool] = (t0, t1)
    return out


def decode_hops(logs: Iterable[SwapLog], transfers: Iterable[Transfer]) -> tuple[list[Hop], int]:
    """Every well-formed Swap log as a hop with its pool's tokens; and how many logs were skipped."""
    hops, skipped = [], 0
    for log in logs:
        h = decode_swap(log)
        if h is None:
            skipped += 1
        else:
            hops.append(h)
    tokens = pool_tokens(hops, transfers)
    out = [Hop(h.tx, h.log_index, h.venue, h.protocol, h.sender, h.recipient, h.delta0, h.delta1, *tokens[h.venue])
           for h in hops]
    return out, skipped


__all__ = ["SWAP_V2", "SWAP_V3", "Hop", "SwapLog", "Transfer", "decode_hops", "decode_swap", "pool_tokens"]
