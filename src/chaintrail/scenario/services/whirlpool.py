"""Whirlpool (Samourai): Tx0 into fixed pools, then 5-input 5-output mixes and free remixes.

Published structure: pools of 0.001, 0.01, 0.05 and 0.5 BTC.  A Tx0 pays the pool
fee (5 % of the denomination, 3.5 % for the two larger pools) to the coordinator,
carries a 46-byte OP_RETURN, creates up to 70 "premix" outputs of denomination
plus a miner-fee allowance, and returns the rest as "doxxic" change.  A mix has
exactly five P2WPKH inputs from five different users - new entrants (premix,
who pay the miner fee) and remixers (postmix coins, free) - and five outputs of
exactly the denomination.  Version 1, locktime 0, BIP69 order.
"""

from __future__ import annotations

from chaintrail.scenario.chain import Chain
from chaintrail.scenario.ledger import (
    AT_P2WPKH,
    E_ATYPE,
    O_FLAGS,
    OF_CHANGE,
    OF_RELEASED,
    P_N,
)
from chaintrail.scenario.services.base import (
    Participant,
    Service,
    Ticket,
    coins_of,
    emit_multiparty,
    pick_coins,
)
from chaintrail.scenario.wallet_ops import SW_WHIRLPOOL

POOLS = ((100_000, 5_000), (1_000_000, 50_000), (5_000_000, 175_000), (50_000_000, 1_750_000))
MAX_PREMIX = 70
MAX_SCAN = 300        # accounts looked at when assembling one mix
OP_RETURN_LEN = 46


