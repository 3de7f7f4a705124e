"""ABI-encode the calls the test-chain driver makes: the few types its contracts take, nothing more.

Supported: ``address``, ``uintN``, ``bool``, ``bytes32``, ``string``, ``bytes`` and dynamic arrays ``T[]`` of
the static ones. ``calldata("transfer(address,uint256)", to, 5)`` gives the 0x hex of a call.
"""

from __future__ import annotations

from chaintrail.chains.ethereum.hexutil import selector


def _word(value: int) -> bytes:
    return value.to_bytes(32, "big")


def _static(kind: str, value: object) -> bytes:
    if kind == "address":
        raw = bytes.fromhex(str(value)[2:])
        if len(raw) != 20:
            raise ValueError(f"not a 20-byte address: {value!r}")
        return bytes(12) + raw
    if kind == "bool":
        return _word(1 if value else 0)
    if kind == "bytes32":
        raw = value if isinstance(value, bytes) else bytes.fromhex(str(value)[2:])
        if len(raw) > 32:
            raise ValueError(f"bytes32 value longer than 32 bytes: {value!r}")
        return raw.ljust(32, b"\0")
    if kind.startswith("uint"):
        number = int(value)  # type: ignore[call-overload]
        if not 0 <= number < 1 << int(kind[4:] or 256):
            raise ValueError(f"{kind} out of range: {number}")
        return _word(number)
    raise ValueError(f"ABI type not supported by the driver's encoder: {kind}")


def _dynamic(kind: str, value: object) -> bytes:
    if kind in ("string", "bytes"):
        raw = value.encode() if isinstance(value, str) and kind == "string" else bytes(value)  # type: ignore
        return _word(len(raw)) + raw.ljust((len(raw) + 31) // 32 * 32, b"\0")
    inner = kind[:-2]
    items = list(value)  # type: ignore[call-overload]
    return _word(len(items)) + b"".join(_static(inner, item) for item in items)


def encode(types: list[str], values: list[object]) -> bytes:
    """The ABI encoding of ``values`` as a tuple of ``types`` (head words, then the dynamic tails)."""
    if len(types) != len(values):
        raise ValueError(f"{len(types)} types but {len(values)} values")
    head_size = 32 * len(types)
    heads, tails = [], []
    tail_size = 0
    for kind, value in zip(types, values):
        if kind in ("string", "bytes") or kind.endswith("[]"):
            tail = _dynamic(kind, value)
            heads.append(_word(head_size + tail_size))
            tails.append(tail)
            tail_size += len(tail)
        else:
            heads.append(_static(kind, value))
    return b"".join(heads) + b"".join(tails)


def arg_types(signature: str) -> list[str]:
    """The argument types of a flat signature such as "fanOut(address[],uint256[])"."""
    inner = signature[signature.index("(") + 1:-1]
    return inner.split(",") if inner else []


def calldata(signature: str, *args: object) -> str:
    """0x hex calldata: the signature's selector, then its arguments encoded."""
    return "0x" + selector(signature).to_bytes(4, "big").hex() + encode(arg_types(signature), list(args)).hex()


def constructor_data(bytecode: str, types: list[str], *args: object) -> str:
    """0x hex creation code: the contract's bytecode followed by its encoded constructor arguments."""
    return bytecode + encode(types, list(args)).hex()
