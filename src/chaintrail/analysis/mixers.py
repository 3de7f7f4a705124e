"""Transaction classification: CoinJoins by protocol, chip-mixer patterns, service patterns.

One numba pass over every tx reads only the index (values, spend links) and
the output script types. Rules follow the published structure of each
protocol, not any one generator:

* Whirlpool mix (Samourai): n inputs = n outputs (5..8), every output exactly
  one pool denomination (0.001, 0.01, 0.05, 0.5 BTC), every input in
  [denomination, denomination + 0.0011 BTC] (premix carries the miner fee).
* Whirlpool Tx0: an OP_RETURN, >= 1 equal P2WPKH "premix" outputs just above a
  pool denomination, the remaining outputs (pool fee, change) fewer than 3, and
  either >= 2 premixes or an output equal to the pool fee.
* Wasabi 1.0: >= 5 equal outputs near 0.1 BTC (0.08..0.12), segwit v0 outputs,
  a coordinator fee output; Wasabi 1.1 adds mixing levels: further groups of
  >= 2 equal outputs at about 2x, 4x, ... the base denomination.
* Wasabi 2.0 (WabiSabi): >= 20 inputs, >= 70% of outputs at Wasabi 2's
  standard denominations (1-2-5 x 10^k, 2^k, 3^k and 2*3^k sats, >= 5000 sat),
  with at least three denominations each used twice or more.
* JoinMarket: n >= 3 equal outputs (a taker and >= 2 makers; JoinMarket's own
  default minimum is higher), n <= inputs, outputs between n and 2n + 1, and the
  inputs can be split into n participants whose other output is their change
  (subset-sum matching, see ``joinmarket_partition``).
* Generic CoinJoin: >= 3 equal outputs, at least as many inputs, at most one change
  per participant (outputs <= 2n + 1), and inputs that can be split into n
  participants each paying for one equal output (``covers``); where input values are
  unknown, at least n distinct input addresses instead, and the label's confidence is
  reduced (``values_known``).
* Whirlpool is tested before the chip patterns: the 0.001 BTC pool's outputs are the
  smallest chip. A chip merge spending only Whirlpool outputs is a post-mix spend
  (``whirlpool_postmix``). A tx paying a published coordinator (``WASABI1_COORDINATORS``)
  is a Wasabi 1 round at any base denomination.
* Amounts split evenly with rounding (d, d, d+1) are one group: not a CoinJoin.
* ChipMixer-style: a chip split pays >= 3 exact chips (0.001 .. 8.192 BTC in powers
  of two) and at most one other output; a chip merge spends >= 2 inputs that are all
  exact chips. After clustering, ``refine_with_clusters`` adds what only the mixer's
  entity reveals: any chip-paying tx of a mixer cluster is a chip split, and any tx
  of another entity spending only such chips is a chip merge (a single chip too).
* Consolidation: >= 10 inputs into 1 output; batched payout: <= 3 inputs into >= 10 outputs.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from chaintrail.chains.bitcoin.script_types import ScriptType

# Bump when any rule below changes: error_rates.json records the version its figures measured.
VERSION = "tx-classifier/2"

LABELS = ("none", "coinjoin", "wasabi1.0", "wasabi1.1", "wasabi2", "whirlpool_tx0", "whirlpool_mix",
          "joinmarket", "chip_split", "chip_merge", "consolidation", "batch_payout")
(L_NONE, L_COINJOIN, L_WASABI10, L_WASABI11, L_WASABI2, L_TX0, L_WHIRLPOOL, L_JOINMARKET, L_CHIP_SPLIT,
 L_CHIP_MERGE, L_CONSOLIDATION, L_BATCH) = range(len(LABELS))
# CoinJoins: inputs of several owners. Never merged by the multi-input heuristic, and a mixing
# step for the tracing policy. Chip splits, chip merges and Tx0s are one owner's coins
# (the mixer's, or its customer's), so they are mixer-related but cluster like any tx.
MIXING = np.array([lab in ("coinjoin", "wasabi1.0", "wasabi1.1", "wasabi2", "whirlpool_mix", "joinmarket")
                   for lab in LABELS])
MIXER_RELATED = np.array([lab in ("chip_split", "chip_merge", "whirlpool_tx0") for lab in LABELS])

# Published coordinator fee addresses: an output paying one is positive evidence of that protocol's
# round (zkSNACKs' Wasabi 1 coordinator, WalletWasabi's Constants; paid by every 2018 round).
WASABI1_COORDINATORS = ("bc1qs604c7jv6amk4cxqlnvuxv26hv3e48cds4m0ew",)

POOLS = np.array([100_000, 1_000_000, 5_000_000, 50_000_000], np.int64)
CHIPS = np.array([100_000 << k for k in range(14)], np.int64)  # 0.001 .. 8.192 BTC


def wasabi2_denominations() -> np.ndarray:
    """Wasabi 2.0 standard denominations (5000 sat .. 1374 BTC)."""
    out = set()
    for e in range(0, 16):
        for m in (1, 2, 5):
            out.add(m * 10 ** e)
    v = 1
    while v < 2 ** 47:
        out.add(v)
        v *= 2
    v = 1
    while v < 2 ** 47:
        out.add(v)
        out.add(2 * v)
        v *= 3
    return np.array(sorted(x for x in out if 5000 <= x <= 137_438_953_472), np.int64)


W2DENOMS = wasabi2_denominations()
_OP_RETURN = int(ScriptType.OP_RETURN)
_P2WPKH, _P2TR = int(ScriptType.P2WPKH), int(ScriptType.P2TR)


@nb.njit(cache=True)
def in_set(sorted_set, v):
    """Is ``v`` in the sorted array ``sorted_set`` (chips, pool or Wasabi 2 denominations)?"""
    i = np.searchsorted(sorted_set, v)
    return i < sorted_set.shape[0] and sorted_set[i] == v


@nb.njit(cache=True)
def _all_chips(in_value, a0, a1, chips):
    """Is every input value (all known) an exact chip?"""
    for i in range(a0, a1):
        if in_value[i] < 0 or not in_set(chips, in_value[i]):
            return False
    return True


@nb.njit(cache=True)
def _equal_groups(vals):
    """Sorted distinct values and their counts."""
    s = np.sort(vals)
    uv = np.empty(s.shape[0], np.int64)
    uc = np.empty(s.shape[0], np.int64)
    k = -1
    for i in range(s.shape[0]):
        if k >= 0 and uv[k] == s[i]:
            uc[k] += 1
        else:
            k += 1
            uv[k] = s[i]
            uc[k] = 1
    return uv[:k + 1], uc[:k + 1]


@nb.njit(cache=True)
def classify_all(tx_first_in, tx_first_out, in_value, in_addr, out_value, out_type, tx_is_cb, tx_coord, pools, chips,
                 w2, labels, lo):
    """Label txs ``lo`` .. the last into ``labels[t - lo]`` (``tx_coord[t]``: pays a published coordinator)."""
    n_tx = tx_first_in.shape[0] - 1
    for t in range(lo, n_tx):
        labels[t - lo] = classify_one(t, tx_first_in, tx_first_out, in_value, in_addr, out_value, out_type,
                                      tx_is_cb[t], tx_coord[t] != 0, pools, chips, w2)


@nb.njit(cache=True)
def classify_one(t, tx_first_in, tx_first_out, in_value, in_addr, out_value, out_type, is_cb, pays_coord, pools,
                 chips, w2):
    if is_cb:
        return L_NONE
    a0, a1 = tx_first_in[t], tx_first_in[t + 1]
    o0, o1 = tx_first_out[t], tx_first_out[t + 1]
    n_in = np.int64(a1 - a0)
    n_out = np.int64(o1 - o0)
    if n_out <= 2:
        # Most txs: of the patterns below only a chip merge or a consolidation fits one or two
        # outputs without an OP_RETURN (5x faster over a chain than sorting every tx's values).
        plain = True
        for j in range(o0, o1):
            if out_type[j] == _OP_RETURN:
                plain = False
        if plain:
            if n_out == 0:
                return L_NONE
            if n_in >= 2 and _all_chips(in_value, a0, a1, chips):
                return L_CHIP_MERGE
            return L_CONSOLIDATION if n_in >= 10 and n_out == 1 else L_NONE
    has_opret = False
    nvals = 0
    vals = np.empty(n_out, np.int64)
    segwit_outs = 0
    for j in range(o0, o1):
        if out_type[j] == _OP_RETURN:
            has_opret = True
            continue
        vals[nvals] = out_value[j]
        nvals += 1
        if out_type[j] == _P2WPKH or out_type[j] == _P2TR:
            segwit_outs += 1
    vals = vals[:nvals]
    if nvals == 0:
        return L_NONE
    uv, uc = _equal_groups(vals)
    best = 0
    best_v = 0
    for k in range(uv.shape[0]):
        if uc[k] > best or (uc[k] == best and uv[k] > best_v):
            best = uc[k]
            best_v = uv[k]
    # Whirlpool mix first: n in, n out, all outputs one pool denomination. The 0.001 BTC pool's
    # outputs are also the smallest chip, so a chip rule must never see a Whirlpool mix.
    if 5 <= n_in <= 8 and n_out == n_in and best == n_out and in_set(pools, best_v):
        ok = True
        for i in range(a0, a1):
            v = in_value[i]
            if v >= 0 and (v < best_v or v > best_v + 110_000):
                ok = False
                break
        if ok:
            return L_WHIRLPOOL
    # ChipMixer: a chip split pays >= 3 chips and at most one other output (the mixer's change).
    if nvals >= 3 and not has_opret:
        nchips = 0
        for k in range(nvals):
            if in_set(chips, vals[k]):
                nchips += 1
        if nchips >= 3 and nvals - nchips <= 1:
            return L_CHIP_SPLIT
    if n_in >= 2 and nvals <= 2 and _all_chips(in_value, a0, a1, chips):
        return L_CHIP_MERGE
    # Whirlpool Tx0: OP_RETURN + P2WPKH premix outputs just above a pool denomination,
    # and either several premixes or the pool's fee output (5% of the 0.001/0.01 pools, 3.5% above).
    if has_opret:
        for k in range(uv.shape[0]):
            v = uv[k]
            for p in range(pools.shape[0]):
                d = pools[p]
                if d < v <= d + d // 4 + 30_000 and nvals - uc[k] <= 2:
                    premix_segwit = True
                    fee_out = False
                    for j in range(o0, o1):
                        if out_value[j] == v and out_type[j] != _P2WPKH:
                            premix_segwit = False
                        if out_value[j] == d // 20 or out_value[j] == d * 35 // 1000:
                            fee_out = True
                    if premix_segwit and (uc[k] >= 2 or fee_out):
                        return L_TX0
    # Wasabi 2.0: many inputs, outputs mostly standard denominations, several repeated.
    if n_in >= 20 and nvals >= 20:
        std = 0
        for k in range(nvals):
            if in_set(w2, vals[k]):
                std += 1
        rep = 0
        for k in range(uv.shape[0]):
            if uc[k] >= 2 and in_set(w2, uv[k]):
                rep += 1
        if std * 10 >= nvals * 7 and rep >= 3:
            return L_WASABI2
    # Amounts split evenly with rounding (d, d, d+1) are one group, not a CoinJoin plus change.
    near = 0
    for k in range(nvals):
        if abs(vals[k] - best_v) <= 2:
            near += 1
    if near > best:
        return L_CONSOLIDATION if n_in >= 10 and nvals == 1 else L_NONE
    # JoinMarket before Wasabi 1.x: exact per-participant change matching is the stronger evidence
    # (a Wasabi round's coordinator-fee output matches no participant). Each participant's other
    # output is its change.
    # (The exact matching subsumes the greedy ``covers`` test, which can miss valid rounds.)
    if best >= 3 and n_in >= best and best <= nvals <= 2 * best + 1 and not pays_coord:
        if joinmarket_partition(in_value[a0:a1], vals, best_v, best) >= 0:
            return L_JOINMARKET
    # Wasabi 1.x: an equal group near 0.1 BTC (the base), plus mixing levels at 2^k times the base (1.1).
    if n_in >= 5 and segwit_outs * 10 >= nvals * 9:
        # The base denomination: near 0.1 BTC by the protocol's default; any size when the tx pays
        # a published coordinator (zkSNACKs ran 0.01-0.05 BTC rounds in 2018).
        lo_b, hi_b = (500_000, 50_000_000) if pays_coord else (8_000_000, 12_000_000)
        base = -1
        for k in range(uv.shape[0]):
            if uc[k] >= 2 and lo_b <= uv[k] <= hi_b and (base < 0 or uc[k] > uc[base]):
                base = k
        if base >= 0:
            levels = 0
            mixed = uc[base]
            for k in range(uv.shape[0]):
                if uc[k] >= 2 and uv[k] > uv[base]:
                    r = uv[k] / uv[base]
                    lv = np.round(np.log2(r))
                    if lv >= 1 and abs(r / 2.0 ** lv - 1.0) < 0.02:
                        levels += 1
                        mixed += uc[k]
            if levels >= 1 and mixed >= 5 and n_in >= uc[base]:
                return L_WASABI11
            if uc[base] >= 5 and n_in >= uc[base]:
                return L_WASABI10
    # Generic: every participant has one equal output and at most one change.
    if best >= 3 and n_in >= best and nvals <= 2 * best + 1 and covers(in_value[a0:a1], in_addr[a0:a1], best,
                                                                         best_v):
        return L_COINJOIN
    if n_in >= 10 and nvals == 1:
        return L_CONSOLIDATION
    if n_in <= 3 and nvals >= 10:
        return L_BATCH
    return L_NONE


@nb.njit(cache=True)
def covers(ins, addrs, n, d):
    """Can the inputs be split into n participants who each bring at least d? (LPT greedy.)

    In a CoinJoin every owner of an equal output paid for it with its own inputs; a
    payment that merely splits one pot evenly usually cannot pass this. Where an input's
    value is unknown the split cannot be checked, so the evidence asked for instead is
    positive: at least n distinct known input addresses (n owners' own coins); the label
    then carries reduced confidence (``values_known``).
    """
    if ins.shape[0] < n:
        return False
    for i in range(ins.shape[0]):
        if ins[i] < 0:
            seen = np.unique(addrs)
            k = seen.shape[0] - (1 if seen[-1] == 0xFFFFFFFF else 0)
            return k >= n
    order = np.argsort(-ins)
    groups = np.zeros(n, np.int64)
    for i in range(ins.shape[0]):
        k = np.argmin(groups)
        groups[k] += ins[order[i]]
    return groups.min() >= d


@nb.njit(cache=True)
def joinmarket_partition(ins, outs, d, n):
    """Number of participants, or -1: every change output c must be paid by its own set of
    inputs summing to d + c within the fee tolerance (the taker pays miner and maker fees,
    makers gain under 1%), the sets disjoint; inputs left over must pay any participant
    without change. Candidate sets (up to 4 inputs each) are enumerated per change, then a
    depth-first search with a step budget finds a disjoint assignment.
    """
    m = ins.shape[0]
    if m > 20:
        return -1  # beyond exhaustive reach; the equal-output rule classes it as a generic CoinJoin
    for i in range(m):
        if ins[i] < 0:
            return -1
    nc = 0
    changes = np.empty(outs.shape[0], np.int64)
    for k in range(outs.shape[0]):
        if outs[k] != d:
            changes[nc] = outs[k]
            nc += 1
    if nc < n - 1 or nc > n:
        return -1
    changes = np.sort(changes[:nc])[::-1]
    # Candidate input sets for each change, as bitmasks.
    cap = 4096
    cand = np.empty((nc, cap), np.int64)
    ncand = np.zeros(nc, np.int64)
    kmax = 6 if m <= 16 else 4   # a participant may bring up to 6 coins where enumeration stays cheap
    idx = np.empty(kmax, np.int64)
    for size in range(1, min(m, kmax) + 1):
        for q in range(size):
            idx[q] = q
        while True:
            s = 0
            mask = 0
            for q in range(size):
                s += ins[idx[q]]
                mask |= np.int64(1) << idx[q]
            for c in range(nc):
                if abs(s - (d + changes[c])) <= d // 100 + 20_000 and ncand[c] < cap:
                    cand[c, ncand[c]] = mask
                    ncand[c] += 1
            q = size - 1
            while q >= 0 and idx[q] == m - size + q:
                q -= 1
            if q < 0:
                break
            idx[q] += 1
            for r in range(q + 1, size):
                idx[r] = idx[r - 1] + 1
    for c in range(nc):
        if ncand[c] == 0:
            return -1
    # Depth-first search for one candidate per change, pairwise disjoint.
    pick = np.zeros(nc, np.int64)
    used = np.zeros(nc + 1, np.int64)
    level = 0
    steps = 0
    while level >= 0:
        steps += 1
        if steps > 2_000_000:
            return -1
        if level == nc:
            left = 0
            for i in range(m):
                if not (used[nc] >> i) & 1:
                    left += ins[i]
            if left >= (n - nc) * d:
                return n
            level -= 1
            if level >= 0:
                pick[level] += 1
            continue
        found = False
        while pick[level] < ncand[level]:
            mk = cand[level, pick[level]]
            if mk & used[level] == 0:
                used[level + 1] = used[level] | mk
                found = True
                break
            pick[level] += 1
        if found:
            level += 1
            if level < nc:
                pick[level] = 0
        else:
            pick[level] = 0
            level -= 1
            if level >= 0:
                pick[level] += 1
    return -1

def refine_with_clusters(labels: np.ndarray, cluster_of_addr: np.ndarray, tx_first_in: np.ndarray,
                         tx_first_out: np.ndarray, in_addr: np.ndarray, in_prev: np.ndarray,
                         out_value: np.ndarray) -> np.ndarray:
    """Chip-mixer labels that need entities: see the module docstring. Returns new labels."""
    n_tx = len(labels)
    out = labels.copy()
    n_in = np.diff(tx_first_in.astype(np.int64))
    first = tx_first_in[:-1].astype(np.int64)
    has_in = n_in > 0
    first_addr = np.full(n_tx, 0xFFFFFFFF, np.uint32)
    first_addr[has_in] = in_addr[first[has_in]]
    known = first_addr != 0xFFFFFFFF
    tx_cluster = np.full(n_tx, -1, np.int64)
    tx_cluster[known] = cluster_of_addr[first_addr[known]]
    mixers = np.unique(tx_cluster[(labels == L_CHIP_SPLIT) & known])
    if len(mixers) == 0:
        return out
    from_mixer = np.isin(tx_cluster, mixers)
    is_chip = np.isin(out_value, CHIPS)
    out_tx = np.repeat(np.arange(n_tx), np.diff(tx_first_out.astype(np.int64)))
    chips_paid = np.bincount(out_tx[is_chip], minlength=n_tx) > 0
    in_tx = np.repeat(np.arange(n_tx), n_in)
    prev_ok = in_prev != 0xFFFFFFFF
    # The mixer's change (the non-chip output of a chip split) is still the mixer's coin, so a tx
    # spending it is the mixer's too; follow such chains until nothing new is found.
    for _ in range(64):
        split = from_mixer & chips_paid & ~MIXING[labels]
        change = ~is_chip & split[out_tx]
        spends_change = np.zeros(len(in_prev), bool)
        spends_change[prev_ok] = change[in_prev[prev_ok]]
        grown = from_mixer | (np.bincount(in_tx, weights=spends_change, minlength=n_tx) > 0)
        if (grown == from_mixer).all():
            break
        from_mixer = grown
    split = from_mixer & chips_paid & ~MIXING[labels]
    out[split] = L_CHIP_SPLIT
    created = is_chip & split[out_tx]
    chip_in = np.zeros(len(in_prev), bool)
    chip_in[prev_ok] = created[in_prev[prev_ok]]
    all_chips = np.bincount(in_tx, weights=~chip_in, minlength=n_tx) == 0
    merge = all_chips & has_in & ~from_mixer & ~MIXING[labels]
    out[merge] = L_CHIP_MERGE
    return out


def classify(tx_first_in: np.ndarray, tx_first_out: np.ndarray, in_value: np.ndarray, in_addr: np.ndarray,
             out_value: np.ndarray, out_type: np.ndarray, tx_is_cb: np.ndarray, tx_coord: np.ndarray | None = None,
             lo: int = 0) -> np.ndarray:
    """Labels (uint8, ``LABELS``) of txs ``lo`` .. the last; ``tx_coord`` flags txs paying a published coordinator."""
    n_tx = len(tx_first_in) - 1
    if tx_coord is None:
        tx_coord = np.zeros(n_tx, np.uint8)
    labels = np.zeros(n_tx - lo, np.uint8)
    classify_all(tx_first_in, tx_first_out, in_value, in_addr, out_value, out_type, tx_is_cb,
                 tx_coord.astype(np.uint8), POOLS, CHIPS, W2DENOMS, labels, lo)
    return labels


def values_known(tx_first_in: np.ndarray, in_value: np.ndarray) -> np.ndarray:
    """Per tx: is every input's value known? A label made without them rests on outputs alone."""
    n_tx = len(tx_first_in) - 1
    unknown = np.zeros(len(in_value) + 1, np.int64)
    unknown[1:] = np.cumsum(in_value < 0)
    first = tx_first_in.astype(np.int64)
    return (unknown[first[1:]] - unknown[first[:-1]]) == 0 if n_tx else np.zeros(0, bool)


def whirlpool_postmix(labels: np.ndarray, tx_first_in: np.ndarray, tx_first_out: np.ndarray,
                      in_prev: np.ndarray) -> np.ndarray:
    """Chip merges that spend only outputs of Whirlpool mixes are Whirlpool post-mix spends (the
    0.001 BTC pool's outputs equal the smallest chip): relabelled ``none``. Returns new labels."""
    out = labels.copy()
    merges = np.flatnonzero(labels == L_CHIP_MERGE)
    if len(merges) == 0:
        return out
    first_in = tx_first_in.astype(np.int64)
    n_in = first_in[merges + 1] - first_in[merges]
    ins = np.repeat(first_in[merges], n_in) + (np.arange(n_in.sum()) - np.repeat(np.cumsum(n_in) - n_in, n_in))
    prev = in_prev[ins].astype(np.int64)
    known = prev != 0xFFFFFFFF
    src = np.searchsorted(tx_first_out.astype(np.int64), np.where(known, prev, 0), side="right") - 1
    from_mix = known & (labels[src] == L_WHIRLPOOL)
    owner = np.repeat(np.arange(len(merges)), n_in)
    all_mix = np.bincount(owner, weights=from_mix, minlength=len(merges)) == n_in
    out[merges[all_mix & (n_in > 0)]] = L_NONE
    return out
