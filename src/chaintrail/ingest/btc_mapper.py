"""Map parsed Bitcoin blocks onto store rows: dense ids, spend links, addresses, fees.

Everything here is array work over a ``BlockLayout``; the only per-object Python
is for the rare script types that need hashing or a descriptor string.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

import numba as nb
import numpy as np
import pyarrow as pa

from chaintrail.chains.bitcoin.network import Network
from chaintrail.chains.bitcoin.parse import BlockLayout, compute_txids
from chaintrail.chains.bitcoin.script_types import ScriptType
from chaintrail.chains.bitcoin.scripts import KEY_WIDTH, address_keys, classify_scripts
from chaintrail.chains.bitcoin.spend_scripts import infer_keys
from chaintrail.chains.bitcoin.undo_columns import UndoColumns
from chaintrail.errors import UndoDataError
from chaintrail.ingest.btc_address_column import address_column
from chaintrail.ingest.btc_links import flipped, link_inputs, place_outputs, spend_links, tx_sums
from chaintrail.store.chainstore import Batch
from chaintrail.store.index import NONE
from chaintrail.store.schema import (ADDR_FROM_SPEND, ADDR_FROM_STORE, ADDR_FROM_UNDO, ADDR_UNKNOWN, HASH, TABLES,
                                     VALUE_FROM_STORE, VALUE_FROM_UNDO, VALUE_UNKNOWN)
from chaintrail.store.writer_state import WriterState


@dataclass(frozen=True, slots=True)
class BlockMeta:
    """Where a block came from and what we know of its height."""

    height: int | None
    source: str
    source_offset: int
    undo: Callable[[], UndoColumns | None] | None = None  # spent coins of its non-coinbase inputs


# Spans are copied by slice assignment, which numba lowers to a block copy: a byte loop cost 3x as much on
# 25-60-byte strings.
@nb.njit(cache=True, nogil=True)
def _gather(buf, offs, lens, data, offsets):
    p = 0
    for i in range(offs.shape[0]):
        offsets[i] = p
        o, n = offs[i], lens[i]
        data[p:p + n] = buf[o:o + n]
        p += n
    offsets[offs.shape[0]] = p


@nb.njit(cache=True, nogil=True)
def _rows(buf, offs, width):
    """(n, width) copy of ``buf[offs[i]:offs[i]+width]`` (a fancy index would build n*width int64 offsets)."""
    out = np.empty((offs.shape[0], width), np.uint8)
    for i in range(offs.shape[0]):
        o = offs[i]
        for k in range(width):
            out[i, k] = buf[o + k]
    return out


def _binary_array(buf: np.ndarray, offs: np.ndarray, lens: np.ndarray) -> pa.Array:
    """A pyarrow binary array of ``buf[offs[i]:offs[i]+lens[i]]`` built without Python loops."""
    total = int(lens.sum())
    data = np.empty(total, np.uint8)
    offsets = np.empty(len(offs) + 1, np.int32)
    _gather(buf, offs.astype(np.int64), lens.astype(np.int64), data, offsets)
    return pa.Array.from_buffers(pa.binary(), len(offs), [None, pa.py_buffer(offsets), pa.py_buffer(data)])


def _hash_array(rows: np.ndarray) -> pa.Array:
    """(n, 32) internal-order hashes -> fixed-size binary in display order."""
    return pa.Array.from_buffers(HASH, len(rows), [None, pa.py_buffer(flipped(rows))])


def _nullable(values: np.ndarray, missing: np.ndarray) -> pa.Array:
    return pa.array(values, mask=missing)


def _concat_undo(parts: list[UndoColumns]) -> UndoColumns:
    """One UndoColumns over several blocks' undo data (scripts copied into one buffer)."""
    if len(parts) == 1:
        return parts[0]
    bufs, offs, shift = [], [], 0
    for p in parts:
        bufs.append(p.buf)
        offs.append(p.script_off + shift)
        shift += len(p.buf)
    return UndoColumns(np.concatenate([p.values for p in parts]), np.concatenate(bufs),
                       np.concatenate(offs), np.concatenate([p.script_len for p in parts]))


@nb.njit(cache=True, nogil=True)
def _new_address_rows(ids, qblock, A0, n_new, n_blocks):
    """``(blk_first_addr, first_q)`` from interned ids in query order: the first id that each block's queries
    could create, and for each new id (A0..) the query that created it. New ids are handed out in query order,
    so an id at or past the next one to hand out is new there."""
    blk_first_addr = np.empty(n_blocks, np.uint32)
    first_q = np.empty(n_new, np.int64)
    nxt, b = A0, 0
    for j in range(ids.shape[0]):
        while b < n_blocks and b <= qblock[j]:
            blk_first_addr[b] = nxt
            b += 1
        i = ids[j]
        if i >= nxt:
            first_q[i - A0] = j
            nxt = i + 1
    while b < n_blocks:
        blk_first_addr[b] = nxt
        b += 1
    return blk_first_addr, first_q


