"""Batched double SHA-256 (txids, wtxids, merkle roots) hashing 16 messages side by side in vector registers.

One SHA-256 compression is written once as LLVM vector IR over 16 lanes of 32-bit words (``_emit_compress``),
so every round runs on 16 independent messages at once: AVX-512 where the CPU has it, two AVX2 halves or four
SSE quarters elsewhere (LLVM legalises the vectors), and no library to bind. On this project's 2-core EPYC a
merkle node (three compressions) costs about 65 ns against 150 ns through OpenSSL's SHA-NI one message at a time,
whose rounds wait on each other; whole transactions hash 1.1-1.3x faster.

Messages of any length are hashed multi-buffer: a lane that finishes its message takes the next one, so lanes
idle only at the very end. Each lane's 64-byte blocks are loaded where they lie in the block file's buffer and
transposed into word vectors in registers; only the blocks that straddle pieces or hold the padding are copied
into the lane's slot (see ``_take``). A 64-byte merkle node is one fused call (two compressions, the second on
the constant padding block, then the outer hash), all in registers.
"""

from __future__ import annotations

import numba as nb
import numpy as np
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

from chaintrail.chains.bitcoin.nbhash import _H256, _K256

LANES = 16
_I32 = ir.IntType(32)
_I64 = ir.IntType(64)
_VEC = ir.VectorType(_I32, LANES)
_K = [int(k) for k in _K256]
_H0 = [int(h) for h in _H256]
_H0_WORDS = np.array(_H0, np.uint32)


def _splat(c: int) -> ir.Constant:
    return ir.Constant(_VEC, [c & 0xFFFFFFFF] * LANES)


def _rotr(b: ir.IRBuilder, x, c: int):
    return b.or_(b.lshr(x, _splat(c)), b.shl(x, _splat(32 - c)))


def _emit_compress(b: ir.IRBuilder, state: list, block: list) -> list:
    """IR for one compression of 16 lanes: the new state (8 vectors) from ``state`` and ``block`` (16 vectors).

    Constant blocks (padding) stay constants, so LLVM folds their message schedule away."""
    w = list(block)
    a, bb, c, d, e, f, g, h = state
    for t in range(64):
        if t >= 16:
            x15, x2 = w[t - 15], w[t - 2]
            s0 = b.xor(b.xor(_rotr(b, x15, 7), _rotr(b, x15, 18)), b.lshr(x15, _splat(3)))
            s1 = b.xor(b.xor(_rotr(b, x2, 17), _rotr(b, x2, 19)), b.lshr(x2, _splat(10)))
            w.append(b.add(b.add(w[t - 16], s0), b.add(w[t - 7], s1)))
        big1 = b.xor(b.xor(_rotr(b, e, 6), _rotr(b, e, 11)), _rotr(b, e, 25))
        ch = b.xor(b.and_(e, f), b.and_(b.not_(e), g))
        t1 = b.add(b.add(b.add(h, big1), b.add(ch, _splat(_K[t]))), w[t])
        big0 = b.xor(b.xor(_rotr(b, a, 2), _rotr(b, a, 13)), _rotr(b, a, 22))
        maj = b.xor(b.xor(b.and_(a, bb), b.and_(a, c)), b.and_(bb, c))
        h, g, f, e, d, c, bb, a = g, f, e, b.add(d, t1), c, bb, a, b.add(t1, b.add(big0, maj))
    return [b.add(x, y) for x, y in zip(state, (a, bb, c, d, e, f, g, h))]


def _vectors(context, builder, arr_type, arr, n: int) -> tuple:
    """(pointer, the first ``n`` vectors) of a word-major uint32 array (word k of lane r at k * LANES + r)."""
    data = context.make_array(arr_type)(context, builder, arr).data
    p = builder.bitcast(data, _VEC.as_pointer())
    return p, [builder.load(builder.gep(p, [ir.Constant(_I64, k)]), align=4) for k in range(n)]


def _store(builder, p, vectors: list) -> None:
    for k, v in enumerate(vectors):
        builder.store(v, builder.gep(p, [ir.Constant(_I64, k)]), align=4)


_PAD64 = [_splat(0x80000000)] + [_splat(0)] * 14 + [_splat(512)]    # padding block of a 64-byte message
_PAD32 = [_splat(0x80000000)] + [_splat(0)] * 6 + [_splat(256)]     # tail of a 32-byte message's block


