"""Bitcoin addresses: Base58Check, bech32/bech32m (BIP-173/350) and output-script classification.

This is the pure-Python reference and the edge API; ``address_batch`` holds the numba
encoders for ingest, and the tests hold the two equal.
"""

from __future__ import annotations

import hashlib
from enum import IntEnum
from typing import Sequence

from chaintrail.chains.bitcoin.network import Network
from chaintrail.chains.bitcoin.script_types import ScriptType
from chaintrail.errors import AddressError

B58_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_B58_INDEX = {c: i for i, c in enumerate(B58_ALPHABET)}
_B58_DIGITS = bytes(_B58_INDEX.get(chr(b), 0xFF) for b in range(256))   # bytes.translate table

BECH32_CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
# Upper and lower case map to the same value; mixed case is rejected separately.
_BECH32_INDEX = {**{c: i for i, c in enumerate(BECH32_CHARSET)},
                 **{c.upper(): i for i, c in enumerate(BECH32_CHARSET)}}
_BECH32_GEN = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)
BECH32_MAX_LEN = 90

OP_0, OP_1, OP_16 = 0x00, 0x51, 0x60
OP_RETURN, OP_DUP, OP_HASH160 = 0x6A, 0x76, 0xA9
OP_EQUAL, OP_EQUALVERIFY, OP_CHECKSIG, OP_CHECKMULTISIG = 0x87, 0x88, 0xAC, 0xAE


class Encoding(IntEnum):
    """The checksum variant of a bech32-family string; the value is the polymod constant."""

    BECH32 = 1
    BECH32M = 0x2BC830A3


# --- hashes ------------------------------------------------------------------------------

def sha256d(data: bytes) -> bytes:
    """SHA-256 applied twice."""
    return hashlib.sha256(hashlib.sha256(data).digest()).digest()


def hash160(data: bytes) -> bytes:
    """RIPEMD-160 of SHA-256: the hash inside P2PKH, P2SH and P2WPKH."""
    return ripemd160(hashlib.sha256(data).digest())


def ripemd160(data: bytes) -> bytes:
    """RIPEMD-160, from OpenSSL when it offers it (some OpenSSL 3 builds do not)."""
    try:
        return hashlib.new("ripemd160", data).digest()
    except ValueError:
        return _ripemd160_py(data)


_RMD_RL = (list(range(16)),
           [7, 4, 13, 1, 10, 6, 15, 3, 12, 0, 9, 5, 2, 14, 11, 8],
           [3, 10, 14, 4, 9, 15, 8, 1, 2, 7, 0, 6, 13, 11, 5, 12],
           [1, 9, 11, 10, 0, 8, 12, 4, 13, 3, 7, 15, 14, 5, 6, 2],
           [4, 0, 5, 9, 7, 12, 2, 10, 14, 1, 3, 8, 11, 6, 15, 13])
_RMD_RR = ([5, 14, 7, 0, 9, 2, 11, 4, 13, 6, 15, 8, 1, 10, 3, 12],
           [6, 11, 3, 7, 0, 13, 5, 10, 14, 15, 8, 12, 4, 9, 1, 2],
           [15, 5, 1, 3, 7, 14, 6, 9, 11, 8, 12, 2, 10, 0, 4, 13],
           [8, 6, 4, 1, 3, 11, 15, 0, 5, 12, 2, 13, 9, 7, 10, 14],
           [12, 15, 10, 4, 1, 5, 8, 7, 6, 2, 13, 14, 0, 3, 9, 11])
_RMD_SL = ([11, 14, 15, 12, 5, 8, 7, 9, 11, 13, 14, 15, 6, 7, 9, 8],
           [7, 6, 8, 13, 11, 9, 7, 15, 7, 12, 15, 9, 11, 7, 13, 12],
           [11, 13, 6, 7, 14, 9, 13, 15, 14, 8, 13, 6, 5, 12, 7, 5],
           [11, 12, 14, 15, 14, 15, 9, 8, 9, 14, 5, 6, 8, 6, 5, 12],
           [9, 15, 5, 11, 6, 8, 13, 12, 5, 12, 13, 14, 11, 8, 5, 6])
