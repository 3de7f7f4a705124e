"""The value-flow index as arrays: per-asset accounts, flows in processing order, out-flows per account (CSR).

An *account* is one address's holding of one asset: ETH, an ERC-20 contract, or one ERC-721/1155 item
(contract, token_id: token ids come from the ``eth_value_flows`` table, the index has none). Flows are laid out
in *processing order*: chain order (the index's flow order), except that a transaction's fee flows come after
its other flows, as the answer key's rule has it (gas is one more movement out of the payer once the
transaction's own movements are done). Per flow (position ``p``) the graph holds its from/to accounts, its
exact amount (``hi``/``lo`` limbs, see ``u128``) and the from-account's balance just before it, computed from
every flow since the store's first block (``bal_hi``/``bal_lo``, two's complement: below zero where value came
in before the store starts, e.g. a genesis allocation). Amounts of 2^128 or more (``AMOUNT_OVERFLOW`` in the
index) are flagged in ``overflow``: the index keeps their low 128 bits only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba as nb
import numpy as np

from chaintrail.errors import UsageError
from chaintrail.store.chainstore import ChainStore
from chaintrail.store.csr import csr
from chaintrail.store.eth_schema import AMOUNT_OVERFLOW, FLOW_KIND, FLOW_KINDS

NONE32 = 0xFFFFFFFF
FEE_KINDS = (FLOW_KIND["fee_tip"], FLOW_KIND["fee_burnt"], FLOW_KIND["blob_fee_burnt"])
ITEM_KINDS = (FLOW_KIND["erc721"], FLOW_KIND["erc1155"])


@nb.njit(cache=True)
def _balances(frm, to, hi, lo, n_acct):
    """Per position the from-account's balance before it; per account its final balance."""
    bh = np.zeros(n_acct, np.uint64)
    bl = np.zeros(n_acct, np.uint64)
    out_h = np.zeros(frm.shape[0], np.uint64)
    out_l = np.zeros(frm.shape[0], np.uint64)
    one = np.uint64(1)
    for p in range(frm.shape[0]):
        a = frm[p]
        if a >= 0:
            out_h[p], out_l[p] = bh[a], bl[a]
            nl = bl[a] - lo[p]
            bh[a] = bh[a] - hi[p] - (one if bl[a] < lo[p] else np.uint64(0))
            bl[a] = nl
        b = to[p]
        if b >= 0:
            nl = bl[b] + lo[p]
            bh[b] = bh[b] + hi[p] + (one if nl < bl[b] else np.uint64(0))
            bl[b] = nl
    return out_h, out_l, bh, bl


