"""The airdrop co-pattern (``airdrop/1``): recipients of one airdrop that each forward it to one address are one entity.

An *airdrop* hands a token to addresses that never held it: a run of one sender's transfers of one token, each the
recipient's first receipt of that token, to at least ``airdrop_min_recipients`` distinct addresses, consecutive
transfers at most ``airdrop_gap`` blocks apart. Airdrop hunters receive it at many addresses of their own (a Sybil
farm) and sweep each claim whole to one collector. So: recipients of the same airdrop that each, after their
receipt, transfer at least the airdropped amount of that token to one common address C are linked together (not
to C: C may be a deposit address, which is the exchange's, or a buyer's), each link carrying the later recipient's
forwarding transaction. (A busy payer's transfers to people who already hold the token are no airdrop; a part of a
claim passed on is no sweep.)

C must be an externally owned account (a contract, such as a DEX pair or router, is where everyone sells), not a
tagged service and not a hot wallet the deposit finder knows; the sender must not be one either (an exchange's
withdrawals to many customers are no airdrop), nor the zero address (a mint to many addresses is issuance, so a
mint-style airdrop is not seen). What it misses: farms that sell each claim on a DEX, or route
through fresh intermediaries. What it mistakes: unrelated recipients paying the same person (a merchant, an OTC
buyer that is not tagged). Measured: docs/eth-heuristics.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa

from chaintrail.store.eth_schema import FLOW_KIND

if TYPE_CHECKING:
    from chaintrail.analysis.eth.entities import EntityParams, EthGraph, Links

NONE32 = np.uint32(0xFFFFFFFF)


def airdrop_links(g: EthGraph, p: EntityParams, exclude: np.ndarray) -> Links:
    """Links between recipients of one airdrop that forwarded it to one common EOA; ``exclude``: services."""
    tok = (g.f_kind == FLOW_KIND["erc20"]) & (g.f_from != NONE32) & (g.f_to != NONE32) & (g.f_asset != NONE32) \
        & (g.f_tx != NONE32) & (g.f_from != g.f_to)
    exclude = exclude.copy()
    zero = g.nums(pa.array([bytes(20)], pa.binary(20)))[0]   # mints and burns: issuance, not an airdrop
    if zero != NONE32:
        exclude[zero] = True
    pos = np.flatnonzero(tok)                                # flow positions: chain order
    frm, to = g.f_from[pos].astype(np.int64), g.f_to[pos].astype(np.int64)
    asset = g.f_asset[pos].astype(np.int64)
    blk = g.tx_block[g.f_tx[pos].astype(np.int64)].astype(np.int64)
    # Each account's first receipt of each token (in the store): the only receipts an airdrop is made of.
    k = to * (g.n + 1) + asset
    first = np.zeros(len(pos), np.bool_)
    first[np.unique(k, return_index=True)[1]] = True
    drops = _airdrops(frm[first], to[first], asset[first], blk[first], pos[first], g.n, p.airdrop_gap,
                      p.airdrop_min_recipients, exclude)
    if drops is None:
        return _empty()
    run, r_to, r_pos, r_from, r_asset, run_size, run_first, run_last = drops
    # Each recipient's later transfers of that token, to an EOA that is neither a service nor the sender.
    rec = np.zeros(g.n, np.bool_)
    rec[r_to] = True
    o = rec[frm]
    o_from, o_to, o_asset, o_pos = frm[o], to[o], asset[o], pos[o]
    k_out = o_from * (g.n + 1) + o_asset
    order = np.lexsort((o_pos, k_out))
    k_out, o_to, o_pos = k_out[order], o_to[order], o_pos[order]
    k_rec = r_to * (g.n + 1) + r_asset
    lo, hi = np.searchsorted(k_out, k_rec, "left"), np.searchsorted(k_out, k_rec, "right")
    counts = hi - lo
    which = np.repeat(np.arange(len(k_rec)), counts)
    j = lo[which] + np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)
    c = o_to[j]
    got_hi, got_lo = g.f_hi[r_pos[which]], g.f_lo[r_pos[which]]
    out_hi, out_lo = g.f_hi[o_pos[j]], g.f_lo[o_pos[j]]
    whole = (out_hi > got_hi) | ((out_hi == got_hi) & (out_lo >= got_lo))
    ok = (o_pos[j] > r_pos[which]) & whole & ~g.is_contract[c] & ~exclude[c] & (c != r_from[which]) \
        & (c != r_to[which])
    which, c, fpos = which[ok], c[ok], o_pos[j[ok]]
    if not len(which):
        return _empty()
    # One forward per (airdrop, C, recipient): the first; then per (airdrop, C) the first forwarder anchors.
    order = np.lexsort((fpos, r_to[which], c, run[which]))
    which, c, fpos = which[order], c[order], fpos[order]
    w_run, w_to = run[which], r_to[which]
    first = np.r_[True, (w_run[1:] != w_run[:-1]) | (c[1:] != c[:-1]) | (w_to[1:] != w_to[:-1])]
    which, c, fpos, w_run, w_to = which[first], c[first], fpos[first], w_run[first], w_to[first]
    order = np.lexsort((fpos, c, w_run))
    which, c, fpos, w_run, w_to = which[order], c[order], fpos[order], w_run[order], w_to[order]
    head = np.flatnonzero(np.r_[True, (w_run[1:] != w_run[:-1]) | (c[1:] != c[:-1])])
    span = np.diff(np.r_[head, len(c)])
    anchor = np.repeat(w_to[head], span)
    m = (w_to != anchor) & np.repeat(span >= 2, span)
    tx = g.f_tx[fpos[m]].astype(np.int64)
    detail = [f"both received the airdrop of token {g.hex(int(t))} from {g.hex(int(s))} ({int(n)} recipients, "
              f"blocks {int(b0)}-{int(b1)}) and forwarded it to {g.hex(int(x))}"
              for t, s, n, b0, b1, x in zip(r_asset[which[m]], r_from[which[m]], run_size[w_run[m]],
                                            run_first[w_run[m]], run_last[w_run[m]], c[m])]
    return anchor[m], w_to[m], tx, detail


def _airdrops(frm, to, asset, blk, pos, n, gap, min_recipients, exclude):
    """Each airdrop recipient's first receipt: (run, recipient, flow position, sender, token) per receipt and the
    runs' sizes and first/last blocks; None when there is no airdrop."""
    keep = ~exclude[frm]
    frm, to, asset, blk, pos = frm[keep], to[keep], asset[keep], blk[keep], pos[keep]
    if not len(frm):
        return None
    order = np.lexsort((pos, asset, frm))
    frm, to, asset, blk, pos = frm[order], to[order], asset[order], blk[order], pos[order]
    new = np.r_[True, (frm[1:] != frm[:-1]) | (asset[1:] != asset[:-1]) | (blk[1:] - blk[:-1] > gap)]
    run = np.cumsum(new) - 1
    pairs, first = np.unique(run * n + to, return_index=True)     # first receipt per (run, recipient)
    size = np.bincount(pairs // n, minlength=int(run[-1]) + 1)
    big = size[run[first]] >= min_recipients
    if not big.any():
        return None
    sel = first[big]
    run_first = np.full(len(size), np.iinfo(np.int64).max, np.int64)
    run_last = np.full(len(size), -1, np.int64)
    np.minimum.at(run_first, run, blk)
    np.maximum.at(run_last, run, blk)
    return run[sel], to[sel], pos[sel], frm[sel], asset[sel], size, run_first, run_last


def _empty() -> Links:
    z = np.zeros(0, np.int64)
    return z, z, z, []


__all__ = ["airdrop_links"]