@dataclass
class _KeyGroup:
    """Address keys from one kind of source (outputs, undo scripts, inferred spends)."""

    keys: np.ndarray
    valid: np.ndarray
    types: np.ndarray
    block: np.ndarray                       # block index of each row within the batch
    script_of: Callable[[int], bytes | None]

    @staticmethod
    def empty() -> "_KeyGroup":
        return _KeyGroup(np.zeros((0, KEY_WIDTH), np.uint8), np.zeros(0, np.bool_), np.zeros(0, np.uint8),
                         np.zeros(0, np.int64), lambda r: None)


def _slice(buf: np.ndarray, off, ln) -> bytes:
    return buf[int(off):int(off) + int(ln)].tobytes()


def _ids_u32(ids: np.ndarray) -> np.ndarray:
    return np.where(ids >= 0, ids, NONE).astype(np.uint32)


@dataclass
class Prepared:
    """What mapping a batch needs that does not depend on the store: worked out on the parse thread."""

    types: np.ndarray          # output script types
    out_keys: np.ndarray       # output address keys, (n_out, KEY_WIDTH)
    out_valid: np.ndarray
    prev_rows: np.ndarray      # each input's prev txid, (n_in, 32)
    scripts: pa.Array          # output scripts, the Parquet column


def prepare(lay: BlockLayout) -> Prepared:
    """The store-independent part of ``Mapper.map`` for ``lay``."""
    buf = lay.buf
    types, poffs, plens, wvers = classify_scripts(buf, lay.out_script, lay.out_script_len)
    out_keys, out_valid = address_keys(buf, types, poffs, plens, wvers)
    return Prepared(types, out_keys, out_valid, _rows(buf, lay.in_prev, 32),
                    _binary_array(buf, lay.out_script, lay.out_script_len))


