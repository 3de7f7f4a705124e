"""Token name, symbol, decimals and totalSupply via eth_call, with the odd tokens handled.

Tokens answer in many shapes: an ABI ``string`` (the standard), a ``bytes32`` right-padded with zeros (MKR,
EOS and other early tokens), upper-case functions (``NAME()``, ``SYMBOL()``, ``DECIMALS()``), a revert,
an empty answer (no such function, or no code), or bytes that are none of these. Each field is the decoded
value or None where the token does not say; NUL characters are dropped from names and symbols as
ethereum-etl does. ``decimals`` must fit a uint8 (the standard's type), else None.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from chaintrail.chains.ethereum.hexutil import hex_bytes
from chaintrail.errors import DecodeError

NAME, SYMBOL, DECIMALS, TOTAL_SUPPLY = "0x06fdde03", "0x95d89b41", "0x313ce567", "0x18160ddd"
# the upper-case variants a few early tokens have, asked only where the standard call gave nothing
NAME_UPPER, SYMBOL_UPPER, DECIMALS_UPPER = "0xa3f4df7e", "0xf76f8d78", "0x2e0f2625"

TOKEN_COLUMNS = ("address", "block_number", "name", "symbol", "decimals", "total_supply")


class CallsRpc(Protocol):
    def eth_calls(self, items: list[tuple[str, str]], block: int) -> list[str | Exception]: ...


def _answer_bytes(answer: object) -> bytes | None:
    """The bytes of an eth_call answer; None for a revert/error or an answer that is not hex."""
    if isinstance(answer, Exception) or answer is None:
        return None
    try:
        return hex_bytes(answer, "eth_call result")
    except DecodeError:
        return None


def _text(raw: bytes) -> str | None:
    try:
        return raw.decode("utf-8").replace("\x00", "")
    except UnicodeDecodeError:
        return None


def decode_string(answer: object) -> str | None:
    """name()/symbol(): an ABI string, else a right-padded bytes32, else None."""
    data = _answer_bytes(answer)
    if data is None or not data:
        return None
    if len(data) >= 64:
        offset = int.from_bytes(data[:32], "big")
        if offset + 32 <= len(data):
            length = int.from_bytes(data[offset:offset + 32], "big")
            if offset + 32 + length <= len(data):
                return _text(data[offset + 32:offset + 32 + length])
    if len(data) == 32:
        return _text(data.rstrip(b"\x00"))
    return None


def decode_uint(answer: object) -> int | None:
    """totalSupply(): the first 32-byte word as an unsigned integer; None when the answer is shorter."""
    data = _answer_bytes(answer)
    if data is None or len(data) < 32:
        return None
    return int.from_bytes(data[:32], "big")


def decode_decimals(answer: object) -> int | None:
    """decimals(): a uint8; None when the word holds a larger number or the answer is not a word."""
    value = decode_uint(answer)
    return value if value is not None and value <= 255 else None


def token_metadata(rpc: CallsRpc, addresses: Sequence[str], block: int) -> dict[str, list]:
    """name, symbol, decimals and total_supply of each token as of ``block``, read by eth_call in batches."""
    fields = ((NAME, decode_string), (SYMBOL, decode_string), (DECIMALS, decode_decimals),
              (TOTAL_SUPPLY, decode_uint))
    items = [(a, data) for a in addresses for data, _ in fields]
    answers = rpc.eth_calls(items, block) if items else []
    if len(answers) != len(items):
        raise DecodeError(f"eth_call batch gave {len(answers)} answers for {len(items)} calls",
                          source=f"block {block}")
    values = [[decode(answers[i * len(fields) + k]) for k, (_, decode) in enumerate(fields)]
              for i in range(len(addresses))]
    # second round: upper-case variants, only for the fields still missing
    retry = [(i, k, data) for i, row in enumerate(values)
             for k, data in ((0, NAME_UPPER), (1, SYMBOL_UPPER), (2, DECIMALS_UPPER)) if row[k] is None]
    if retry:
        again = rpc.eth_calls([(addresses[i], data) for i, _, data in retry], block)
        if len(again) != len(retry):
            raise DecodeError(f"eth_call batch gave {len(again)} answers for {len(retry)} calls",
                              source=f"block {block}")
        for (i, k, _), answer in zip(retry, again):
            values[i][k] = (decode_decimals if k == 2 else decode_string)(answer)
    return {"address": [a.lower() for a in addresses], "block_number": [block] * len(addresses),
            "name": [v[0] for v in values], "symbol": [v[1] for v in values],
            "decimals": [v[2] for v in values], "total_supply": [v[3] for v in values]}