@dataclass
class FlowGraph:
    """Arrays over one store's value flows (see the module doc); positions ``p`` are in processing order."""

    n_addr: int
    flow: np.ndarray          # p -> flow_num
    tx: np.ndarray            # p -> tx_num (-1: block reward / withdrawal)
    kind: np.ndarray          # p -> FLOW_KINDS id (overflow bit cleared)
    frm: np.ndarray           # p -> from account (-1: minted)
    to: np.ndarray            # p -> to account (-1: burnt)
    hi: np.ndarray            # p -> amount, high limb
    lo: np.ndarray            # p -> amount, low limb
    amount_f: np.ndarray      # p -> amount as float64 (fractions, benches)
    overflow: np.ndarray      # p -> amount >= 2^128 (index holds the low 128 bits)
    bal_hi: np.ndarray        # p -> from-account's balance before p
    bal_lo: np.ndarray
    fee_next: np.ndarray      # p -> a fee flow whose next position is more of the same tx's gas from the same account
    acct_addr: np.ndarray     # account -> addr_num
    acct_asset: np.ndarray    # account -> asset id
    final_hi: np.ndarray      # account -> balance after the last flow
    final_lo: np.ndarray
    out_ptr: np.ndarray       # account -> its out-flow positions out_pos[out_ptr[a]:out_ptr[a+1]] (ascending)
    out_pos: np.ndarray
    asset_addr: np.ndarray    # asset id -> token contract's addr_num (-1: ETH)
    asset_item: list          # asset id -> token_id string of an ERC-721/1155 item, else None
    tx_pos: np.ndarray        # tx -> its first position (tx_pos[t]:tx_pos[t+1]); txs are contiguous
    addr_key: np.ndarray      # addr_num -> 20 bytes
    tx_hash: np.ndarray       # tx -> 32 bytes
    tx_block: np.ndarray      # tx -> block_seq
    blk_hash: np.ndarray      # block_seq -> 32 bytes

    @property
    def n_pos(self) -> int:
        return len(self.flow)

    @property
    def n_acct(self) -> int:
        return len(self.acct_addr)

    # -- names ---------------------------------------------------------------------
    def address_hex(self, a: int) -> str:
        return "0x" + bytes(self.addr_key[a]).hex()

    def asset_name(self, s: int) -> str:
        """ETH, 0xTOKEN, or 0xTOKEN#ID for an item."""
        if self.asset_addr[s] < 0:
            return "ETH"
        name = self.address_hex(int(self.asset_addr[s]))
        return name if self.asset_item[s] is None else f"{name}#{self.asset_item[s]}"

    def tx_hex(self, t: int) -> str:
        return "0x" + bytes(self.tx_hash[t]).hex()

    def block_hex(self, t: int) -> str:
        return "0x" + bytes(self.blk_hash[self.tx_block[t]]).hex()

    def addr_num(self, address: str) -> int:
        """The addr_num of a 0x address; UsageError where it is malformed or not in the store."""
        key = _hex20(address)
        hit = np.flatnonzero((self.addr_key == np.frombuffer(key, np.uint8)).all(axis=1))
        if not len(hit):
            raise UsageError(f"address {address} is not in the store")
        return int(hit[0])

    def tx_num(self, tx_hash: str) -> int:
        h = tx_hash.lower().removeprefix("0x")
        try:
            key = bytes.fromhex(h)
        except ValueError:
            raise UsageError(f"not a transaction hash: {tx_hash!r}") from None
        if len(key) != 32:
            raise UsageError(f"not a transaction hash: {tx_hash!r}")
        hit = np.flatnonzero((self.tx_hash == np.frombuffer(key, np.uint8)).all(axis=1))
        if not len(hit):
            raise UsageError(f"transaction {tx_hash} is not in the store")
        return int(hit[0])

    def assets_of(self, spec: str) -> np.ndarray:
        """Asset ids an ``--asset`` value names: ETH, 0xTOKEN (with all its items), or all."""
        s = spec.strip().lower()
        if s == "all":
            return np.arange(len(self.asset_addr))
        if s == "eth":
            return np.flatnonzero(self.asset_addr < 0)
        a = self.addr_num(s)
        got = np.flatnonzero(self.asset_addr == a)
        if not len(got):
            raise UsageError(f"{spec} moved no tokens in this store")
        return got


def _hex20(address: str) -> bytes:
    h = address.strip().lower().removeprefix("0x")
    try:
        key = bytes.fromhex(h)
    except ValueError:
        raise UsageError(f"not an Ethereum address: {address!r}") from None
    if len(key) != 20:
        raise UsageError(f"not an Ethereum address: {address!r}")
    return key


def _items(store: ChainStore, n: int) -> np.ndarray:
    """token_id strings of ERC-721/1155 flows by flow_num (None elsewhere)."""
    import pyarrow.compute as pc
    t = store.read_table("eth_value_flows", ["flow_num", "kind", "token_id"])
    t = t.filter(pc.is_in(t["kind"], value_set=__import__("pyarrow").array(["erc721", "erc1155"])))
    out = np.full(n, None, object)
    out[t["flow_num"].to_numpy()] = np.array(t["token_id"].to_pylist(), object)
    return out


def load(store: ChainStore) -> FlowGraph:
    """Read the store's value-flow index into a FlowGraph."""
    c = store.counts
    n = c.get("eth_value_flows", 0)
    if not c.get("eth_blocks"):
        raise UsageError("this store holds no Ethereum blocks: ingest some first (chaintrail ingest eth)")
    col = lambda name: np.asarray(store.column(name))  # noqa: E731
    kind_raw = col("eth_flow_kind")
    items = _items(store, n) if np.isin(kind_raw & np.uint8(~AMOUNT_OVERFLOW & 0xFF), ITEM_KINDS).any() else None
    return build(col("eth_flow_tx"), col("eth_flow_from"), col("eth_flow_to"), col("eth_flow_asset"), kind_raw,
                 col("eth_flow_amount_lo"), col("eth_flow_amount_hi"), c.get("eth_addresses", 0),
                 c.get("eth_transactions", 0), col("eth_blk_first_tx"), col("eth_addr_key"), col("eth_tx_hash"),
                 col("eth_blk_hash"), items)


