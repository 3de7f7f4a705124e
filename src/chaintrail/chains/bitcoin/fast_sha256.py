"""Batched double SHA-256 (txids, wtxids, merkle roots) in compiled loops over OpenSSL's SHA-256.

hashlib costs about a microsecond of Python per digest, which on a block's
txids and merkle tree is most of the time. These kernels call the SHA-256 of
the libcrypto that Python's own ``_hashlib`` already loaded (SHA-NI where the
CPU has it) straight from numba, so a whole batch is hashed in one call that
releases the GIL. The symbols are bound by name, which keeps numba's on-disk
cache valid across processes. Where that libcrypto cannot be found (not
Linux, or a Python built without OpenSSL's low-level SHA-256), ``available()``
is False and callers keep the hashlib code.
"""

from __future__ import annotations

import hashlib  # noqa: F401  (loads _hashlib, and with it libcrypto)

import numba as nb
import numpy as np
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

_init = types.ExternalFunction("SHA256_Init", types.int32(types.voidptr))
_update = types.ExternalFunction("SHA256_Update", types.int32(types.voidptr, types.voidptr, types.uintp))
_final = types.ExternalFunction("SHA256_Final", types.int32(types.voidptr, types.voidptr))
_ripemd160_once = types.ExternalFunction("RIPEMD160", types.voidptr(types.voidptr, types.uintp, types.voidptr))
_CTX_WORDS = 32   # SHA256_CTX is 28 uint32 words; room to spare
_state: dict[str, bool] = {}


def _libcrypto_path() -> str | None:
    """The libcrypto this process already mapped for hashlib (Linux), else None."""
    try:
        import _hashlib  # noqa: F401
        with open("/proc/self/maps") as f:
            for line in f:
                path = line.rsplit(None, 1)[-1]
                if "libcrypto" in path.rsplit("/", 1)[-1] and path.startswith("/"):
                    return path
    except (ImportError, OSError):
        return None
    return None


def available() -> bool:
    """Whether the compiled kernels can run here (binds libcrypto's symbols on first call)."""
    if "ok" not in _state:
        ok = False
        path = _libcrypto_path()
        if path is not None:
            import llvmlite.binding as llb
            try:
                llb.load_library_permanently(path)
                ok = all(llb.address_of_symbol(s) for s in ("SHA256_Init", "SHA256_Update", "SHA256_Final"))
            except RuntimeError:
                ok = False
        _state["ok"] = ok and _self_test()
    return _state["ok"]


def hash160_available() -> bool:
    """Whether ``key_hashes`` can run here: ``available()`` and libcrypto's one-shot RIPEMD160 (deprecated in
    OpenSSL 3 but still exported)."""
    if "hash160" not in _state:
        ok = False
        if available():
            import llvmlite.binding as llb
            if llb.address_of_symbol("RIPEMD160"):
                data = np.frombuffer(b"\x02" + bytes(range(32)), np.uint8)
                out = np.zeros((1, 32), np.uint8)
                _key_hashes(data, np.zeros(1, np.int64), np.full(1, 33, np.int64), np.zeros(1, np.bool_), out)
                ok = out[0, :20].tobytes() == hashlib.new("ripemd160", hashlib.sha256(data.tobytes()).digest()).digest()
        _state["hash160"] = ok
    return _state["hash160"]


def _self_test() -> bool:
    data = np.frombuffer(b"chaintrail" * 13, np.uint8)
    out = np.zeros((1, 32), np.uint8)
    _ranges(data, np.zeros(1, np.int64), np.full(1, len(data), np.int64), out)
    return out[0].tobytes() == hashlib.sha256(hashlib.sha256(data.tobytes()).digest()).digest()


@intrinsic
def _ptr(typingctx, arr, i):
    """void* to ``arr.flat[i]`` (C-contiguous arrays)."""
    sig = types.voidptr(arr, types.intp)

    def codegen(context, builder, sig, args):
        ary = context.make_array(sig.args[0])(context, builder, args[0])
        p = builder.gep(ary.data, [args[1]])
        return builder.bitcast(p, cgutils.voidptr_t)
    return sig, codegen


@nb.njit(cache=True, inline="always")
def _second(ctx, tmp, out, at):
    """out.flat[at:at+32] = sha256(tmp[:32]) where ctx holds the first hash being finished into tmp."""
    _final(_ptr(tmp, 0), _ptr(ctx, 0))
    _init(_ptr(ctx, 0))
    _update(_ptr(ctx, 0), _ptr(tmp, 0), 32)
    _final(_ptr(out, at), _ptr(ctx, 0))


@nb.njit(cache=True, nogil=True)
def _ranges(buf, starts, ends, out):
    """out[i] = sha256d(buf[starts[i]:ends[i]])."""
    ctx = np.empty(_CTX_WORDS, np.uint32)
    tmp = np.empty(32, np.uint8)
    for i in range(starts.shape[0]):
        _init(_ptr(ctx, 0))
        _update(_ptr(ctx, 0), _ptr(buf, starts[i]), ends[i] - starts[i])
        _second(ctx, tmp, out, 32 * i)


