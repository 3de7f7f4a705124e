"""Batched key hashes (SHA-256 and hash160 of public keys and witness scripts) in compiled loops over OpenSSL.

hashlib costs about a microsecond of Python per digest. These kernels call the
SHA-256 and RIPEMD-160 of the libcrypto that Python's own ``_hashlib`` already
loaded straight from numba, so a whole batch is hashed in one call that
releases the GIL. The symbols are bound by name, which keeps numba's on-disk
cache valid across processes. Where that libcrypto cannot be found (not
Linux, or a Python built without OpenSSL's low-level SHA-256), ``available()``
is False and callers keep the hashlib code. Txids, wtxids and merkle trees,
many messages of one kind, are hashed in vector lanes instead (``sha256_lanes``).
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
    _sha256_only(data, out)
    return out[0].tobytes() == hashlib.sha256(data.tobytes()).digest()


@nb.njit(cache=True, nogil=True)
def _sha256_only(data, out):
    # Not ``_key_hashes``: that one links RIPEMD160 too, which ``hash160_available`` checks separately.
    ctx = np.empty(_CTX_WORDS, np.uint32)
    _init(_ptr(ctx, 0))
    _update(_ptr(ctx, 0), _ptr(data, 0), data.shape[0])
    _final(_ptr(out, 0), _ptr(ctx, 0))


@intrinsic
def _ptr(typingctx, arr, i):
    """void* to ``arr.flat[i]`` (C-contiguous arrays)."""
    sig = types.voidptr(arr, types.intp)

    def codegen(context, builder, sig, args):
        ary = context.make_array(sig.args[0])(context, builder, args[0])
        p = builder.gep(ary.data, [args[1]])
        return builder.bitcast(p, cgutils.voidptr_t)
    return sig, codegen


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