_I8X64 = ir.VectorType(ir.IntType(8), 4 * LANES)
_BSWAP = ir.Constant(ir.VectorType(_I32, 4 * LANES), [4 * (i // 4) + 3 - i % 4 for i in range(4 * LANES)])


def _transpose(b: ir.IRBuilder, rows: list) -> list:
    """The 16 x 16 word matrix ``rows`` transposed: one bit of the row and column index swapped per stage
    (four stages of two-source shuffles)."""
    rows = list(rows)
    for bit in (8, 4, 2, 1):
        low = ir.Constant(ir.VectorType(_I32, LANES), [j if not j & bit else LANES + (j ^ bit) for j in range(LANES)])
        high = ir.Constant(ir.VectorType(_I32, LANES), [j ^ bit if not j & bit else LANES + j for j in range(LANES)])
        for i in range(LANES):
            if not i & bit:
                r0, r1 = rows[i], rows[i | bit]
                rows[i], rows[i | bit] = b.shuffle_vector(r0, r1, low), b.shuffle_vector(r0, r1, high)
    return rows


@intrinsic
def _compress_at(typingctx, state, addr):
    """state (8 * LANES,) = compress(state, the 64 bytes at address addr[r]) in every lane r: each lane's
    block is loaded as a row, byte-swapped to big-endian words and transposed into word vectors in registers."""
    sig = types.void(state, addr)

    def codegen(context, builder, sig, args):
        ps, st = _vectors(context, builder, sig.args[0], args[0], 8)
        addrs = context.make_array(sig.args[1])(context, builder, args[1]).data
        rows = []
        for r in range(LANES):
            at = builder.load(builder.gep(addrs, [ir.Constant(_I64, r)]))
            raw = builder.load(builder.inttoptr(at, _I8X64.as_pointer()), align=1)
            swapped = builder.shuffle_vector(raw, ir.Constant(_I8X64, None), _BSWAP)
            rows.append(builder.bitcast(swapped, _VEC))
        _store(builder, ps, _emit_compress(builder, st, _transpose(builder, rows)))
        return context.get_dummy_value()
    return sig, codegen


@intrinsic
def _copy(typingctx, dst, dst_at, src, src_at, n):
    """dst[dst_at:dst_at+n] = src[src_at:src_at+n] by memcpy (uint8 arrays, ranges checked by the caller)."""
    sig = types.void(dst, dst_at, src, src_at, n)

    def codegen(context, builder, sig, args):
        d = context.make_array(sig.args[0])(context, builder, args[0]).data
        s = context.make_array(sig.args[2])(context, builder, args[2]).data
        cgutils.raw_memcpy(builder, builder.gep(d, [args[1]]), builder.gep(s, [args[3]]), args[4], 1)
        return context.get_dummy_value()
    return sig, codegen


def _word_hash(name: str, n_in: int, emit) -> intrinsic:
    """An intrinsic ``name(src, out)``: out (8 * LANES,) = emit(the ``n_in`` word vectors of src), per lane."""
    def typer(typingctx, src, out):
        sig = types.void(src, out)

        def codegen(context, builder, sig, args):
            _, words = _vectors(context, builder, sig.args[0], args[0], n_in)
            po, _ = _vectors(context, builder, sig.args[1], args[1], 0)
            _store(builder, po, emit(builder, words))
            return context.get_dummy_value()
        return sig, codegen
    typer.__name__ = typer.__qualname__ = name
    return intrinsic(typer)


def _emit_sha256d_64(b: ir.IRBuilder, block: list) -> list:
    h0 = [_splat(x) for x in _H0]
    return _emit_compress(b, h0, _emit_compress(b, _emit_compress(b, h0, block), _PAD64) + _PAD32)


# sha256d of a 64-byte message (a merkle node), and sha256 of a 32-byte one (sha256d's outer hash).
_sha256d_64 = _word_hash("_sha256d_64", 16, _emit_sha256d_64)
_sha256_32 = _word_hash("_sha256_32", 8, lambda b, digest: _emit_compress(b, [_splat(x) for x in _H0], digest + _PAD32))


# A message is buf[start:end], or, where body >= 0, a SegWit txid's preimage: version buf[start:start+4], then
# the inputs and outputs buf[body:wit], then locktime buf[end-4:end] (marker, flag and witness left out). Its
# 64-byte blocks are read where they lie in buf, except those that straddle pieces or hold the padding: the
# first block of a preimage and the last one or two of every message are copied into the lane's slot.
_SLOT = 192      # per lane: one head block, two tail blocks


@nb.njit(cache=True, nogil=True, inline="always")
def _copy_stream(slot, at, buf, s, e, body, wit, lo, hi):
    """slot[at:at + hi - lo] = bytes lo..hi-1 of the message (see above)."""
    if body < 0:
        _copy(slot, at, buf, s + lo, hi - lo)
        return
    bl = wit - body
    for a, b, src in ((0, 4, s), (4, 4 + bl, body - 4), (4 + bl, 8 + bl, e - 8 - bl)):
        x, y = max(lo, a), min(hi, b)
        if x < y:
            _copy(slot, at + x - lo, buf, src + x, y - x)


@nb.njit(cache=True, nogil=True, inline="always")
def _take(r, j, buf, buf0, starts, ends, body, wit, slots, words, state, msg, blk, nblk, head, direct, base):
    """Start lane r on message j: its state, its block plan, and its slot's head and tail blocks."""
    s, e, bo = starts[j], ends[j], body[j]
    ln = e - s if bo < 0 else 8 + wit[j] - bo
    nb_ = (ln + 72) // 64                   # message, 0x80, the 8-byte bit length, in whole blocks
    d = (ln if bo < 0 else 4 + wit[j] - bo) // 64     # blocks before d lie whole in one piece of buf ...
    h = 0 if bo < 0 or d == 0 else 1                  # ... except a preimage's first block
    o = r * _SLOT
    if h:
        _copy_stream(slots, o, buf, s, e, bo, wit[j], 0, 64)
    t = o + 64
    for z in range(t // 8, t // 8 + 16):     # both tail blocks zeroed, then the message's end written over
        words[z] = 0
    _copy_stream(slots, t, buf, s, e, bo, wit[j], 64 * d, ln)
    slots[t + ln - 64 * d] = 0x80
    end = t + 64 * (nb_ - d)
    bits = np.uint64(ln) * np.uint64(8)       # big-endian bit length closes the last block
    for z in range(8):
        slots[end - 1 - z] = np.uint8((bits >> np.uint64(8 * z)) & np.uint64(0xFF))
    for k in range(8):
        state[k * LANES + r] = _H0_WORDS[k]
    msg[r], blk[r], nblk[r], head[r], direct[r] = j, 0, nb_, h, d
    base[r] = buf0 + (s if bo < 0 else bo - 4)


@nb.njit(cache=True, nogil=True, inline="always")
def _address(r, k, slot0, head, direct, base):
    """Where block k of lane r's message is: its slot's head, buf, or its slot's tail."""
    if k < head[r]:
        return slot0 + r * _SLOT
    if k < direct[r]:
        return base[r] + 64 * k
    return slot0 + r * _SLOT + 64 + 64 * (k - direct[r])


@nb.njit(cache=True, nogil=True)
def _inner_digests(buf, starts, ends, body, wit, out):
    """out[j] (8 words) = sha256 of message j, LANES messages at a time: a lane that finishes one takes the
    next, so lanes idle only at the very end."""
    n = starts.shape[0]
    slots = np.zeros(LANES * _SLOT, np.uint8)
    slot0, buf0, words = slots.ctypes.data, buf.ctypes.data, slots.view(np.uint64)
    state = np.empty(8 * LANES, np.uint32)
    addr = np.empty(LANES, np.int64)
    msg = np.full(LANES, -1, np.int64)
    blk, nblk, head = np.zeros(LANES, np.int64), np.zeros(LANES, np.int64), np.zeros(LANES, np.int64)
    direct, base = np.zeros(LANES, np.int64), np.zeros(LANES, np.int64)
    nxt = active = 0
    for r in range(LANES):
        addr[r] = slot0 + r * _SLOT      # an idle lane hashes its slot, harmlessly
        if nxt < n:
            _take(r, nxt, buf, buf0, starts, ends, body, wit, slots, words, state, msg, blk, nblk, head, direct, base)
            addr[r] = _address(r, 0, slot0, head, direct, base)
            nxt += 1
            active += 1
    while active:
        _compress_at(state, addr)
        for r in range(LANES):
            if msg[r] < 0:
                continue
            blk[r] += 1
            if blk[r] < nblk[r]:
                addr[r] = _address(r, blk[r], slot0, head, direct, base)
                continue
            for k in range(8):
                out[msg[r], k] = state[k * LANES + r]
            if nxt < n:
                _take(r, nxt, buf, buf0, starts, ends, body, wit, slots, words, state, msg, blk, nblk, head, direct, base)
                addr[r] = _address(r, 0, slot0, head, direct, base)
                nxt += 1
            else:
                msg[r], addr[r] = -1, slot0 + r * _SLOT
                active -= 1


@nb.njit(cache=True, nogil=True)
def _outer(words):
    """words[j] = sha256(words[j] as 32 bytes), in place: the second hash of sha256d."""
    block = np.empty(8 * LANES, np.uint32)
    digest = np.empty(8 * LANES, np.uint32)
    n = words.shape[0]
    for a in range(0, n, LANES):
        m = min(LANES, n - a)
        for r in range(m):
            for k in range(8):
                block[k * LANES + r] = words[a + r, k]
        _sha256_32(block, digest)
        for r in range(m):
            for k in range(8):
                words[a + r, k] = digest[k * LANES + r]


@nb.njit(cache=True, nogil=True)
def _hash_pairs(words, left, right, dest, m, block, digest):
    """words[dest[r]] = sha256d(words[left[r]] | words[right[r]]) for the first ``m`` lanes."""
    for r in range(LANES):
        q = r if r < m else 0
        a, b = left[q], right[q]
        for k in range(8):
            block[k * LANES + r] = words[a, k]
            block[(8 + k) * LANES + r] = words[b, k]
    _sha256d_64(block, digest)
    for r in range(m):
        for k in range(8):
            words[dest[r], k] = digest[k * LANES + r]


@nb.njit(cache=True, nogil=True)
def _merkle(words, first, zero_first, out):
    """out[b] = merkle root of words[first[b]:first[b+1]], built level by level in place, the nodes of every
    block's level sharing the lanes. Odd levels repeat their last hash; ``zero_first`` zeroes each block's first
    leaf (the coinbase's wtxid)."""
    nblk = first.shape[0] - 1
    n = np.empty(nblk, np.int64)
    for b in range(nblk):
        n[b] = first[b + 1] - first[b]
        if zero_first:
            for k in range(8):
                words[first[b], k] = 0
    block = np.empty(16 * LANES, np.uint32)
    digest = np.empty(8 * LANES, np.uint32)
    left = np.empty(LANES, np.int64)
    right = np.empty(LANES, np.int64)
    dest = np.empty(LANES, np.int64)
    more = True
    while more:
        more = False
        m = 0
        for b in range(nblk):
            nb_ = n[b]
            if nb_ <= 1:
                continue
            base = first[b]
            for j in range((nb_ + 1) // 2):   # parent j overwrites node j, read already (j <= 2j)
                left[m], right[m], dest[m] = base + 2 * j, base + min(2 * j + 1, nb_ - 1), base + j
                m += 1
                if m == LANES:
                    _hash_pairs(words, left, right, dest, m, block, digest)
                    m = 0
            n[b] = (nb_ + 1) // 2
            more = more or n[b] > 1
        if m:
            _hash_pairs(words, left, right, dest, m, block, digest)
    for b in range(nblk):
        for k in range(8):
            out[b, k] = words[first[b], k]


def _bytes(words: np.ndarray) -> np.ndarray:
    """(n, 32) uint8 digests from (n, 8) state words (SHA-256 writes its words big-endian)."""
    return words.astype(">u4").view(np.uint8).reshape(len(words), 32)


def _words(digests: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(digests).view(">u4").astype(np.uint32).reshape(len(digests), 8)


def _i64(a) -> np.ndarray:
    return np.ascontiguousarray(a, np.int64)


def txids(buf: np.ndarray, tx_start, tx_end, tx_body, tx_wit) -> np.ndarray:
    """(n_tx, 32) txids in internal byte order: a SegWit tx (tx_body >= 0) hashes version | body | locktime,
    leaving out marker, flag and witness."""
    words = np.empty((len(tx_start), 8), np.uint32)
    _inner_digests(buf, _i64(tx_start), _i64(tx_end), _i64(tx_body), _i64(tx_wit), words)
    _outer(words)
    return _bytes(words)


def sha256d_ranges(buf: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """(n, 32) double SHA-256 of ``buf[starts[i]:ends[i]]``."""
    words = np.empty((len(starts), 8), np.uint32)
    whole = np.full(len(starts), -1, np.int64)
    _inner_digests(buf, _i64(starts), _i64(ends), whole, whole, words)
    _outer(words)
    return _bytes(words)


def merkle_roots(leaves: np.ndarray, first: np.ndarray, zero_first: bool = False) -> np.ndarray:
    """(n_blocks, 32) merkle roots of the leaf ranges ``[first[b], first[b+1])`` (none may be empty)."""
    out = np.empty((len(first) - 1, 8), np.uint32)
    _merkle(_words(leaves), _i64(first), zero_first, out)
    return _bytes(out)