@nb.njit(cache=True, nogil=True)
def _txids(buf, tx_start, tx_end, tx_body, tx_wit, out):
    """Txids: a SegWit tx hashes version | body | locktime, leaving out marker, flag and witness."""
    ctx = np.empty(_CTX_WORDS, np.uint32)
    tmp = np.empty(32, np.uint8)
    for i in range(tx_start.shape[0]):
        s, e, bo = tx_start[i], tx_end[i], tx_body[i]
        _init(_ptr(ctx, 0))
        if bo < 0:
            _update(_ptr(ctx, 0), _ptr(buf, s), e - s)
        else:
            _update(_ptr(ctx, 0), _ptr(buf, s), 4)
            _update(_ptr(ctx, 0), _ptr(buf, bo), tx_wit[i] - bo)
            _update(_ptr(ctx, 0), _ptr(buf, e - 4), 4)
        _second(ctx, tmp, out, 32 * i)


@nb.njit(cache=True, nogil=True)
def _merkle_roots(leaves, first, zero_first, out):
    """out[b] = merkle root of leaves[first[b]:first[b+1]] (odd levels repeat their last hash); with
    ``zero_first`` the first leaf of each block counts as 32 zero bytes (the coinbase's wtxid)."""
    ctx = np.empty(_CTX_WORDS, np.uint32)
    tmp = np.empty(32, np.uint8)
    most = 1
    for b in range(first.shape[0] - 1):
        most = max(most, first[b + 1] - first[b])
    level = np.empty(32 * (most + 1), np.uint8)
    flat = leaves.reshape(-1)
    for b in range(first.shape[0] - 1):
        n = first[b + 1] - first[b]
        base = 32 * first[b]
        for k in range(32 * n):
            level[k] = flat[base + k]
        if zero_first:
            for k in range(32):
                level[k] = 0
        while n > 1:
            if n & 1:
                for k in range(32):
                    level[32 * n + k] = level[32 * (n - 1) + k]
                n += 1
            for j in range(n // 2):
                _init(_ptr(ctx, 0))
                _update(_ptr(ctx, 0), _ptr(level, 64 * j), 64)
                _second(ctx, tmp, level, 32 * j)
            n //= 2
        for k in range(32):
            out[b, k] = level[k]


@nb.njit(cache=True, nogil=True)
def _key_hashes(buf, offs, lens, single, out):
    """out[j] = sha256(span j) where ``single[j]``, else hash160 (RIPEMD-160 of SHA-256) in out[j, :20].

    SHA-256 by Init/Update/Final: OpenSSL 3's one-shot SHA256() goes through an EVP fetch per call, ~6x slower
    on a 33-byte key (RIPEMD160() is still a direct one-shot)."""
    ctx = np.empty(_CTX_WORDS, np.uint32)
    d = np.empty(32, np.uint8)
    for j in range(offs.shape[0]):
        _init(_ptr(ctx, 0))
        _update(_ptr(ctx, 0), _ptr(buf, offs[j]), lens[j])
        if single[j]:
            _final(_ptr(out, 32 * j), _ptr(ctx, 0))
        else:
            _final(_ptr(d, 0), _ptr(ctx, 0))
            _ripemd160_once(_ptr(d, 0), 32, _ptr(out, 32 * j))


def key_hashes(buf: np.ndarray, offs: np.ndarray, lens: np.ndarray, single: np.ndarray) -> np.ndarray:
    """(n, 32): sha256 of ``buf[offs[j]:offs[j]+lens[j]]`` where ``single[j]``, else its hash160 in the first
    20 bytes (the rest zero). Only where ``hash160_available()``."""
    out = np.zeros((len(offs), 32), np.uint8)
    _key_hashes(buf, np.ascontiguousarray(offs, np.int64), np.ascontiguousarray(lens, np.int64),
                np.ascontiguousarray(single, np.bool_), out)
    return out


def sha256d_ranges(buf: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """(n, 32) double SHA-256 of ``buf[starts[i]:ends[i]]``."""
    out = np.empty((len(starts), 32), np.uint8)
    _ranges(buf, np.ascontiguousarray(starts, np.int64), np.ascontiguousarray(ends, np.int64), out)
    return out


def txids(buf: np.ndarray, tx_start, tx_end, tx_body, tx_wit) -> np.ndarray:
    """(n_tx, 32) txids in internal byte order."""
    out = np.empty((len(tx_start), 32), np.uint8)
    _txids(buf, tx_start, tx_end, tx_body, tx_wit, out)
    return out


def merkle_roots(leaves: np.ndarray, first: np.ndarray, zero_first: bool = False) -> np.ndarray:
    """(n_blocks, 32) merkle roots of the leaf ranges ``[first[b], first[b+1])`` (none may be empty)."""
    out = np.empty((len(first) - 1, 32), np.uint8)
    _merkle_roots(np.ascontiguousarray(leaves), np.ascontiguousarray(first, np.int64), zero_first, out)
    return out