class Whirlpool(Service):
    """The Whirlpool coordinator and its users' premix/postmix accounts."""

    name = "whirlpool"

    def __init__(self, ch: Chain, privacy: list[int], rate_tx0: float, rate_mix: float):
        self.coord = ch.entity("coinjoin_coordinator", "Whirlpool coordinator", AT_P2WPKH, SW_WHIRLPOOL)
        self.users = [u for u in privacy if int(ch.L.ent[u, E_ATYPE]) == AT_P2WPKH]
        self.premix: dict[int, int] = {}    # entity -> premix pool id
        self.postmix: dict[int, int] = {}
        self.rate_tx0, self.rate_mix = rate_tx0, rate_mix
        self.tickets: list[Ticket] = []    # planted coins waiting to be mixed
        self.planted: set[int] = set()     # entities whose postmix coins background logic leaves alone
        self.mixes: list[int] = []
        self.tx0s: list[int] = []

    def _pools_of(self, ch: Chain, u: int) -> tuple[int, int]:
        if u not in self.premix:
            self.premix[u] = ch.new_pool(u)
            self.postmix[u] = ch.new_pool(u)
        return self.premix[u], self.postmix[u]

    def tx0(self, ch: Chain, u: int, coins: list[int], pool_i: int, max_premix: int = MAX_PREMIX,
            role: tuple[str, str] | None = None) -> int | None:
        """Write a Tx0 for ``u``; returns the tx id (premix coins land in u's premix pool)."""
        denom, pool_fee = POOLS[pool_i]
        pre_fee = max(500, int(ch.feerate * 110)) + int(ch.rng.integers(0, 300))
        value = sum(ch.value(o) for o in coins)
        est = ch.fee(coins, [-1 - OP_RETURN_LEN] + [0] * 3, ch.feerate) + 31 * 4 * max_premix
        n = min(max_premix, (value - pool_fee - est) // (denom + pre_fee))
        if n < 1:
            return None
        premix_pool, _ = self._pools_of(ch, u)
        outs = [(ch.address(self.coord, AT_P2WPKH), pool_fee, 0), (-1 - OP_RETURN_LEN, 0, 0)]
        outs += [(ch.address(u, AT_P2WPKH, pool=premix_pool), denom + pre_fee, 0) for _ in range(n)]
        change_addr = ch.address(u, AT_P2WPKH)
        fee = ch.fee(coins, [a for a, _, _ in outs] + [change_addr], ch.feerate)
        change = value - pool_fee - n * (denom + pre_fee) - fee
        if change < 0:
            return None
        if change >= 5000:
            outs.append((change_addr, change, OF_CHANGE))
        t = ch.emit("whirlpool_tx0", u, coins, outs, sw=SW_WHIRLPOOL)
        self.tx0s.append(t)
        if role:
            ch.role(t, *role)
        return t

    def enqueue(self, u: int, coins: list[int], mixes: int) -> Ticket:
        """Mix each of ``u``'s premix ``coins`` ``mixes`` times; final outputs land in ticket.outputs."""
        tk = Ticket(u, list(coins), {"live": {o: 0 for o in coins}, "mixes": mixes, "txs": []})
        self._pools_of_known(u)
        self.planted.add(u)
        self.tickets.append(tk)
        return tk

    def _pools_of_known(self, u: int) -> None:
        if u not in self.premix:
            raise ValueError("enqueue after the entity's Tx0")

    def step(self, ch: Chain, pop) -> None:
        rng = ch.rng
        for _ in range(int(rng.poisson(self.rate_tx0)) if self.users else 0):
            for u in (self.users[int(i)] for i in rng.integers(0, len(self.users), 4)):
                coins = pick_coins(ch, coins_of(ch, u, (AT_P2WPKH,)), 300_000, 3)
                if coins:
                    value = sum(ch.value(o) for o in coins)
                    pool_i = max(i for i, (d, f) in enumerate(POOLS) if i == 0 or value >= 2 * d + f)
                    self.tx0(ch, u, coins, pool_i, max_premix=int(rng.integers(2, 12)))
                    break
        for _ in range(int(rng.poisson(self.rate_mix))):
            self.mix(ch, int(rng.choice(len(POOLS), p=self._pool_weights(ch))))
        for pool_i in self._planted_pools(ch):
            self._liquidity(ch, pool_i)
            for _ in range(3):
                self.mix(ch, pool_i)
        self._postmix_spends(ch)

    def _liquidity(self, ch: Chain, pool_i: int) -> None:
        """Keep enough background premix coins in a pool that planted coins are waiting in."""
        denom = POOLS[pool_i][0]
        have = sum(1 for u in self.premix if any(denom < ch.value(o) < denom + denom // 10
                                                 for o in ch.coins(self.premix[u])))
        if have >= 6:
            return
        rng = ch.rng
        for u in (self.users[i] for i in rng.permutation(len(self.users))[:8]):
            coins = pick_coins(ch, coins_of(ch, u, (AT_P2WPKH,)), 3 * denom, 4)
            if coins:
                self.tx0(ch, u, coins, pool_i, max_premix=int(rng.integers(2, 5)))

    def _pool_weights(self, ch: Chain) -> list[float]:
        """Mix where the coins are: weights by premix coins waiting in each pool (uniform if none)."""
        w = [1e-9] * len(POOLS)
        L = ch.L
        for u in list(self.premix)[-200:]:
            if L.pool[self.premix[u], P_N]:
                for o in ch.coins(self.premix[u]):
                    i = self._denom_of(ch.value(o))
                    if i >= 0:
                        w[i] += 1
        total = sum(w)
        return [x / total for x in w]

    def _denom_of(self, v: int) -> int:
        for i, (d, _) in enumerate(POOLS):
            if d <= v < d + d // 10:
                return i
        return -1

    def _planted_pools(self, ch: Chain) -> list[int]:
        out = set()
        for tk in self.tickets:
            for o in tk.opts["live"]:
                if int(ch.L.out[o, O_FLAGS]) & OF_RELEASED:
                    out.add(self._denom_of(ch.value(o)))
        return sorted(i for i in out if i >= 0)

    def mix(self, ch: Chain, pool_i: int) -> int | None:
        rng = ch.rng
        denom = POOLS[pool_i][0]
        chosen = []
        for tk in self.tickets:          # planted coins go first, at most one per mix
            for o in tk.opts["live"]:
                if self._denom_of(ch.value(o)) == pool_i and int(ch.L.out[o, O_FLAGS]) & OF_RELEASED:
                    chosen.append((tk.entity, o, ch.value(o) > denom))
                    break
            if chosen:
                break
        bg_pre, bg_post = [], []
        taken = {e for e, _, _ in chosen}
        members = [u for u in self.premix if u not in self.planted]
        L = ch.L
        for k in rng.permutation(len(members))[:MAX_SCAN]:
            u = members[k]
            if len(bg_pre) >= 5 and len(bg_post) >= 4:
                break
            if u in taken:
                continue
            pre_c = [o for o in ch.coins(self.premix[u]) if denom < ch.value(o) < denom + denom // 10] \
                if L.pool[self.premix[u], P_N] else []
            post_c = [o for o in ch.coins(self.postmix[u]) if ch.value(o) == denom] \
                if L.pool[self.postmix[u], P_N] else []
            if pre_c:
                bg_pre.append((u, pre_c[0], True))
            elif post_c:
                bg_post.append((u, post_c[0], False))
        n_pre = sum(1 for c in chosen if c[2])
        want_pre = max(0, int(rng.integers(1, 3)) - n_pre)   # one or two new entrants pay the fee
        chosen += bg_pre[:want_pre]
        chosen += bg_post[:5 - len(chosen)]
        chosen += bg_pre[want_pre:want_pre + 5 - len(chosen)]
        if len(chosen) < 5 or not any(c[2] for c in chosen):
            return None
        parts = []
        for e, o, _ in chosen:
            _, post = self._pools_of(ch, e)
            parts.append(Participant(e, [o], [(ch.address(e, AT_P2WPKH, pool=post), denom, 0)]))
        t = emit_multiparty(ch, "whirlpool_mix", "whirlpool", self.coord, parts, [], SW_WHIRLPOOL)
        self.mixes.append(t)
        for tk in self.tickets:
            live = tk.opts["live"]
            for rec in ch.coinjoins[t]["participants"]:
                if rec["entity"] != tk.entity or rec["inputs"][0] not in live:
                    continue
                n = live.pop(rec["inputs"][0]) + 1
                out = rec["outputs"][0]
                tk.opts["txs"].append(t)
                if n < tk.opts["mixes"]:
                    live[out] = n
                else:
                    tk.outputs.append(out)
            tk.done = not live
        self.tickets = [tk for tk in self.tickets if not tk.done]
        return t

    def _postmix_spends(self, ch: Chain) -> None:
        """Background users occasionally spend a postmix coin, whole, to a payee."""
        rng = ch.rng
        for u, post in list(self.postmix.items()):
            if u in self.planted or rng.random() > 0.03:
                continue
            coins = ch.coins(post)
            if len(coins) < 2:
                continue
            o = coins[0]
            dest = ch.address(u)
            ch.sweep(u, [o], dest, kind="self_transfer")
