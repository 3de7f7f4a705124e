"""Strict 0x-hex decoding of JSON-RPC fields, keccak-256 and EIP-55 checksum addresses.

Every decoder takes ``what`` (the field's name) so that a bad value raises a
``DecodeError`` whose reason names the field; record-level callers add where the
record came from (``err.at(source)``).
"""

from __future__ import annotations

import re

from Crypto.Hash import keccak as _keccak

from chaintrail.errors import DecodeError

_QUANTITY = re.compile(r"0x[0-9a-fA-F]+")
_DATA = re.compile(r"0x[0-9a-fA-F]*")  # and an even length: ~9x faster than matching pairs on long data
_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 48 else text[:45] + "..."


def hex_int(value: object, what: str) -> int:
    """A JSON-RPC quantity ("0x1a") as an int; a JSON integer is accepted as is."""
    if isinstance(value, str):
        # fast path: isalnum() rules out "_", signs and spaces that int() would take; int() the rest
        if value[:2] == "0x" and value.isascii() and value[2:].isalnum():
            try:
                return int(value, 16)
            except ValueError:
                pass
        elif _QUANTITY.fullmatch(value):
            return int(value, 16)
    elif isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    raise DecodeError(f"{what}: not a 0x hex quantity: {_show(value)}")


def opt_hex_int(value: object, what: str) -> int | None:
    """Like ``hex_int`` but None stays None."""
    return None if value is None else hex_int(value, what)


def hex_bytes(value: object, what: str) -> bytes:
    """JSON-RPC data ("0x" + an even number of hex digits) as bytes."""
    if isinstance(value, str) and not len(value) % 2 and _DATA.fullmatch(value):
        return bytes.fromhex(value[2:])
    raise DecodeError(f"{what}: not 0x hex data of whole bytes: {_show(value)}")


def hex_data(value: object, what: str) -> str:
    """JSON-RPC data checked and returned as a lower-case 0x string."""
    if isinstance(value, str) and not len(value) % 2 and _DATA.fullmatch(value):
        return value.lower()
    raise DecodeError(f"{what}: not 0x hex data of whole bytes: {_show(value)}")


def address(value: object, what: str) -> str:
    """A 20-byte address as lower-case 0x hex."""
    if isinstance(value, str) and _ADDRESS.fullmatch(value):
        return value.lower()
    raise DecodeError(f"{what}: not a 20-byte 0x address: {_show(value)}")


def opt_address(value: object, what: str) -> str | None:
    """Like ``address`` but None (and the empty string some nodes send) stays None."""
    return None if value is None or value == "" else address(value, what)


def word_address(word: bytes, what: str) -> str:
    """The address held in the low 20 bytes of a 32-byte ABI word (the high 12 are not checked)."""
    if len(word) != 32:
        raise DecodeError(f"{what}: an address word must be 32 bytes, got {len(word)}")
    return "0x" + word[12:].hex()


def keccak256(data: bytes) -> bytes:
    """Keccak-256 (Ethereum's hash, not NIST SHA3-256)."""
    return _keccak.new(digest_bits=256, data=data).digest()


def selector(signature: str) -> int:
    """The 4-byte function selector of a signature such as "transfer(address,uint256)", as an int."""
    return int.from_bytes(keccak256(signature.encode("ascii"))[:4], "big")


def event_topic(signature: str) -> str:
    """topic0 of an event signature such as "Transfer(address,address,uint256)", as 0x hex."""
    return "0x" + keccak256(signature.encode("ascii")).hex()


def checksum_address(value: str) -> str:
    """EIP-55 mixed-case form of an address."""
    lower = address(value, "address")[2:]
    digest = keccak256(lower.encode("ascii")).hex()
    return "0x" + "".join(c.upper() if c > "9" and digest[i] >= "8" else c for i, c in enumerate(lower))


def is_checksum_address(value: str) -> bool:
    """True when ``value`` is a valid address whose mixed case matches EIP-55 (all-lower/upper count as unchecked)."""
    if not (isinstance(value, str) and _ADDRESS.fullmatch(value)):
        return False
    body = value[2:]
    if body == body.lower() or body == body.upper():
        return True
    return checksum_address(value) == value