class Mapper:
    """Turns one parsed batch into a store ``Batch`` and advances the writer state."""

    def __init__(self, state: WriterState, network: Network):
        self.s = state
        self.net = network

    def map(self, lay: BlockLayout, metas: list[BlockMeta], txids: np.ndarray | None = None,
            prep: Prepared | None = None) -> Batch:
        s, buf = self.s, lay.buf
        if txids is None:
            txids = compute_txids(lay)
        if prep is None:
            prep = prepare(lay)
        T0, I0, O0, A0, B0 = s.n_tx, s.n_in, s.n_out, s.n_addr, s.n_blocks
        nt, ni, no, nb_ = lay.n_tx, lay.n_in, lay.n_out, lay.n_blocks
        blk_first = lay.blk_first_tx

        # Outputs (classified by ``prepare``): append values so inputs of this batch can see them.
        types, out_keys, out_valid = prep.types, prep.out_keys, prep.out_valid
        s.txids.append(txids)
        s.tx_first_out.extend((O0 + lay.tx_first_out[:-1]).astype(np.uint32))
        s.out_value.extend(lay.out_value)
        out_tx, vout, out_block = place_outputs(blk_first, lay.tx_first_out)

        # Inputs: resolve (prev txid, vout) to an output id.
        prev_tx = s.txids.lookup(prep.prev_rows)
        in_tx, vin, in_block, is_cb_in, ok, prev_out, in_value = link_inputs(
            blk_first, lay.tx_first_in, lay.in_vout, prev_tx, T0, O0, no, s.tx_first_out.view(), s.out_value.view())
        value_src = np.where(ok, VALUE_FROM_STORE, VALUE_UNKNOWN).astype(np.int8)

        # Undo data fills inputs whose spent output is not in the store.
        undo_in, undo_scripts = self._apply_undo(metas, in_block, is_cb_in, ok, in_value, value_src)

        # Inputs still without a spent script: read the address off their scriptSig/witness.
        addr_src = np.where(ok, ADDR_FROM_STORE, ADDR_UNKNOWN).astype(np.int8)
        addr_src[undo_in] = ADDR_FROM_UNDO
        rest = np.flatnonzero((addr_src == ADDR_UNKNOWN) & ~is_cb_in)
        inf_keys, inf_valid, inf_types = infer_keys(lay, rest)

        # Address interning in first-seen order: per block, its outputs, undo scripts, then inferred spends.
        out_group = _KeyGroup(out_keys, out_valid, types, out_block, lambda r: _slice(buf, lay.out_script[r], lay.out_script_len[r]))
        groups = [out_group]
        if undo_scripts is not None:
            u_types, upo, upl, uwv = classify_scripts(undo_scripts.buf, undo_scripts.script_off, undo_scripts.script_len)
            u_keys, u_valid = address_keys(undo_scripts.buf, u_types, upo, upl, uwv)
            groups.append(_KeyGroup(u_keys, u_valid, u_types, in_block[undo_in],
                                    lambda r: _slice(undo_scripts.buf, undo_scripts.script_off[r], undo_scripts.script_len[r])))
        else:
            groups.append(_KeyGroup.empty())
        groups.append(_KeyGroup(inf_keys, inf_valid, inf_types, in_block[rest], lambda r: None))
        ids, blk_first_addr, new_addr_rows = self._intern(groups, lay.n_blocks)
        out_addr = _ids_u32(ids[0])
        s.out_addr.extend(out_addr)

        # Spend links (new outputs' column is written whole; older ones are patched) and the spent addresses.
        in_addr = np.full(ni, NONE, np.uint32)
        spent, patch_pos, patch_val = spend_links(ok, prev_out, s.out_addr.view(), I0, O0, no, in_addr)
        in_addr[undo_in] = _ids_u32(ids[1])
        in_addr[rest] = _ids_u32(ids[2])
        addr_src[rest[ids[2] >= 0]] = ADDR_FROM_SPEND

        # Fees, sizes, weights.
        tx_block, tx_index, fee, fee_missing, size, vsize, weight = tx_sums(
            blk_first, lay.tx_first_in, lay.tx_first_out, in_value, lay.out_value, lay.tx_start, lay.tx_end,
            lay.tx_body, lay.tx_wit)

        s.n_tx, s.n_in, s.n_out, s.n_blocks = T0 + nt, I0 + ni, O0 + no, B0 + nb_
        tables = {
            "blocks": self._blocks_table(lay, metas, B0, T0, weight),
            "txs": pa.table({
                "tx_num": T0 + np.arange(nt), "txid": _hash_array(txids), "block_seq": B0 + tx_block,
                "tx_index": tx_index, "is_coinbase": tx_index == 0,
                "version": lay.tx_version, "locktime": lay.tx_locktime, "size": size,
                "vsize": vsize, "weight": weight,
                "n_in": np.diff(lay.tx_first_in).astype(np.int32), "n_out": np.diff(lay.tx_first_out).astype(np.int32),
                "fee_sat": _nullable(fee, fee_missing)}),
            "inputs": pa.table({
                "in_num": I0 + np.arange(ni), "tx_num": T0 + in_tx, "vin": vin,
                "prev_txid": _hash_array(prep.prev_rows), "prev_vout": lay.in_vout,
                "prev_out_num": _nullable(prev_out, ~ok), "value_sat": _nullable(in_value, in_value < 0),
                "addr_num": _nullable(in_addr.astype(np.int64), in_addr == NONE),
                "value_source": value_src, "addr_source": addr_src, "sequence": lay.in_sequence}),
            "outputs": pa.table({
                "out_num": O0 + np.arange(no), "tx_num": T0 + out_tx, "vout": vout,
                "value_sat": lay.out_value, "script_type": types,
                "addr_num": _nullable(out_addr.astype(np.int64), out_addr == NONE),
                "script": prep.scripts}),
            "addresses": new_addr_rows,
        }
        tails = {
            "blk_first_tx": (T0 + blk_first[:-1]).astype(np.uint32), "blk_first_addr": blk_first_addr,
            "tx_first_in": (I0 + lay.tx_first_in[:-1]).astype(np.uint32),
            "tx_first_out": (O0 + lay.tx_first_out[:-1]).astype(np.uint32), "txid": txids,
            "in_value": in_value, "in_addr": in_addr, "in_prev": np.where(ok, prev_out, NONE).astype(np.uint32),
            "out_value": lay.out_value, "out_addr": out_addr, "out_spent": spent,
            "addr_key": s.addrs.keys[A0:],
        }
        return Batch(tables, tails, patch_pos.astype(np.int64), patch_val.astype(np.uint32))

    def _apply_undo(self, metas, in_block, is_cb_in, ok, in_value, value_src):
        """Fill values of unresolved inputs from undo data.

        Returns the input ids filled and an ``UndoColumns`` of their spent scripts.
        Undo data is only read for blocks with an input the store cannot resolve.
        """
        filled: list[np.ndarray] = []
        parts: list[UndoColumns] = []
        for b in np.unique(in_block[~ok & ~is_cb_in]).tolist():
            meta = metas[b]
            coins = meta.undo() if meta.undo is not None else None
            if coins is None:
                continue
            sel = np.flatnonzero((in_block == b) & ~is_cb_in)
            if len(coins) != len(sel):
                raise UndoDataError(f"undo data has {len(coins)} spent coins but the block has "
                                    f"{len(sel)} non-coinbase inputs", meta.source, meta.source_offset)
            need = ~ok[sel]
            idx = sel[need]
            in_value[idx] = coins.values[need]
            value_src[idx] = VALUE_FROM_UNDO
            filled.append(idx)
            parts.append(UndoColumns(coins.values[need], coins.buf, coins.script_off[need], coins.script_len[need]))
        if not filled:
            return np.zeros(0, np.int64), None
        return np.concatenate(filled), _concat_undo(parts)

    def _intern(self, groups: list["_KeyGroup"], n_blocks: int):
        """Intern every group's keys; order is by block, then group, then row (first seen)."""
        s = self.s
        sizes = [len(g.keys) for g in groups]
        bounds = np.cumsum([0] + sizes)
        only = int(np.argmax(sizes))
        if sum(1 for n in sizes if n) <= 1:
            # One group (every input resolved in the store, as on a chain ingested from genesis): its rows are
            # in block order already, so nothing is copied or sorted.
            g = groups[only]
            keys, valid, qtypes, qblock, order = g.keys, g.valid, g.types, g.block, None
        else:
            keys = np.concatenate([g.keys for g in groups])
            rank = np.concatenate([g.block * len(groups) + k for k, g in enumerate(groups)])
            order = np.argsort(rank, kind="stable")
            qtypes = np.concatenate([g.types for g in groups])
            valid = np.concatenate([g.valid for g in groups])[order]
            qblock = rank[order] // len(groups)
            keys = keys[order]
        A0 = s.n_addr
        ids_sorted = s.addrs.intern(keys, valid)
        s.n_addr = s.addrs.n
        if order is None:
            ids = ids_sorted
        else:
            ids = np.empty_like(ids_sorted)
            ids[order] = ids_sorted
        per_group = [ids[bounds[k]:bounds[k + 1]] for k in range(len(groups))]
        # First address id of each block (for rollback), and the query that created each new address.
        blk_first_addr, first_q = _new_address_rows(ids_sorted, qblock, A0, s.n_addr - A0, n_blocks)
        src_q = first_q + int(bounds[only]) if order is None else order[first_q]   # (rows of the concatenated groups)
        new_types = qtypes[first_q if order is None else src_q].astype(np.uint8)
        new_keys, net = s.addrs.keys[A0:], self.net
        # Only multisig and long witness programs need their script to be spelled out.
        kind = new_keys[:, 0]
        rare = np.flatnonzero((kind == ScriptType.MULTISIG) | (kind == ScriptType.WITNESS_UNKNOWN))
        scripts: list[bytes | None] = [None] * len(src_q)
        for j in rare.tolist():
            q = int(src_q[j])
            k = int(np.searchsorted(bounds, q, side="right") - 1)
            scripts[j] = groups[k].script_of(q - int(bounds[k]))

        def rows() -> pa.Table:
            # Called by the store's writer thread: the strings only go to Parquet, not to the index.
            return pa.table({"addr_num": np.arange(A0, A0 + len(new_keys)),
                             "address": address_column(new_keys, scripts, net),
                             "script_type": new_types}, schema=TABLES["addresses"])
        return per_group, blk_first_addr, rows

    def _blocks_table(self, lay, metas, B0, T0, tx_weight) -> pa.Table:
        buf = lay.buf
        nb_ = lay.n_blocks
        headers = buf[lay.blk_start[:, None] + np.arange(80)]
        u32 = lambda a, o: headers[:, o:o + 4].copy().view("<u4")[:, 0].astype(np.int64)  # noqa: E731
        hashes = np.frombuffer(b"".join(hashlib.sha256(hashlib.sha256(h.tobytes()).digest()).digest()
                                        for h in headers), np.uint8).reshape(nb_, 32)
        ntx = np.diff(lay.blk_first_tx)
        size = lay.blk_end - lay.blk_start
        txw = np.add.reduceat(tx_weight, lay.blk_first_tx[:-1])
        heights = np.array([-1 if m.height is None else m.height for m in metas], np.int32)
        return pa.table({
            "block_seq": (B0 + np.arange(nb_)).astype(np.int32),
            "height": pa.array(heights, mask=heights < 0),
            "hash": _hash_array(hashes), "prev_hash": _hash_array(headers[:, 4:36]),
            "merkle_root": _hash_array(headers[:, 36:68]),
            "version": u32(headers, 0), "time": u32(headers, 68), "bits": u32(headers, 72), "nonce": u32(headers, 76),
            "tx_count": ntx.astype(np.int32), "size": size.astype(np.int32),
            # Block weight: 4 x (header + tx count) plus every transaction's weight.
            "weight": (txw + 4 * (lay.tx_start[lay.blk_first_tx[:-1]] - lay.blk_start)).astype(np.int32),
            "first_tx_num": T0 + lay.blk_first_tx[:-1],
            "source": pa.array([m.source for m in metas], pa.string()),
            "source_offset": np.array([m.source_offset for m in metas], np.int64),
        })