_RMD_SR = ([8, 9, 9, 11, 13, 15, 15, 5, 7, 7, 8, 11, 14, 14, 12, 6],
           [9, 13, 15, 7, 12, 8, 9, 11, 7, 7, 12, 7, 6, 15, 13, 11],
           [9, 7, 15, 11, 8, 6, 6, 14, 12, 13, 5, 14, 13, 13, 7, 5],
           [15, 5, 8, 11, 14, 14, 6, 14, 6, 9, 12, 9, 12, 5, 15, 8],
           [8, 5, 12, 9, 12, 5, 14, 6, 8, 13, 6, 5, 15, 13, 11, 11])
_RMD_KL = (0, 0x5A827999, 0x6ED9EBA1, 0x8F1BBCDC, 0xA953FD4E)
_RMD_KR = (0x50A28BE6, 0x5C4DD124, 0x6D703EF3, 0x7A6D76E9, 0)


def _ripemd160_py(data: bytes) -> bytes:
    """Pure-Python RIPEMD-160 (slow; only used where OpenSSL lacks it)."""
    def f(j: int, x: int, y: int, z: int) -> int:
        if j == 0:
            return x ^ y ^ z
        if j == 1:
            return (x & y) | (~x & z)
        if j == 2:
            return (x | ~y) ^ z
        if j == 3:
            return (x & z) | (y & ~z)
        return x ^ (y | ~z)

    def rol(x: int, n: int) -> int:
        return ((x << n) | (x >> (32 - n))) & 0xFFFFFFFF

    h = [0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0]
    msg = data + b"\x80" + b"\x00" * ((55 - len(data)) % 64) + (8 * len(data)).to_bytes(8, "little")
    for blk in range(0, len(msg), 64):
        x = [int.from_bytes(msg[blk + 4 * i: blk + 4 * i + 4], "little") for i in range(16)]
        al, bl, cl, dl, el = h
        ar, br, cr, dr, er = h
        for rnd in range(5):
            for i in range(16):
                t = al + f(rnd, bl, cl, dl) + x[_RMD_RL[rnd][i]] + _RMD_KL[rnd]
                t = rol(t & 0xFFFFFFFF, _RMD_SL[rnd][i]) + el
                al, el, dl, cl, bl = el, dl, rol(cl, 10), bl, t & 0xFFFFFFFF
                t = ar + f(4 - rnd, br, cr, dr) + x[_RMD_RR[rnd][i]] + _RMD_KR[rnd]
                t = rol(t & 0xFFFFFFFF, _RMD_SR[rnd][i]) + er
                ar, er, dr, cr, br = er, dr, rol(cr, 10), br, t & 0xFFFFFFFF
        h = [(h[1] + cl + dr) & 0xFFFFFFFF, (h[2] + dl + er) & 0xFFFFFFFF,
             (h[3] + el + ar) & 0xFFFFFFFF, (h[4] + al + br) & 0xFFFFFFFF,
             (h[0] + bl + cr) & 0xFFFFFFFF]
    return b"".join(v.to_bytes(4, "little") for v in h)


# --- Base58Check -------------------------------------------------------------------------

def base58_encode(data: bytes) -> str:
    """Plain Base58 (no checksum); each leading zero byte becomes a '1'."""
    zeros = len(data) - len(data.lstrip(b"\x00"))
    n = int.from_bytes(data, "big")
    digits = []
    while n:
        n, r = divmod(n, 58)
        digits.append(B58_ALPHABET[r])
    return "1" * zeros + "".join(reversed(digits))