def build(tx, frm_a, to_a, asset, kind_raw, lo, hi, n_addr: int, n_tx: int, blk_first_tx, addr_key, tx_hash, blk_hash,
          items: np.ndarray | None = None) -> FlowGraph:
    """A FlowGraph from the index's flow columns (in flow order); ``items``: token_id per flow_num or None."""
    n = len(tx)
    kind = kind_raw & np.uint8(~AMOUNT_OVERFLOW & 0xFF)
    # processing order: per tx segment its non-fee flows, then its fees (stable)
    seg = np.concatenate(([0], np.cumsum(tx[1:] != tx[:-1]))) if n else np.zeros(0, np.int64)
    fee = np.isin(kind, FEE_KINDS)
    order = np.argsort(seg.astype(np.int64) * 2 + fee, kind="stable")
    tx, frm_a, to_a, asset = tx[order], frm_a[order], to_a[order], asset[order]
    kind, lo, hi, ovf = kind[order], lo[order], hi[order], (kind_raw[order] & AMOUNT_OVERFLOW) != 0
    # assets: ETH, each token contract, each item (contract, token_id)
    is_item = np.isin(kind, ITEM_KINDS) & (items is not None)
    akey = np.where(asset == NONE32, -1, asset.astype(np.int64))
    item_names: list = []
    if is_item.any():
        ids = items[order[is_item]]
        uniq_ids, inv = np.unique(ids.astype(str), return_inverse=True)
        akey = akey.copy()
        akey[is_item] = (1 << 40) + inv.astype(np.int64) * (1 << 33) + akey[is_item]   # (item, contract)
        item_names = list(uniq_ids)
    uniq_assets, asset_id = np.unique(akey, return_inverse=True)
    asset_addr = np.where(uniq_assets >= (1 << 40), uniq_assets % (1 << 33), uniq_assets)
    asset_item = [item_names[(u - (1 << 40)) // (1 << 33)] if u >= (1 << 40) else None for u in uniq_assets.tolist()]
    n_assets = len(uniq_assets)
    # accounts: (address, asset)
    a_from = np.where(frm_a == NONE32, -1, frm_a.astype(np.int64) * n_assets + asset_id)
    a_to = np.where(to_a == NONE32, -1, to_a.astype(np.int64) * n_assets + asset_id)
    keys = np.concatenate([a_from, a_to])
    acct_keys, inv = np.unique(keys[keys >= 0], return_inverse=True)
    ids = np.full(len(keys), -1, np.int64)
    ids[keys >= 0] = inv
    a_from, a_to = ids[:n], ids[n:]
    n_acct = len(acct_keys)
    bal_hi, bal_lo, fin_hi, fin_lo = _balances(a_from, a_to, hi, lo, n_acct)
    out_pos, out_ptr = csr(a_from, n_acct, skip=-1)
    # a transaction's gas (tip, base fee burnt, blob fee burnt) is one movement out of its payer: mark the runs
    is_fee = np.isin(kind, FEE_KINDS)
    fee_next = np.zeros(n, np.bool_)
    if n > 1:
        fee_next[:-1] = is_fee[:-1] & is_fee[1:] & (tx[:-1] == tx[1:]) & (a_from[:-1] == a_from[1:]) & (a_from[:-1] >= 0)
    txi = np.where(tx == NONE32, -1, tx.astype(np.int64))
    has_tx = txi >= 0
    tx_pos = np.full(n_tx + 1, n, np.int64)
    if has_tx.any():
        first = np.flatnonzero(has_tx & np.concatenate(([True], txi[1:] != txi[:-1])))
        tx_pos[txi[first]] = first
    tx_pos = np.minimum.accumulate(tx_pos[::-1])[::-1]        # txs without flows start where the next does
    blk_first_tx = np.asarray(blk_first_tx, np.int64)
    tx_block = np.repeat(np.arange(len(blk_first_tx)), np.diff(np.append(blk_first_tx, n_tx)))
    return FlowGraph(
        n_addr=n_addr, flow=order.astype(np.int64), tx=txi, kind=kind, frm=a_from, to=a_to,
        hi=hi, lo=lo, amount_f=hi.astype(np.float64) * 18446744073709551616.0 + lo.astype(np.float64),
        overflow=ovf, bal_hi=bal_hi, bal_lo=bal_lo, fee_next=fee_next, acct_addr=acct_keys // n_assets, acct_asset=acct_keys % n_assets,
        final_hi=fin_hi, final_lo=fin_lo, out_ptr=out_ptr, out_pos=out_pos, asset_addr=asset_addr.astype(np.int64),
        asset_item=asset_item, tx_pos=tx_pos, addr_key=addr_key, tx_hash=tx_hash,
        tx_block=tx_block, blk_hash=blk_hash)


__all__ = ["FEE_KINDS", "FLOW_KINDS", "FlowGraph", "build", "load"]