def base58_decode(s: str) -> bytes:
    """Plain Base58 to bytes; AddressError on a character outside the alphabet."""
    digits = s.encode("utf-8", "replace").translate(_B58_DIGITS) if s.isascii() else b"\xff"
    if 0xFF in digits:
        i, c = next((i, c) for i, c in enumerate(s) if c not in _B58_INDEX)
        raise AddressError(f"{s!r}: invalid base58 character {c!r} at position {i}")
    n = 0
    for v in digits:
        n = n * 58 + v
    zeros = len(s) - len(s.lstrip("1"))
    body = n.to_bytes((n.bit_length() + 7) // 8, "big") if n else b""
    return b"\x00" * zeros + body


def base58check_encode(version: int, payload: bytes) -> str:
    """Base58Check of one version byte and a payload."""
    if not 0 <= version <= 255:
        raise AddressError(f"base58check version {version} is not one byte")
    raw = bytes([version]) + bytes(payload)
    return base58_encode(raw + sha256d(raw)[:4])


def base58check_decode(s: str) -> tuple[int, bytes]:
    """Base58Check string to (version byte, payload); AddressError on bad checksum or character."""
    raw = base58_decode(s)
    if len(raw) < 5:
        raise AddressError(f"{s!r}: too short for base58check ({len(raw)} bytes)")
    body, check = raw[:-4], raw[-4:]
    if sha256d(body)[:4] != check:
        raise AddressError(f"{s!r}: invalid base58check checksum")
    return body[0], body[1:]


# --- bech32 / bech32m --------------------------------------------------------------------

def _gen_table() -> tuple[int, ...]:
    out = []
    for top in range(32):
        g = 0
        for i in range(5):
            if (top >> i) & 1:
                g ^= _BECH32_GEN[i]
        out.append(g)
    return tuple(out)


_BECH32_GEN_OF_TOP = _gen_table()   # the generators' xor for each 5-bit top, one lookup per symbol


def polymod(values: Sequence[int]) -> int:
    """The bech32 BCH checksum state over 5-bit values (BIP-173)."""
    chk = 1
    gen = _BECH32_GEN_OF_TOP
    for v in values:
        chk = ((chk & 0x1FFFFFF) << 5) ^ v ^ gen[chk >> 25]
    return chk


def hrp_expand(hrp: str) -> list[int]:
    return [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]


def convertbits(data: Sequence[int], frombits: int, tobits: int, pad: bool) -> list[int] | None:
    """Regroup bits (8->5 with padding, 5->8 strict); None where strict padding rules fail."""
    acc = bits = 0
    out: list[int] = []
    maxv = (1 << tobits) - 1
    for v in data:
        acc = (acc << frombits) | v
        bits += frombits
        while bits >= tobits:
            bits -= tobits
            out.append((acc >> bits) & maxv)
    if pad:
        if bits:
            out.append((acc << (tobits - bits)) & maxv)
    elif bits >= frombits or ((acc << (tobits - bits)) & maxv):
        return None
    return out


def bech32_encode(hrp: str, data: Sequence[int], encoding: Encoding) -> str:
    """hrp + '1' + data symbols + 6-symbol checksum of the given variant."""
    poly = polymod(hrp_expand(hrp) + list(data) + [0] * 6) ^ encoding
    checksum = [(poly >> 5 * (5 - i)) & 31 for i in range(6)]
    return hrp + "1" + "".join(BECH32_CHARSET[d] for d in list(data) + checksum)


def bech32_decode(s: str) -> tuple[str, list[int], Encoding]:
    """Check a bech32/bech32m string; returns (lower-case hrp, data less checksum, variant)."""
    if len(s) > BECH32_MAX_LEN:
        raise AddressError(f"{s!r}: overall length {len(s)} exceeds {BECH32_MAX_LEN}")
    pos = s.rfind("1")
    if pos < 0:
        raise AddressError(f"{s!r}: no separator character")
    if pos == 0:
        raise AddressError(f"{s!r}: empty HRP")
    for i, c in enumerate(s[:pos]):
        if not 33 <= ord(c) <= 126:
            raise AddressError(f"{s!r}: HRP character out of range at position {i}")
    if len(s) - pos - 1 < 6:
        raise AddressError(f"{s!r}: checksum too short")
    data = []
    for i in range(pos + 1, len(s)):
        v = _BECH32_INDEX.get(s[i])
        if v is None:
            raise AddressError(f"{s!r}: invalid data character {s[i]!r} at position {i}")
        data.append(v)
    if s.lower() != s and s.upper() != s:
        raise AddressError(f"{s!r}: mixed case")
    hrp = s[:pos].lower()
    const = polymod(hrp_expand(hrp) + data)
    if const not in (Encoding.BECH32, Encoding.BECH32M):
        raise AddressError(f"{s!r}: invalid checksum")
    return hrp, data[:-6], Encoding(const)


def segwit_encode(hrp: str, witver: int, program: bytes) -> str:
    """Segwit address: bech32 for witness v0, bech32m for v1..16 (BIP-350)."""
    _check_witness(f"witness v{witver} program of {len(program)} bytes", witver, program)
    if not hrp or hrp != hrp.lower() or any(not 33 <= ord(c) <= 126 for c in hrp):
        raise AddressError(f"invalid human-readable part {hrp!r}")
    enc = Encoding.BECH32 if witver == 0 else Encoding.BECH32M
    data = [witver] + convertbits(program, 8, 5, True)  # type: ignore[operator]
    out = bech32_encode(hrp, data, enc)
    if len(out) > BECH32_MAX_LEN:
        raise AddressError(f"segwit address for hrp {hrp!r} would exceed "
                           f"{BECH32_MAX_LEN} characters")
    return out


def segwit_decode(hrp: str, addr: str) -> tuple[int, bytes]:
    """Segwit address to (witness version, program), enforcing every BIP-173/350 rule."""
    got, data, enc = bech32_decode(addr)
    if got != hrp:
        raise AddressError(f"{addr!r}: human-readable part {got!r} is not {hrp!r}")
    if not data:
        raise AddressError(f"{addr!r}: empty data section")
    witver = data[0]
    if witver > 16:
        raise AddressError(f"{addr!r}: invalid witness version {witver}")
    prog = convertbits(data[1:], 5, 8, False)
    if prog is None:
        raise AddressError(f"{addr!r}: invalid padding in 5-to-8 conversion")
    _check_witness(repr(addr), witver, bytes(prog))
    want = Encoding.BECH32 if witver == 0 else Encoding.BECH32M
    if enc != want:
        raise AddressError(f"{addr!r}: witness v{witver} needs the {want.name.lower()} checksum, "
                           f"not {enc.name.lower()}")
    return witver, bytes(prog)


def _check_witness(what: str, witver: int, program: bytes) -> None:
    if not 0 <= witver <= 16:
        raise AddressError(f"{what}: invalid witness version {witver}")
    if not 2 <= len(program) <= 40:
        raise AddressError(f"{what}: invalid program length {len(program)}")
    if witver == 0 and len(program) not in (20, 32):
        raise AddressError(f"{what}: invalid program length {len(program)} for witness version 0")


# --- output scripts ----------------------------------------------------------------------

def _is_pubkey(key: bytes) -> bool:
    # Core's CPubKey::ValidSize, as scripts.py uses: 02/03 compressed, 04 and hybrid 06/07 full.
    return (len(key) == 33 and key[0] in (2, 3)) or (len(key) == 65 and key[0] in (4, 6, 7))


def _multisig(script: bytes) -> tuple[int, list[bytes]] | None:
    n_bytes = len(script)
    if n_bytes < 37 or script[-1] != OP_CHECKMULTISIG:
        return None
    m, n = script[0] - 0x50, script[-2] - 0x50
    if not (1 <= m <= 16 and 1 <= n <= 16 and m <= n):
        return None
    keys: list[bytes] = []
    i = 1
    while i < n_bytes - 2:
        size = script[i]
        if size not in (33, 65) or i + 1 + size > n_bytes - 2:
            return None
        key = script[i + 1: i + 1 + size]
        if not _is_pubkey(key):
            return None
        keys.append(key)
        i += 1 + size
    return (m, keys) if len(keys) == n else None


def classify_script(script: bytes) -> tuple[ScriptType, bytes, int]:
    """(type, payload, witness version or -1) of an output script; never raises on bytes."""
    s = bytes(script)
    n = len(s)
    if n == 25 and s[:3] == b"\x76\xa9\x14" and s[23:] == b"\x88\xac":
        return ScriptType.P2PKH, s[3:23], -1
    if n == 23 and s[:2] == b"\xa9\x14" and s[22] == OP_EQUAL:
        return ScriptType.P2SH, s[2:22], -1
    if 4 <= n <= 42 and (s[0] == OP_0 or OP_1 <= s[0] <= OP_16) and s[1] == n - 2:
        ver = 0 if s[0] == OP_0 else s[0] - 0x50
        prog = s[2:]
        if ver == 0:
            if n == 22:
                return ScriptType.P2WPKH, prog, 0
            if n == 34:
                return ScriptType.P2WSH, prog, 0
            return ScriptType.NONSTANDARD, s, -1
        if ver == 1 and n == 34:
            return ScriptType.P2TR, prog, 1
        return ScriptType.WITNESS_UNKNOWN, prog, ver
    if (n in (35, 67) and s[0] == n - 2 and s[-1] == OP_CHECKSIG and _is_pubkey(s[1:-1])):
        return ScriptType.P2PK, s[1:-1], -1
    if n and s[0] == OP_RETURN:
        return ScriptType.OP_RETURN, s[1:], -1
    if _multisig(s) is not None:
        return ScriptType.MULTISIG, s, -1
    return ScriptType.NONSTANDARD, s, -1


def multisig_keys(script: bytes) -> tuple[int, list[bytes]]:
    """(m, public keys) of a bare m-of-n CHECKMULTISIG script."""
    found = _multisig(bytes(script))
    if found is None:
        raise AddressError(f"script {bytes(script)[:32].hex()}{'...' if len(script) > 32 else ''} "
                           f"is not bare multisig")
    return found


def script_address(script: bytes, network: Network) -> tuple[ScriptType, str | None]:
    """The canonical address string of an output script (None for OP_RETURN and nonstandard)."""
    kind, payload, ver = classify_script(script)
    if kind == ScriptType.P2PKH:
        return kind, base58check_encode(network.p2pkh_prefix, payload)
    if kind == ScriptType.P2SH:
        return kind, base58check_encode(network.p2sh_prefix, payload)
    if kind == ScriptType.P2PK:
        return kind, base58check_encode(network.p2pkh_prefix, hash160(payload))
    if ver >= 0:
        return kind, segwit_encode(network.hrp, ver, payload)
    if kind == ScriptType.MULTISIG:
        m, keys = multisig_keys(payload)
        addrs = ",".join(base58check_encode(network.p2pkh_prefix, hash160(k)) for k in keys)
        return kind, f"multi({m},{addrs})"
    return kind, None


def address_to_script(address: str, network: Network) -> bytes:
    """The output script an address pays to on ``network`` (P2PKH, P2SH or segwit)."""
    if len(address) > BECH32_MAX_LEN:  # also spares base58 a quadratic decode of junk input
        raise AddressError(f"invalid {network.name} address {address[:40]!r}...: "
                           f"{len(address)} characters, more than any address has")
    pos = address.rfind("1")
    if pos > 0 and address[:pos].lower() == network.hrp:
        try:
            ver, prog = segwit_decode(network.hrp, address)
        except AddressError as exc:
            raise AddressError(f"invalid {network.name} address {address!r}: "
                               f"{_why(exc, address)}") from exc
        return bytes([OP_1 - 1 + ver if ver else OP_0, len(prog)]) + prog
    try:
        version, payload = base58check_decode(address)
    except AddressError as b58_exc:
        try:  # a well-formed segwit address of another network reads better than a base58 error
            hrp, _, _ = bech32_decode(address)
        except AddressError:
            raise AddressError(f"invalid {network.name} address {address!r}: "
                               f"{_why(b58_exc, address)}") from b58_exc
        raise AddressError(f"address {address!r} has human-readable part {hrp!r}, "
                           f"not {network.name}'s {network.hrp!r}") from b58_exc
    if len(payload) != 20:
        raise AddressError(f"invalid {network.name} address {address!r}: "
                           f"payload of {len(payload)} bytes, not 20")
    if version == network.p2pkh_prefix:
        return b"\x76\xa9\x14" + payload + b"\x88\xac"
    if version == network.p2sh_prefix:
        return b"\xa9\x14" + payload + b"\x87"
    raise AddressError(f"address {address!r} has version byte 0x{version:02x}, which is not a "
                       f"{network.name} P2PKH (0x{network.p2pkh_prefix:02x}) or P2SH "
                       f"(0x{network.p2sh_prefix:02x}) prefix")


def _why(exc: AddressError, address: str) -> str:
    # Inner errors start with the repr of the string; drop it so the address is named once.
    msg, prefix = str(exc), f"{address!r}: "
    return msg[len(prefix):] if msg.startswith(prefix) else msg
